"""The strict line-by-line parser of an act reply (the format is `agent/replies.py`).

Small models bend the format in many small ways (a path inside the fence, a block left
open, a `<file>` tag); each rule that forgives one lives here, apart from writing and
applying edits. A block it cannot place raises ValueError with a message the model can act on.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from tiercode.agent.replies import FENCE_LANGUAGES, unmarked
from tiercode.tools.edits import Edit
from tiercode.tools.repomap import is_test_file

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([^`\s]*)[^`]*$")
_HEAD = re.compile(r"^\s*<{5,9} SEARCH>?\s*$")
_DIVIDER = re.compile(r"^\s*={5,9}\s*$")
_UPDATED = re.compile(r"^\s*>{5,9} REPLACE\s*$")
_CONFIDENCE = re.compile(
    r"^[\s*_#>-]*confidence[\s*_]*[:=][\s*_]*(\d+(?:\.\d+)?)\s*%?[\s*_.]*$", re.IGNORECASE
)
_ANNOTATION = re.compile(r"^\s*confidence\s*:\s*(\d+(?:\.\d+)?)\s*%?\s*$", re.IGNORECASE)
"""The confidence line as it can close a Python block: `confidence = 90` there is code."""

_LABEL = re.compile(r"^(?:file|path|filename)\s*:\s*", re.IGNORECASE)
_PYTHON = {"python", "py", "py3", "python3"}
_DEF_START = re.compile(r"^(?:async\s+)?(?:def|class)\s")
_CUT = "the reply was cut inside a code block"
_FILE_TAG = re.compile(r'^\s*<file path="([^"]+)"\s*>\s*$')
_FILE_END = re.compile(r"^\s*</file>\s*$")
_SHELLS = frozenset({"bash", "sh", "shell", "console"})


@dataclass(frozen=True)
class Reply:
    """A parsed act reply; `prose` is the text around the blocks, kept for the logs."""

    edits: list[Edit]
    confidence: int | None
    prose: str
    command: str = ""
    """A shell block with no path before it: a command to run after the edits, which
    goes through the command policy and, where asked, the user's approval."""
    ignored: list[str] = field(default_factory=list)
    """Files outside the step that the reply also tried to edit: left untouched."""


def parse(text: str, allowed_paths: Sequence[str] = ()) -> Reply:
    """Read the edits and the confidence out of a model's reply.

    Raises ValueError, worded for the model, when a block has no path (and there is not
    exactly one allowed path), names a path outside `allowed_paths`, is cut off, or when
    the reply has no block at all.
    """
    return _Parser(text, [_normal(p) for p in allowed_paths]).run()


def complete_part(text: str) -> str | None:
    """A reply cut by a limit, up to the end of the last Python definition it finished:
    the open block loses the definition it was cut in. A 1.5B shown three functions
    sends all three back and meets the token cap in the last, after the fix in the first.
    None when nothing whole is left."""
    lines = text.split("\n")
    opened = [i for i, line in enumerate(lines) if _FENCE.match(line)]
    if len(opened) % 2 == 0:
        return text  # cut outside a block: every block is whole
    head, body = lines[: opened[-1] + 1], lines[opened[-1] + 1 :]
    starts = [i for i, line in enumerate(body) if line[:1].strip() and i > 0]
    for end in reversed(starts):
        kept = body[:end]
        if _parses(kept) and any(_DEF_START.match(line) for line in kept):
            while not kept[-1].strip():
                kept.pop()
            fence = _FENCE.match(head[-1])
            return "\n".join([*head, *kept, fence[1] if fence else "```"])
    return None


class _Parser:
    """One pass over the reply's lines; a block's path is the path line just before it."""

    def __init__(self, text: str, allowed: list[str]) -> None:
        self.lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self.allowed = allowed
        self.at = 0
        self.prose: list[str] = []
        self.mark = 0  # prose before this index belongs to earlier blocks
        self.edits: list[Edit] = []
        self.confidence: int | None = None
        self.last_path: str | None = None
        self.command = ""

    def run(self) -> Reply:
        while self.at < len(self.lines):
            line = self.lines[self.at]
            if fence := _FENCE.match(line):
                self._fenced(fence.group(1), fence.group(2).lower())
            elif tag := _FILE_TAG.match(line):
                self._tagged(tag.group(1))
            elif _HEAD.match(line):
                path = self._resolve_search_path(self._path_before())
                self._search_replace(self.lines, path)
            elif found := _CONFIDENCE.match(line):
                self.confidence = _clamp(found.group(1))
                self.at += 1
            else:
                self.prose.append(line)
                self.at += 1
        if not self.edits:
            raise ValueError("the reply has no code block")
        # A block for a file outside the step (a test, while tests fail) is dropped when the
        # reply also edits the step's files: the checks judge the rest on its own.
        inside = [
            dataclasses.replace(
                e, code=unmarked(e.code), search=unmarked(e.search), replace=unmarked(e.replace)
            )
            for e in self.edits
            if not self.allowed or e.path in self.allowed
        ]
        if not inside:
            raise ValueError(
                f"{self.edits[0].path} is not a file you may edit here; the allowed files are: "
                + ", ".join(self.allowed)
            )
        ignored = list(
            dict.fromkeys(e.path for e in self.edits if self.allowed and e.path not in self.allowed)
        )
        prose = "\n".join(self.prose).strip()
        return Reply(inside, self.confidence, prose, self.command, ignored)

    def _fenced(self, fence: str, language: str) -> None:
        path = self._path_before()
        python = language in _PYTHON or (not language and (path or "").endswith(".py"))
        body = self._fence_body(fence, python)
        # "```\npython": the tag on its own line, when it is the file's own language (a
        # text file's first line may well read `C`)
        tags = set(FENCE_LANGUAGES.values()) if not path else set(_PYTHON if python else ())
        if path and (own := FENCE_LANGUAGES.get(PurePosixPath(path).suffix)):
            tags.add(own)
        if not language and len(body) > 1 and body[0].strip().lower() in tags:
            language = body.pop(0).strip().lower()
        if any(_HEAD.match(line) for line in body):
            self._fenced_search_replace(body, path)
            return
        if language in ("diff", "patch"):
            raise ValueError(
                "unified diffs are not accepted; send the new function or file in a code "
                "block, or a search/replace block"
            )
        code = "\n".join(body) + "\n" if body else ""
        if path is None and language in _SHELLS:
            self.command = code.strip()
            return
        for target, lines in self._by_path_lines(path, body):
            if any(line.strip() for line in lines) or lines is body:
                code = "\n".join(lines) + "\n" if lines else ""
                self.edits.append(Edit(self._resolve(target, language, code), "code", code=code))
            elif target is not None:
                self.prose.append(target)  # "```\npath\n```": it names the next block's file

    def _by_path_lines(
        self, path: str | None, body: list[str]
    ) -> list[tuple[str | None, list[str]]]:
        """The block cut at lines that are an editable file's path: small models put the
        path inside the fence, or run two files' code together in one block."""
        cuts = [i for i, line in enumerate(body) if _path_of(line, self.allowed) in self.allowed]
        if not cuts:
            return [(path, body)]
        parts = [(path, body[: cuts[0]])] if any(x.strip() for x in body[: cuts[0]]) else []
        for at, end in zip(cuts, [*cuts[1:], len(body)], strict=True):
            parts.append((_path_of(body[at], self.allowed), body[at + 1 : end]))
        return parts

    def _tagged(self, path: str) -> None:
        """`<file path="…">` … `</file>`: small models answer in the shape the files were
        shown to them in, so that shape is read as a code block for that path."""
        end = next(
            (i for i in range(self.at + 1, len(self.lines)) if _FILE_END.match(self.lines[i])),
            None,
        )
        body = self.lines[self.at + 1 : end] if end is not None else self._rest()
        if body and _FENCE.match(body[0]) and _FENCE.match(body[-1]) and len(body) > 1:
            body = body[1:-1]
        self.at = len(self.lines) if end is None else end + 1
        self.mark = len(self.prose)
        code = "\n".join(body) + "\n" if body else ""
        self.edits.append(Edit(self._resolve(_normal(path), ""), "code", code=code))

    def _fence_body(self, fence: str, python: bool = False) -> list[str]:
        """The lines inside the fence opened at self.at; moves past its closing line.

        Python code may hold a fence line itself (a docstring with a ``` example): then
        the first closing line after which the code parses is the real one."""
        close = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        ends = [e for e in range(self.at + 1, len(self.lines)) if close.match(self.lines[e])]
        if python and ends and not _parses(self.lines[self.at + 1 : ends[0]]):
            ends = [e for e in ends if _parses(self.lines[self.at + 1 : e])] or (
                [] if _parses(self._open_body()[0]) else ends
            )
        if not ends:
            return self._rest()
        body = self.lines[self.at + 1 : ends[0]]
        self.at = ends[0] + 1
        self.mark = len(self.prose)
        trimmed = list(body)
        if python and (found := _trailing_confidence(trimmed, _ANNOTATION)) is not None:
            # "Confidence: 90" as Python would be a bare annotation, never meant as code.
            body, self.confidence = trimmed, found
        return body

    def _rest(self) -> list[str]:
        """A block left open at the end of a finished reply: small models often stop
        without closing it. (A reply cut by a limit never gets here: the caller refuses
        incomplete replies first.) A trailing confidence line is read, not kept as code."""
        body, confidence = self._open_body()
        if confidence is not None:
            self.confidence = confidence
        self.at = len(self.lines)
        self.mark = len(self.prose)
        return body

    def _open_body(self) -> tuple[list[str], int | None]:
        """The lines after the fence at self.at to the end, and a trailing confidence."""
        body = self.lines[self.at + 1 :]
        return body, _trailing_confidence(body)

    def _fenced_search_replace(self, body: list[str], path: str | None) -> None:
        """Search/replace blocks inside a fence, each maybe after its own path line."""
        index = 0
        while index < len(body):
            line = body[index]
            if _HEAD.match(line):
                index = self._read_block(body, index, self._resolve_search_path(path))
            else:
                named = _path_of(line, self.allowed)
                if named and any(_HEAD.match(rest) for rest in body[index + 1 : index + 2]):
                    path = named
                index += 1

    def _search_replace(self, lines: list[str], path: str) -> None:
        self.at = self._read_block(lines, self.at, path)
        self.mark = len(self.prose)

    def _read_block(self, lines: list[str], head: int, path: str) -> int:
        """Read one SEARCH/=======/REPLACE block starting at `head`; return the next index."""
        divider = next((i for i in range(head + 1, len(lines)) if _DIVIDER.match(lines[i])), None)
        if divider is None:
            raise ValueError(_CUT)
        end = next((i for i in range(divider + 1, len(lines)) if _UPDATED.match(lines[i])), None)
        if end is None:
            raise ValueError(_CUT)
        search = "".join(line + "\n" for line in lines[head + 1 : divider])
        replace = "".join(line + "\n" for line in lines[divider + 1 : end])
        self.edits.append(Edit(path, "search_replace", search=search, replace=replace))
        self.last_path = path
        return end + 1

    def _path_before(self) -> str | None:
        """Take the path line (blank lines allowed after it) written since the last block."""
        index = len(self.prose) - 1
        while index >= self.mark and not self.prose[index].strip():
            index -= 1
        if index < self.mark:
            return None
        path = _path_of(self.prose[index], self.allowed)
        if path is not None:
            del self.prose[index:]
        return path

    def _resolve(self, path: str | None, language: str, code: str = "") -> str:
        if path is None:
            fits = [p for p in self.allowed if _language_fits(language, p)]
            if len(fits) > 1 and code:
                # Small models often drop the path: code of tests belongs in the test file,
                # other code in the one file that is not a test.
                wants_test = bool(re.search(r"^\s*def test_", code, re.MULTILINE))
                fits = [p for p in fits if is_test_file(p) == wants_test]
            if len(fits) == 1:
                return fits[0]
            raise ValueError("a code block has no file path on the line before it")
        return path

    def _resolve_search_path(self, path: str | None) -> str:
        """A search/replace block without a path line continues the previous block's file."""
        return self._resolve(path or self.last_path, "")


def _path_of(line: str, allowed: Sequence[str]) -> str | None:
    """The file path a line consists of (markdown decoration removed), or None."""
    text = line.strip().lstrip("#").strip()
    for _ in range(2):
        text = _LABEL.sub("", text.strip("*` ").rstrip(":").strip("*` "))
    if not text or any(c.isspace() for c in text) or "://" in text or "`" in text:
        return None
    path = _normal(text)
    # Small models drop the directories ("filesize.py" for humanize/filesize.py).
    tails = [a for a in allowed if a.endswith(f"/{path}")]
    if path not in allowed and len(tails) == 1:
        return tails[0]
    if path in allowed or "/" in path or re.search(r"\w\.\w+$", path):
        return path
    return None


def _normal(path: str) -> str:
    return path[2:] if path.startswith("./") else path


def _language_fits(language: str, path: str) -> bool:
    """Whether a block tagged `language` can be the file at `path` (so a shell snippet is not)."""
    suffix = PurePosixPath(path).suffix
    names = {suffix[1:], FENCE_LANGUAGES.get(suffix, "")}
    if suffix == ".py":
        names |= {"py3", "python3"}
    return not language or language in names


def _trailing_confidence(body: list[str], line: re.Pattern[str] = _CONFIDENCE) -> int | None:
    """Take a confidence line off the end of a block's lines (and the blank lines around
    it), in place; returns the score, or None when the block does not end with one."""
    while body and not body[-1].strip():
        body.pop()
    if not body or not (found := line.match(body[-1])):
        return None
    body.pop()
    while body and not body[-1].strip():
        body.pop()
    return _clamp(found.group(1))


def _clamp(value: str) -> int:
    number = float(value)
    if "." in value and number <= 1:
        number *= 100  # "Confidence: 0.85" means 85
    return max(0, min(100, round(number)))


def _parses(lines: list[str]) -> bool:
    try:
        ast.parse("\n".join(lines))
    except (SyntaxError, ValueError):
        return False
    return True
