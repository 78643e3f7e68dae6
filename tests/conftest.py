"""Shared pytest fixtures."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A real git repository on branch `main` with a local identity and one commit (README.md).

    Identity and signing are set in the repo's own config, so the user's global git config
    cannot make a test fail or sign commits.
    """
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("config", "user.name", "Test User")
    git("config", "user.email", "test@example.com")
    git("config", "commit.gpgsign", "false")
    (repo / "README.md").write_text("# demo\n")
    git("add", "README.md")
    git("commit", "-q", "-m", "initial commit")
    return repo


@pytest.fixture(autouse=True)
def tiercode_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own config, ledger and checkpoints; pulled models are shared."""
    home = tmp_path / "tiercode-home"
    monkeypatch.setenv("TIERCODE_HOME", str(home))
    for var in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "TIERCODE_POLICY"):
        monkeypatch.delenv(var, raising=False)
    for var in [v for v in os.environ if v.startswith("OTEL_")]:  # telemetry stays opt-in
        monkeypatch.delenv(var)
    # Scripted runs of other parts do not script an acceptance check; its own tests turn
    # it back on (tests/test_acceptance.py).
    monkeypatch.setenv("TIERCODE_ACCEPTANCE_CHECK", "0")
    # A warm shared stand-in would outlive each test by its idle timeout, one per test
    # home; tests of sharing use their own handles (tests/test_standin_shared.py).
    monkeypatch.setenv("TIERCODE_STANDIN_IDLE_S", "0")
    return home
