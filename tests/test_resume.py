"""A run killed with SIGKILL mid-plan resumes from its checkpoint without redoing work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from scripted_run import write

from tiercode.agent import config, graph
from tiercode.agent.ledger import Ledger
from tiercode.agent.llm.models import ScriptedModel
from tiercode.agent.runner import Runner, Tiers, _config, checkpointer
from tiercode.tools.errors import ConfigError, ExitCode


def git_subjects(repo: Path) -> list[str]:
    out = subprocess.run(["git", "log", "--format=%s"], cwd=repo, capture_output=True, text=True)
    return out.stdout.splitlines()


def test_sigkill_mid_plan_then_resume_finishes_without_duplicates(git_repo: Path) -> None:
    script = Path(__file__).with_name("scripted_run.py")
    proc = subprocess.Popen(
        [sys.executable, str(script), str(git_repo)],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    deadline = time.monotonic() + 60
    while "tiercode: create a.py" not in git_subjects(git_repo):
        assert time.monotonic() < deadline, "step 1 never committed"
        assert proc.poll() is None, "the scripted run ended early"
        time.sleep(0.1)
    time.sleep(0.5)  # let it reach step 2's model call
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    calls_before = Ledger().calls(run_id)
    local = ScriptedModel([write("b.py", "B = 2\n")])
    settings, _ = config.load(git_repo, {"policy": "local"})
    tiers = Tiers(lambda: local, lambda: local, "gpt-4.1-mini", simulated=True)
    outcome = Runner(settings, git_repo, tiers=tiers).resume(run_id)

    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert git_subjects(git_repo) == [
        "tiercode: create b.py",
        "tiercode: create a.py",
        "initial commit",
    ]
    assert (git_repo / "b.py").read_text() == "B = 2\n"
    assert len(local.calls) == 1, "only the unfinished step may call the model again"
    calls = Ledger().calls(run_id)
    ids = [c.call_id for c in calls]
    assert len(ids) == len(set(ids))
    assert [c.call_id for c in calls_before] == ids[: len(calls_before)]
    assert len(calls) == 3  # plan, step 1, step 2: nothing lost, nothing twice

    again = Runner(settings, git_repo, tiers=tiers).resume(run_id)
    assert again.exit_code == ExitCode.OK
    assert len(git_subjects(git_repo)) == 3


def test_a_checkpoint_that_counted_steps_from_zero_is_refused(
    git_repo: Path, tiercode_home: Path
) -> None:
    """Steps are numbered from 1 in state as everywhere; a run checkpointed by a tiercode
    that counted them from 0 is not resumed at the wrong step."""
    old = {"run_id": "old", "task": "t", "plan": [{"goal": "g", "files": ["a.py"]}], "step": 0}
    with checkpointer(tiercode_home) as saver:
        graph.build(saver).update_state(_config("old"), old, as_node="plan")
    settings, _ = config.load(git_repo, {"policy": "local"})
    with pytest.raises(ConfigError, match="older tiercode"):
        Runner(settings, git_repo, home=tiercode_home).resume("old")
