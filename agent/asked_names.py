"""The names a task calls on the repository's own modules, and which of them nothing defines.

A request such as "add `humanize.percent(value, ndigits=0)`" names the function it wants.
The 1.5B wrote `humanize_percent` in all six answers on the dev suite's `percent` task,
and each was judged by an acceptance check that failed with "module 'humanize' has no
attribute 'percent'". Saying so before any check is written costs no model call and names
the fix (told so, the 1.5B still wrote `humanize_percent`; a stronger model need not).
"""

from __future__ import annotations

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
    spans = _SPAN.findall(task)
    asked = {(q.rstrip("."), name) for span in spans for q, name in _CALL.findall(span)}
    asked |= {(q, name) for span in spans for q, name in _METHOD.findall(span)}
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
