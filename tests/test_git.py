"""GitRepo against real temporary repositories: opening, commits that leave the user's work
alone, finding a run's commits again, and an undo that refuses whenever it could hurt."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tiercode.tools.errors import RepoError
from tiercode.tools.git import GitRepo, trailers


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)
    return done.stdout


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def test_open_a_good_repo(git_repo: Path) -> None:
    repo = GitRepo.open(git_repo)
    assert repo.current_branch() == "main"
    assert repo.dirty_paths() == set()


def test_open_missing_path(tmp_path: Path) -> None:
    with pytest.raises(RepoError, match="no such directory"):
        GitRepo.open(tmp_path / "nope")


def test_open_not_a_repo(tmp_path: Path) -> None:
    with pytest.raises(RepoError, match="not inside a git repository"):
        GitRepo.open(tmp_path)


def test_open_bare_repo(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "--bare", "bare.git")
    with pytest.raises(RepoError, match="bare"):
        GitRepo.open(tmp_path / "bare.git")


def test_open_repo_without_commits(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "empty")
    with pytest.raises(RepoError, match="no commits"):
        GitRepo.open(tmp_path / "empty")


def test_a_detached_head_takes_commits_and_refuses_undo(git_repo: Path) -> None:
    git(git_repo, "checkout", "-q", "--detach")
    start = head(git_repo)
    repo = GitRepo.open(git_repo)
    (git_repo / "a.txt").write_text("a\n")
    sha = repo.commit(["a.txt"], "a", run_id="r")
    assert head(git_repo) == sha and repo.agent_commits("r") == [sha]
    assert git(git_repo, "rev-parse", "main").strip() == start  # no branch moved
    with pytest.raises(RepoError, match="detached"):
        repo.undo()


def test_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(RepoError) as info:
        GitRepo.open(tmp_path)
    assert "\n" not in str(info.value)


def test_dirty_paths(git_repo: Path) -> None:
    (git_repo / ".gitignore").write_text("*.log\n")
    git(git_repo, "add", ".gitignore")
    git(git_repo, "commit", "-q", "-m", "ignore logs")
    (git_repo / "README.md").write_text("changed\n")
    (git_repo / "staged.txt").write_text("s\n")
    git(git_repo, "add", "staged.txt")
    (git_repo / "dir").mkdir()
    (git_repo / "dir" / "untracked.txt").write_text("u\n")
    (git_repo / "ignored.log").write_text("i\n")
    assert GitRepo.open(git_repo).dirty_paths() == {"README.md", "staged.txt", "dir/untracked.txt"}


def test_diff_worktree_and_staged(git_repo: Path) -> None:
    repo = GitRepo.open(git_repo)
    (git_repo / "README.md").write_text("# demo\nmore\n")
    assert "+more" in repo.diff()
    assert repo.diff(staged=True) == ""
    git(git_repo, "add", "README.md")
    assert "+more" in repo.diff(paths=["README.md"], staged=True)


def test_commit_takes_only_the_given_paths_and_leaves_the_users_work(git_repo: Path) -> None:
    (git_repo / "user_staged.txt").write_text("base\n")
    (git_repo / "user_unstaged.txt").write_text("base\n")
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-q", "-m", "user files")
    # The user's own work in progress: one staged change, one unstaged, one untracked.
    (git_repo / "user_staged.txt").write_text("staged by the user\n")
    git(git_repo, "add", "user_staged.txt")
    (git_repo / "user_unstaged.txt").write_text("unstaged edit\n")
    (git_repo / "user_untracked.txt").write_text("mine\n")
    before = (git(git_repo, "diff"), git(git_repo, "diff", "--cached"))
    untracked_before = git(git_repo, "ls-files", "--others", "--exclude-standard")
    # The agent's work: a modified tracked file and a new one.
    (git_repo / "README.md").write_text("# demo\nagent line\n")
    (git_repo / "pkg").mkdir()
    (git_repo / "pkg" / "agent.py").write_text("x = 1\n")

    repo = GitRepo.open(git_repo)
    sha = repo.commit(["README.md", "pkg/agent.py"], "Add agent line", run_id="run-1", step=2)

    assert sha == head(git_repo)
    changed = git(git_repo, "show", "--name-only", "--format=", sha).split()
    assert sorted(changed) == ["README.md", "pkg/agent.py"]
    after = (git(git_repo, "diff"), git(git_repo, "diff", "--cached"))
    assert after == before
    assert git(git_repo, "ls-files", "--others", "--exclude-standard") == untracked_before
    message = git(git_repo, "log", "-1", "--format=%B")
    assert message.startswith("Add agent line\n\n")
    assert trailers(message) == {"Tiercode-Run": "run-1", "Tiercode-Step": "2"}


def test_commit_a_deletion(git_repo: Path) -> None:
    (git_repo / "README.md").unlink()
    repo = GitRepo.open(git_repo)
    sha = repo.commit(["README.md"], "Remove readme", run_id="r")
    assert git(git_repo, "show", "--name-status", "--format=", sha).split() == ["D", "README.md"]
    assert repo.dirty_paths() == set()


def test_commit_with_nothing_changed_is_refused(git_repo: Path) -> None:
    with pytest.raises(RepoError, match="nothing to commit"):
        GitRepo.open(git_repo).commit(["README.md"], "noop", run_id="r")


def test_commit_refuses_paths_outside_the_repo(git_repo: Path) -> None:
    with pytest.raises(RepoError, match="outside"):
        GitRepo.open(git_repo).commit(["../elsewhere.txt"], "x", run_id="r")
    with pytest.raises(RepoError, match=r"\.git"):
        GitRepo.open(git_repo).commit([".git/config"], "x", run_id="r")


def test_commit_refuses_an_ignored_path_with_gits_reason(git_repo: Path) -> None:
    (git_repo / ".gitignore").write_text("build/\n")
    (git_repo / "build").mkdir()
    (git_repo / "build" / "out.txt").write_text("x\n")
    with pytest.raises(RepoError, match=r"^git add failed: The following paths are ignored"):
        GitRepo.open(git_repo).commit(["build/out.txt"], "x", run_id="r")


def test_commit_refuses_a_path_with_partially_staged_user_changes(git_repo: Path) -> None:
    (git_repo / "README.md").write_text("staged\n")
    git(git_repo, "add", "README.md")
    (git_repo / "README.md").write_text("staged\nand then more\n")
    with pytest.raises(RepoError, match="staged changes that differ"):
        GitRepo.open(git_repo).commit(["README.md"], "x", run_id="r")
    assert git(git_repo, "diff", "--cached", "--stat") != ""


def test_commit_for_finds_the_step_commit_again(git_repo: Path) -> None:
    repo = GitRepo.open(git_repo)
    assert repo.commit_for("run-1", 1) is None
    (git_repo / "a.txt").write_text("a\n")
    first = repo.commit(["a.txt"], "step one", run_id="run-1", step=1)
    (git_repo / "b.txt").write_text("b\n")
    second = repo.commit(["b.txt"], "step two", run_id="run-1", step=2)
    (git_repo / "c.txt").write_text("c\n")
    repo.commit(["c.txt"], "other run", run_id="run-10", step=1)
    assert repo.commit_for("run-1", 1) == first
    assert repo.commit_for("run-1", 2) == second
    assert repo.commit_for("run-1", 3) is None
    assert repo.commit_for("run-1", 1) != repo.commit_for("run-10", 1)


def test_agent_commits_are_the_tip_run(git_repo: Path) -> None:
    repo = GitRepo.open(git_repo)
    assert repo.agent_commits() == []
    (git_repo / "a.txt").write_text("a\n")
    a = repo.commit(["a.txt"], "a", run_id="old")
    (git_repo / "b.txt").write_text("b\n")
    b = repo.commit(["b.txt"], "b", run_id="new", step=1)
    (git_repo / "c.txt").write_text("c\n")
    c = repo.commit(["c.txt"], "c", run_id="new", step=2)
    assert repo.agent_commits() == [c, b]
    assert repo.agent_commits("new") == [c, b]
    assert repo.agent_commits("old") == []
    assert a


def test_undo_resets_only_the_last_runs_commits(git_repo: Path) -> None:
    repo = GitRepo.open(git_repo)
    (git_repo / "a.txt").write_text("a\n")
    kept = repo.commit(["a.txt"], "a", run_id="run-1")
    (git_repo / "b.txt").write_text("b\n")
    b = repo.commit(["b.txt"], "b", run_id="run-2", step=1)
    (git_repo / "README.md").write_text("changed\n")
    c = repo.commit(["README.md"], "c", run_id="run-2", step=2)

    assert repo.undo() == [c, b]
    assert head(git_repo) == kept
    assert not (git_repo / "b.txt").exists()
    assert (git_repo / "README.md").read_text() == "# demo\n"
    assert (git_repo / "a.txt").exists()
    assert repo.dirty_paths() == set()


def test_undo_refuses_when_run_is_not_at_the_tip(git_repo: Path) -> None:
    repo = GitRepo.open(git_repo)
    (git_repo / "a.txt").write_text("a\n")
    repo.commit(["a.txt"], "a", run_id="run-1")
    (git_repo / "user.txt").write_text("u\n")
    git(git_repo, "add", "user.txt")
    git(git_repo, "commit", "-q", "-m", "user's own commit")
    tip = head(git_repo)
    with pytest.raises(RepoError, match="not at the tip"):
        repo.undo("run-1")
    with pytest.raises(RepoError, match="nothing to undo"):
        repo.undo()
    assert head(git_repo) == tip


def test_undo_refuses_when_dirty(git_repo: Path) -> None:
    repo = GitRepo.open(git_repo)
    (git_repo / "a.txt").write_text("a\n")
    sha = repo.commit(["a.txt"], "a", run_id="run-1")
    (git_repo / "notes.txt").write_text("user notes\n")
    with pytest.raises(RepoError, match="uncommitted"):
        repo.undo()
    assert head(git_repo) == sha
    assert (git_repo / "notes.txt").read_text() == "user notes\n"


def test_undo_refuses_when_pushed(git_repo: Path, tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "--bare", "remote.git")
    git(git_repo, "remote", "add", "origin", str(tmp_path / "remote.git"))
    repo = GitRepo.open(git_repo)
    (git_repo / "a.txt").write_text("a\n")
    repo.commit(["a.txt"], "a", run_id="run-1", step=1)
    (git_repo / "b.txt").write_text("b\n")
    sha = repo.commit(["b.txt"], "b", run_id="run-1", step=2)
    git(git_repo, "push", "-q", "origin", "HEAD~1:refs/heads/main")
    with pytest.raises(RepoError, match="pushed"):
        repo.undo()
    assert head(git_repo) == sha


def test_branch_and_current_branch(git_repo: Path) -> None:
    repo = GitRepo.open(git_repo)
    repo.branch("tiercode/task-1")
    assert repo.current_branch() == "tiercode/task-1"
    with pytest.raises(RepoError, match="git switch failed"):
        repo.branch("tiercode/task-1")
    with pytest.raises(RepoError):
        repo.branch("bad..name")


def test_commit_on_a_new_branch_moves_only_that_branch(git_repo: Path) -> None:
    main = head(git_repo)
    repo = GitRepo.open(git_repo)
    repo.branch("work")
    (git_repo / "a.txt").write_text("a\n")
    sha = repo.commit(["a.txt"], "a", run_id="r")
    assert git(git_repo, "rev-parse", "main").strip() == main
    assert git(git_repo, "rev-parse", "work").strip() == sha


def test_restore_puts_a_path_back_as_at_head(git_repo: Path) -> None:
    repo = GitRepo.open(git_repo)
    (git_repo / "README.md").write_text("agent scribble\n")
    (git_repo / "new.txt").write_text("new\n")
    git(git_repo, "add", "new.txt")
    repo.restore("README.md")
    repo.restore("new.txt")
    assert (git_repo / "README.md").read_text() == "# demo\n"
    assert not (git_repo / "new.txt").exists()
    assert repo.dirty_paths() == set()
