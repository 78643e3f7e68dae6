"""Writing a suspect line again (fill-in-the-middle) before any whole answer: the window
and edit it makes, and the real graph on a real repo with a scripted model."""

from __future__ import annotations

import subprocess
from pathlib import Path

from hypothesis import assume, given
from hypothesis import strategies as st

from tiercode.agent import config
from tiercode.agent.events import Event
from tiercode.agent.infill import edit, window
from tiercode.agent.llm.models import ScriptedModel
from tiercode.agent.replies import reply_from
from tiercode.agent.runner import Outcome, Runner, Tiers
from tiercode.tools.edits import Edit, new_text
from tiercode.tools.errors import ExitCode

OPS = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a + b\n"
BUGGY = {
    "calc/__init__.py": "",
    "calc/ops.py": OPS,
    "tests/test_ops.py": "from calc.ops import add, sub\n\n\n"
    "def test_add():\n    assert add(2, 2) == 4\n\n\n"
    "def test_sub():\n    assert sub(5, 3) == 2\n",
}
FIXED_SUB = "def sub(a, b):\n    return a - b\n"
TASK = "the test suite fails, please fix the bug"


def commit(repo: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "setup"], cwd=repo, check=True)


def run(repo: Path, model: ScriptedModel, **flags: object) -> tuple[Outcome, list[Event]]:
    settings, _ = config.load(repo, {"policy": "local", "samples": 1, **flags})
    events: list[Event] = []
    tiers = Tiers(lambda: model, lambda: model, "gpt-4.1-mini", simulated=True)
    return Runner(settings, repo, emit=events.append, tiers=tiers).start(TASK), events


def completed(events: list[Event]) -> list[dict]:
    return [e.to_dict() for e in events if e.type == "step.completed" and e.step]


def test_the_suspect_line_written_again_is_the_fix_with_no_whole_answer(git_repo: Path) -> None:
    commit(git_repo, BUGGY)
    model = ScriptedModel(["return a - b"], can_infill=True)
    outcome, events = run(git_repo, model)
    assert outcome.exit_code == ExitCode.OK, outcome.message
    # one call: the lines before sub's body line (with its indentation), and none after
    assert model.calls == [
        [{"role": "user", "content": OPS.rsplit("return", 1)[0]}, {"role": "user", "content": ""}]
    ]
    assert (git_repo / "calc/ops.py").read_text() == OPS[: -len("a + b\n")] + "a - b\n"
    assert [(d["success"], d["detail"]) for d in completed(events)] == [
        (True, "calc/ops.py:6 written again, verified and committed")
    ]
    assert "now passing: tests/test_ops.py::test_sub" in outcome.message
    calls = [e.to_dict() for e in events if e.type == "model.call"]
    assert [c["purpose"] for c in calls] == ["infill"]


def test_lines_written_the_same_or_wrong_are_put_back_then_a_whole_answer_follows(
    git_repo: Path,
) -> None:
    commit(git_repo, BUGGY)
    fixed = reply_from([{"path": "calc/ops.py", "search": "", "replace": FIXED_SUB}])
    written = ["return a + b", "return a * b", "return a * b", "return a * b", "", "a * b"]
    model = ScriptedModel([*written, fixed], can_infill=True)
    outcome, events = run(git_repo, model, infill_lines=1)
    assert outcome.exit_code == ExitCode.OK, outcome.message
    # greedy, then sampled; the act prompt shows the file as it was, and is greedy too
    assert model.temperatures == [0.0, 0.8, 0.8, 0.8, 0.8, 0.8, 0.0]
    assert "    return a + b\n" in model.calls[-1][-1]["content"]
    done = next(e.to_dict() for e in events if e.type == "run.completed")
    assert done["local_calls"] == 7  # the ledger keeps each numbered infill call apart
    results = completed(events)
    # the echo, the repeats and the empty line are not tried; `a * b` fails the test too
    assert [r["success"] for r in results] == [False, False, True]
    assert results[0]["detail"].startswith("calc/ops.py:6 written as `return a * b`: ")


def test_a_model_that_cannot_fill_in_goes_straight_to_a_whole_answer(git_repo: Path) -> None:
    commit(git_repo, BUGGY)
    fixed = reply_from([{"path": "calc/ops.py", "search": "", "replace": FIXED_SUB}])
    model = ScriptedModel([fixed])
    outcome, _ = run(git_repo, model)
    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert len(model.calls) == 1


def test_the_window_ends_at_the_hidden_line_s_indentation() -> None:
    lines = OPS.splitlines(keepends=True)
    before, hidden, after = window(lines, 2)
    assert (before, hidden, after) == ("def add(a, b):\n    ", lines[1], "".join(lines[2:]))


@given(
    st.lists(st.sampled_from(["x = 1\n", "    y = x\n", "return y\n", "\n"]), min_size=1),
    st.data(),
)
def test_an_edit_changes_exactly_its_line_and_finds_it_once(lines: list[str], data) -> None:
    number = data.draw(st.integers(1, len(lines)))
    assume(lines[number - 1].strip())  # a blank line is never written again
    source = "".join(lines)
    changed = edit("f.py", lines, number, "z = 2\n")
    assert source.find(changed["search"]) == source.rfind(changed["search"])
    after = new_text(Edit(**changed), source, "f.py")  # type: ignore[arg-type]
    expected = [*lines[: number - 1], "z = 2\n", *lines[number:]]
    assert after == "".join(expected)
