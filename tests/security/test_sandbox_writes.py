"""Attacks that try to write outside the repository, or into its .git, from a command."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sandbox_support import requires_landlock

from tiercode.tools.shell import run

pytestmark = requires_landlock

WRITES_OUTSIDE = {
    "python": f"{sys.executable} -c \"open('{{out}}', 'w').write('pwned')\"",
    "redirect": "echo pwned > {out}",
    "brace-group-redirect": "{{ echo pwned; }} > {out}",
    "subshell-redirect": "( echo pwned ) > {out}",
    "for-loop-redirect": "for i in 1; do echo pwned; done > {out}",
    "cp": "cp README.md {out}",
    "tee": "echo pwned | tee {out}",
    "symlink-creation": "ln -s README.md {out}",
    "mkdir": "mkdir {out}",
}


@pytest.mark.parametrize("attack", WRITES_OUTSIDE.values(), ids=WRITES_OUTSIDE.keys())
def test_a_command_cannot_write_outside_the_repo(
    git_repo: Path, outside: Path, attack: str
) -> None:
    target = outside / "pwned"
    run(attack.format(out=target), cwd=git_repo, timeout_s=30)
    assert not target.exists() and not target.is_symlink()


def test_a_redirect_through_an_in_repo_symlink_cannot_write_outside(
    git_repo: Path, outside: Path
) -> None:
    (git_repo / "docs").mkdir()
    (git_repo / "docs" / "link").symlink_to(outside)
    (git_repo / "top-link").symlink_to(outside)
    run("echo pwned > docs/link/a; echo pwned > top-link/b", cwd=git_repo, timeout_s=30)
    assert list(outside.iterdir()) == []


def test_the_real_home_is_not_writable(git_repo: Path) -> None:
    marker = Path.home() / ".tiercode-security-test-marker"
    result = run(f"echo pwned > {marker}; echo $HOME", cwd=git_repo, timeout_s=30)
    assert not marker.exists()
    assert result.output.strip().splitlines()[-1] != str(Path.home())


def test_appending_core_fsmonitor_to_git_config_fails(git_repo: Path) -> None:
    config = git_repo / ".git" / "config"
    before = config.read_bytes()
    result = run(
        "printf '[core]\\n\\tfsmonitor = touch /tmp/pwned\\n' >> .git/config",
        cwd=git_repo,
        timeout_s=30,
    )
    assert result.returncode != 0
    assert config.read_bytes() == before


@pytest.mark.parametrize(
    "attack",
    [
        f"{sys.executable} -c \"open('.git/hooks/pre-commit', 'w').write('#!/bin/sh\\n')\"",
        "rm -f .git/HEAD",
        "mv .git .git-moved",
        "rm -rf .git",
        "ln -s /tmp .git/evil",
    ],
    ids=["create-hook", "delete-head", "move-git-dir", "delete-git-dir", "symlink-in-git"],
)
def test_git_internals_cannot_be_changed(git_repo: Path, attack: str) -> None:
    listing_before = sorted(p.relative_to(git_repo) for p in (git_repo / ".git").rglob("*"))
    run(attack, cwd=git_repo, timeout_s=30)
    assert (git_repo / ".git" / "HEAD").is_file()
    assert not (git_repo / ".git" / "hooks" / "pre-commit").exists()
    listing_after = sorted(p.relative_to(git_repo) for p in (git_repo / ".git").rglob("*"))
    assert listing_after == listing_before


def test_writes_inside_the_repo_and_temp_dir_still_work(git_repo: Path) -> None:
    """The control: the sandbox must not make the repository read-only."""
    (git_repo / "src").mkdir()
    result = run(
        "echo more >> README.md && mkdir -p src/pkg && echo x > src/pkg/new.py"
        " && echo t > $TMPDIR/scratch && cat $TMPDIR/scratch && rm src/pkg/new.py",
        cwd=git_repo,
        timeout_s=30,
    )
    assert result.returncode == 0, result.output
    assert (git_repo / "README.md").read_text() == "# demo\nmore\n"
    assert (git_repo / "src" / "pkg").is_dir()
    assert not (git_repo / "src" / "pkg" / "new.py").exists()


def test_top_level_entries_cannot_be_created_or_removed(git_repo: Path) -> None:
    """The documented price of keeping .git out of reach: rights on the repository root
    itself would reach into .git, so none are granted there."""
    result = run("touch new-top-level; rm README.md", cwd=git_repo, timeout_s=30)
    assert result.returncode != 0
    assert not (git_repo / "new-top-level").exists()
    assert (git_repo / "README.md").exists()


def test_confinement_failure_means_the_command_does_not_run(git_repo: Path, outside: Path) -> None:
    """Fail closed: a rule that cannot be added stops the command instead of loosening it."""
    marker = git_repo / "ran"
    result = run(f"touch {marker}", cwd=git_repo, timeout_s=30, writable=[outside / "missing"])
    assert result.returncode == 125
    assert not marker.exists()
