"""Which lines the failing tests most likely fail on: spectrum-based fault localization.

The tests run once more under coverage.py with each test function's lines recorded
apart (its `test_function` dynamic context). A line scores by Ochiai: run by every
failing test and by few passing ones, it is the likeliest place of the bug. Ties (a
line only the failing tests reach ties with every other such line) go to the lines of
the failing tests' traceback, then to the lines nearest them. Only a `python -m pytest`
command can run under coverage; for any other the ranking is the traceback's lines.

Code that ran outside every test function has no spectrum: a function called while the
tests imported the code (one that fills a table of rules) ran for all of them and for none.
Its lines are reported apart (`Ranking.setup`), to be tried after the ranked ones.

A repository without tests has one failing run, of the check that reproduced the
failure (`rank_run`): no spectrum, so its traceback's lines come first, then the nearest.
"""

from __future__ import annotations

import math
import os
import shlex
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import coverage

from tiercode.tools import shell
from tiercode.tools.definitions import body_lines, functions
from tiercode.tools.repomap import is_test_file
from tiercode.tools.tracebacks import Frame, split_node_id

_SHELL = {"&&", "||", ";", "|", "&", ">", "<"}
_RC = "[run]\ndynamic_context = test_function\ndata_file = {data}\n"


@dataclass(frozen=True)
class Suspect:
    """One line of a code file (repo-relative path, 1-based line) and how suspect it is."""

    path: str
    line: int
    score: float


@dataclass(frozen=True)
class Ranking:
    """The suspect lines, most suspect first, and the lines inside functions that ran only
    outside the tests (`path`, `line`, in file order)."""

    suspects: list[Suspect]
    setup: list[tuple[str, int]]


Spectra = dict[tuple[str, int], set[str]]
"""Each code line the tests ran (repo-relative path, line) -> the test functions that ran
it; "" stands for code run outside any test (while the tests were collected)."""


def rank(
    root: Path, command: str, failing: Sequence[str], frames: Sequence[Frame], timeout_s: float
) -> Ranking:
    """The code lines the failing tests run, most suspect first, and the setup lines (see
    the module doc)."""
    traced = _traced(frames)
    spectra = _spectra(root, command, timeout_s) if failing else {}
    scores = _ochiai(spectra, failing) or dict.fromkeys(traced, 1.0)
    order = _order(traced)
    ranked = sorted(scores.items(), key=lambda item: (-item[1], *order(item[0])))
    suspects = [Suspect(p, n, round(s, 4)) for (p, n), s in ranked]
    return Ranking(suspects, _setup(root, spectra))


def rank_run(root: Path, data_file: Path, frames: Sequence[Frame]) -> list[Suspect]:
    """The lines inside functions that one failing run of a script (an acceptance check)
    recorded in `data_file` ran: its traceback's lines first, then the lines nearest them.
    One run has no spectrum to score by, so every line it ran is equally suspect."""
    ran = _setup(root, measured(root, data_file))
    return [Suspect(p, n, 1.0) for p, n in sorted(ran, key=_order(_traced(frames)))]


def _traced(frames: Sequence[Frame]) -> list[tuple[str, int]]:
    return [(f.path, f.line) for f in frames if not is_test_file(f.path)]


def _order(traced: list[tuple[str, int]]) -> Callable[[tuple[str, int]], tuple[int, int, str, int]]:
    """A sort key for code lines: a traced line by its first place in the traceback,
    then the others by their distance to the nearest traced line of their file."""
    first = {at: traced.index(at) for at in traced}

    def key(at: tuple[str, int]) -> tuple[int, int, str, int]:
        path, line = at
        near = min((abs(line - n) for p, n in traced if p == path), default=1 << 30)
        return (first.get(at, len(traced)), near, path, line)

    return key


def coverage_command(command: str, rcfile: Path) -> str | None:
    """`command` run under coverage.py, or None unless it is a plain `<python> -m pytest ...`
    (no shell operators: the command is rebuilt word by word)."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if words[1:3] != ["-m", "pytest"] or _SHELL & set(words):
        return None
    return shlex.join([words[0], "-m", "coverage", "run", f"--rcfile={rcfile}", *words[1:]])


def _spectra(root: Path, command: str, timeout_s: float) -> Spectra:
    """Run the tests once more under coverage ({} when that is not possible or recorded
    nothing); lines of test files and of code outside the repository are left out."""
    with tempfile.TemporaryDirectory(prefix="tiercode-faultloc-") as tmp:
        data_file, rcfile = Path(tmp) / "coverage", Path(tmp) / "coveragerc"
        rcfile.write_text(_RC.format(data=data_file))
        covered = coverage_command(command, rcfile)
        if covered is None:
            return {}
        shell.run(
            covered,
            root,
            timeout_s=timeout_s,
            env_extra={"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": _with_coverage(Path(tmp))},
            writable=[Path(tmp)],
        )
        return measured(root, data_file)


def measured(root: Path, data_file: Path) -> Spectra:
    """The repository's code lines (not its tests') that coverage data recorded, with
    the contexts that ran each ({} when there is no data)."""
    if not data_file.is_file():
        return {}
    data = coverage.CoverageData(basename=str(data_file))
    data.read()
    spectra: Spectra = {}
    base = root.resolve()
    for path in data.measured_files():
        try:
            rel = Path(path).resolve().relative_to(base).as_posix()
        except ValueError:
            continue  # a library outside the repository
        if is_test_file(rel):
            continue
        for line, contexts in (data.contexts_by_lineno(path) or {}).items():
            spectra[(rel, line)] = set(contexts)
    return spectra


def _ochiai(spectra: Spectra, failing: Sequence[str]) -> dict[tuple[str, int], float]:
    """Ochiai scores of the code lines at least one failing test runs."""
    names = list(dict.fromkeys(_context_name(node_id) for node_id in failing))
    scores: dict[tuple[str, int], float] = {}
    for at, contexts in spectra.items():
        ran = {c for c in contexts if c}
        failed = sum(1 for c in ran if any(_same_test(c, n) for n in names))
        if failed:
            scores[at] = failed / math.sqrt(len(names) * len(ran))
    return scores


def _setup(root: Path, spectra: Spectra) -> list[tuple[str, int]]:
    """The lines inside a function's body that ran, but never in a test function: a
    function the code calls at import. Declarations (`def` and `class` lines, imports, a
    module's constants) run at import too; they are left out, or every module's would be
    here."""
    only = sorted(at for at, contexts in spectra.items() if not any(contexts))
    found: list[tuple[str, int]] = []
    for path in dict.fromkeys(p for p, _ in only):
        try:
            source = (root / path).read_bytes()
        except OSError:
            continue
        bodies = [body_lines(f) for f in functions(source)]
        found += [(p, n) for p, n in only if p == path and any(n in b for b in bodies)]
    return found


def _with_coverage(tmp: Path) -> str:
    """A PYTHONPATH that adds tiercode's own coverage.py, and nothing else, to the tests'
    interpreter: the repository's Python seldom has it. (Another Python version loses
    only its C tracer, and coverage.py falls back to its Python one.)"""
    (tmp / "tracer").mkdir()
    (tmp / "tracer" / "coverage").symlink_to(Path(coverage.__file__).parent)
    return os.pathsep.join(p for p in (str(tmp / "tracer"), os.environ.get("PYTHONPATH")) if p)


def _context_name(node_id: str) -> tuple[str, str]:
    """A pytest node id as (module stem, qualified function): what coverage's context for
    it ends with (`tests/test_x.py::TestA::test_b[1]` → ("test_x", "TestA.test_b"))."""
    path, name = split_node_id(node_id)
    return PurePosixPath(path).stem, name


def _same_test(context: str, name: tuple[str, str]) -> bool:
    """Whether coverage's context (`module.Class.function`, the module named as pytest
    imported it: `test_x` or `tests.test_x`) is this test function."""
    qualified = f"{name[0]}.{name[1]}"
    return context == qualified or context.endswith("." + qualified)
