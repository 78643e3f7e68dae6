"""Splice Python definitions a model wrote into a file by syntax tree.

A small model that rewrites a whole file drops or garbles code it never meant to touch.
Here it sends only the functions, methods or classes it changes; each one replaces the
lines of the definition of the same name, and every other byte of the file stays as it was.
"""

from __future__ import annotations

import ast
import itertools
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from tiercode.tools.search_replace import EditFailed

Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
_IMPORTS = (ast.Import, ast.ImportFrom)
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_DEF_LINE = re.compile(r"^(?:async\s+)?(?:def|class)\s+(\w+)", re.MULTILINE)


@dataclass
class _Op:
    """Replace source lines [start, end) (0-based) with `lines`; start == end inserts."""

    start: int
    end: int
    lines: list[str]
    seq: int

    def order(self) -> tuple[int, bool, int]:
        """Applied from the highest down; a replacement goes before an insertion at its start,
        so the insertion lands above it instead of inside the lines it replaces."""
        return self.start, self.end > self.start, self.seq


@dataclass
class _Plan:
    """What the code block asks for, gathered before any line of the source changes."""

    ops: list[_Op] = field(default_factory=list)
    imports: list[list[str]] = field(default_factory=list)
    appended: list[list[str]] = field(default_factory=list)

    def add(self, start: int, end: int, lines: list[str]) -> None:
        self.ops.append(_Op(start, end, lines, len(self.ops)))


class _Source:
    """The file being edited: its lines (endings kept), syntax tree and newline style."""

    def __init__(self, text: str, path: str) -> None:
        self.lines: list[str] = _LINE.findall(text)
        self.newline = "\r\n" if "\r\n" in text else "\n"
        try:
            self.tree = ast.parse(text)
        except SyntaxError as exc:
            raise EditFailed(
                f"{path} does not parse now (line {exc.lineno}: {exc.msg}), so definitions "
                "cannot be spliced into it; send the whole file instead"
            ) from exc
        self.top = _by_name(n for n in self.tree.body if isinstance(n, _DEFS))

    def indent_of(self, node: ast.stmt) -> str:
        line = self.lines[_first_line(node) - 1]
        return line[: len(line) - len(line.lstrip(" \t"))]

    def owners(self, name: str) -> list[ast.ClassDef]:
        """The top-level classes that define a method called `name`."""
        return [
            cls
            for cls in self.tree.body
            if isinstance(cls, ast.ClassDef)
            and any(isinstance(m, _FUNCS) and m.name == name for m in cls.body)
        ]


class _Code:
    """The model's code block: raw lines (for exact text) and the tree of its dedented form."""

    def __init__(self, code: str, path: str) -> None:
        self.lines = _dedent(code, keep_indent=True).split("\n")
        try:
            self.tree = ast.parse(_dedent(code))
        except SyntaxError as exc:
            raise EditFailed(
                f"the code block for {path} does not parse: line {exc.lineno}: {exc.msg}"
            ) from exc

    def segment(self, node: ast.stmt) -> list[str]:
        """The exact lines of `node`, decorators included."""
        return self.lines[_first_line(node) - 1 : _last_line(node)]


def splice(source: str, code: str, path: str = "") -> str:
    """Return `source` with the definitions and imports in `code` put in place.

    Each def/class replaces the definition of the same name (a top-level one, else the one
    method of that name), reindented to it; new ones go at the end of the file, or of their
    class; new imports go after the file's imports. A function whose body is only `...`
    leaves the file's function of that name as it is. Raises EditFailed, worded for a model,
    when `code` does not parse, holds other statements, is ambiguous, or the result breaks.
    """
    path = path or "the file"
    src, new = _Source(source, path), _Code(code, path)
    plan = _Plan()
    for node in _statements(new.tree, path, new):
        if isinstance(node, _IMPORTS):
            if not _imports_itself(node, path):
                _plan_import(src, new, node, plan)
        elif isinstance(node, ast.ClassDef) and _splits(src, node):
            _plan_methods(src, new, node, plan)
        else:
            _plan_definition(src, new, node, plan, path)
    _check_overlaps(plan.ops, path)
    _place_imports(src, plan)
    result = _render(src, plan)
    try:
        ast.parse(result)
    except SyntaxError as exc:
        raise EditFailed(
            f"putting the code block into {path} gave a file that does not parse "
            f"(line {exc.lineno}: {exc.msg}); check the indentation or send the whole file"
        ) from exc
    return result


def looks_whole(source: str, code: str) -> bool:
    """True when `code` is meant as the complete new file rather than definitions to splice.

    That is: it has module-level statements besides imports, defs, classes and a docstring,
    or it restates every top-level statement of `source` (each def/class by name and in full,
    each import, the docstring). A lone function from a one-function file, or one method of
    a one-class file, is still a splice, so the rest of the file is not dropped.
    """
    try:
        new = ast.parse(_dedent(code))
    except SyntaxError:
        return False
    try:
        old = ast.parse(source)
    except SyntaxError:  # cannot splice into it; a reply naming all its definitions replaces it
        return set(_DEF_LINE.findall(source)) <= {n.name for n in new.body if isinstance(n, _DEFS)}
    body = new.body[1:] if _docstring(new) else new.body
    if any(not isinstance(n, _DEFS + _IMPORTS) for n in body):
        return True
    if not any(isinstance(n, _DEFS) for n in old.body):
        return False
    sent = {n.name: n for n in new.body if isinstance(n, _DEFS)}
    imported = _imported(new.body)
    for node in old.body:
        if isinstance(node, _DEFS) and not _restated(node, sent.get(node.name)):
            return False
        if isinstance(node, _IMPORTS) and not _imported([node]) <= imported:
            return False
        if _docstring(old) is node and not _docstring(new):
            return False
        if not isinstance(node, _DEFS + _IMPORTS) and _docstring(old) is not node:
            return False
    return True


def _statements(tree: ast.Module, path: str, code: _Code) -> Iterator[ast.stmt]:
    """The code's top-level statements, refusing any that is not an import, def or class."""
    for index, node in enumerate(tree.body):
        if index == 0 and _docstring(tree) is node:
            continue
        if not isinstance(node, _DEFS + _IMPORTS):
            shown = code.lines[node.lineno - 1].strip()
            raise EditFailed(
                f"the code block for {path} has a module-level statement at line {node.lineno} "
                f"(`{shown}`); only imports, functions and classes can be spliced, so to change "
                "module-level code use a search/replace block (or, for a small file, send it "
                "whole)"
            )
        yield node


def _imports_itself(node: ast.stmt, path: str) -> bool:
    """`from textutils import shout` sent for textutils.py: small models write it to show
    where a name comes from; spliced in, it is a circular import. Dropped."""
    stem = PurePosixPath(path).stem
    own = {stem, PurePosixPath(path).parent.name if stem == "__init__" else ""} - {""}
    if isinstance(node, ast.ImportFrom) and not node.level and node.module:
        return node.module.rsplit(".", 1)[-1] in own
    return isinstance(node, ast.Import) and any(
        a.name.rsplit(".", 1)[-1] in own for a in node.names
    )


def _plan_import(src: _Source, new: _Code, node: ast.stmt, plan: _Plan) -> None:
    lines = new.segment(node)
    present = {line.rstrip("\r\n") for line in src.lines}
    if all(line in present for line in lines) or _imported([node]) <= _imported(src.tree.body):
        return
    if lines not in plan.imports:
        plan.imports.append(lines)


def _splits(src: _Source, cls: ast.ClassDef) -> bool:
    """Whether `class X:` in the code should be merged method by method into the file's X."""
    old = src.top.get(cls.name, [])
    return len(old) == 1 and _partial(old[0], cls)


def _partial(old: ast.stmt, cls: ast.ClassDef) -> bool:
    """Whether `cls` holds only methods and leaves out members of the file's class `old`.

    Then a model has sent one changed or new method inside its class, not the whole class.
    """
    if not isinstance(old, ast.ClassDef) or not all(isinstance(m, _FUNCS) for m in cls.body):
        return False
    sent = {m.name for m in cls.body if isinstance(m, _FUNCS)}
    return any(not isinstance(m, _FUNCS) or m.name not in sent for m in old.body)


def _restated(old: Definition, new: Definition | None) -> bool:
    """Whether the code holds `old` in full, not missing or as a class with some methods."""
    return new is not None and not (isinstance(new, ast.ClassDef) and _partial(old, new))


def _plan_methods(src: _Source, new: _Code, cls: ast.ClassDef, plan: _Plan) -> None:
    (old,) = src.top[cls.name]
    assert isinstance(old, ast.ClassDef)
    have = _by_name(m for m in old.body if isinstance(m, _FUNCS))
    body_indent = _body_indent(src, old)
    for method in cls.body:
        assert isinstance(method, _FUNCS)  # _splits checked it
        targets = have.get(method.name, [])
        if targets:
            _replace(src, new, method, targets[-1], plan)
        else:
            lines = _reindent(new.segment(method), body_indent)
            plan.add(_last_line(old), _last_line(old), ["", *lines])


def _plan_definition(src: _Source, new: _Code, node: ast.stmt, plan: _Plan, path: str) -> None:
    assert isinstance(node, _DEFS)
    if node.name in src.top:
        _replace(src, new, node, src.top[node.name][-1], plan)
        return
    owners = src.owners(node.name) if isinstance(node, _FUNCS) else []
    if len(owners) > 1:
        names = ", ".join(c.name for c in owners)
        raise EditFailed(
            f"{node.name} is a method of several classes in {path} ({names}); put it inside "
            f"`class Name:` to say which one"
        )
    if owners:
        method = next(m for m in owners[0].body if isinstance(m, _FUNCS) and m.name == node.name)
        _replace(src, new, node, method, plan)
        return
    if isinstance(node, _FUNCS) and node.args.args and node.args.args[0].arg == "self":
        raise EditFailed(
            f"{node.name} takes `self` but no class in {path} has a method of that name; "
            f"put it inside `class Name:` so it is added to the right class"
        )
    if (renamed := _renamed_from(src, new, node)) is not None:
        _replace(src, new, node, renamed, plan)
        return
    plan.appended.append(_reindent(new.segment(node), ""))


def _renamed_from(src: _Source, new: _Code, node: Definition) -> Definition | None:
    """The one top-level definition that `node` repeats under a new name, with the same
    arguments and body, when the code block does not also keep the old name: a rename,
    which a small model writes by sending just the renamed function."""
    sent = {n.name for n in new.tree.body if isinstance(n, _DEFS)}

    def shape(d: Definition) -> str:
        args = ast.dump(d.args) if isinstance(d, _FUNCS) else ""
        return args + "".join(ast.dump(stmt) for stmt in d.body)

    twins = [
        olds[-1]
        for name, olds in src.top.items()
        if name not in sent and type(olds[-1]) is type(node) and shape(olds[-1]) == shape(node)
    ]
    return twins[0] if len(twins) == 1 else None


def _replace(src: _Source, new: _Code, node: ast.stmt, target: ast.stmt, plan: _Plan) -> None:
    if _elided(node) and not _elided(target):
        return  # `def f(): ...` stands for "f unchanged", a habit of small models
    lines = _reindent(new.segment(node), src.indent_of(target))
    plan.add(_first_line(target) - 1, _last_line(target), lines)


def _elided(node: ast.stmt) -> bool:
    """Whether a function's body is only `...` (after an optional docstring)."""
    if not isinstance(node, _FUNCS):
        return False
    body = node.body[1:] if len(node.body) > 1 and _is_docstring(node.body[0]) else node.body
    return (
        len(body) == 1
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and body[0].value.value is Ellipsis
    )


def _check_overlaps(ops: list[_Op], path: str) -> None:
    spans = sorted((op.start, op.end) for op in ops if op.end > op.start)
    for (_, end), (start, _) in itertools.pairwise(spans):
        if start < end:
            raise EditFailed(
                f"two definitions in the code block for {path} replace the same lines (line "
                f"{start + 1}); send each definition once"
            )


def _place_imports(src: _Source, plan: _Plan) -> None:
    """Insert new imports after the file's last top-level import, or near the top."""
    if not plan.imports:
        return
    lines = [line for block in plan.imports for line in block]
    imports = [n for n in src.tree.body if isinstance(n, _IMPORTS)]
    if imports:
        plan.add(_last_line(imports[-1]), _last_line(imports[-1]), lines)
        return
    doc = _docstring(src.tree)
    at = _last_line(doc) if doc else _leading_comments(src.lines)
    before = [""] if at > 0 and src.lines[at - 1].strip() else []
    after = [""] if at < len(src.lines) and src.lines[at].strip() else []
    plan.add(at, at, before + lines + after)


def _render(src: _Source, plan: _Plan) -> str:
    """Apply the planned operations bottom-up so earlier line numbers stay valid."""
    nl, lines = src.newline, list(src.lines)
    bare_end = bool(lines) and not lines[-1].endswith(("\n", "\r"))
    if bare_end:
        lines[-1] += nl
    for op in sorted(plan.ops, key=_Op.order, reverse=True):
        lines[op.start : op.end] = [line + nl for line in op.lines]
    if plan.appended:
        blank = 0
        while blank < len(lines) and not lines[len(lines) - 1 - blank].strip():
            blank += 1
        gap = 0 if blank == len(lines) else max(0, 2 - blank)
        for index, block in enumerate(plan.appended):
            lines += [nl] * (gap if index == 0 else 2) + [line + nl for line in block]
    text = "".join(lines)
    if bare_end and not plan.appended:
        text = text[: -len(nl)]
    return text


def _dedent(code: str, keep_indent: bool = False) -> str:
    """`code` with newlines made plain and, unless `keep_indent`, its common indent removed."""
    plain = code.replace("\r\n", "\n").replace("\r", "\n")
    return plain if keep_indent else textwrap.dedent(plain)


def _reindent(lines: list[str], indent: str) -> list[str]:
    """Move `lines` from the indent of their first line to `indent`."""
    first = lines[0]
    old = first[: len(first) - len(first.lstrip(" \t"))]
    if old == indent:
        return list(lines)
    moved = []
    for line in lines:
        if line.startswith(old) and line:
            moved.append(indent + line[len(old) :])
        elif not line.strip():
            moved.append("")
        else:  # less indented than the def: only possible inside a multi-line string
            moved.append(indent + line.lstrip(" \t"))
    return moved


def _body_indent(src: _Source, cls: ast.ClassDef) -> str:
    first = cls.body[0]
    if first.lineno > cls.lineno:
        return src.indent_of(first)
    return src.indent_of(cls) + "    "


def _by_name(nodes: Iterator[ast.stmt]) -> dict[str, list[Definition]]:
    found: dict[str, list[Definition]] = {}
    for node in nodes:
        assert isinstance(node, _DEFS)
        found.setdefault(node.name, []).append(node)
    return found


def _imported(nodes: list[ast.stmt]) -> set[tuple[str, str, str | None]]:
    """(module, name, alias) for each name the imports bind; comparable across spellings."""
    names: set[tuple[str, str, str | None]] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {("", a.name, a.asname) for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            names |= {(module, a.name, a.asname) for a in node.names}
    return names


def _docstring(tree: ast.Module) -> ast.stmt | None:
    first = tree.body[0] if tree.body else None
    return first if first is not None and _is_docstring(first) else None


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _leading_comments(lines: list[str]) -> int:
    count = 0
    while count < len(lines) and lines[count].startswith("#"):
        count += 1
    return count


def _first_line(node: ast.stmt) -> int:
    """The node's first line, counting its decorators."""
    decorators: list[ast.expr] = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


def _last_line(node: ast.stmt) -> int:
    assert node.end_lineno is not None
    return node.end_lineno
