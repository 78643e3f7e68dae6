"""Attacks that read secrets from the environment, or plant programs on PATH."""

from __future__ import annotations

from pathlib import Path

import pytest
from sandbox_support import requires_landlock

from tiercode.tools.shell import run

SECRETS = {
    "DB_PASS": "hunter2",
    "DATABASE_URL": "postgres://admin:hunter2@db/prod",
    "SSH_AUTH_SOCK": "/tmp/ssh-agent.sock",
    "OPENAI_API_KEY": "sk-test-hunter2",
    "AWS_SECRET_ACCESS_KEY": "hunter2aws",
}


@pytest.mark.parametrize("name", SECRETS)
def test_a_secret_in_the_environment_is_not_visible(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, SECRETS[name])
    result = run("env; cat /proc/self/environ", cwd=git_repo, timeout_s=30, sandbox=False)
    assert SECRETS[name] not in result.output
    assert name not in result.output


@requires_landlock
def test_home_and_tmpdir_are_private_and_removed(git_repo: Path) -> None:
    result = run("echo $HOME; echo $TMPDIR; touch $HOME/x", cwd=git_repo, timeout_s=30)
    home, tmpdir = result.output.split()[:2]
    assert home != str(Path.home())
    assert Path(home).parent == Path(tmpdir).parent
    assert not Path(home).exists() and not Path(tmpdir).exists()


def test_a_relative_path_entry_cannot_run_a_repo_binary(
    git_repo: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = outside / "ran"
    fake = git_repo / "bin" / "ls"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\ntouch {marker}\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"bin:{Path('/usr/bin')}:/bin")
    run("ls", cwd=git_repo, timeout_s=30, sandbox=False)
    assert not marker.exists()
