"""Attacks through the repository's git machinery: hooks, fsmonitor, and restore()."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tiercode.tools.git import GitRepo

HOOKS = ("pre-commit", "post-commit", "reference-transaction", "post-index-change", "post-checkout")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)
    return done.stdout


def _plant_hooks(repo: Path, markers: Path) -> None:
    hooks = repo / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    for name in HOOKS:
        hook = hooks / name
        hook.write_text(f"#!/bin/sh\ntouch {markers / name}\n")
        hook.chmod(0o755)


def _exercise(repo: Path) -> None:
    """Every kind of call tiercode makes that could fire a hook."""
    gr = GitRepo.open(repo)
    gr.branch("tiercode/run")
    (repo / "README.md").write_text("# changed\n")
    (repo / "new.py").write_text("x = 1\n")
    gr.commit(["README.md", "new.py"], "agent step", run_id="run1", step=1)
    (repo / "README.md").write_text("# again\n")
    gr.restore("README.md")
    gr.dirty_paths()
    gr.diff()


def test_the_planted_hooks_are_live(git_repo: Path, outside: Path) -> None:
    """The control: plain git runs them, so their absence below means tiercode skipped them."""
    _plant_hooks(git_repo, outside)
    git(git_repo, "switch", "-q", "-c", "other")
    assert (outside / "post-checkout").exists()
    assert (outside / "reference-transaction").exists()


@pytest.mark.parametrize("hook", HOOKS)
def test_repository_hooks_do_not_run_in_tiercodes_git_calls(
    git_repo: Path, outside: Path, hook: str
) -> None:
    _plant_hooks(git_repo, outside)
    _exercise(git_repo)
    assert not (outside / hook).exists()


def test_core_fsmonitor_does_not_run_in_tiercodes_git_calls(git_repo: Path, outside: Path) -> None:
    script = outside / "fsmonitor.sh"
    script.write_text(f"#!/bin/sh\ntouch {outside / 'fsmonitor-ran'}\n")
    script.chmod(0o755)
    git(git_repo, "config", "core.fsmonitor", str(script))
    subprocess.run(["git", "status"], cwd=git_repo, capture_output=True)
    assert (outside / "fsmonitor-ran").exists()  # the control: git itself runs it
    (outside / "fsmonitor-ran").unlink()
    _exercise(git_repo)
    assert not (outside / "fsmonitor-ran").exists()


def test_restore_leaves_an_ignored_env_file_alone(git_repo: Path) -> None:
    (git_repo / ".gitignore").write_text(".env\n")
    git(git_repo, "add", ".gitignore")
    git(git_repo, "commit", "-q", "-m", "ignore .env")
    (git_repo / ".env").write_text("DB_PASS=the-only-copy\n")
    GitRepo.open(git_repo).restore(".env")
    assert (git_repo / ".env").read_text() == "DB_PASS=the-only-copy\n"


def test_restore_leaves_a_file_in_an_ignored_directory_alone(git_repo: Path) -> None:
    (git_repo / ".gitignore").write_text("local/\n")
    git(git_repo, "add", ".gitignore")
    git(git_repo, "commit", "-q", "-m", "ignore local/")
    (git_repo / "local").mkdir()
    (git_repo / "local" / "notes.txt").write_text("mine\n")
    GitRepo.open(git_repo).restore("local/notes.txt")
    assert (git_repo / "local" / "notes.txt").read_text() == "mine\n"


def test_restore_leaves_an_untracked_file_from_before_the_run_alone(git_repo: Path) -> None:
    (git_repo / "draft.py").write_text("# the user's unsaved idea\n")
    (git_repo / "staged.py").write_text("# staged, never committed\n")
    git(git_repo, "add", "staged.py")
    repo = GitRepo.open(git_repo)
    repo.restore("draft.py")
    repo.restore("staged.py")
    assert (git_repo / "draft.py").read_text() == "# the user's unsaved idea\n"
    assert (git_repo / "staged.py").exists()
    assert "staged.py" in git(git_repo, "diff", "--cached", "--name-only")


def test_restore_still_removes_a_file_the_agent_created(git_repo: Path) -> None:
    """The control: the clean slate for a retried step still works."""
    repo = GitRepo.open(git_repo)
    (git_repo / "agent_made.py").write_text("x = 1\n")
    repo.restore("agent_made.py")
    assert not (git_repo / "agent_made.py").exists()
