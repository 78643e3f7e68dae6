"""The checks a change must pass before the agent may call it done: it compiles, every
module that imports it still imports, and the repository's tests say what they say.

Each check runs the repository's code, so each goes through `shell.run` and its sandbox.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tiercode.tools import shell
from tiercode.tools.repomap import is_test_file
from tiercode.tools.text import truncate_middle
from tiercode.tools.tracebacks import digest, failing_tests

TEST_TIMEOUT_S = 300.0
RERUN_FLOOR_S = 30.0
TARGET_FLOOR_S = 15.0
IMPORT_TIMEOUT_S = 60.0
_COUNTS = re.compile(r"(\d+) (passed|failed|error|errors)\b")


@dataclass(frozen=True)
class TestRun:
    """One run of the repository's tests: did they pass, and which ones failed."""

    command: str
    passed: bool
    failing: tuple[str, ...] = ()
    """Node ids from pytest's short summary (`FAILED tests/test_x.py::test_y`)."""
    output: str = field(default="", repr=False)
    counts: str = ""
    """pytest's closing tally, e.g. "41 passed, 2 failed"."""
    seconds: float = 0.0
    timed_out: bool = False

    @property
    def found_none(self) -> bool:
        """pytest ran and found no test (its exit code 5): the repository has no tests."""
        return not self.passed and not self.failing and "no tests ran" in self.output[-2000:]

    def rerun_timeout(self) -> float:
        """How long a run after an edit may take: ten times this one, at least the floor.
        An edit that loops forever is caught in seconds, not at the 300 s ceiling."""
        return min(TEST_TIMEOUT_S, max(RERUN_FLOOR_S, 10 * self.seconds))

    def target_timeout(self) -> float:
        """How long a run of only the failing tests may take: a candidate that loops is
        rejected in seconds, and one that passes them still faces the whole suite."""
        return min(self.rerun_timeout(), max(TARGET_FLOOR_S, 3 * self.seconds))

    @classmethod
    def from_state(cls, data: dict[str, Any] | None) -> TestRun | None:
        """Back from the checkpointed form that `to_state` wrote (None: no tests)."""
        return cls(**{**data, "failing": tuple(data["failing"])}) if data else None

    def to_state(self, max_output_chars: int) -> dict[str, Any]:
        """Plain data for the graph's checkpointed state, the output cut down to its
        failures' digest. Cutting the raw output instead kept the head of a large suite's
        progress dots and the tail's summary, and lost the failures in between."""
        data = dataclasses.asdict(self)
        return {
            **data,
            "failing": list(self.failing),
            "output": truncate_middle(digest(self.output), max_output_chars),
        }

    def broken_since(self, before: TestRun) -> list[str]:
        """Tests that passed in `before` and fail now: what a change broke.

        A run that failed without naming a test (a collection or import error) breaks
        everything when the earlier run had passed."""
        if self.passed:
            return []
        if not self.failing:
            return ["(the test run itself)"] if before.passed or before.failing else []
        return [t for t in self.failing if t not in before.failing]

    def fixed_since(self, before: TestRun) -> list[str]:
        return [t for t in before.failing if t not in self.failing]

    @property
    def passed_count(self) -> int:
        """How many tests passed, from the tally (0 when pytest printed none)."""
        found = re.search(r"(\d+) passed", self.counts)
        return int(found.group(1)) if found else 0

    def grew_since(self, before: TestRun) -> bool:
        """More tests pass than before: the change added tests that run and pass (an edit
        to a test file that adds none, or breaks the file's collection, does not count)."""
        return self.passed_count > before.passed_count


def narrowed(command: str, root: Path, tests: Sequence[str]) -> str | None:
    """`command` run on these pytest node ids only, or None when it is not a plain pytest
    run (another runner, or one that names its own test paths)."""
    words = shlex.split(command)
    at = next((i for i, w in enumerate(words) if w == "pytest" or w.endswith("/pytest")), None)
    if at is None or not tests:
        return None
    args = [w for w in words[at + 1 :] if not w.startswith("-")]
    if any((root / w.split("::")[0]).exists() for w in args):
        return None
    return " ".join([command, *map(shlex.quote, tests)])


def run_tests(root: Path, command: str, timeout_s: float = TEST_TIMEOUT_S) -> TestRun:
    """Run `command` in the sandbox and read pytest's summary from its output.

    No bytecode is written: Python trusts a cached .pyc whose recorded source mtime (in
    whole seconds) and size match, so an edit of the same size made in the same second as
    the previous run's import would be tested as the old code."""
    result = shell.run(
        command,
        root,
        timeout_s=timeout_s,
        max_output_chars=60_000,
        env_extra={"PYTHONDONTWRITEBYTECODE": "1"},
    )
    failing = tuple(failing_tests(result.output))
    tally = ", ".join(f"{n} {what}" for n, what in _COUNTS.findall(result.output[-2000:]))
    return TestRun(
        command,
        result.returncode == 0,
        failing,
        result.output,
        tally,
        round(result.duration_s, 3),
        result.timed_out,
    )


def compile_errors(root: Path, paths: list[str]) -> list[str]:
    """One line per touched Python file that does not parse."""
    errors = []
    for rel in paths:
        if not rel.endswith(".py") or not (root / rel).is_file():
            continue
        try:
            ast.parse((root / rel).read_bytes(), rel)
        except (SyntaxError, ValueError) as exc:
            errors.append(f"{rel} line {getattr(exc, 'lineno', '?')}: {exc.args[0]}")
    return errors


def module_name(rel: str, root: Path | None = None) -> str | None:
    """The dotted module a repo file is imported as (`src/` layouts stripped), or None.

    With `root`, a file in a folder that is not a regular package (no `__init__.py`) is
    not a module: a `test/` or `scripts/` folder would otherwise shadow, or be shadowed
    by, a top-level package of the same name (the standard library has `test`)."""
    if not rel.endswith(".py"):
        return None
    parts = rel[:-3].split("/")
    if parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
        if root is not None:
            root = root / "src"
    if root is not None:
        for depth in range(1, len(parts)):
            if not (root.joinpath(*parts[:depth]) / "__init__.py").is_file():
                return None
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    return ".".join(parts)


def imported_modules(source: str, own: str, is_package: bool = False) -> set[str]:
    """Every module `source` imports, relative imports resolved against module `own`
    (itself a package when the file is an `__init__.py`); `from pkg import name` counts
    as both `pkg` and `pkg.name`."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    found: set[str] = set()
    package = own.split(".") + ([""] if is_package else [])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - node.level] if node.level <= len(package) else []
                base = ".".join([*anchor, *([base] if base else [])])
            if base:
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def importers(root: Path, files: list[str], touched: list[str]) -> list[str]:
    """Modules of the repo (tests excluded: pytest checks those) that import a touched
    module, and the touched modules themselves."""
    targets = {m for rel in touched if not is_test_file(rel) and (m := module_name(rel, root))}
    if not targets:
        return []
    found = set(targets)
    for rel in files:
        own = module_name(rel, root)
        if own is None or own in found or is_test_file(rel):
            continue
        try:
            source = (root / rel).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if any(
            m == t or m.startswith(t + ".")
            for m in imported_modules(source, own, rel.endswith("__init__.py"))
            for t in targets
        ):
            found.add(own)
    return sorted(found)


_IMPORT_ALL = """
import importlib, json, sys, traceback
failed = {}
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except BaseException as exc:
        failed[name] = "".join(traceback.format_exception_only(type(exc), exc)).strip()[-400:]
print("TIERCODE-IMPORTS " + json.dumps(failed))
"""


def import_errors(root: Path, modules: list[str]) -> list[str]:
    """Import each module in one fresh sandboxed interpreter; one line per failure."""
    if not modules:
        return []
    paths = [str(root), *([str(root / "src")] if (root / "src").is_dir() else [])]
    result = shell.run(
        [sys.executable, "-c", _IMPORT_ALL, json.dumps(modules)],
        root,
        timeout_s=IMPORT_TIMEOUT_S,
        env_extra={"PYTHONPATH": ":".join(paths), "PYTHONDONTWRITEBYTECODE": "1"},
    )
    marker = result.output.rfind("TIERCODE-IMPORTS ")
    if marker < 0:
        return [f"importing {', '.join(modules)} did not finish: {result.output[-300:].strip()}"]
    line = result.output[marker:].split("\n", 1)[0].removeprefix("TIERCODE-IMPORTS ")
    failed: dict[str, str] = json.loads(line)
    return [f"{name}: {why}" for name, why in failed.items() if not _missing_dependency(why, root)]


def _missing_dependency(why: str, root: Path) -> bool:
    """A third-party package that is not installed is the environment's fault, not the
    change's: the same import failed before it."""
    m = re.search(r"No module named '([\w.]+)'", why)
    if not m:
        return False
    top = m[1].split(".")[0]
    return not any(
        (base / top).exists() or (base / f"{top}.py").exists() for base in (root, root / "src")
    )
