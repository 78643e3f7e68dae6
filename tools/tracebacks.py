"""Failing-test localization: which tests failed, and which frames of the code under test to show.

Reads the text pytest prints (`-q` with the default `--tb=auto`, `--tb=short`, `--tb=long`)
and plain Python tracebacks, so the agent can start from the code that actually raised
instead of from a guess over file names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tiercode.tools.repomap import is_test_file

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_SUMMARY = re.compile(r"^(?:FAILED|ERROR) (.+?)(?: - .*)?$")
_SECTION = re.compile(r"^_{2,} .+ _{2,}$|^Traceback \(most recent call last\):$")
_PYTEST_LOCATION = re.compile(r"^([^\s>:][^:]*\.py):(\d+):(?: in (\S+)|.*)$")
_PLAIN_LOCATION = re.compile(r'^\s*File "(.+?)", line (\d+)(?:, in (\S+))?')
_DEF = re.compile(r"^\s*>?\s*(?:async\s+)?def\s+(\w+)\s*\(")
_ENTRY_SEPARATOR = re.compile(r"^(?:_ ){3,}_?\s*$")


@dataclass(frozen=True)
class Frame:
    """One traceback entry inside the repository (path is repo-relative, POSIX)."""

    path: str
    line: int
    function: str


def failing_tests(output: str) -> list[str]:
    """Node ids named by pytest's `FAILED`/`ERROR` summary lines, in order, without repeats."""
    found: list[str] = []
    for line in _clean(output).splitlines():
        match = _SUMMARY.match(line)
        if match and match.group(1) not in found:
            found.append(match.group(1))
    return found


def split_node_id(node_id: str) -> tuple[str, str]:
    """A pytest node id as (file, dotted test name without parameters):
    `tests/test_x.py::TestA::test_b[1]` → ("tests/test_x.py", "TestA.test_b")."""
    path, _, name = node_id.partition("::")
    return path, name.split("[")[0].replace("::", ".")


def frames(output: str, root: Path) -> list[Frame]:
    """Every traceback frame in a file under `root`, outermost first, each once.

    Frames in site-packages, the standard library or files that do not exist under `root`
    are dropped: the model cannot (and should not) edit them.
    """
    seen: list[Frame] = []
    for block in _blocks(output, root):
        for frame in block:
            if frame not in seen:
                seen.append(frame)
    return seen


def suspects(output: str, root: Path) -> list[Frame]:
    """Frames outside test files, innermost first within each failure: the code to look at."""
    found: list[Frame] = []
    for block in _blocks(output, root):
        for frame in reversed(block):
            if not is_test_file(frame.path) and frame not in found:
                found.append(frame)
    return found


_HEADER = re.compile(r"^_{2,} (.+?) _{2,}$")  # pytest pads long names with two
_BANNER = re.compile(r"^={3,} .* ={3,}$")
_TALLY = re.compile(r"^=*\s*\d+ (?:failed|passed|errors?)\b.*$")
_CAPTURED = re.compile(r"^-{3,} Captured (?:stdout|stderr) call -{3,}$")
_DIFF_LINE = re.compile(r"^[-+?] ")
DIGEST_LINES = 10
"""Most lines kept per failure (failing lines, locations, errors), and of its captured output."""


def digest(output: str, most: int = 8) -> str:
    """Each failure as its name, the lines that failed with their locations, and the error:
    what a model needs from a pytest run, without the parametrize tables and fixture code
    that fill most of it. Output that holds no pytest failure report comes back as it is."""
    failures: list[tuple[str, list[str]]] = []
    current: list[str] | None = None
    # Captured output is kept too: an `assert_equal` helper prints the expected and the
    # actual value there, and its error says only "AssertionError".
    captured = 0  # lines of captured output still to keep
    tally = ""
    for line in _clean(output).splitlines():
        if header := _HEADER.match(line):
            current, captured = [], 0
            failures.append((header.group(1), current))
        elif _BANNER.match(line) or _TALLY.match(line):
            current = None
            tally = line.strip("= ") if _TALLY.match(line) else tally
        elif current is None:
            continue
        elif _CAPTURED.match(line):
            current.append(line)
            captured = DIGEST_LINES
        elif captured and line.strip():
            current.append(line)
            captured -= 1
        elif _kept(line) and len(current) < DIGEST_LINES:
            current.append(line)
    if not failures:
        return output
    ids = failing_tests(output)
    parts = [
        next((i for i in ids if i.endswith(f"::{name}")), name) + ":\n" + "\n".join(lines)
        for name, lines in failures[:most]
    ]
    if len(failures) > most:
        parts.append(f"({len(failures) - most} more failures)")
    return "\n\n".join([*parts, tally] if tally else parts)


def _kept(line: str) -> bool:
    """A failing source line, a location, or an error line that is not part of a diff."""
    if line.startswith("E "):
        return bool(line[1:].strip()) and not _DIFF_LINE.match(line[1:].strip())
    return line.startswith(">") or bool(_PYTEST_LOCATION.match(line))


def _clean(output: str) -> str:
    return _ANSI.sub("", output)


def _blocks(output: str, root: Path) -> list[list[Frame]]:
    """Frames grouped by failure section (pytest's `___ name ___` header or a `Traceback`)."""
    base = root.resolve()
    blocks: list[list[Frame]] = [[]]
    entry: list[str] = []  # lines of the current long-format entry, to find its `def`
    for line in _clean(output).splitlines():
        if _SECTION.match(line):
            blocks.append([])
            entry = []
            continue
        if _ENTRY_SEPARATOR.match(line):
            entry = []
            continue
        located = _locate(line, entry)
        if located is None:
            entry.append(line)
            continue
        entry = []
        frame = _frame(base, *located)
        if frame is not None and frame not in blocks[-1]:
            blocks[-1].append(frame)
    return [block for block in blocks if block]


def _locate(line: str, entry: list[str]) -> tuple[str, int, str] | None:
    """(path, line, function) if `line` is a frame's location line, else None."""
    plain = _PLAIN_LOCATION.match(line)
    if plain:
        return plain.group(1), int(plain.group(2)), plain.group(3) or ""
    located = _PYTEST_LOCATION.match(line)
    if not located:
        return None
    function = located.group(3) or _last_def(entry)
    return located.group(1), int(located.group(2)), function


def _last_def(entry: list[str]) -> str:
    """The function a long-format entry shows: the last `def` in its source lines."""
    for line in reversed(entry):
        match = _DEF.match(line)
        if match:
            return match.group(1)
    return ""


def _frame(base: Path, raw_path: str, line: int, function: str) -> Frame | None:
    path = Path(raw_path)
    resolved = (path if path.is_absolute() else base / path).resolve()
    if not resolved.is_relative_to(base) or not resolved.is_file():
        return None
    relative = resolved.relative_to(base)
    if {"site-packages", "dist-packages"} & set(relative.parts):
        return None
    return Frame(relative.as_posix(), line, function)
