"""The evidence checks on real files and real pytest runs."""

from __future__ import annotations

from pathlib import Path

from tiercode.agent import verification
from tiercode.tools import checks


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_compile_errors_name_the_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, {"ok.py": "x = 1\n", "bad.py": "def f(:\n    pass\n", "notes.md": "("})
    assert checks.compile_errors(tmp_path, ["ok.py", "bad.py", "notes.md"]) == [
        "bad.py line 1: invalid syntax"
    ]


def test_module_names_follow_packages_and_src_layouts() -> None:
    assert checks.module_name("pkg/__init__.py") == "pkg"
    assert checks.module_name("src/pkg/mod.py") == "pkg.mod"
    assert checks.module_name("scripts/my-tool.py") is None
    assert checks.module_name("README.md") is None


def test_importers_resolve_relative_and_from_imports(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pkg/__init__.py": "from .core import run\n",
            "pkg/core.py": "def run():\n    return 1\n",
            "pkg/cli.py": "from pkg import core\n",
            "app.py": "import json\n",
            "tests/test_core.py": "from pkg.core import run\n",
        },
    )
    files = ["pkg/__init__.py", "pkg/core.py", "pkg/cli.py", "app.py", "tests/test_core.py"]
    assert checks.importers(tmp_path, files, ["pkg/core.py"]) == ["pkg", "pkg.cli", "pkg.core"]


def test_import_errors_report_a_broken_caller_but_not_a_missing_dependency(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        {
            "lib.py": "def new_name():\n    return 1\n",
            "caller.py": "from lib import old_name\n",
            "needs_dep.py": "import some_uninstalled_package_xyz\n",
        },
    )
    errors = checks.import_errors(tmp_path, ["lib", "caller", "needs_dep"])
    assert len(errors) == 1 and errors[0].startswith("caller: ImportError: cannot import name")


def test_test_runs_tell_what_broke_and_what_was_fixed(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "calc.py": "def add(a, b):\n    return a - b\n\ndef mul(a, b):\n    return a * b\n",
            "tests/test_calc.py": "from calc import add, mul\n\n"
            "def test_add():\n    assert add(2, 2) == 4\n\n"
            "def test_mul():\n    assert mul(2, 3) == 6\n",
        },
    )
    command = "python -m pytest -q -p no:cacheprovider"
    before = checks.run_tests(tmp_path, command)
    assert not before.passed and before.failing == ("tests/test_calc.py::test_add",)
    assert before.counts == "1 failed, 1 passed"
    # A new size, so that Python never reuses bytecode cached in the same second.
    (tmp_path / "calc.py").write_text(
        "def add(a, b):\n    return a + b\n\ndef mul(a, b):\n    return (a + b)\n"
    )
    after = checks.run_tests(tmp_path, command)
    assert after.broken_since(before) == ["tests/test_calc.py::test_mul"]
    assert after.fixed_since(before) == ["tests/test_calc.py::test_add"]
    assert not before.found_none and before.seconds > 0


def test_a_rename_is_not_verified_while_a_caller_uses_the_old_name(tmp_path: Path) -> None:
    old = "def total(xs):\n    return sum(xs)\n"
    write(
        tmp_path,
        {
            "stats.py": "def sum_all(xs):\n    return sum(xs)\n",
            "report.py": "import stats\n\n\ndef show(xs):\n    return stats.total(xs)\n",
        },
    )
    verdict = verification.check_step(
        tmp_path,
        ["stats.py", "report.py"],
        ["stats.py"],
        {"stats.py": old},
        baseline=None,
        last_step=True,
    )
    assert verdict.failure == "the old name is still used: report.py:5: return stats.total(xs)"
    assert verdict.more_files == ["report.py"]


def test_a_step_that_keeps_everything_working_lists_its_evidence(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "calc.py": "def add(a, b):\n    return a + b\n",
            "tests/test_calc.py": "from calc import add\n\n"
            "def test_add():\n    assert add(2, 2) == 4\n",
        },
    )
    baseline = checks.TestRun("python -m pytest -q -p no:cacheprovider", False, ("x",))
    verdict = verification.check_step(
        tmp_path, ["calc.py", "tests/test_calc.py"], ["calc.py"], {"calc.py": ""}, baseline, True
    )
    assert verdict.failure == ""
    assert verdict.evidence == [
        "compiles: calc.py",
        "imports: calc",
        "tests: 1 passed (now passing: x)",
    ]


def test_a_caller_that_no_longer_imports_joins_the_next_attempt(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "lib.py": "def new_name():\n    return 1\n",
            "app/__init__.py": "",
            "app/main.py": "from lib import old_name\n",
        },
    )
    verdict = verification.check_step(
        tmp_path,
        ["lib.py", "app/__init__.py", "app/main.py"],
        ["lib.py"],
        {"lib.py": "def new_name():\n    return 1\n"},
        baseline=None,
        last_step=True,
    )
    assert verdict.failure.startswith("after this edit a module no longer imports: app.main")
    assert verdict.more_files == ["app/main.py"]


def test_a_folder_that_is_not_a_package_holds_no_importable_module(tmp_path: Path) -> None:
    write(tmp_path, {"test/common.py": "X = 1\n", "pkg/__init__.py": "", "pkg/mod.py": ""})
    assert checks.module_name("test/common.py", tmp_path) is None  # would import stdlib `test`
    assert checks.module_name("pkg/mod.py", tmp_path) == "pkg.mod"
    assert checks.importers(tmp_path, ["test/common.py"], ["test/common.py"]) == []


def test_a_test_command_in_a_repository_without_tests_finds_none(tmp_path: Path) -> None:
    write(tmp_path, {"calc.py": "X = 1\n"})
    run = checks.run_tests(tmp_path, "python -m pytest -q -p no:cacheprovider")
    assert run.found_none and not run.passed and run.rerun_timeout() >= checks.RERUN_FLOOR_S


def test_only_a_plain_pytest_run_is_narrowed_to_the_failing_tests(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    ids = ["tests/test_a.py::test_x[a b]"]
    assert checks.narrowed("python -m pytest -q -p no:cacheprovider", tmp_path, ids) == (
        "python -m pytest -q -p no:cacheprovider 'tests/test_a.py::test_x[a b]'"
    )
    assert checks.narrowed("make test", tmp_path, ids) is None
    assert checks.narrowed("pytest tests", tmp_path, ids) is None  # it names its own paths
    assert checks.narrowed("pytest -q", tmp_path, []) is None


def test_a_candidate_that_still_fails_is_judged_by_the_failing_tests_alone(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        {
            "calc.py": "def add(a, b):\n    return a - b\n",
            "tests/test_calc.py": "from calc import add\n\n"
            "def test_add():\n    assert add(2, 2) == 4\n\n"
            "def test_zero():\n    assert add(0, 0) == 0\n",
        },
    )
    baseline = checks.run_tests(tmp_path, "python -m pytest -q -p no:cacheprovider")
    assert baseline.failing == ("tests/test_calc.py::test_add",)
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return b - a\n")
    verdict = verification.check_step(
        tmp_path,
        ["calc.py", "tests/test_calc.py"],
        ["calc.py"],
        {"calc.py": "def add(a, b):\n    return a - b\n"},
        baseline,
        last_step=True,
    )
    assert verdict.failure == "the tests still fail: tests/test_calc.py::test_add"
    assert verdict.tests is not None and verdict.tests.counts == "1 failed"  # test_zero not run
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a + b  # fixed\n")
    verdict = verification.check_step(
        tmp_path, ["calc.py"], ["calc.py"], {"calc.py": ""}, baseline, last_step=True
    )
    assert verdict.failure == "" and verdict.tests is not None
    assert verdict.tests.counts == "2 passed"  # then the whole suite


def test_an_edit_of_the_same_size_in_the_same_second_is_tested_as_the_new_code(
    tmp_path: Path,
) -> None:
    """A cached .pyc is trusted when the source's mtime (whole seconds) and size match: a
    fix like `a + b` → `a - b` made right after a test run was once tested as the bug."""
    import os
    import sys

    write(
        tmp_path,
        {
            "calc/__init__.py": "",
            "calc/ops.py": "def sub(a, b):\n    return a + b\n",
            "tests/test_ops.py": "from calc.ops import sub\n\n\n"
            "def test_sub():\n    assert sub(5, 3) == 2\n",
        },
    )
    command = f"{sys.executable} -m pytest -q -p no:cacheprovider"
    before = checks.run_tests(tmp_path, command)
    assert before.failing == ("tests/test_ops.py::test_sub",)
    ops = tmp_path / "calc/ops.py"
    stamp = ops.stat().st_mtime_ns
    ops.write_text("def sub(a, b):\n    return a - b\n")
    os.utime(ops, ns=(stamp, stamp))  # the same second, the same size
    after = checks.run_tests(tmp_path, command)
    assert after.passed, after.output


def test_a_large_suite_s_failure_survives_into_the_checkpointed_state(tmp_path: Path) -> None:
    """The state keeps each failure's assert, not the head and tail of the raw output:
    cutting that to 2,000 characters lost the failures in between."""
    (tmp_path / "calc.py").write_text("def neg(x):\n    return x\n")
    setup = "".join(f"    step_{i} = 'setting up the case, line {i}'\n" for i in range(30))
    (tmp_path / "test_calc.py").write_text(
        "import pytest\nfrom calc import neg\n\n\n"
        "def test_neg():\n    assert neg(3) == -3\n\n\n"
        "@pytest.mark.parametrize('n', range(1, 8))\n"
        f"def test_neg_many(n):\n{setup}    assert neg(n) == -n\n"
    )
    run = checks.run_tests(tmp_path, "python -m pytest -q -p no:cacheprovider")
    assert len(run.output) > 6000
    kept = checks.TestRun.from_state(run.to_state(2000))
    assert kept is not None and "test_calc.py::test_neg" in kept.failing
    assert len(kept.output) <= 2000
    assert "test_calc.py::test_neg:\n>       assert neg(3) == -3\nE       assert 3 == -3" in (
        kept.output
    )
