"""The small commands through the real `tiercode` process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tiercode.agent.ledger import Ledger
from tiercode.tools.git import GitRepo

TIERCODE = str(Path(sys.executable).with_name("tiercode"))


def tiercode(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TIERCODE, *args], capture_output=True, text=True, env=os.environ.copy())


def test_undo_removes_only_the_last_runs_commits(git_repo: Path) -> None:
    git = GitRepo.open(git_repo)
    (git_repo / "a.py").write_text("a = 1\n")
    git.commit(["a.py"], "tiercode: a", "run1", step=1)
    (git_repo / "b.py").write_text("b = 1\n")
    git.commit(["b.py"], "tiercode: b", "run2", step=1)
    (git_repo / "c.py").write_text("c = 1\n")
    git.commit(["c.py"], "tiercode: c", "run2", step=2)
    r = tiercode("undo", "--repo", str(git_repo))
    assert r.returncode == 0, r.stderr
    assert "removed 2 commit(s)" in r.stdout
    assert (git_repo / "a.py").exists() and not (git_repo / "b.py").exists()
    (git_repo / "a.py").write_text("dirty\n")
    r = tiercode("undo", "--repo", str(git_repo))
    assert r.returncode == 5 and "uncommitted" in r.stderr


def test_trust_lets_the_repo_file_set_every_key(git_repo: Path) -> None:
    r = tiercode("trust", "--repo", str(git_repo))
    assert r.returncode == 0 and str(git_repo.resolve()) in r.stdout


def test_calibrate_reports_each_signal_from_the_ledger() -> None:
    ledger = Ledger()
    for i in range(40):
        good = i % 2 == 0
        ledger.record_outcome("r", i, 0, "local", 0.9, 0.8 if good else 0.3, good, 1.0)
    r = tiercode("calibrate", "--json", "--success-rate", "0.9")
    assert r.returncode == 0, r.stderr
    signals = json.loads(r.stdout)["signals"]
    assert signals["logprob"]["auroc"] == 1.0 and signals["self"]["auroc"] == 0.5
    assert signals["grounded"]["threshold"] == pytest.approx(0.9)  # (0.8 + 1.0) / 2
    assert signals["logprob"]["threshold"] == 0.8
    assert signals["self"]["n"] == 40
