"""Carry a rename the model made at a definition through to every reference, with rope.

A small model renames `def parse_row` to `def parse_record` and leaves the callers in
other files (and the imports of them) as they were. rope knows Python's scoping and
imports, so the agent asks it to finish the rename rather than hoping for a retry that
edits every file at once.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from rope.base.project import Project
from rope.refactor.rename import Rename


@dataclass(frozen=True)
class Renamed:
    """A top-level function or class of `path` whose name changed and nothing else did
    to its set of names."""

    path: str
    old: str
    new: str


def detect(path: str, before: str, after: str) -> Renamed | None:
    """The one top-level definition that disappeared while one of the same kind appeared,
    or None (no rename, several, or a file that does not parse)."""
    try:
        old_defs, new_defs = top_level(before), top_level(after)
    except SyntaxError:
        return None
    gone = {n: k for n, k in old_defs.items() if n not in new_defs}
    came = {n: k for n, k in new_defs.items() if n not in old_defs}
    if len(gone) != 1 or len(came) != 1:
        return None
    (old, old_kind), (new, new_kind) = next(iter(gone.items())), next(iter(came.items()))
    return Renamed(path, old, new) if old_kind == new_kind else None


def follow(root: Path, renamed: Renamed) -> dict[str, str]:
    """Rename every reference of `renamed.old` in the project to `renamed.new`.

    The definition already carries the new name; it is given its old name back for rope
    to find, and rope renames it and everything that refers to it. Returns the new text of
    each file rope changed (relative path → text); nothing is written. Raises ValueError
    when rope cannot do it.
    """
    source = (root / renamed.path).read_text(encoding="utf-8")
    pattern = re.compile(rf"^((?:async\s+)?(?:def|class)\s+){re.escape(renamed.new)}\b", re.M)
    restored, count = pattern.subn(rf"\g<1>{renamed.old}", source, count=1)
    if count != 1:
        raise ValueError(f"cannot find the definition of {renamed.new} in {renamed.path}")
    return _rope_rename(root, renamed, restored, source)


def definition(root: Path, renamed: Renamed) -> dict[str, str]:
    """Rename the top-level definition `renamed.old` of `renamed.path`, as the file is
    now, and every reference to it, to `renamed.new`: the new text of each file rope
    changed; nothing is written. Raises ValueError when rope cannot do it."""
    source = (root / renamed.path).read_text(encoding="utf-8")
    return _rope_rename(root, renamed, source, source)


def _rope_rename(root: Path, renamed: Renamed, text: str, source: str) -> dict[str, str]:
    """Rope's rename of `renamed.old` (defined at top level in `text`, read as the file's
    text) to `renamed.new`; the file is left holding `source`."""
    offset = _name_offset(text, renamed.old)
    project = Project(str(root), ropefolder=None)
    try:
        resource = project.get_resource(renamed.path)
        resource.write(text)
        try:
            changes = Rename(project, resource, offset).get_changes(renamed.new)
            texts = {
                res.path: change.new_contents
                for change in changes.changes
                for res in [change.resource]
                if hasattr(change, "new_contents")
            }
        finally:
            resource.write(source)
    except Exception as exc:  # rope raises its own hierarchy, and SyntaxError in other files
        raise ValueError(f"rope could not rename {renamed.old}: {exc}") from exc
    finally:
        project.close()
    return dict(sorted(texts.items()))


def top_level(source: str) -> dict[str, str]:
    """The module's top-level functions and classes: name -> "FunctionDef" or "ClassDef"
    (SyntaxError when it does not parse)."""
    return {
        node.name: type(node).__name__.replace("Async", "")
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }


def _name_offset(source: str, name: str) -> int:
    """Character offset of `name` in its top-level `def`/`class` line (rope's offsets are
    in characters)."""
    match = re.search(rf"^(?:async\s+)?(?:def|class)\s+({re.escape(name)})\b", source, re.M)
    assert match is not None
    return match.start(1)
