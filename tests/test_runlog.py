"""Prompts and replies are readable after the fact: every run writes them to its log file,
`--verbose` mirrors them to stderr, and the ledger keeps reply texts only when asked."""

from __future__ import annotations

import stat
from pathlib import Path

from test_agent_flow import BUGGY, FIXED_SUB, code, commit, plan

from tiercode.agent import config
from tiercode.agent.llm.models import ScriptedModel
from tiercode.agent.runlog import log_path
from tiercode.agent.runner import Runner, Tiers


def scripted_run(repo: Path, **flags: object) -> tuple[Runner, str, list[str]]:
    commit(repo, BUGGY)
    fix = code("calc/ops.py", FIXED_SUB)  # spares, in case a loaded machine forces a retry
    local = ScriptedModel([plan(("fix sub", ["calc/ops.py"])), fix, fix, fix])
    # whole answers only: infill's one-token changes would fix these bugs first
    settings, _ = config.load(repo, {"policy": "local", "samples": 1, "infill_lines": 0, **flags})
    tiers = Tiers(lambda: local, lambda: local, "gpt-4.1-mini", simulated=True)
    echoed: list[str] = []
    runner = Runner(settings, repo, tiers=tiers, echo=echoed.append)
    outcome = runner.start("fix the failing test in calc/ops.py or calc/__init__.py")
    assert outcome.status == "done", outcome.message
    return runner, outcome.run_id, echoed


def test_the_log_file_and_verbose_show_each_prompt_and_reply(git_repo: Path) -> None:
    runner, run_id, echoed = scripted_run(git_repo)
    text = log_path(runner.home, run_id).read_text()
    assert "plan attempt 0 plan → local" in text and '"steps"' in text  # prompt and reply
    assert "step 1 attempt 0" in text and "return a - b" in text
    assert stat.S_IMODE(log_path(runner.home, run_id).stat().st_mode) == 0o600
    assert "".join(echoed) == text  # --verbose shows exactly what the file keeps
    assert runner.ledger.replies(run_id) == {}  # not kept unless asked


def test_replies_are_kept_in_the_ledger_only_when_asked(git_repo: Path) -> None:
    runner, run_id, _ = scripted_run(git_repo, keep_replies=True)
    replies = runner.ledger.replies(run_id)
    assert any("return a - b" in t for t in replies.values())
    assert len(replies) == len(runner.ledger.calls(run_id))  # one per call


def test_run_offers_verbose_and_keep_replies() -> None:
    from test_cli_errors import tiercode

    help_text = tiercode("run", "-h").stdout
    assert "--verbose" in help_text and "--keep-replies" in help_text
