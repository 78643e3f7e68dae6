"""Attacks on `check_command`: lines the policy used to let through, each now refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from sandbox_support import requires_landlock

from tiercode.tools.command_policy import check_command
from tiercode.tools.shell import run

ALLOW = [
    "ls",
    "cat",
    "echo",
    "bash",
    "python",
    "pytest",
    "git",
    "tee",
    "cp",
    "env",
    "true",
    "false",
]


@pytest.mark.parametrize(
    "cmd",
    [
        "BASH_ENV=./evil.sh bash -c ls",
        "PATH=./bin ls",
        "LD_PRELOAD=./evil.so ls",
        "LD_LIBRARY_PATH=. ls",
        "env LD_PRELOAD=./evil.so ls",
        "env PATH=./bin ls",
        "PATH=./bin; ls",
        "export PATH=./bin && ls",
        "HOME=. git status",
        "GIT_CONFIG_GLOBAL=./x git status",
        "PYTHONSTARTUP=./evil.py python",
        "bash -c 'BASH_ENV=./evil.sh bash -c ls'",
    ],
)
def test_env_assignments_that_run_other_code_are_denied(cmd: str) -> None:
    assert check_command(cmd, ALLOW).action == "deny"


def test_a_harmless_prefix_is_still_allowed() -> None:
    assert check_command("FOO=1 pytest -q", ALLOW).action == "allow"


@pytest.mark.parametrize(
    "template",
    [
        "{{ cat x; }} > {out}",
        "( cat x ) > {out}",
        "for i in 1; do echo $i; done > {out}",
        "while false; do ls; done >> {out}",
        "if true; then ls; fi 2> {out}",
        "f() {{ ls; }} > {out}",
    ],
)
def test_redirects_on_compound_commands_are_checked(tmp_path: Path, template: str) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    cmd = template.format(out=tmp_path / "outside.txt")
    assert check_command(cmd, ALLOW, root=repo).action != "allow"
    assert check_command(template.format(out="inside.txt"), ALLOW, root=repo).action == "allow"


@pytest.mark.parametrize(
    "cmd",
    [
        "cat notes.txt >> .git/config",
        "echo x > ./.git/hooks/pre-commit",
        "{ cat notes.txt; } >> .git/config",
        "cat notes.txt | tee -a .git/config",
        "cp evil.sh .git/hooks/post-checkout",
        "echo x > sub/../.git/config",
    ],
)
def test_writes_into_dot_git_are_denied(git_repo: Path, cmd: str) -> None:
    assert check_command(cmd, ALLOW, root=git_repo).action == "deny"


def test_a_redirect_through_an_in_repo_symlink_is_not_allowed(
    git_repo: Path, outside: Path
) -> None:
    (git_repo / "docs").mkdir()
    (git_repo / "docs" / "out").symlink_to(outside)
    (git_repo / "gitlink").symlink_to(git_repo / ".git")
    assert check_command("echo x > docs/out/f", ALLOW, root=git_repo).action == "ask"
    assert check_command("echo x > gitlink/config", ALLOW, root=git_repo).action == "deny"


@requires_landlock
def test_bash_env_script_cannot_write_outside_even_if_run(git_repo: Path, outside: Path) -> None:
    """Defence in depth: were the policy bypassed, the sandbox still stops the payload."""
    (git_repo / "scripts").mkdir()
    (git_repo / "scripts" / "evil.sh").write_text(f"echo pwned > {outside}/pwned\n")
    cmd = "BASH_ENV=./scripts/evil.sh bash -c ls"
    assert check_command(cmd, ALLOW, root=git_repo).action == "deny"
    run(cmd, cwd=git_repo, timeout_s=30)
    assert not (outside / "pwned").exists()
