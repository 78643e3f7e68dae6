"""The real graph, driven by scripted models against real temp git repos."""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from tiercode.agent import config
from tiercode.agent.events import Event
from tiercode.agent.ledger import Ledger
from tiercode.agent.llm.models import ScriptedModel
from tiercode.agent.replies import reply_from
from tiercode.agent.runner import Runner, Tiers
from tiercode.tools.errors import ExitCode, RepoError


def plan(*steps: tuple[str, list[str]]) -> str:
    return json.dumps({"steps": [{"goal": g, "files": f} for g, f in steps]})


def edit(path: str, search: str, replace: str, confidence: int = 90) -> str:
    return reply_from([{"path": path, "search": search, "replace": replace}], confidence)


def run(
    repo: Path,
    local: ScriptedModel,
    cloud: ScriptedModel,
    task: str = "create or change the files in the plan",
    **flags,
):
    settings, _ = config.load(repo, {"samples": 1, **flags})
    events: list[Event] = []
    tiers = Tiers(lambda: local, lambda: cloud, "gpt-4.1-mini", simulated=True)
    outcome = Runner(settings, repo, emit=events.append, tiers=tiers).start(task)
    return outcome, events


def types(events: list[Event]) -> list[str]:
    return [e.type for e in events if e.type != "token"]


def git_head(repo: Path) -> str:
    out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True)
    return out.stdout.strip()


def git_log(repo: Path) -> list[str]:
    out = subprocess.run(["git", "log", "--format=%s"], cwd=repo, capture_output=True, text=True)
    return out.stdout.splitlines()


def test_two_step_task_completes_with_one_commit_per_step(git_repo: Path) -> None:
    (git_repo / "app.py").write_text("def add(a, b):\n    return a - b\n")
    subprocess.run(["git", "add", "."], cwd=git_repo, check=True)
    subprocess.run(["git", "commit", "-qm", "app"], cwd=git_repo, check=True)
    local = ScriptedModel(
        [
            plan(("fix add", ["app.py"]), ("add mul", ["calc.py"])),
            edit("app.py", "    return a - b", "    return a + b"),
            edit("calc.py", "", "def mul(a, b):\n    return a * b\n"),
        ]
    )
    cloud = ScriptedModel([], tier="cloud")
    outcome, events = run(git_repo, local, cloud, policy="local")
    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert "return a + b" in (git_repo / "app.py").read_text()
    assert "def mul" in (git_repo / "calc.py").read_text()
    assert git_log(git_repo)[:2] == ["tiercode: add mul", "tiercode: fix add"]
    assert types(events) == [
        "run.started",
        "step.routed",
        "model.call",
        "plan",
        "step.completed",
        "step.routed",
        "model.call",
        "step.completed",
        "step.routed",
        "model.call",
        "step.completed",
        "run.completed",
    ]
    done = events[-1].to_dict()
    assert done["status"] == "done" and len(done["commits"]) == 2
    assert {e.to_dict()["schema_version"] for e in events} == {2}
    total = Decimal(done["cloud_usd"]) + Decimal(done["local_energy_usd"])
    assert Decimal(done["total_cost_usd"]) == total > 0
    assert done["local_calls"] == 3 and done["cloud_calls"] == 0
    usage = [e.to_dict() for e in events if e.type == "model.call"]
    assert sum(u["prompt_tokens"] for u in usage) == done["prompt_tokens"]  # plan call included
    assert sum(u["completion_tokens"] for u in usage) == done["completion_tokens"]
    assert cloud.calls == []


def test_failed_local_step_escalates_to_cloud(git_repo: Path) -> None:
    local = ScriptedModel([plan(("create util", ["util.py"])), edit("util.py", "nope", "x")])
    cloud = ScriptedModel([edit("util.py", "", "def f():\n    return 1\n")], tier="cloud")
    outcome, events = run(git_repo, local, cloud, policy="auto")
    assert outcome.exit_code == ExitCode.OK, outcome.message
    escalated = [e.to_dict() for e in events if e.type == "step.escalated"]
    assert escalated and escalated[0]["from_tier"] == "local" and escalated[0]["to_tier"] == "cloud"
    routed = [e.to_dict() for e in events if e.type == "step.routed"]
    assert routed[-1]["tier"] == "cloud" and routed[-1]["reason"].startswith("escalated")
    totals = Ledger().run_totals(outcome.run_id)
    assert totals.cloud_calls == 1 and totals.cloud_usd > 0 and totals.simulated


def test_low_confidence_local_answer_with_no_test_to_confirm_it_escalates(
    git_repo: Path,
) -> None:
    local = ScriptedModel(
        [plan(("create util", ["util.py"])), edit("util.py", "", "bad = 0\n", confidence=10)]
    )
    local.logprob = -3.0  # exp(-3) ≈ 0.05: the token log-probabilities say "unsure"
    cloud = ScriptedModel([edit("util.py", "", "good = 1\n")], tier="cloud")
    outcome, events = run(git_repo, local, cloud, policy="auto:0.6")
    assert outcome.exit_code == ExitCode.OK
    assert (git_repo / "util.py").read_text() == "good = 1\n"
    first = next(e.to_dict() for e in events if e.type == "step.completed" and e.step)
    # Every cheap check passed (1.0), averaged with 0.05: 0.52, below the gate.
    assert first["detail"] == "low confidence 0.52 < 0.60 and no test to confirm it"
    assert not first["success"] and first["confidence"] == pytest.approx(0.525, abs=1e-3)


def test_an_answer_that_does_not_compile_is_recorded_with_low_confidence(
    git_repo: Path,
) -> None:
    local = ScriptedModel(
        [
            plan(("create util", ["util.py"])),
            edit("util.py", "", "def broken(:\n"),
            edit("util.py", "", "good = 1\n"),
        ]
    )
    outcome, events = run(git_repo, local, ScriptedModel([], tier="cloud"), samples=2)
    assert outcome.exit_code == ExitCode.OK, outcome.message
    judged = [e.to_dict() for e in events if e.type == "step.completed" and e.step]
    assert [j["success"] for j in judged] == [False, True]
    # The same token score; the first answer cleared 2 of 5 checks (parses, applies).
    assert judged[0]["confidence"] == pytest.approx(judged[1]["confidence"] - 0.3, abs=1e-6)
    shares = [o.check_share for o in Ledger().outcomes(outcome.run_id) if o.step]
    assert shares == [0.4, 1.0]


def test_sensitive_step_never_escalates(git_repo: Path) -> None:
    key = "AKIA" + "Q" * 4 + "7RZ2MNBX4PLK"
    (git_repo / "settings.py").write_text(f'AWS_ACCESS_KEY_ID = "{key}"\nDEBUG = True\n')
    subprocess.run(["git", "add", "."], cwd=git_repo, check=True)
    subprocess.run(["git", "commit", "-qm", "settings"], cwd=git_repo, check=True)
    local = ScriptedModel([edit("settings.py", "nope", "x")] * 4)
    cloud = ScriptedModel([plan(("turn debug off", ["settings.py"]))], tier="cloud")
    outcome, events = run(git_repo, local, cloud, policy="cloud", samples=2)
    assert outcome.exit_code == ExitCode.TASK_FAILED
    assert len(cloud.calls) == 1  # the plan, which holds no secret
    assert key not in json.dumps(cloud.calls)
    routed = [e.to_dict() for e in events if e.type == "step.routed"]
    assert [r["tier"] for r in routed] == ["cloud", "local", "local", "local", "local"]
    assert all(r["reason"].startswith("sensitive") for r in routed[1:])
    assert len(Ledger().egress()) == 1


def test_a_failed_answer_is_sampled_again_from_the_same_prompt_before_escalating(
    git_repo: Path,
) -> None:
    local = ScriptedModel(
        [plan(("create util", ["util.py"])), "I would add x.", edit("util.py", "", "x = 1\n")]
    )
    outcome, events = run(git_repo, local, ScriptedModel([], tier="cloud"), samples=2)
    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert local.calls[1] == local.calls[2]  # the same prompt, so its prefix is reused
    assert local.temperatures[1:] == [0.0, 0.7]
    routed = [e.to_dict() for e in events if e.type == "step.routed" and e.step]
    assert [(r["attempt"], r["tier"]) for r in routed] == [(0, "local"), (1, "local")]
    assert not [e for e in events if e.type == "step.escalated"]


def test_after_its_samples_fail_the_step_escalates_with_the_failure_shown(
    git_repo: Path,
) -> None:
    local = ScriptedModel([plan(("create util", ["util.py"])), "I would add x.", "Me too."])
    cloud = ScriptedModel([edit("util.py", "", "x = 1\n")], tier="cloud")
    outcome, events = run(git_repo, local, cloud, samples=2)
    assert outcome.exit_code == ExitCode.OK, outcome.message
    tiers = [e.to_dict()["tier"] for e in events if e.type == "step.routed" and e.step]
    assert tiers == ["local", "local", "cloud"]
    assert "the reply has no code block" in cloud.calls[0][-1]["content"]
    assert "the reply has no code block" not in local.calls[2][-1]["content"]


def test_a_step_ends_after_two_rounds_of_samples(git_repo: Path) -> None:
    local = ScriptedModel([plan(("create util", ["util.py"]))] + ["No code."] * 6)
    outcome, _ = run(git_repo, local, ScriptedModel([], tier="cloud"), policy="local", samples=3)
    assert outcome.exit_code == ExitCode.TASK_FAILED
    assert len(local.calls) == 7 and local.replies == []
    assert local.calls[1] == local.calls[3] != local.calls[4] == local.calls[6]


def test_a_runaway_reply_is_judged_by_the_definitions_it_finished(git_repo: Path) -> None:
    """The fix comes first; the reply runs away in the next definition and is cut."""
    (git_repo / "util.py").write_text("def fix():\n    return 1\n")
    subprocess.run(["git", "add", "util.py"], cwd=git_repo, check=True)
    subprocess.run(["git", "commit", "-qm", "util"], cwd=git_repo, check=True)
    runaway = "def more():\n    return [\n" + "        1,\n" * 5000
    local = ScriptedModel(
        [
            plan(("fix util", ["util.py"])),
            f"util.py\n```python\ndef fix():\n    return 2\n\n{runaway}",
        ]
    )
    outcome, _ = run(git_repo, local, ScriptedModel([], tier="cloud"), policy="local")
    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert (git_repo / "util.py").read_text() == "def fix():\n    return 2\n"


def test_malformed_reply_is_fed_back_and_recovered(git_repo: Path) -> None:
    local = ScriptedModel(
        [plan(("create util", ["util.py"])), "I would add x.", edit("util.py", "", "x = 1\n")]
    )
    outcome, events = run(git_repo, local, ScriptedModel([], tier="cloud"), policy="local")
    assert outcome.exit_code == ExitCode.OK
    assert "the reply has no code block" in local.calls[2][-1]["content"]
    completed = [e.to_dict()["success"] for e in events if e.type == "step.completed" and e.step]
    assert completed == [False, True]


def test_budget_low_keeps_steps_local_instead_of_stopping(git_repo: Path) -> None:
    local = ScriptedModel([plan(("create util", ["util.py"])), edit("util.py", "", "x = 1\n")])
    cloud = ScriptedModel([], tier="cloud")
    outcome, events = run(git_repo, local, cloud, policy="cloud", max_cost_usd="0")
    assert outcome.exit_code == ExitCode.OK
    assert cloud.calls == []
    reasons = [e.to_dict()["reason"] for e in events if e.type == "step.routed"]
    assert all(r.startswith("budget low") for r in reasons)


def test_budget_exhausted_when_only_cloud_could_retry(git_repo: Path) -> None:
    local = ScriptedModel([plan(("create util", ["util.py"])), edit("util.py", "nope", "x")])
    cloud = ScriptedModel([], tier="cloud")
    outcome, events = run(git_repo, local, cloud, policy="auto", max_cost_usd="0")
    assert outcome.exit_code == ExitCode.BUDGET_EXHAUSTED
    assert cloud.calls == []
    assert events[-1].to_dict()["status"] == "budget"
    assert Decimal(events[-1].to_dict()["cloud_usd"]) == 0


def test_users_uncommitted_work_is_kept_out_of_agent_commits(git_repo: Path) -> None:
    (git_repo / "notes.txt").write_text("user's draft\n")
    local = ScriptedModel([plan(("create util", ["util.py"])), edit("util.py", "", "x = 1\n")])
    with pytest.raises(RepoError, match=r"uncommitted changes in notes\.txt"):
        run(git_repo, local, ScriptedModel([], tier="cloud"), policy="local")
    local = ScriptedModel([plan(("create util", ["util.py"])), edit("util.py", "", "x = 1\n")])
    outcome, _ = run(
        git_repo, local, ScriptedModel([], tier="cloud"), policy="local", on_dirty="keep"
    )
    assert outcome.exit_code == ExitCode.OK
    files = subprocess.run(
        ["git", "show", "--name-only", "--format=", "HEAD"],
        cwd=git_repo,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert files == ["util.py"]
    assert (git_repo / "notes.txt").read_text() == "user's draft\n"


def test_runaway_detection_spares_rulers_but_cuts_loops() -> None:
    from tiercode.agent.llm.models import is_repeating

    assert not is_repeating("x = 1\n# " + "-" * 78 + "\n")
    assert not is_repeating("def f():\n    return 1\n" * 3)
    assert is_repeating("def f():\n    return 1\n" + "print('again')\n" * 20)


def test_usage_shows_each_call_with_tier_reason_cost_and_confidence(git_repo: Path) -> None:
    from tiercode.cli.usage import run_calls

    local = ScriptedModel([plan(("create util", ["util.py"])), edit("util.py", "nope", "x")])
    cloud = ScriptedModel([edit("util.py", "", "x = 1\n")], tier="cloud")
    outcome, _ = run(git_repo, local, cloud, policy="auto")
    rows = run_calls(Ledger(), outcome.run_id)
    assert [(r["step"], r["attempt"], r["tier"]) for r in rows] == [
        (0, 0, "local"),
        (1, 0, "local"),
        (1, 1, "cloud"),
    ]
    assert rows[1]["success"] is False and rows[2]["success"] is True
    assert rows[1]["logprob_confidence"] is not None and rows[2]["self_confidence"] == 0.9
    assert rows[2]["reason"].startswith("escalated") and rows[2]["cost_usd"] > 0


@pytest.mark.parametrize("branch", ["", "fix/util"])
def test_a_run_on_a_detached_head_commits_there_or_on_the_branch_it_names(
    git_repo: Path, branch: str
) -> None:
    subprocess.run(["git", "checkout", "-q", "--detach"], cwd=git_repo, check=True)
    start = git_head(git_repo)
    local = ScriptedModel([plan(("create util", ["util.py"])), edit("util.py", "", "x = 1\n")])
    settings, _ = config.load(git_repo, {"policy": "local"})
    tiers = Tiers(lambda: local, lambda: local, "gpt-4.1-mini", simulated=True)
    outcome = Runner(settings, git_repo, tiers=tiers).start("add util.py", branch=branch)
    assert outcome.exit_code == ExitCode.OK, outcome.message
    where = subprocess.run(
        ["git", "branch", "--show-current"], cwd=git_repo, capture_output=True, text=True
    ).stdout.strip()
    assert where == branch and git_head(git_repo) != start
    assert git_log(git_repo)[0] == "tiercode: add util.py"  # a one-step plan's goal: the task
