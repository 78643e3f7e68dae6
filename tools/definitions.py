"""What a Python code block defines, read by syntax tree without changing anything.

`looks_whole` tells a complete new file from definitions to splice; the other queries
(which statements define, which names the imports bind, the docstring) are the ones
`tools/splice.py` builds on when it puts definitions in place.
"""

from __future__ import annotations

import ast
import re
import textwrap

Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
IMPORTS = (ast.Import, ast.ImportFrom)
_DEF_LINE = re.compile(r"^(?:async\s+)?(?:def|class)\s+(\w+)", re.MULTILINE)


def looks_whole(source: str, code: str) -> bool:
    """True when `code` is meant as the complete new file rather than definitions to splice.

    That is: it has module-level statements besides imports, defs, classes and a docstring,
    or it restates every top-level statement of `source` (each def/class by name and in full,
    each import, the docstring). A lone function from a one-function file, or one method of
    a one-class file, is still a splice, so the rest of the file is not dropped.
    """
    try:
        new = ast.parse(dedent(code))
    except SyntaxError:
        return False
    try:
        old = ast.parse(source)
    except SyntaxError:  # cannot splice into it; a reply naming all its definitions replaces it
        return set(_DEF_LINE.findall(source)) <= {n.name for n in new.body if isinstance(n, DEFS)}
    body = new.body[1:] if module_docstring(new) else new.body
    if any(not isinstance(n, DEFS + IMPORTS) for n in body):
        return True
    if not any(isinstance(n, DEFS) for n in old.body):
        return False
    sent = {n.name: n for n in new.body if isinstance(n, DEFS)}
    imported = imported_names(new.body)
    for node in old.body:
        if isinstance(node, DEFS) and not _restated(node, sent.get(node.name)):
            return False
        if isinstance(node, IMPORTS) and not imported_names([node]) <= imported:
            return False
        if module_docstring(old) is node and not module_docstring(new):
            return False
        if not isinstance(node, DEFS + IMPORTS) and module_docstring(old) is not node:
            return False
    return True


def partial_class(old: ast.stmt, cls: ast.ClassDef) -> bool:
    """Whether `cls` holds only methods and leaves out members of the file's class `old`.

    Then a model has sent one changed or new method inside its class, not the whole class.
    """
    if not isinstance(old, ast.ClassDef) or not all(isinstance(m, FUNCS) for m in cls.body):
        return False
    sent = {m.name for m in cls.body if isinstance(m, FUNCS)}
    return any(not isinstance(m, FUNCS) or m.name not in sent for m in old.body)


def _restated(old: Definition, new: Definition | None) -> bool:
    """Whether the code holds `old` in full, not missing or as a class with some methods."""
    return new is not None and not (isinstance(new, ast.ClassDef) and partial_class(old, new))


def functions(source: str | bytes) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Every function and method in the source, nested ones too (none when it does not
    parse)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    return [node for node in ast.walk(tree) if isinstance(node, FUNCS)]


def body_lines(function: ast.FunctionDef | ast.AsyncFunctionDef) -> range:
    """The line numbers of a function's body: after its signature, to its last line."""
    return range(function.body[0].lineno, (function.end_lineno or 0) + 1)


def columns(line: str, node: ast.expr) -> tuple[int, int]:
    """Where a one-line node starts and ends in its line, in characters (ast's offsets
    count UTF-8 bytes)."""
    data = line.encode()
    start, end = node.col_offset, node.end_col_offset or 0
    return len(data[:start].decode(errors="replace")), len(data[:end].decode(errors="replace"))


def dedent(code: str, keep_indent: bool = False) -> str:
    """`code` with newlines made plain and, unless `keep_indent`, its common indent removed."""
    plain = code.replace("\r\n", "\n").replace("\r", "\n")
    return plain if keep_indent else textwrap.dedent(plain)


def imported_names(nodes: list[ast.stmt]) -> set[tuple[str, str, str | None]]:
    """(module, name, alias) for each name the imports bind; comparable across spellings."""
    names: set[tuple[str, str, str | None]] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {("", a.name, a.asname) for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            names |= {(module, a.name, a.asname) for a in node.names}
    return names


def module_docstring(tree: ast.Module) -> ast.stmt | None:
    first = tree.body[0] if tree.body else None
    return first if first is not None and is_docstring(first) else None


def is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )
