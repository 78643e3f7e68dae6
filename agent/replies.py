"""The plain-text reply format of an act step: what the model is told and how edits are
written in it (applying one is `tools/edits.py`).

Code travels in fenced blocks, not escaped inside JSON strings, so no grammar slows local
decoding and a small model writes code the way it was trained to. Reading a reply back is
`agent/reply_parser.py`; this module is what both sides share: the `Edit` and the fence
languages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath

from tiercode.tools.edits import Edit, ended

SEARCH_REPLACE_BLOCK = """\
<<<<<<< SEARCH
exact lines copied from the file
=======
the new lines
>>>>>>> REPLACE
"""
CLOSING_RULES = """\
Never write "..." or comments in place of unchanged code.
End with a line `Confidence: <0-100>`: how sure you are that the change is right.
"""
FORMAT_RULES = (
    """\
Reply in plain text, not JSON. For each file you change, write the file's path on its own \
line, then a fenced code block.
- To change or add a function in a Python file, send only the complete new function (or \
class), with any new imports above it. To change a method, send it inside `class Name:`. \
Code you do not send stays as it is.
- To change a non-Python file or a small file, send the whole new file.
- For a small change to a large file you may send a search/replace block after the path line:
"""
    + SEARCH_REPLACE_BLOCK
    + CLOSING_RULES
)
"""The act reply's format; the search/replace block and closing rules are shared with the
format ablation in bench/edit_formats.py, so its arms differ only where they mean to."""

RAISED_MARK = "  # <- the failing test's error is raised here"
"""Appended to the line a failing test's error comes from, in the code an act step shows:
the 1.5B sent `humanize.clamp` back unchanged, and fixed it in one of two answers with
its raising line marked (bench/README.md, edit_formats.py). Replies are read without it."""


def unmarked(code: str) -> str:
    """`code` without the mark of the raising line, should a reply copy it back."""
    return code.replace(RAISED_MARK, "")


# The language tag a fence carries for a file suffix: written when a file is shown, read
# (agent/reply_parser.py) to tell a file's code from a snippet in another language.
FENCE_LANGUAGES = {
    ".py": "python",
    ".js": "javascript",
    ".ts": "typescript",
    ".md": "markdown",
    ".json": "json",
    ".toml": "toml",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".sh": "bash",
    ".rs": "rust",
    ".go": "go",
    ".c": "c",
    ".h": "c",
    ".cpp": "cpp",
    ".java": "java",
    ".rb": "ruby",
    ".html": "html",
    ".css": "css",
    ".sql": "sql",
}


def format_reply(edits: Sequence[Edit], confidence: int | None = None) -> str:
    """Write edits in the reply format; the inverse of `reply_parser.parse` for code without
    ``` lines."""
    parts = [_format_edit(edit) for edit in edits]
    if confidence is not None:
        parts.append(f"Confidence: {confidence}")
    return "\n\n".join(parts) + "\n"


def reply_from(changes: Sequence[Mapping[str, str]], confidence: int | None = 90) -> str:
    """A reply in the format from `path`/`search`/`replace` changes (an empty search means
    new code for the file): how tests, eval solutions and dry runs script a model."""
    edits = [
        Edit(c["path"], "code", code=c["replace"])
        if not c.get("search")
        else Edit(c["path"], "search_replace", search=c["search"], replace=c["replace"])
        for c in changes
    ]
    return format_reply(edits, confidence)


def reply_start(path: str, code: str = "") -> str:
    """How a reply that sends `code` for `path` begins: its path line and opening fence."""
    return f"{path}\n{_fence(code)}{FENCE_LANGUAGES.get(PurePosixPath(path).suffix, '')}\n"


def show_file(path: str, text: str) -> str:
    """A file's text in the shape of a reply that sends it whole."""
    return _format_edit(Edit(path, "code", code=text))


def _format_edit(edit: Edit) -> str:
    if edit.kind == "search_replace":
        search, replace = ended(edit.search), ended(edit.replace)
        return f"{edit.path}\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE"
    code = ended(edit.code)
    return f"{reply_start(edit.path, code)}{code}{_fence(code)}"


def _fence(code: str) -> str:
    """Backticks longer than any run that starts a line of `code`, so it cannot close early."""
    runs = [len(m.group(1)) for m in re.finditer(r"^[ \t]*(`{3,})", code, re.MULTILINE)]
    return "`" * max([3, *(n + 1 for n in runs)])
