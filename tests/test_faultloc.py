"""Spectrum-based fault localization on a real repository, with real pytest and coverage."""

from __future__ import annotations

import sys
from pathlib import Path

from tiercode.tools import checks, faultloc, tracebacks

OPS = (
    "def add(a, b):\n"  # 1
    "    return a + b\n"  # 2
    "\n\n"
    "def sub(a, b):\n"  # 5
    "    total = a\n"  # 6
    "    total = total + b\n"  # 7: the bug
    "    return total\n"  # 8
    "\n\n"
    "def twice(a):\n"  # 11
    "    return add(a, a)\n"  # 12
)
TESTS = (
    "from ops import add, sub, twice\n\n\n"
    "def test_add():\n    assert add(2, 2) == 4\n\n\n"
    "def test_twice():\n    assert twice(3) == 6\n\n\n"
    "def test_sub():\n    assert sub(5, 3) == 2\n\n\n"
    "def test_sub_zero():\n    assert sub(5, 0) == 5\n"
)


def repo(tmp_path: Path) -> Path:
    (tmp_path / "ops.py").write_text(OPS)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_ops.py").write_text(TESTS)
    return tmp_path


def test_the_lines_only_failing_tests_run_rank_first(tmp_path: Path) -> None:
    root = repo(tmp_path)
    command = f"{sys.executable} -m pytest -q -p no:cacheprovider"
    baseline = checks.run_tests(root, command)
    assert baseline.failing == ("tests/test_ops.py::test_sub",)
    frames = tracebacks.suspects(baseline.output, root)
    ranked = faultloc.rank(root, command, baseline.failing, frames, timeout_s=60)
    # sub's lines run in the failing test and in one passing test; add's and twice's
    # lines never run in a failing one, and no test file line is ranked
    assert [(s.path, s.line) for s in ranked] == [("ops.py", 6), ("ops.py", 7), ("ops.py", 8)]
    assert ranked[0].score == round(1 / 2**0.5, 4)


def test_without_coverage_the_traceback_lines_are_the_ranking(tmp_path: Path) -> None:
    root = repo(tmp_path)
    (root / "ops.py").write_text(OPS.replace("    return total\n", "    raise ValueError(total)\n"))
    command = f"cd . && {sys.executable} -m pytest -q -p no:cacheprovider tests"
    assert faultloc.coverage_command(command, root / "rc") is None
    baseline = checks.run_tests(root, command)
    frames = tracebacks.suspects(baseline.output, root)
    ranked = faultloc.rank(root, command, baseline.failing, frames, timeout_s=60)
    assert [(s.path, s.line) for s in ranked] == [("ops.py", 8)]


def test_only_a_python_m_pytest_command_runs_under_coverage(tmp_path: Path) -> None:
    rc = tmp_path / "rc"
    assert faultloc.coverage_command("python -m pytest -q tests", rc) == (
        f"python -m coverage run --rcfile={rc} -m pytest -q tests"
    )
    assert faultloc.coverage_command("pytest -q", rc) is None
    assert faultloc.coverage_command("make test", rc) is None
