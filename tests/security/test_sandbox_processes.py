"""Attacks that outlive the command, or use privileges the command should not have."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sandbox_support import gone_soon, requires_landlock

from tiercode.tools.shell import run

DAEMON = """
import os, sys, time
if os.fork():
    while not os.path.exists(sys.argv[1]):
        time.sleep(0.01)
    sys.exit(0)
os.setsid()
if os.fork():
    sys.exit(0)
open(sys.argv[1], "w").write(str(os.getpid()))
time.sleep(300)
"""


@pytest.fixture
def pidfile(git_repo: Path) -> Path:
    """Where the attack writes its escaped process's pid (a top-level file cannot be made)."""
    (git_repo / "work").mkdir()
    return git_repo / "work" / "pid"


@pytest.mark.parametrize(
    "sandbox", [pytest.param(True, marks=requires_landlock), False], ids=["sandboxed", "trusted"]
)
def test_a_setsid_child_is_gone_when_run_returns(
    git_repo: Path, pidfile: Path, sandbox: bool
) -> None:
    cmd = f"setsid sleep 300 & echo $! > {pidfile}"
    result = run(cmd, cwd=git_repo, timeout_s=30, sandbox=sandbox)
    assert result.returncode == 0 and result.duration_s < 10
    assert gone_soon(int(pidfile.read_text()))


@requires_landlock
def test_a_setsid_child_is_gone_after_a_timeout(git_repo: Path, pidfile: Path) -> None:
    result = run(f"setsid sleep 300 & echo $! > {pidfile}; sleep 100", cwd=git_repo, timeout_s=1)
    assert result.timed_out
    assert gone_soon(int(pidfile.read_text()))


@requires_landlock
def test_a_double_forked_daemon_is_gone_when_run_returns(git_repo: Path, pidfile: Path) -> None:
    (git_repo / "work" / "daemon.py").write_text(DAEMON)
    run([sys.executable, "work/daemon.py", str(pidfile)], cwd=git_repo, timeout_s=30)
    assert pidfile.exists()
    assert gone_soon(int(pidfile.read_text()))


@requires_landlock
def test_limits_and_no_new_privs_are_set(git_repo: Path) -> None:
    result = run(
        "ulimit -c; ulimit -u; grep -E 'NoNewPrivs|CapBnd' /proc/self/status",
        cwd=git_repo,
        timeout_s=30,
    )
    lines = result.output.split("\n")
    assert lines[0] == "0"  # no core dumps
    assert lines[1] != "unlimited"  # RLIMIT_NPROC (the kernel does not enforce it for root)
    status = dict(line.split(":\t") for line in lines[2:] if ":\t" in line)
    assert status["NoNewPrivs"] == "1"
    bounding = int(status["CapBnd"], 16)
    for cap in (12, 16, 17, 21, 22):  # net_admin, sys_module, sys_rawio, sys_admin, sys_boot
        assert not bounding & (1 << cap)
