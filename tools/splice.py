"""Splice Python definitions a model wrote into a file by syntax tree.

A small model that rewrites a whole file drops or garbles code it never meant to touch.
Here it sends only the functions, methods or classes it changes; each one replaces the
lines of the definition of the same name, and every other byte of the file stays as it was.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from tiercode.tools.definitions import (
    DEFS,
    FUNCS,
    IMPORTS,
    Definition,
    dedent,
    imported_names,
    is_docstring,
    module_docstring,
    partial_class,
)
from tiercode.tools.search_replace import EditFailed

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


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
        self.top = _by_name(n for n in self.tree.body if isinstance(n, DEFS))
        self.assigned: dict[str, list[ast.stmt]] = {}
        for node in self.tree.body:
            if name := _assigned(node):
                self.assigned.setdefault(name, []).append(node)

    def indent_of(self, node: ast.stmt) -> str:
        line = self.lines[_first_line(node) - 1]
        return line[: len(line) - len(line.lstrip(" \t"))]

    def owners(self, name: str) -> list[ast.ClassDef]:
        """The top-level classes that define a method called `name`."""
        return [
            cls
            for cls in self.tree.body
            if isinstance(cls, ast.ClassDef)
            and any(isinstance(m, FUNCS) and m.name == name for m in cls.body)
        ]


class _Code:
    """The model's code block: raw lines (for exact text) and the tree of its dedented form."""

    def __init__(self, code: str, path: str) -> None:
        self.lines = dedent(code, keep_indent=True).split("\n")
        try:
            self.tree = ast.parse(dedent(code))
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
    class; new imports go after the file's imports; `NAME = value` replaces the file's one
    top-level assignment to NAME. A function whose body is only `...`
    leaves the file's function of that name as it is. Raises EditFailed, worded for a model,
    when `code` does not parse, holds other statements, is ambiguous, or the result breaks.
    """
    path = path or "the file"
    src, new = _Source(source, path), _Code(code, path)
    plan = _Plan()
    for node in _statements(src, new, path):
        if isinstance(node, IMPORTS):
            if not _imports_itself(node, path):
                _plan_import(src, new, node, plan)
        elif name := _assigned(node):
            _replace(src, new, node, src.assigned[name][0], plan)
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


def _statements(src: _Source, code: _Code, path: str) -> Iterator[ast.stmt]:
    """The code's top-level statements, refusing any that is not an import, def, class or
    a new value for a name the file assigns once at its top level."""
    for index, node in enumerate(code.tree.body):
        if index == 0 and module_docstring(code.tree) is node:
            continue
        name = _assigned(node)
        if not isinstance(node, DEFS + IMPORTS) and len(src.assigned.get(name or "", [])) != 1:
            shown = code.lines[node.lineno - 1].strip()
            raise EditFailed(
                f"the code block for {path} has a module-level statement at line {node.lineno} "
                f"(`{shown}`); only imports, functions, classes and new values for names the "
                "file already sets can be spliced, so to change other module-level code use "
                "a search/replace block (or, for a small file, send it whole)"
            )
        yield node


def _assigned(node: ast.stmt) -> str | None:
    """The one name a `NAME = value` (or `NAME: type = value`) statement sets."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target: ast.expr | None = node.targets[0]
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        target = node.target
    else:
        target = None
    return target.id if isinstance(target, ast.Name) else None


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
    if all(line in present for line in lines) or imported_names([node]) <= imported_names(
        src.tree.body
    ):
        return
    if lines not in plan.imports:
        plan.imports.append(lines)


def _splits(src: _Source, cls: ast.ClassDef) -> bool:
    """Whether `class X:` in the code should be merged method by method into the file's X."""
    old = src.top.get(cls.name, [])
    return len(old) == 1 and partial_class(old[0], cls)


def _plan_methods(src: _Source, new: _Code, cls: ast.ClassDef, plan: _Plan) -> None:
    (old,) = src.top[cls.name]
    assert isinstance(old, ast.ClassDef)
    have = _by_name(m for m in old.body if isinstance(m, FUNCS))
    for method in cls.body:
        assert isinstance(method, FUNCS)  # _splits checked it
        targets = have.get(method.name, [])
        if targets:
            _replace(src, new, method, targets[-1], plan)
        else:
            _add_method(src, new, method, old, plan)


def _add_method(src: _Source, new: _Code, method: ast.stmt, cls: ast.ClassDef, plan: _Plan) -> None:
    """A new method, at the end of the class's body."""
    lines = _reindent(new.segment(method), _body_indent(src, cls))
    plan.add(_last_line(cls), _last_line(cls), ["", *lines])


def _plan_definition(src: _Source, new: _Code, node: ast.stmt, plan: _Plan, path: str) -> None:
    assert isinstance(node, DEFS)
    if node.name in src.top:
        _replace(src, new, node, src.top[node.name][-1], plan)
        return
    owners = src.owners(node.name) if isinstance(node, FUNCS) else []
    if len(owners) > 1:
        names = ", ".join(c.name for c in owners)
        raise EditFailed(
            f"{node.name} is a method of several classes in {path} ({names}); put it inside "
            f"`class Name:` to say which one"
        )
    if owners:
        method = next(m for m in owners[0].body if isinstance(m, FUNCS) and m.name == node.name)
        _replace(src, new, node, method, plan)
        return
    if isinstance(node, FUNCS) and node.args.args and node.args.args[0].arg == "self":
        classes = [c for c in src.tree.body if isinstance(c, ast.ClassDef)]
        if len(classes) != 1:
            raise EditFailed(
                f"{node.name} takes `self` but no class in {path} has a method of that name; "
                f"put it inside `class Name:` so it is added to the right class"
            )
        _add_method(src, new, node, classes[0], plan)  # sent bare: the only class is meant
        return
    if (renamed := _renamed_from(src, new, node)) is not None:
        _replace(src, new, node, renamed, plan)
        return
    plan.appended.append(_reindent(new.segment(node), ""))


def _renamed_from(src: _Source, new: _Code, node: Definition) -> Definition | None:
    """The one top-level definition that `node` repeats under a new name, with the same
    arguments and body, when the code block does not also keep the old name: a rename,
    which a small model writes by sending just the renamed function."""
    sent = {n.name for n in new.tree.body if isinstance(n, DEFS)}

    def shape(d: Definition) -> str:
        args = ast.dump(d.args) if isinstance(d, FUNCS) else ""
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
    if not isinstance(node, FUNCS):
        return False
    body = node.body[1:] if len(node.body) > 1 and is_docstring(node.body[0]) else node.body
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
    imports = [n for n in src.tree.body if isinstance(n, IMPORTS)]
    if imports:
        plan.add(_last_line(imports[-1]), _last_line(imports[-1]), lines)
        return
    doc = module_docstring(src.tree)
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
        assert isinstance(node, DEFS)
        found.setdefault(node.name, []).append(node)
    return found


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
