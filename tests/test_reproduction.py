"""A repository without tests: a check written before any change that shows the reported
failure is the bug's failing test (fault lines for `infill`, and the judge of every answer)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scripted_agent import run_agent

from tiercode.agent import acceptance
from tiercode.agent.events import Event
from tiercode.agent.llm.models import ScriptedModel
from tiercode.agent.replies import reply_from
from tiercode.tools import faultloc, tracebacks
from tiercode.tools.errors import ExitCode
from tiercode.tools.git import GitRepo

TEMPCONV = '''"""Convert temperatures."""


def to_fahrenheit(celsius):
    return celsius * 9 / 5 + 32


def to_celsius(fahrenheit):
    return (fahrenheit + 32) * 5 / 9
'''
TASK = "to_celsius(212) gives 135.6, but water boils at 100 C. Fahrenheit looks right."
PLAN = json.dumps({"steps": [{"goal": "fix to_celsius", "files": ["tempconv.py"]}]})
CHECK = "```python\nimport tempconv\n\nassert tempconv.to_celsius(212) == 100\n```\n"
AGREES = "```python\ndef to_celsius(f):\n    return (f - 32) * 5 / 9\n```\n"
"""The second prediction: a reference implementation, whose value is the check's."""


def run(
    repo: Path, replies: list[str], source: str = TEMPCONV
) -> tuple[object, list[Event], ScriptedModel]:
    (repo / "tempconv.py").write_text(source)
    GitRepo.open(repo).repo.git.execute(["git", "add", "-A"])
    GitRepo.open(repo).repo.git.execute(["git", "commit", "-qm", "tempconv"])
    model = ScriptedModel(replies)
    outcome, events = run_agent(repo, model, TASK, acceptance_check=True)
    return outcome, events, model


def test_a_reproduced_failure_leads_the_repair_to_the_lines_it_ran(git_repo: Path) -> None:
    """The check fails on the code as found and a second prediction gives its value: the
    one-token changes of the lines it ran are tried against it, with no model call (the
    wrong ones give other values, which nothing may overrule), and the fix passes."""
    outcome, events, _ = run(git_repo, [PLAN, CHECK, AGREES])
    assert outcome.exit_code == ExitCode.OK, outcome.message  # type: ignore[attr-defined]
    assert "return (fahrenheit - 32) * 5 / 9" in (git_repo / "tempconv.py").read_text()
    purposes = [e.to_dict()["purpose"] for e in events if e.type == "model.call"]
    assert purposes == ["plan", "check", "judge"]
    details = [e.to_dict()["detail"] for e in events if e.type == "step.completed"]
    assert "reproduced before any change: tempconv.to_celsius(212) gives" in details[1]
    done = next(e.to_dict() for e in events if e.type == "run.completed")
    assert any("before the change; it failed on the code as found" in v for v in done["verified"])


def test_the_answer_reads_the_reproduced_failure_as_a_failing_tests_output(
    git_repo: Path,
) -> None:
    """No one-token change fixes `fahrenheit - 32 * 5 / 9`: the answer is asked for, shown
    what the check got, and judged by the same check."""
    source = TEMPCONV.replace("(fahrenheit + 32) * 5 / 9", "fahrenheit - 32 * 5 / 9")
    fixed = reply_from(
        [
            {
                "path": "tempconv.py",
                "search": "fahrenheit - 32 * 5 / 9",
                "replace": "(fahrenheit - 32) * 5 / 9",
            }
        ]
    )
    outcome, events, model = run(git_repo, [PLAN, CHECK, AGREES, fixed], source)
    assert outcome.exit_code == ExitCode.OK, outcome.message  # type: ignore[attr-defined]
    assert "where round(tempconv.to_celsius(212), 9) is 194.22" in model.calls[3][-1]["content"]
    purposes = [e.to_dict()["purpose"] for e in events if e.type == "model.call"]
    assert purposes == ["plan", "check", "judge", "act"]


def test_a_check_the_second_prediction_does_not_back_is_dropped(git_repo: Path) -> None:
    """The reference's value is the code's: the check may be what is wrong, so it is not
    kept, and no line is searched against it; the check is written after the answer."""
    sides_with_code = "```python\ndef to_celsius(f):\n    return (f + 32) * 5 / 9\n```\n"
    outcome, events, _ = run(git_repo, [PLAN, CHECK, sides_with_code, *["no code"] * 8])
    assert outcome.exit_code == ExitCode.TASK_FAILED  # type: ignore[attr-defined]
    details = [e.to_dict()["detail"] for e in events if e.type == "step.completed"]
    assert details[1].startswith("the check written first is dropped: a second prediction")
    purposes = [e.to_dict()["purpose"] for e in events if e.type == "model.call"]
    assert purposes[:4] == ["plan", "check", "judge", "act"]


def test_a_guessed_value_is_corrected_by_the_reference(git_repo: Path) -> None:
    """The check guessed a wrong value (101) and the reference computes another (100.0),
    and neither is the code's: the code is wrong there by two predictions, and the check
    expects the reference's value; the one-token fix passes it."""
    guessed = CHECK.replace("== 100", "== 101")
    outcome, events, _ = run(git_repo, [PLAN, guessed, AGREES])
    assert outcome.exit_code == ExitCode.OK, outcome.message  # type: ignore[attr-defined]
    assert "return (fahrenheit - 32) * 5 / 9" in (git_repo / "tempconv.py").read_text()
    details = [e.to_dict()["detail"] for e in events if e.type == "step.completed"]
    assert "tempconv.to_celsius(212) gives 135.55555555555554, not 100.0" in details[1]


def _run_traced(root: Path, code: str, tmp: Path) -> list[faultloc.Suspect]:
    trace = tmp / "coverage"
    result = acceptance.run(root, code, trace)
    assert not result.passed
    return faultloc.rank_run(root, trace, tracebacks.suspects(result.output, root))


def test_the_lines_a_check_ran_are_ranked_from_its_traceback(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Only lines inside functions count (not the `def` lines run at import); a crash's
    frames come first, then the lines nearest them."""
    (tmp_path / "logs.py").write_text(
        "def level(line):\n"
        "    words = line.split()\n"
        "    return words[2]\n"
        "\n\n"
        "def count(lines):\n"
        "    seen = {}\n"
        "    for line in lines:\n"
        "        name = level(line)\n"
        "        seen[name] = seen.get(name, 0) + 1\n"
        "    return seen\n"
    )
    check = "import logs\n\nassert logs.count(['a b INFO', '']) == {'INFO': 1}\n"
    ranked = _run_traced(tmp_path, check, tmp_path_factory.mktemp("trace"))
    lines = [(s.path, s.line) for s in ranked]
    assert lines[:2] == [("logs.py", 3), ("logs.py", 9)]  # innermost frame first
    assert set(lines) == {("logs.py", n) for n in (2, 3, 7, 8, 9, 10)}


@pytest.mark.parametrize(
    ("answer", "kept"),
    [
        ("100.0", "assert round(tempconv.to_celsius(212), 9) == 100.0\n"),
        ("100", "assert tempconv.to_celsius(212) == 100\n"),
        ("[1, 'a']", "assert tempconv.to_celsius(212) == [1, 'a']\n"),
        ("136.66666666666666", ""),
        ("", ""),
        ("'cut sh", ""),
    ],
)
def test_a_reproduction_keeps_the_asserts_the_second_prediction_disputes(
    answer: str, kept: str
) -> None:
    """An assert stays when the reference's value is not the code's, expecting the
    reference's value (a float to 9 decimals); one it gives the code's value for, none, or
    no whole literal for is taken out, and a check with no disputed assert left is none."""
    code, call = (
        "import tempconv\n\nassert tempconv.to_celsius(212) == 100\n",
        "tempconv.to_celsius(212)",
    )
    disputed: list[dict[str, object]] = [
        {"line": 3, "call": call, "got": "136.66666666666666", "expected": "100"}
    ]
    script, kept_calls = acceptance.reproducing(code, disputed, {call: answer})
    assert script == ("import tempconv\n\n" + kept if kept else "")
    assert [d["expected"] for d in kept_calls] == ([answer] if kept else [])


def test_a_reproduction_takes_out_the_asserts_the_second_prediction_backs_the_code_on() -> None:
    """Of two disputed asserts, one (a multi-line one) the reference gives the code's
    value for: it goes, the other is rewritten to the reference's value, the rest stays."""
    code = "import t\nassert t.f(1) == 1\nassert t.g(\n    2\n) == 9\nassert t.h(3) == 4\nx = 1\n"
    disputed: list[dict[str, object]] = [
        {"line": 3, "call": "t.g(\n    2\n)", "got": "5", "expected": "9"},
        {"line": 6, "call": "t.h(3)", "got": "7", "expected": "4"},
    ]
    answers = {"t.g(\n    2\n)": "5", "t.h(3)": "6"}
    script, kept = acceptance.reproducing(code, disputed, answers)
    assert script == "import t\nassert t.f(1) == 1\nassert t.h(3) == 6\nx = 1\n"
    assert kept == [{"line": 6, "call": "t.h(3)", "got": "7", "expected": "6"}]
