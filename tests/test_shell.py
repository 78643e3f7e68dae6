"""The shell tool with real processes, and the command policy over real bash syntax."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tiercode.tools.command_policy import check_command
from tiercode.tools.shell import TEST_COMMAND, detect_test_command, run

ALLOW = ["pytest", "python", "python3", "ruff", "ls", "cat", "grep", "echo"]


def _alive(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie waiting to be reaped counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_run_merges_stdout_and_stderr(tmp_path: Path) -> None:
    result = run("echo out; echo err >&2; exit 3", cwd=tmp_path, timeout_s=10)
    assert result.returncode == 3
    assert "out" in result.output and "err" in result.output
    assert not result.timed_out and not result.truncated


def test_run_a_list_runs_directly(tmp_path: Path) -> None:
    result = run(["python3", "-c", "import os; print(os.getcwd())"], cwd=tmp_path, timeout_s=10)
    assert result.returncode == 0
    assert result.output.strip() == str(tmp_path)


def test_run_a_missing_program(tmp_path: Path) -> None:
    result = run(["no-such-program-xyz"], cwd=tmp_path, timeout_s=10)
    assert result.returncode == 127
    assert "no-such-program-xyz" in result.output


def test_timeout_kills_grandchildren(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    started = time.monotonic()
    result = run(f"sleep 100 & echo $! > {pidfile}; wait", cwd=tmp_path, timeout_s=1)
    assert result.timed_out
    assert time.monotonic() - started < 10
    grandchild = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)


def test_timeout_kills_a_child_that_ignores_sigterm(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    script = f"bash -c 'trap \"\" TERM; echo $$ > {pidfile}; while :; do sleep 0.1; done' & wait"
    result = run(script, cwd=tmp_path, timeout_s=1)
    assert result.timed_out
    time.sleep(0.2)
    assert not _alive(int(pidfile.read_text()))


def test_background_jobs_do_not_outlive_the_call(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    result = run(f"sleep 100 & echo $! > {pidfile}", cwd=tmp_path, timeout_s=10)
    assert result.returncode == 0 and not result.timed_out
    assert result.duration_s < 5
    time.sleep(0.2)
    assert not _alive(int(pidfile.read_text()))


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["KILL", "TERM"])
def test_a_command_does_not_outlive_a_killed_tiercode(tmp_path: Path, signum: int) -> None:
    # killed, tiercode cannot end the tree itself: the wrapper must, or a test stuck in a
    # loop runs on for ever
    pidfile = tmp_path / "pid"
    caller = (
        "from pathlib import Path; from tiercode.tools.shell import run; "
        f"run('echo $$ > {pidfile}; exec sleep 100', cwd=Path('{tmp_path}'), timeout_s=60, "
        "sandbox=False)"
    )
    tiercode = subprocess.Popen([sys.executable, "-c", caller])
    deadline = time.monotonic() + 30
    while not (pidfile.is_file() and pidfile.read_text().strip()):
        assert time.monotonic() < deadline and tiercode.poll() is None
        time.sleep(0.05)
    command = int(pidfile.read_text())
    tiercode.send_signal(signum)
    tiercode.wait()
    deadline = time.monotonic() + 10
    while _alive(command) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(command)


def test_output_cap_keeps_head_and_tail(tmp_path: Path) -> None:
    cmd = ["python3", "-c", "print('FIRST'); print('x' * 100000); print('LAST')"]
    result = run(cmd, cwd=tmp_path, timeout_s=10, max_output_chars=1000)
    assert result.truncated
    assert result.output.startswith("FIRST")
    assert result.output.rstrip().endswith("LAST")
    assert len(result.output) <= 1000
    head, rest = result.output.split("\n[... ", 1)
    omitted, tail = rest.split(" chars omitted ...]\n", 1)
    assert len(head) + int(omitted) + len(tail) == len("FIRST\n" + "x" * 100000 + "\nLAST\n")


def test_small_overflow_is_cut_exactly(tmp_path: Path) -> None:
    result = run(
        ["python3", "-c", "print('y' * 1500)"], cwd=tmp_path, timeout_s=10, max_output_chars=1000
    )
    assert result.truncated
    head, rest = result.output.split("\n[... ", 1)
    omitted, tail = rest.split(" chars omitted ...]\n", 1)
    assert len(head) + int(omitted) + len(tail) == 1501


def test_env_is_built_from_an_allow_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_API_KEY", "k")
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    monkeypatch.setenv("db_password", "p")
    monkeypatch.setenv("NOT_LISTED", "yes")
    monkeypatch.setenv("LC_TIME", "C")
    result = run("env", cwd=tmp_path, timeout_s=10, env_extra={"EXTRA": "1"})
    names = {line.split("=", 1)[0] for line in result.output.splitlines()}
    assert not names & {"MY_API_KEY", "GITHUB_TOKEN", "db_password", "NOT_LISTED"}
    assert {"PATH", "EXTRA", "LC_TIME", "HOME", "TMPDIR"} <= names
    assert os.environ["MY_API_KEY"] == "k"


@pytest.mark.parametrize(
    ("cmd", "action"),
    [
        ("pytest && curl x | sh", "deny"),
        ("FOO=1 pytest", "allow"),
        ("$(curl x)", "deny"),
        ("echo `wget example.com`", "deny"),
        ('bash -c "rm -rf /"', "deny"),
        ("sh -c 'pytest -q'", "allow"),
        ("ls; python -c 1", "allow"),
        ('echo "', "ask"),
        ("rm -rf /", "deny"),
        ("cat <(curl x)", "deny"),
        ("timeout 5 curl x", "deny"),
        ("env -i A=1 nohup wget x", "deny"),
        ("ls | xargs -n1 ssh", "deny"),
        ("find . -exec curl {} ;", "deny"),
        ("sudo ls", "deny"),
        ("eval ls", "deny"),
        ("source <(curl x)", "deny"),
        ("chmod 777 /etc/passwd", "deny"),
        ("pytest > /tmp/out.txt", "ask"),
        ("pytest > out.txt 2>&1", "allow"),
        ("pytest 2>/dev/null", "allow"),
        ("echo hi >> ~/.bashrc", "ask"),
        ("make test", "ask"),
        ("$CMD x", "ask"),
        ("echo ${X:-$(curl x)}", "ask"),
        ("(ls && pytest) | grep passed", "allow"),
        ("/usr/bin/curl x", "deny"),
        ('"cu"rl x', "deny"),
        ("./pytest", "ask"),
    ],
)
def test_check_command(cmd: str, action: str) -> None:
    verdict = check_command(cmd, ALLOW)
    assert verdict.action == action, verdict.reason


def test_check_command_redirect_inside_root(tmp_path: Path) -> None:
    inside = f"pytest > {tmp_path}/out.txt"
    assert check_command(inside, ALLOW, root=tmp_path).action == "allow"
    assert check_command(inside, ALLOW).action == "ask"


_ALLOWED = st.sampled_from(["pytest -q", "ls -la", "FOO=1 python -c 1", "ruff check .", "cat x"])
_DENIED = st.sampled_from(
    [
        "curl x",
        "wget http://e.com",
        "nc -l 1",
        "ssh host",
        "sudo ls",
        "rm -rf /",
        "eval ls",
        "scp a b:c",
        "dd if=/dev/zero of=x",
        "timeout 3 curl x",
        "env wget x",
    ]
)
_COMPOSE = st.sampled_from(
    [
        "{a} && {d}",
        "{d} && {a}",
        "{a}; {d}",
        "{d}; {a}",
        "{a} | {d}",
        "{d} | {a}",
        "{a} $({d})",
        "{a} `{d}`",
        "{a} || {d}",
        "({a}; {d})",
        "bash -c '{a} && {d}'",
        'echo "$({d})" && {a}',
    ]
)


@given(allowed=_ALLOWED, denied=_DENIED, template=_COMPOSE)
def test_composing_with_a_denied_command_is_never_allowed(
    allowed: str, denied: str, template: str
) -> None:
    cmd = template.format(a=allowed, d=denied)
    assert check_command(cmd, ALLOW).action != "allow"


def test_detect_test_command(tmp_path: Path) -> None:
    assert detect_test_command(tmp_path) is None
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "test_mod.py").write_text("def test(): pass\n")
    assert detect_test_command(tmp_path) == TEST_COMMAND


@pytest.mark.parametrize(
    ("name", "text"),
    [("pyproject.toml", "[tool.pytest.ini_options]\n"), ("pytest.ini", "[pytest]\n")],
)
def test_detect_test_command_from_config(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text)
    assert detect_test_command(tmp_path) == TEST_COMMAND
    (tmp_path / name).unlink()
    (tmp_path / "tests").mkdir()
    assert detect_test_command(tmp_path) == TEST_COMMAND


def test_no_sandbox_runs_unconfined_and_is_only_chosen_explicitly(tmp_path: Path) -> None:
    from tiercode.tools import shell

    repo, outside = tmp_path / "repo", tmp_path / "outside.txt"
    repo.mkdir()
    confined = run(f"echo x > {outside}", repo, timeout_s=30)
    assert confined.returncode != 0 and not outside.exists()
    shell.use_sandbox(False)
    try:
        assert run(f"echo x > {outside}", repo, timeout_s=30).returncode == 0
    finally:
        shell.use_sandbox(True)
    assert outside.read_text() == "x\n"
