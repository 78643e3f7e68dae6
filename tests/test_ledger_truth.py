"""Every run reaches a final status in the ledger, however it ends, and a call the user
stopped mid-reply is recorded with the tokens and time it spent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_agent_flow import BUGGY, commit, plan

from tiercode.agent import config
from tiercode.agent.ledger import Ledger
from tiercode.agent.llm.models import Message, ScriptedModel
from tiercode.agent.runner import Runner, Tiers
from tiercode.tools.errors import ConfigError, ExitCode


def runner_with(repo: Path, replies: list[Any]) -> Runner:
    commit(repo, BUGGY)
    local = ScriptedModel(replies, delay_s=0.05)
    # whole answers only: infill's one-token changes would fix these bugs first
    settings, _ = config.load(repo, {"policy": "local", "samples": 1, "infill_lines": 0})
    tiers = Tiers(lambda: local, lambda: local, "gpt-4.1-mini", simulated=True)
    return Runner(settings, repo, tiers=tiers)


def only_run(ledger: Ledger) -> dict[str, Any]:
    rows = ledger._rows("SELECT * FROM runs")
    assert len(rows) == 1
    return dict(rows[0])


def test_a_cancelled_call_is_recorded_with_its_tokens_and_time(git_repo: Path) -> None:
    holder: list[Runner] = []

    def stop_mid_reply(_m: list[Message]) -> str:
        holder[0].cancel.set()  # the user presses q while the step's reply streams
        return "def sub(a, b):"

    runner = runner_with(git_repo, [plan(("fix sub", ["calc/ops.py"])), stop_mid_reply])
    holder.append(runner)
    outcome = runner.start("fix the failing test in calc/ops.py or calc/__init__.py")
    assert outcome.status == "cancelled" and outcome.exit_code == ExitCode.INTERRUPTED
    assert only_run(runner.ledger)["status"] == "cancelled"
    stopped = [c for c in runner.ledger.calls() if c.call_id.endswith(":stopped")]
    assert len(stopped) == 1 and stopped[0].incomplete
    assert stopped[0].completion_tokens == 1 and stopped[0].prompt_tokens > 0
    assert stopped[0].latency_s >= 0.05 and stopped[0].cost_usd > 0
    from tiercode.agent.runlog import log_path

    assert (
        "--- reply (stopped)\ndef sub(a, b):" in log_path(runner.home, outcome.run_id).read_text()
    )


def test_ctrl_c_mid_call_is_interrupted_and_the_call_counted(git_repo: Path) -> None:
    def interrupt(_m: list[Message]) -> str:
        raise KeyboardInterrupt

    runner = runner_with(git_repo, [plan(("fix sub", ["calc/ops.py"])), interrupt])
    outcome = runner.start("fix the failing test in calc/ops.py or calc/__init__.py")
    assert outcome.status == "interrupted"
    assert only_run(runner.ledger)["status"] == "interrupted"
    assert any(c.call_id.endswith(":stopped") for c in runner.ledger.calls())


def test_a_bug_ends_the_run_failed_not_running(git_repo: Path) -> None:
    def crash(_m: list[Message]) -> str:
        raise RuntimeError("a bug")

    runner = runner_with(git_repo, [crash])
    with pytest.raises(RuntimeError):
        runner.start("fix the failing test in calc/ops.py or calc/__init__.py")
    row = only_run(runner.ledger)
    assert row["status"] == "failed" and row["finished_at"]


def test_a_run_that_cannot_start_is_closed_too(git_repo: Path) -> None:
    runner = runner_with(git_repo, [])
    runner.tiers = Tiers(runner.tiers.local, runner.tiers.cloud, "no-such-model-x", False)  # type: ignore[union-attr]
    with pytest.raises(ConfigError):
        runner.start("fix the failing test in calc/ops.py or calc/__init__.py")
    assert only_run(runner.ledger)["status"] == "error"
