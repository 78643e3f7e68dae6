"""Writing a suspect line again (fill-in-the-middle) before any whole answer: the window
and edit it makes, and the real graph on a real repo with a scripted model."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from hypothesis import assume, given
from hypothesis import strategies as st
from scripted_agent import run_agent

from tiercode.agent.events import Event
from tiercode.agent.infill import Hole, code, defaults, edit, places, value, window
from tiercode.agent.llm.models import ScriptedModel
from tiercode.agent.replies import reply_from
from tiercode.agent.runner import Outcome
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
REVERSED = {**BUGGY, "calc/ops.py": OPS[: -len("a + b\n")] + "b - a\n"}
"""A bug no one-token change fixes: `b + a` is the only one."""
TASK = "the test suite fails, please fix the bug"


def commit(repo: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "setup"], cwd=repo, check=True)


def run(repo: Path, model: ScriptedModel, **flags: object) -> tuple[Outcome, list[Event]]:
    return run_agent(repo, model, TASK, **flags)


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
    commit(git_repo, REVERSED)
    fixed = reply_from([{"path": "calc/ops.py", "search": "", "replace": FIXED_SUB}])
    written = ["return b - a", "return a * b", "return a * b", "return a * b", "", "a * b"]
    echoed = ["return b - a"] * 6  # before the suspect return: its own line, cut off
    model = ScriptedModel([*written, *echoed, fixed], can_infill=True)
    outcome, events = run(git_repo, model, infill_lines=1)
    assert outcome.exit_code == ExitCode.OK, outcome.message
    # greedy, then sampled, at each place; the act prompt shows the file as it was
    assert model.temperatures == [0.0, *[0.8] * 5, 0.0, *[0.8] * 5, 0.0]
    assert "    return b - a\n" in model.calls[-1][-1]["content"]
    done = next(e.to_dict() for e in events if e.type == "run.completed")
    assert done["local_calls"] == 13  # the ledger keeps each numbered infill call apart
    results = completed(events)
    # the echo, the repeats and the empty line are not tried; `return a * b` and `a * b`
    # fail the test, and so does the line's one-token change, `b + a`
    assert [r["success"] for r in results] == [False, False, False, True]
    assert results[0]["detail"].startswith("calc/ops.py:6 written again as `return a * b`: ")
    assert results[2]["detail"].startswith(
        "calc/ops.py:6 with one token changed (no model call) as `return b + a`: "
    )


def test_a_one_token_fix_the_model_does_not_write_follows_its_tries(git_repo: Path) -> None:
    commit(git_repo, BUGGY)
    model = ScriptedModel(["return a * b", *["return a + b"] * 5], can_infill=True)
    outcome, events = run(git_repo, model, infill_lines=1)
    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert len(model.calls) == 6  # the model's tries at the line, and no whole answer
    assert (git_repo / "calc/ops.py").read_text() == OPS[: -len("a + b\n")] + "a - b\n"
    wrong, fix = completed(events)  # the model's one wrong line, then the first change
    assert not wrong["success"] and wrong["detail"].startswith("calc/ops.py:6 written again")
    assert (fix["success"], fix["detail"]) == (
        True,
        "calc/ops.py:6 with one token changed (no model call), verified and committed",
    )


def test_a_tier_that_cannot_fill_in_still_tries_the_one_token_fixes(git_repo: Path) -> None:
    commit(git_repo, BUGGY)
    model = ScriptedModel([])
    outcome, _ = run(git_repo, model)
    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert model.calls == []
    assert "now passing: tests/test_ops.py::test_sub" in outcome.message


def test_one_token_changes_reach_past_the_lines_the_model_writes(git_repo: Path) -> None:
    """Both lines of `sub` only the failing test runs, so they tie and rank in line order:
    the bug's line is second, past the one line the model may write. Its one-token
    changes come before any `if` the model would write into a place."""
    two_lines = "def sub(a, b):\n    d = b * 1\n    return a + d\n"
    commit(git_repo, {**BUGGY, "calc/ops.py": OPS.split("def sub")[0] + two_lines})
    model = ScriptedModel(
        ["d = b * 1"] * 6 + ["a > b:\n        return 2\n    "] * 12, can_infill=True
    )
    outcome, events = run(git_repo, model, infill_lines=1)
    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert len(model.calls) == 6  # the first line's tries only: no place was written into
    assert completed(events)[-1]["detail"] == (
        "calc/ops.py:7 with one token changed (no model call), verified and committed"
    )
    assert (git_repo / "calc/ops.py").read_text().endswith("    return a - d\n")


def test_a_model_that_cannot_fill_in_goes_straight_to_a_whole_answer(git_repo: Path) -> None:
    commit(git_repo, REVERSED)
    fixed = reply_from([{"path": "calc/ops.py", "search": "", "replace": FIXED_SUB}])
    model = ScriptedModel([fixed])
    outcome, _ = run(git_repo, model)
    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert len(model.calls) == 1


def test_the_window_ends_at_the_hidden_line_s_indentation() -> None:
    lines = OPS.splitlines(keepends=True)
    before, hidden, after = window(lines, 2)
    assert (before, hidden, after) == ("def add(a, b):\n    ", lines[1], "".join(lines[2:]))


LINES = st.lists(st.sampled_from(["x = 1\n", "    y = x\n", "return y\n", "\n"]), min_size=1)


@given(LINES, st.booleans(), st.data())
def test_an_edit_changes_exactly_its_place_and_finds_it_once(
    lines: list[str], replaces: bool, data
) -> None:
    number = data.draw(st.integers(1, len(lines)))
    assume(lines[number - 1].strip())  # a blank line is never written again
    source = "".join(lines)
    changed = edit(Hole("f.py", number, replaces), lines, "z = 2\n")
    assert source.find(changed["search"]) == source.rfind(changed["search"])
    after = new_text(Edit(**changed), source, "f.py")  # type: ignore[arg-type]
    expected = [*lines[: number - 1], "z = 2\n", *lines[number - 1 + replaces :]]
    assert after == "".join(expected)


SIGN = "def sign(x):\n    if x < 0:\n        return -1\n\n    return 1\n"
DROPPED = {
    "calc/__init__.py": "",
    "calc/sign.py": SIGN,
    "tests/test_sign.py": "from calc.sign import sign\n\n\n"
    "def test_negative():\n    assert sign(-5) == -1\n\n\n"
    "def test_positive():\n    assert sign(5) == 1\n\n\n"
    "def test_zero():\n    assert sign(0) == 0\n",
}


def test_a_dropped_branch_is_written_into_the_place_before_the_suspect_return(
    git_repo: Path,
) -> None:
    commit(git_repo, DROPPED)
    branch = "x == 0:\n        return 0\n    "  # after the `if ` written for the model
    model = ScriptedModel([*[""] * 6, branch], can_infill=True)
    outcome, events = run(git_repo, model, infill_lines=1)
    assert outcome.exit_code == ExitCode.OK, outcome.message
    # the 7th call is the place before `return 1`: its code is after the hole
    before, after = (m["content"] for m in model.calls[6])
    assert (before, after) == (SIGN.rsplit("return", 1)[0] + "if ", "return 1\n")
    fixed = SIGN.replace("    return 1", "    if x == 0:\n        return 0\n    return 1")
    assert (git_repo / "calc/sign.py").read_text() == fixed
    assert completed(events)[-1]["detail"] == (
        "lines written before calc/sign.py:5, verified and committed"
    )


def test_written_code_is_whole_lines_at_the_place_s_indent() -> None:
    hidden = "    return y\n"
    assert code(" x + 1 ", hidden, True) == "    x + 1\n"
    assert code("", hidden, True) == ""
    # new lines end where the model leaves the block, and need code in them
    assert code("if y:\n        y = 0\n    ", hidden, False) == "    if y:\n        y = 0\n"
    assert code("y += 1\nclass A:\n    pass", hidden, False) == "    y += 1\n"
    assert code("# nothing to add\n    ", hidden, False) == ""
    assert code("if y:\n        y = 0\n    else:\n        ", hidden, False) == (
        "    if y:\n        y = 0\n"
    )  # not `else:`, whose body would be the return at the wrong indent
    assert code("y = 1\r\n    ", "    return y\r\n", False) == "    y = 1\r\n"


SCALE = "def scale(x, factor=3):\n    return x * factor\n"
WRONG_DEFAULT = {
    "calc/__init__.py": "",
    "calc/scale.py": SCALE,
    "tests/test_scale.py": "from calc.scale import scale\n\n\n"
    "def test_double():\n    assert scale(2) == 4\n\n\n"
    "def test_factor():\n    assert scale(2, 5) == 10\n",
}


def test_a_wrong_default_is_written_again_alone_after_the_lines(git_repo: Path) -> None:
    commit(git_repo, WRONG_DEFAULT)
    model = ScriptedModel([*[""] * 6, "2):"], can_infill=True)
    outcome, events = run(git_repo, model, infill_lines=1)
    assert outcome.exit_code == ExitCode.OK, outcome.message
    # the 7th call: the body's line came first, and no place for an `if` before the value;
    # only the value is hidden, and the model's `):` (the rest of the line) is not written twice
    assert [m["content"] for m in model.calls[6]] == [
        "def scale(x, factor=",
        "):\n    return x * factor\n",
    ]
    assert model.temperatures[6] == 0.0
    assert (git_repo / "calc/scale.py").read_text() == SCALE.replace("=3", "=2")
    assert completed(events)[-1]["detail"] == (
        "the default value at calc/scale.py:1 written again, verified and committed"
    )


TABLE = (
    "TABLE = {}\n\n\n"
    "def add(word, plural):\n    TABLE[word] = plural.upper()\n\n\n"  # 5: run at import
    "def plural(word):\n    return TABLE.get(word, word + 's')\n\n\n"
    "add('person', 'people')\n"
)
AT_IMPORT = {
    "calc/__init__.py": "",
    "calc/table.py": TABLE,
    "tests/test_table.py": "from calc.table import plural\n\n\n"
    "def test_person():\n    assert plural('person') == 'people'\n\n\n"
    "def test_cat():\n    assert plural('cat') == 'cats'\n",
}


def test_a_line_run_only_at_import_is_written_again_before_any_place(git_repo: Path) -> None:
    commit(git_repo, AT_IMPORT)
    model = ScriptedModel([*[""] * 6, "TABLE[word] = plural"], can_infill=True)
    outcome, events = run(git_repo, model)
    assert outcome.exit_code == ExitCode.OK, outcome.message
    # plural's line, then add's body, which no test ran itself (before any `if` place)
    assert model.calls[6][0]["content"].endswith("def add(word, plural):\n    ")
    assert (git_repo / "calc/table.py").read_text() == TABLE.replace(".upper()", "")
    assert completed(events)[-1]["detail"] == (
        "calc/table.py:5 written again, verified and committed"
    )


def test_a_value_is_the_model_s_text_without_the_rest_of_its_line() -> None:
    hidden = "    flag: bool = True,\n"
    at = (hidden.index("True"), hidden.index("True") + 4)
    assert value("False", hidden, at) == "    flag: bool = False,\n"
    assert value(" False,", hidden, at) == "    flag: bool = False,\n"
    assert value("", hidden, at) == ""
    assert (
        value("(1,)", hidden, at) == "    flag: bool = (1,),\n"
    )  # a value ending as the line does


def test_defaults_are_those_of_the_functions_holding_the_suspects_innermost_first() -> None:
    source = (
        "def outer(a, b=1, *, c='é', d=None):\n"  # 1
        "    def inner(x=2):\n"  # 2
        "        return x\n"  # 3
        "    return inner() + b\n"  # 4
        "\n\n"
        "def other(y=(1,\n"  # 7: a default over two lines is not tried
        "          2), z=0):\n"  # 8
        "    return y\n"  # 9
    )
    lines = source.splitlines(keepends=True)
    found = defaults({"m.py": lines}, [("m.py", 3), ("m.py", 4), ("m.py", 9), ("n.py", 1)])
    shown = [(h.number, lines[h.number - 1][slice(*h.columns)]) for h in found if h.columns]
    assert shown == [(2, "2"), (1, "1"), (1, "'é'"), (1, "None"), (8, "0")]
    assert all(h.replaces and h.path == "m.py" for h in found)


def test_with_a_seed_set_each_sampled_call_has_its_own_seed_the_same_every_run(
    git_repo: Path, tmp_path: Path
) -> None:
    commit(git_repo, BUGGY)
    seeds = []
    for run_number, seed in enumerate((7, 7, 0)):
        repo = shutil.copytree(git_repo, tmp_path / f"run{run_number}")  # its identity too
        model = ScriptedModel([*["return a * b"] * 6, "return a - b"], can_infill=True)
        outcome, _ = run(repo, model, infill_lines=1, seed=seed)
        assert outcome.exit_code == ExitCode.OK, outcome.message
        seeds.append(model.seeds)
    first, again, unset = seeds
    assert first == again  # another run id, the same seeds
    assert first[0] is None and None not in first[1:6]  # greedy needs none
    assert len(set(first[1:6])) == 5
    assert set(unset) == {None}


def test_places_are_before_the_most_suspect_lines_then_the_most_suspect_returns() -> None:
    """Never before a clause, which a new `if` would take over; each place once."""
    source = (
        "def f(x):\n"  # 1
        "    y = list(x)\n"  # 2
        "    if y:\n"  # 3
        "        return 1\n"  # 4
        "    elif x:\n"  # 5
        "        return 2\n"  # 6
        "    z = 3\n"  # 7
        "    w = 4\n"  # 8
        "    return 5\n"  # 9
    )
    suspects = [("f.py", n) for n in (5, 8, 4, 2, 7, 3, 9, 6, 12)]
    held = places({"f.py": source.splitlines(keepends=True)}, suspects)
    assert [(h.number, h.replaces) for h in held] == [
        (8, False), (4, False), (2, False), (7, False), (9, False), (6, False)
    ]  # fmt: skip
