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


def repo(tmp_path: Path, module: str = "ops", code: str = OPS, tests: str = TESTS) -> Path:
    (tmp_path / f"{module}.py").write_text(code)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / f"test_{module}.py").write_text(tests)
    return tmp_path


def test_the_lines_only_failing_tests_run_rank_first(tmp_path: Path) -> None:
    root = repo(tmp_path)
    command = f"{sys.executable} -m pytest -q -p no:cacheprovider"
    baseline = checks.run_tests(root, command)
    assert baseline.failing == ("tests/test_ops.py::test_sub",)
    frames = tracebacks.suspects(baseline.output, root)
    ranked = faultloc.rank(root, command, baseline.failing, frames, timeout_s=60).suspects
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
    ranking = faultloc.rank(root, command, baseline.failing, frames, timeout_s=60)
    assert [(s.path, s.line) for s in ranking.suspects] == [("ops.py", 8)]
    assert ranking.setup == []  # no coverage, no setup lines


def test_only_a_python_m_pytest_command_runs_under_coverage(tmp_path: Path) -> None:
    rc = tmp_path / "rc"
    assert faultloc.coverage_command("python -m pytest -q tests", rc) == (
        f"python -m coverage run --rcfile={rc} -m pytest -q tests"
    )
    assert faultloc.coverage_command("pytest -q", rc) is None
    assert faultloc.coverage_command("make test", rc) is None


RULES = (
    "RULES = {}\n"  # 1
    "\n\n"
    "def rule(word, plural):\n"  # 4
    "    if word != plural:\n"  # 5: the bug, run only at import
    "        RULES[word] = plural\n"  # 6
    "\n\n"
    "def pluralize(word):\n"  # 9
    "    return RULES.get(word, word + 's')\n"  # 10
    "\n\n"
    "rule('person', 'people')\n"  # 13
    "rule('sheep', 'sheep')\n"  # 14
)
RULE_TESTS = (
    "from rules import pluralize\n\n\n"
    "def test_irregular():\n    assert pluralize('person') == 'people'\n\n\n"
    "def test_same():\n    assert pluralize('sheep') == 'sheep'\n"
)


def test_lines_of_a_function_run_only_at_import_are_the_setup_lines(tmp_path: Path) -> None:
    root = repo(tmp_path, "rules", RULES, RULE_TESTS)
    command = f"{sys.executable} -m pytest -q -p no:cacheprovider"
    baseline = checks.run_tests(root, command)
    assert baseline.failing == ("tests/test_rules.py::test_same",)
    ranking = faultloc.rank(root, command, baseline.failing, [], timeout_s=60)
    # the test's own spectrum holds only pluralize's line; the bug ran before any test
    assert [(s.path, s.line) for s in ranking.suspects] == [("rules.py", 10)]
    # rule's body ran at import; its `def`, the constant and the calls are declarations
    assert ranking.setup == [("rules.py", 5), ("rules.py", 6)]
