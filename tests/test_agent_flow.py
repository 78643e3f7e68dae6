"""Each way a real task went wrong before, replayed with scripted models on real repos:
the agent now either finishes with evidence or fails and leaves the branch as it was."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tiercode.agent import config
from tiercode.agent.events import Event
from tiercode.agent.llm.models import Message, ScriptedModel
from tiercode.agent.replies import RAISED_MARK, reply_from
from tiercode.agent.runner import Outcome, Runner, Tiers
from tiercode.tools.errors import ExitCode


def commit(repo: Path, files: dict[str, str], message: str = "setup") -> str:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_bytes(text.encode())
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", message], cwd=repo, check=True)
    return head(repo)


def head(repo: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


def plan(*steps: tuple[str, list[str]]) -> str:
    return json.dumps({"steps": [{"goal": g, "files": f} for g, f in steps]})


def code(path: str, text: str, confidence: int = 90) -> str:
    return reply_from([{"path": path, "search": "", "replace": text}], confidence)


def run(repo: Path, task: str, replies: list) -> tuple[Outcome, list[Event], ScriptedModel]:
    local = ScriptedModel(replies)
    # whole answers only: infill's one-token changes would fix these bugs first
    settings, _ = config.load(
        repo, {"policy": "local", "on_dirty": "keep", "samples": 1, "infill_lines": 0}
    )
    events: list[Event] = []
    tiers = Tiers(lambda: local, lambda: local, "gpt-4.1-mini", simulated=True)
    outcome = Runner(settings, repo, emit=events.append, tiers=tiers).start(task)
    return outcome, events, local


def of_type(events: list[Event], kind: str) -> list[dict]:
    return [e.to_dict() for e in events if e.type == kind]


def step_results(events: list[Event]) -> list[dict]:
    """The `step.completed` events of plan steps (step 0 is the plan call)."""
    return [d for d in of_type(events, "step.completed") if d["step"]]


def act_prompt(messages: list[Message]) -> str:
    return messages[-1]["content"]


BUGGY = {
    "calc/__init__.py": "",
    "calc/ops.py": "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a + b\n",
    "tests/test_ops.py": "from calc.ops import add, sub\n\n\n"
    "def test_add():\n    assert add(2, 2) == 4\n\n\n"
    "def test_sub():\n    assert sub(5, 3) == 2\n",
}
FIXED_SUB = "def sub(a, b):\n    return a - b\n"


def fix_sub_after(repo: Path, wrong: str) -> tuple[Outcome, list[Event], ScriptedModel]:
    """On the committed failing-test repo: a first answer `wrong` for `sub`, then the right
    one. The failing test leads to one file, so the plan needs no model call."""
    return run(
        repo,
        "the test suite fails, please fix the bug",
        [code("calc/ops.py", wrong), code("calc/ops.py", FIXED_SUB)],
    )


def test_a_placeholder_path_copied_into_the_plan_is_never_created(git_repo: Path) -> None:
    commit(git_repo, {"mathutils.py": "def half(x):\n    return x / 2\n"})
    outcome, events, _ = run(
        git_repo,
        "add a function double to mathutils.py",
        [
            plan(("add double", ["relative/path.py"])),
            code("mathutils.py", "def double(x):\n    return 2 * x\n"),
        ],
    )
    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert of_type(events, "plan")[0]["steps"][0]["files"] == ["mathutils.py"]
    assert not (git_repo / "relative").exists()
    assert (git_repo / "mathutils.py").read_text() == (
        "def half(x):\n    return x / 2\n\n\ndef double(x):\n    return 2 * x\n"
    )


def test_a_step_that_edits_only_tests_the_task_did_not_ask_for_is_dropped(
    git_repo: Path,
) -> None:
    """The 1.5B planned "update the test to use kebab_case" after adding it, and its edit
    broke a passing test; a task that asks for tests keeps such a step."""
    half_test = "from mathutils import half\n\n\ndef test_half():\n    assert half(4) == 2\n"
    commit(
        git_repo, {"mathutils.py": "def half(x):\n    return x / 2\n", "test_half.py": half_test}
    )
    steps = plan(("add double", ["mathutils.py"]), ("use double in the test", ["test_half.py"]))
    double = code("mathutils.py", "def double(x):\n    return 2 * x\n")
    _, events, _ = run(git_repo, "add a function double to mathutils.py", [steps, double])
    assert [s["files"] for s in of_type(events, "plan")[0]["steps"]] == [["mathutils.py"]]
    triple = code("mathutils.py", "def triple(x):\n    return 3 * x\n")
    tested = code(
        "test_half.py",
        "from mathutils import triple\n\n\ndef test_triple():\n    assert triple(1) == 3\n",
    )
    _, events, _ = run(
        git_repo,
        "add a function triple to mathutils.py, with tests",
        [steps, triple, tested],
    )
    assert len(of_type(events, "plan")[0]["steps"]) == 2


def test_steps_that_all_edit_one_file_become_one_step_the_task(git_repo: Path) -> None:
    """The 1.5B split a one-file feature into four steps, two of them "make `parse` raise
    ValueError", which the task never asked for and which broke a passing test."""
    commit(git_repo, {"mathutils.py": "def half(x):\n    return x / 2\n"})
    task = "add functions double and triple to mathutils.py"
    steps = plan(
        ("add double", ["mathutils.py"]),
        ("make half raise ValueError on strings", ["mathutils.py"]),
        ("add triple", ["mathutils.py"]),
    )
    both = code(
        "mathutils.py", "def double(x):\n    return 2 * x\n\n\ndef triple(x):\n    return 3 * x\n"
    )
    outcome, events, model = run(git_repo, task, [steps, both])
    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert of_type(events, "plan")[0]["steps"] == [{"goal": task, "files": ["mathutils.py"]}]
    planned = next(d for d in of_type(events, "step.completed") if d["step"] == 0)
    assert planned["detail"] == "planned 3 step(s) on the same files: one step, the task"
    assert len(model.calls) == 2 and f"Current step 1: {task}" in act_prompt(model.calls[1])
    assert "make half raise" not in act_prompt(model.calls[1])


def test_a_failing_test_is_fixed_in_the_code_under_test_never_in_the_test(
    git_repo: Path,
) -> None:
    start = commit(git_repo, BUGGY)
    outcome, events, model = run(
        git_repo,
        "the test suite fails, please fix the bug",
        [code("calc/ops.py", FIXED_SUB)],
    )
    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert of_type(events, "plan")[0]["steps"][0]["files"] == ["calc/ops.py"]
    prompt = act_prompt(model.calls[0])
    assert "tests/test_ops.py::test_sub" in prompt and "assert sub(5, 3) == 2" in prompt
    done = of_type(events, "run.completed")[0]
    assert "tests: 2 passed (now passing: tests/test_ops.py::test_sub)" in done["verified"]
    assert (git_repo / "tests/test_ops.py").read_text() == BUGGY["tests/test_ops.py"]
    assert head(git_repo) != start


def test_edits_to_a_test_beside_the_fix_are_left_out_and_said_so(git_repo: Path) -> None:
    commit(git_repo, BUGGY)
    weak_test = "def test_nothing():\n    pass\n"
    fix_and_weaken = reply_from(
        [
            {"path": "calc/ops.py", "search": "", "replace": FIXED_SUB},
            {"path": "tests/test_ops.py", "search": "", "replace": weak_test},
        ]
    )
    outcome, events, _ = run(git_repo, "the test suite fails, please fix the bug", [fix_and_weaken])
    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert (git_repo / "tests/test_ops.py").read_text() == BUGGY["tests/test_ops.py"]
    detail = step_results(events)[0]["detail"]
    assert detail.endswith("(left out its edits to tests/test_ops.py: not files of this step)")


def test_the_run_fails_and_the_branch_is_left_as_found_while_tests_still_fail(
    git_repo: Path,
) -> None:
    start = commit(git_repo, BUGGY)
    (git_repo / "notes.txt").write_text("my own notes\n")  # the user's untracked work
    wrong = code("calc/ops.py", "def sub(a, b):\n    return b - a\n")
    outcome, events, _ = run(
        git_repo,
        "the test suite fails, please fix the bug in calc/ops.py or calc/__init__.py",
        [
            plan(("document add", ["calc/ops.py"]), ("fix sub", ["calc/ops.py"])),
            code("calc/ops.py", 'def add(a, b):\n    """Sum."""\n    return a + b\n'),
            wrong,
            wrong,
            wrong,
        ],
    )
    assert outcome.exit_code == ExitCode.TASK_FAILED
    assert "the tests still fail: tests/test_ops.py::test_sub" in outcome.message
    assert "commit(s) were taken back off the branch" in outcome.message
    assert head(git_repo) == start
    assert (git_repo / "calc/ops.py").read_text() == BUGGY["calc/ops.py"]
    assert (git_repo / "notes.txt").read_text() == "my own notes\n"
    assert of_type(events, "run.completed")[0]["commits"] == []


def test_a_rename_is_done_only_when_no_caller_uses_the_old_name(git_repo: Path) -> None:
    commit(
        git_repo,
        {
            "stats.py": "def total(xs):\n    return sum(xs)\n",
            "report.py": "import stats\n\n\ndef show(xs):\n    return stats.total(xs)\n",
        },
    )
    renamed = "def sum_all(xs):\n    return sum(xs)\n"
    caller = "import stats\n\n\ndef show(xs):\n    return stats.sum_all(xs)\n"
    outcome, events, model = run(
        git_repo,
        "give total in stats.py a clearer name",  # the new name is the model's: no rope
        [
            plan(("rename total", ["stats.py"])),
            reply_from(
                [{"path": "stats.py", "search": "def total(xs):", "replace": "def sum_all(xs):"}]
            ),
            reply_from(
                [
                    {"path": "stats.py", "search": "", "replace": renamed},
                    {
                        "path": "report.py",
                        "search": "    return stats.total(xs)",
                        "replace": "    return stats.sum_all(xs)",
                    },
                ]
            ),
        ],
    )
    assert outcome.exit_code == ExitCode.OK, outcome.message
    first = step_results(events)[0]
    assert first["detail"] == "the old name is still used: report.py:5: return stats.total(xs)"
    assert "\nreport.py\n```python\n" in act_prompt(model.calls[2])
    assert (git_repo / "report.py").read_text() == caller
    assert (git_repo / "stats.py").read_text() == renamed


def test_a_broken_rewrite_is_undone_byte_for_byte(git_repo: Path) -> None:
    original = "# -*- coding: utf-8 -*-\r\nNAME = 'café'\r\n\r\ndef f():\r\n    return NAME\r\n"
    commit(git_repo, {"app.py": original})
    outcome, events, _ = run(
        git_repo,
        "make f return the name in upper case",
        [plan(("upper", ["app.py"])), *[code("app.py", "def f(:\n    return 1\n")] * 3],
    )
    assert outcome.exit_code == ExitCode.TASK_FAILED
    details = [e["detail"] for e in step_results(events)]
    assert details[0].startswith("the code block for app.py does not parse")
    assert (git_repo / "app.py").read_bytes() == original.encode()


def test_a_large_file_is_shown_by_its_symbols_never_cut_in_the_middle(git_repo: Path) -> None:
    helpers = [f"def helper_{i}(x):\n    return x + {i}\n\n\n" for i in range(400)]
    target = (
        "def target_fn(values):\n    middle_marker = sorted(values)\n    return middle_marker\n"
    )
    commit(git_repo, {"big.py": "".join([*helpers[:200], target, "\n\n", *helpers[200:]])})
    assert len((git_repo / "big.py").read_text().splitlines()) > 1000
    new = "def target_fn(values):\n    return sorted(values, reverse=True)\n"
    outcome, _, model = run(
        git_repo,
        "target_fn in big.py should sort in reverse",
        [plan(("reverse target_fn", ["big.py"])), code("big.py", new)],
    )
    assert outcome.exit_code == ExitCode.OK, outcome.message
    prompt = act_prompt(model.calls[1])
    assert "middle_marker = sorted(values)" in prompt and "omitted" not in prompt
    assert "\nbig.py\n```python\ndef target_fn(values):\n" in prompt  # verbatim, unnumbered
    assert "helper_398" not in prompt and "helper_0, helper_1" in prompt
    text = (git_repo / "big.py").read_text()
    assert new in text and "def helper_399(x):" in text and "middle_marker" not in text


def test_an_ignored_file_is_never_deleted_or_committed(git_repo: Path) -> None:
    commit(git_repo, {".gitignore": "*.local\n", "app.py": "X = 1\n"})
    (git_repo / "settings.local").write_text("MINE=1\n")
    outcome, _, _ = run(
        git_repo,
        "set MINE=2 in settings.local",
        [plan(("edit", ["settings.local"])), *[code("settings.local", "MINE=2\n")] * 3],
    )
    assert outcome.exit_code == ExitCode.TASK_FAILED
    assert (git_repo / "settings.local").read_text() == "MINE=1\n"


def test_a_file_sent_back_unchanged_beside_a_real_change_does_not_sink_the_answer(
    git_repo: Path,
) -> None:
    test_file = "from app import one\n\n\ndef test_one():\n    assert one() == 1\n"
    commit(git_repo, {"app.py": "def one():\n    return 1\n", "tests/test_app.py": test_file})
    both = reply_from(
        [
            {"path": "app.py", "search": "", "replace": "def two():\n    return 2\n"},
            {"path": "tests/test_app.py", "search": "", "replace": test_file},
        ]
    )
    outcome, _, _ = run(
        git_repo,
        "add a function two to app.py",
        [plan(("add two", ["app.py", "tests/test_app.py"])), both],
    )
    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert "def two():" in (git_repo / "app.py").read_text()
    assert (git_repo / "tests/test_app.py").read_text() == test_file


def test_done_says_what_was_verified(git_repo: Path) -> None:
    commit(
        git_repo,
        {"pkg/__init__.py": "from .core import run\n", "pkg/core.py": "def run():\n    return 1\n"},
    )
    outcome, events, _ = run(
        git_repo,
        "add a function stop to pkg/core.py",
        [plan(("add stop", ["pkg/core.py"])), code("pkg/core.py", "def stop():\n    return 0\n")],
    )
    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert of_type(events, "run.completed")[0]["verified"] == [
        "compiles: pkg/core.py",
        "imports: pkg, pkg.core",
    ]


def test_plan_steps_that_copy_the_prompt_or_name_no_real_file_are_dropped(
    git_repo: Path,
) -> None:
    commit(
        git_repo,
        {"textutils.py": "def words(text):\n    return text.split()\n", "other.py": "X = 1\n"},
    )
    task = "add a function slugify to textutils.py"
    outcome, events, _ = run(
        git_repo,
        task,
        [
            plan(
                ("Add a function slugify to textutils.py", ["textutils.py"]),
                ("Use 1 to 4 steps; one step is best for a small task.", ["other.py"]),
                ("write docs", ["docs/placeholder.md"]),
            ),
            code("textutils.py", "def slugify(text):\n    return '-'.join(words(text))\n"),
        ],
    )
    assert outcome.exit_code == ExitCode.OK, outcome.message
    steps = of_type(events, "plan")[0]["steps"]
    assert steps == [{"goal": task, "files": ["textutils.py"]}]  # one step: the task


def test_a_failing_test_named_in_the_task_is_the_symptom_not_the_file_to_edit(
    git_repo: Path,
) -> None:
    commit(git_repo, BUGGY)
    outcome, events, _ = run(
        git_repo,
        "Running the test suite, `tests/test_ops.py::test_sub` fails. Please fix the bug.",
        [plan(("fix it", ["tests/test_ops.py"])), code("calc/ops.py", FIXED_SUB)],
    )
    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert of_type(events, "plan")[0]["steps"][0]["files"] == ["calc/ops.py"]


def test_a_tier_that_retries_a_step_samples_instead_of_repeating_itself(git_repo: Path) -> None:
    start = commit(git_repo, BUGGY)
    outcome, _, model = fix_sub_after(git_repo, "def sub(a, b):\n    return b - a\n")
    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert model.temperatures == [0.0, 0.7]  # the first answer, the retry (no plan call)
    assert head(git_repo) != start


def test_a_local_answer_that_misses_is_continued_from_its_likeliest_other_token(
    git_repo: Path,
) -> None:
    """The greedy answer echoes the bug; the next sample is not drawn at random but begun
    where the model's runner-up token was likeliest (`-` under the copied `+`)."""
    start = commit(git_repo, BUGGY)
    echo = code("calc/ops.py", "def sub(a, b):\n    return a + b\n")
    local = ScriptedModel(
        [echo, code("calc/ops.py", FIXED_SUB)], runner_ups={"+": (" -", -1.2), "b": (" a", -3.0)}
    )
    # whole answers only: infill's one-token changes would fix these bugs first
    settings, _ = config.load(git_repo, {"policy": "local", "samples": 3, "infill_lines": 0})
    tiers = Tiers(lambda: local, lambda: local, "gpt-4.1-mini", simulated=True)
    task = "the test suite fails, please fix the bug"
    outcome = Runner(settings, git_repo, tiers=tiers).start(task)
    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert local.temperatures == [0.0, 0.0]  # the fork is continued greedily
    assert local.prefills[1] == local.prefills[0] + "def sub(a, b):\n    return a -"
    assert local.calls[1] == local.calls[0]
    assert head(git_repo) != start


def test_the_code_under_test_is_found_through_the_failing_tests_imports(git_repo: Path) -> None:
    commit(
        git_repo,
        {
            "fmt/__init__.py": "def table(rows, sep=' '):\n    return sep.join(rows)\n",
            "test/common.py": "def check(fn, want):\n    assert fn(['a', 'b']) == want\n",
            "test/test_fmt.py": "from common import check\nfrom fmt import table\n\n\n"
            "def test_table():\n    check(table, 'a|b')\n",
            "test/conftest.py": "import sys, os\nsys.path.insert(0, os.path.dirname(__file__))\n",
        },
    )
    fixed = "def table(rows, sep='|'):\n    return sep.join(rows)\n"
    outcome, events, _ = run(
        git_repo,
        "Running the test suite, `test/test_fmt.py::test_table` fails. Please fix the bug.",
        [plan(("fix check", ["test/common.py"])), code("fmt/__init__.py", fixed)],
    )
    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert of_type(events, "plan")[0]["steps"][0]["files"] == ["fmt/__init__.py"]


def test_a_failed_attempt_adds_no_evidence(git_repo: Path) -> None:
    commit(git_repo, BUGGY)
    outcome, events, _ = fix_sub_after(git_repo, "def sub(a, b):\n    return b - a\n")
    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert of_type(events, "run.completed")[0]["verified"] == [
        "compiles: calc/ops.py",
        "imports: calc.ops",
        "tests: 2 passed (now passing: tests/test_ops.py::test_sub)",
    ]


def test_a_retry_sees_the_code_its_failed_attempt_sent(git_repo: Path) -> None:
    commit(git_repo, BUGGY)
    wrong = "def sub(a, b):\n    return b - a\n"
    outcome, _, model = fix_sub_after(git_repo, wrong)
    assert outcome.exit_code == ExitCode.OK, outcome.message
    first, retry = act_prompt(model.calls[0]), act_prompt(model.calls[1])
    assert "previous attempt" not in first
    assert f"Your previous attempt was:\ncalc/ops.py\n```python\n{wrong}```" in retry
    assert "assert -2 == 2" in retry  # the output of that attempt, not of the original code


def test_an_edit_that_loops_forever_is_stopped_put_back_and_retried(
    git_repo: Path, monkeypatch
) -> None:
    from tiercode.tools import checks

    monkeypatch.setattr(checks, "RERUN_FLOOR_S", 2.0)
    commit(git_repo, BUGGY)
    outcome, events, model = fix_sub_after(
        git_repo, "def sub(a, b):\n    while True:\n        pass\n"
    )
    assert outcome.exit_code == ExitCode.OK, outcome.message
    detail = step_results(events)[0]["detail"]
    assert re.match(
        r"the tests did not finish within [\d.]+ s \(before this edit they took", detail
    )
    assert "while True" in act_prompt(model.calls[1])  # the retry sees what looped


def test_failing_tests_that_lead_to_one_file_are_the_plan_without_a_model_call(
    git_repo: Path,
) -> None:
    commit(git_repo, BUGGY)
    outcome, events, model = run(
        git_repo, "the test suite fails, please fix the bug", [code("calc/ops.py", FIXED_SUB)]
    )
    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert of_type(events, "plan")[0]["steps"] == [
        {
            "goal": "change the code under test so that these failing tests pass: "
            "tests/test_ops.py::test_sub",
            "files": ["calc/ops.py"],
        }
    ]
    assert len(model.calls) == 1 and "Current step 1" in act_prompt(model.calls[0])
    assert not [d for d in of_type(events, "step.completed") if d["step"] == 0]


def test_a_task_naming_a_second_file_is_planned_by_the_model(git_repo: Path) -> None:
    commit(git_repo, {**BUGGY, "calc/util.py": "def neg(a):\n    return -a\n"})
    outcome, events, model = run(
        git_repo,
        "the test suite fails; the bug may be in calc/util.py",
        [plan(("fix sub", ["calc/ops.py"])), code("calc/ops.py", FIXED_SUB)],
    )
    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert "Reply with JSON only" in act_prompt(model.calls[0])
    assert of_type(events, "plan")[0]["steps"][0]["files"] == ["calc/ops.py", "calc/util.py"]


def test_a_goal_naming_a_test_helper_is_retargeted_at_the_code_under_test(git_repo: Path) -> None:
    commit(git_repo, BUGGY)
    outcome, events, model = run(
        git_repo,
        "the test suite fails, please fix the bug in calc/ops.py or calc/__init__.py",
        [
            plan(("rewrite test_sub to pass", ["calc/ops.py"]), ("export", ["calc/__init__.py"])),
            code("calc/ops.py", FIXED_SUB),
            code("calc/__init__.py", "from calc.ops import add, sub\n"),
        ],
    )
    assert outcome.exit_code == ExitCode.OK, outcome.message
    goal = of_type(events, "plan")[0]["steps"][0]["goal"]
    assert goal == "change the code under test so that these failing tests pass: " + (
        "tests/test_ops.py::test_sub"
    )
    assert "rewrite test_sub" not in act_prompt(model.calls[1])


def test_a_definition_added_to_a_large_file_sees_its_imports_not_an_outline(
    git_repo: Path,
) -> None:
    helpers = "".join(f"def helper_{i}(x):\n    return x + {i}\n\n\n" for i in range(400))
    commit(git_repo, {"big.py": "import math\n\n\n" + helpers})
    new = "def triple(x):\n    return 3 * x\n"
    outcome, _, model = run(
        git_repo,
        "add a function triple to big.py",
        [plan(("add it", ["big.py"])), code("big.py", new)],
    )
    assert outcome.exit_code == ExitCode.OK, outcome.message
    prompt = act_prompt(model.calls[1])
    assert "only its imports shown" in prompt and "\nbig.py\n```python\nimport math\n```" in prompt
    assert "|" not in prompt.split("Task:")[1].split("Reply in plain text")[0]
    text = (git_repo / "big.py").read_text()
    assert text.startswith("import math\n\n\n" + helpers.rstrip())
    assert text.endswith("return x + 399\n\n\n" + new)


def test_a_rename_the_task_asks_for_is_carried_to_every_reference(git_repo: Path) -> None:
    start = commit(
        git_repo,
        {
            "sales/__init__.py": "",
            "sales/parsing.py": "def parse_row(row):\n    return dict(row)\n\n\n"
            "def load(rows):\n    return [parse_row(r) for r in rows]\n",
            "sales/summary.py": "from sales.parsing import parse_row\n\n\n"
            "def first(rows):\n    return parse_row(rows[0])\n",
            "tests/test_sales.py": "from sales import parsing\n\n\n"
            "def test_parse():\n    assert parsing.parse_row({'a': 1}) == {'a': 1}\n",
        },
    )
    outcome, events, _ = run(
        git_repo,
        "Rename parse_row to parse_record everywhere",
        [
            plan(("rename parse_row", ["sales/parsing.py"])),
            code("sales/parsing.py", "def parse_record(row):\n    return dict(row)\n"),
        ],
    )
    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert step_results(events)[0]["files"] == [
        "sales/parsing.py",
        "sales/summary.py",
        "tests/test_sales.py",
    ]
    for rel in ("sales/parsing.py", "sales/summary.py", "tests/test_sales.py"):
        text = (git_repo / rel).read_text()
        assert "parse_record" in text and "parse_row" not in text, rel
    changed = subprocess.run(
        ["git", "diff", "--name-only", start, "HEAD"], cwd=git_repo, capture_output=True, text=True
    ).stdout.split()
    assert sorted(changed) == ["sales/parsing.py", "sales/summary.py", "tests/test_sales.py"]
    assert not (git_repo / ".ropeproject").exists()


def test_the_line_a_failing_test_s_error_comes_from_is_marked_and_never_written_back(
    git_repo: Path,
) -> None:
    files = {
        **BUGGY,
        "calc/ops.py": BUGGY["calc/ops.py"] + '\n\ndef shout(s):\n    return s - "!"\n',
        "tests/test_ops.py": "from calc.ops import shout\n\n\n"
        "def test_shout():\n    assert shout('hi') == 'hi!'\n",
    }
    commit(git_repo, files)
    copied = "def shout(s):\n    return s + '!'" + RAISED_MARK + "\n"
    outcome, _, model = run(git_repo, "the tests fail, fix it", [code("calc/ops.py", copied)])
    assert outcome.exit_code == ExitCode.OK, outcome.message
    prompt = act_prompt(model.calls[0])
    assert '    return s - "!"' + RAISED_MARK + "\n" in prompt
    assert prompt.count(RAISED_MARK) == 1
    fixed = (git_repo / "calc/ops.py").read_text()
    assert fixed.endswith("def shout(s):\n    return s + '!'\n") and RAISED_MARK not in fixed
