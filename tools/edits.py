"""How one edit becomes a file's new text: Python code spliced by syntax tree, a whole
new file, or an aider-style search/replace block. Pure text in, text out; writing it is
`RepoFiles.apply_edit`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tiercode.tools.definitions import looks_whole
from tiercode.tools.outline import restore_docstrings
from tiercode.tools.search_replace import EditFailed, apply_search_replace
from tiercode.tools.splice import splice


class Unchanged(EditFailed):
    """The edit repeats what the file holds. Beside edits that change something it is
    harmless (a model often sends back a file it was shown); alone it is a failure."""


@dataclass(frozen=True)
class Edit:
    """One change to one file: new code for it, or an aider-style search/replace pair."""

    path: str
    kind: Literal["code", "search_replace"]
    code: str = ""
    search: str = ""
    replace: str = ""


def new_text(edit: Edit, source: str | None, path: str, whole: bool = True) -> str:
    """The new content of `path` after `edit`; `source` is None when the file does not exist.

    Python code is spliced by definition unless it reads as the whole new file; any other
    code replaces the file. `whole=False` (a large file the model saw only in outline)
    forbids replacing the file: code is always spliced, and a non-Python block is refused.
    Raises EditFailed when the edit cannot be applied or would change nothing (so the
    model hears why, instead of a step with nothing to commit).
    """
    new = _new_text(edit, source, path, whole)
    if new == source:
        raise Unchanged(f"the edit to {path} changes nothing: it repeats what is there")
    return new


def _new_text(edit: Edit, source: str | None, path: str, whole: bool) -> str:
    if edit.kind == "search_replace":
        return _apply_search_replace(edit, source, path)
    code = ended(edit.code.replace("\r\n", "\n"))
    if not source or not source.strip():
        return code
    python = path.endswith((".py", ".pyi"))
    if python:
        code = restore_docstrings(code, source)
    if not whole and not python:
        raise EditFailed(
            f"{path} is too large to send whole; change it with a search/replace block"
        )
    if not python or (whole and looks_whole(source, code)):
        return code.replace("\n", "\r\n") if "\r\n" in source else code
    return splice(source, code, path)


def _apply_search_replace(edit: Edit, source: str | None, path: str) -> str:
    if source is None or not source.strip():
        if edit.search.strip():
            state = "does not exist" if source is None else "is empty"
            raise EditFailed(f"{path} {state}; use an empty search block to create it")
        return edit.replace
    if not edit.search.strip():
        raise EditFailed(
            f"{path} already exists and is not empty; the search block must quote the lines "
            "to replace"
        )
    return apply_search_replace(path, source, edit.search, edit.replace)[0]


def ended(text: str) -> str:
    """`text` ending in a newline, unless it is empty."""
    return text if text.endswith("\n") or not text else text + "\n"
