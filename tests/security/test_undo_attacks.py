"""Attacks on `undo`: losing the user's amendment of an agent commit, and rewriting commits
that were pushed or are kept by some other ref."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tiercode.tools.errors import RepoError
from tiercode.tools.git import GitRepo


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def agent_commit(repo: Path) -> tuple[GitRepo, str]:
    """One tiercode commit of a new file on `main`, as a run makes it."""
    gr = GitRepo.open(repo)
    (repo / "a.py").write_text("a = 1\n")
    return gr, gr.commit(["a.py"], "add a", run_id="run-1", step=1)


def test_an_amended_agent_commit_is_not_undone(git_repo: Path) -> None:
    """The user fixes the agent's commit with `commit --amend`; trailers and author stay."""
    gr, _ = agent_commit(git_repo)
    (git_repo / "a.py").write_text("a = 2  # the user's fix\n")
    git(git_repo, "commit", "-q", "--amend", "--no-edit", "-a")
    amended = git(git_repo, "rev-parse", "HEAD")
    assert "Tiercode-Run: run-1" in git(git_repo, "log", "-1", "--format=%B")
    with pytest.raises(RepoError, match="not the one tiercode made"):
        gr.undo()
    assert git(git_repo, "rev-parse", "HEAD") == amended
    assert (git_repo / "a.py").read_text() == "a = 2  # the user's fix\n"


def test_an_agent_commit_with_a_reworded_message_is_not_undone(git_repo: Path) -> None:
    gr, _ = agent_commit(git_repo)
    message = git(git_repo, "log", "-1", "--format=%B").replace("add a", "add a, reviewed")
    git(git_repo, "commit", "-q", "--amend", "-m", message)
    reworded = git(git_repo, "rev-parse", "HEAD")
    with pytest.raises(RepoError, match="not the one tiercode made"):
        gr.undo()
    assert git(git_repo, "rev-parse", "HEAD") == reworded


def test_commits_pushed_by_url_are_not_undone_when_the_branch_has_an_upstream(
    git_repo: Path, tmp_path: Path
) -> None:
    """A push by URL leaves no remote-tracking ref; the upstream setting is the only trace."""
    git(tmp_path, "init", "-q", "--bare", "shared.git")
    url = (tmp_path / "shared.git").as_uri()
    gr, sha = agent_commit(git_repo)
    git(git_repo, "push", "-q", url, "main")
    git(git_repo, "config", "branch.main.remote", url)
    git(git_repo, "config", "branch.main.merge", "refs/heads/main")
    assert not git(git_repo, "for-each-ref", "refs/remotes")
    with pytest.raises(RepoError, match="upstream"):
        gr.undo()
    assert git(git_repo, "rev-parse", "HEAD") == sha


@pytest.mark.parametrize(
    "keep",
    [
        ("tag", "v1"),
        ("branch", "backup"),
        ("update-ref", "refs/remotes/mirror/main", "HEAD"),
    ],
    ids=["tag", "other-branch", "remote-tracking"],
)
def test_commits_another_ref_holds_are_not_undone(git_repo: Path, keep: tuple[str, ...]) -> None:
    gr, sha = agent_commit(git_repo)
    git(git_repo, *keep)
    with pytest.raises(RepoError, match="pushed or shared"):
        gr.undo()
    assert git(git_repo, "rev-parse", "HEAD") == sha


def test_a_plain_agent_commit_is_still_undone(git_repo: Path) -> None:
    """The control: with none of the above, undo works."""
    start = git(git_repo, "rev-parse", "HEAD")
    gr, sha = agent_commit(git_repo)
    assert gr.undo() == [sha]
    assert git(git_repo, "rev-parse", "HEAD") == start
    assert not (git_repo / "a.py").exists()
