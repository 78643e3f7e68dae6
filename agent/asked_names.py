"""The names a task calls on the repository's own modules: which of them nothing defines,
and the small edits that give an answer's code those names.

A request such as "add `humanize.percent(value, ndigits=0)`" names the function it wants.
The 1.5B wrote `humanize_percent` in all six answers on the dev suite's `percent` task,
and each was judged by an acceptance check that failed with "module 'humanize' has no
attribute 'percent'". Saying so before any check is written costs no model call and names
the fix; told so, the 1.5B still wrote `humanize_percent`, so a new definition named like
that (`prefix_percent`) is given the asked name (`flattened`), and one defined in a
package's module is imported into the package the task calls it from (`exported`).
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

from tiercode.tools import checks

_SPAN = re.compile(r"`([^`\n]+)`")
_CALL = re.compile(r"\b((?:[A-Za-z_]\w*\.)+)([A-Za-z_]\w*)\s*\(")
"""A qualified call in a code span: `pkg.module.name(` as ("pkg.module.", "name")."""
_METHOD = re.compile(r"\b([A-Za-z_]\w*)\([^()]*\)\.([A-Za-z_]\w*)\s*\(")
"""A method called on a new instance: `Money(1).add(` as ("Money", "add")."""


def missing(task: str, root: Path, files: list[str], start: str) -> list[str]:
    """The qualified calls in the task's code spans (`humanize.percent`, `Money(1).add`)
    whose qualifier is one of the repository's modules or classes and whose name no
    Python file defines, assigns or imports, and none did at commit `start` (a name the
    run renamed away is the rename's concern). Calls on anything else (`json.dumps`, a
    variable) are not judged."""
    asked = calls(task)
    if not asked:  # most tasks: no file need be read on every answer
        return []
    sources = {rel: _read(root / rel) for rel in files if rel.endswith(".py")}
    modules = {m for rel in sources if (m := checks.module_name(rel, root))}
    text = "\n".join(sources.values())
    return sorted(
        f"{qualifier}.{name}"
        for qualifier, name in asked
        if _is_repo_module(qualifier, modules) or _is_class(text, qualifier.rpartition(".")[2])
        if not _defines(text, name) and not _defined_at(root, start, name)
    )


def calls(task: str) -> set[tuple[str, str]]:
    """The qualified calls in the task's code spans, as (qualifier, name)."""
    spans = _SPAN.findall(task)
    asked = {(q.rstrip("."), name) for span in spans for q, name in _CALL.findall(span)}
    return asked | {(q, name) for span in spans for q, name in _METHOD.findall(span)}


def flattened(missing: list[str], added: list[str]) -> tuple[str, str] | None:
    """(the added definition, the asked name) when exactly one of the names an answer
    added ends in `_<name>` for a missing asked call (`humanize_percent` for
    `humanize.percent`), else None."""
    found = [
        (new, asked.rpartition(".")[2])
        for asked in missing
        for new in added
        if new.lower().endswith("_" + asked.rpartition(".")[2].lower())
    ]
    return found[0] if len(found) == 1 else None


def exported(task: str, init: str, package: str, module: str, names: list[str]) -> str | None:
    """The text of `package`'s `__init__.py` (`init`) importing the names the task calls
    on the package (`humanize.percent`) that its module `module` defines (`names`) and it
    does not, in the style of its other imports; each goes into `__all__` too when that is
    a list of strings written one per line. None when there is none to import."""
    try:
        tree = ast.parse(init)
    except SyntaxError:
        return None
    wanted = sorted(
        name
        for qualifier, name in calls(task)
        if qualifier == package and name in names
        if not _defines(init, name) and name not in _imported(tree)
    )
    if not wanted:
        return None
    lines = init.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    relative = any(isinstance(n, ast.ImportFrom) and n.level for n in imports)
    source = "." + module.removeprefix(package + ".") if relative else module
    after = max((n.end_lineno or n.lineno for n in imports), default=_after_docstring(tree))
    inserts = [(after, "".join(f"from {source} import {name}\n" for name in wanted))]
    inserts += [place for name in wanted if (place := _into_all(tree, lines, name))]
    for at, text in sorted(inserts, reverse=True):
        lines.insert(at, text)
    return "".join(lines)


def _imported(tree: ast.Module) -> set[str]:
    """The names the module's imports bind, those of a parenthesized import over several
    lines too (which `_defines`, reading line by line, misses)."""
    return {
        alias.asname or alias.name.partition(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }


def _after_docstring(tree: ast.Module) -> int:
    """The number of lines the module's docstring takes (0 when it has none)."""
    first = tree.body[0] if tree.body else None
    is_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    return (first.end_lineno or 0) if first is not None and is_doc else 0


def _into_all(tree: ast.Module, lines: list[str], name: str) -> tuple[int, str] | None:
    """Where `name` goes in `__all__` (the index of the line it is inserted before, and
    the line), before the first entry that sorts after it, when `__all__` is a list of
    strings written one per line."""
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        if [getattr(t, "id", None) for t in node.targets] != ["__all__"]:
            continue
        items = node.value.elts if isinstance(node.value, ast.List) else []
        rows = [item.lineno for item in items]
        if not items or len(set(rows)) != len(rows) or rows[0] == node.lineno:
            return None
        if not all(isinstance(i, ast.Constant) and isinstance(i.value, str) for i in items):
            return None
        if any(isinstance(i, ast.Constant) and i.value == name for i in items):
            return None  # listed already
        later = [i for i in items if isinstance(i, ast.Constant) and str(i.value) > name]
        row = later[0].lineno - 1 if later else items[-1].lineno
        first = lines[items[0].lineno - 1]
        pad, quote = first[: items[0].col_offset], first[items[0].col_offset]
        return row, f"{pad}{quote}{name}{quote},\n"
    return None


def failure(names: list[str]) -> str:
    """What the next answer is told."""
    calls = ", ".join(f"`{n}`" for n in names)
    new = ", ".join(f"`{n.rpartition('.')[2]}`" for n in names)
    return (
        f"the task calls {calls}, but no file in the repository defines {new}: "
        f"define it with exactly that name, where the task imports it from"
    )


def _is_repo_module(dotted: str, modules: set[str]) -> bool:
    return any(m == dotted or m.endswith("." + dotted) for m in modules)


def _is_class(text: str, name: str) -> bool:
    return bool(re.search(rf"^[ \t]*class[ \t]+{re.escape(name)}\b", text, re.MULTILINE))


def _defines(text: str, name: str) -> bool:
    """Whether the code defines, assigns or imports `name` (at any depth)."""
    n = re.escape(name)
    return bool(
        re.search(
            rf"^[ \t]*(?:(?:async[ \t]+)?def|class)[ \t]+{n}\b"
            rf"|^[ \t]*(?:self\.)?{n}[ \t]*(?::[^=\n]*)?=(?!=)"
            rf"|^[ \t]*(?:from[ \t]+\S+[ \t]+)?import\b[^\n]*\b{n}\b",
            text,
            re.MULTILINE,
        )
    )


def _defined_at(root: Path, commit: str, name: str) -> bool:
    """Whether a Python file at `commit` defined, assigned or imported `name`."""
    git = ["git", "-c", "core.hooksPath=/dev/null"]
    found = subprocess.run(
        [*git, "grep", "-l", "-w", "-F", name, commit, "--", "*.py"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    for hit in found.stdout.splitlines():  # "<commit>:<path>"
        shown = subprocess.run([*git, "show", hit], cwd=root, capture_output=True, text=True)
        if _defines(shown.stdout, name):
            return True
    return False


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
