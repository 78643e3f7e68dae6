"""Attacks that reach out of the sandbox through sockets and signals."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_support import requires_landlock

from tiercode.tools import sandbox
from tiercode.tools.shell import run

pytestmark = requires_landlock


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A real TCP server on loopback; the attack succeeds if a connection reaches it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    yield server
    server.close()


def _connect_script(port: int) -> list[str]:
    code = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=5); print('OK')"
    return [sys.executable, "-c", code]


def _accepted(server: socket.socket) -> bool:
    try:
        conn, _ = server.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


def test_tcp_connect_to_a_listening_socket_is_refused(
    git_repo: Path, listener: socket.socket
) -> None:
    result = run(_connect_script(listener.getsockname()[1]), cwd=git_repo, timeout_s=30)
    assert result.returncode != 0
    assert "Permission denied" in result.output
    assert not _accepted(listener)


def test_tcp_connect_through_bash_dev_tcp_is_refused(
    git_repo: Path, listener: socket.socket
) -> None:
    port = listener.getsockname()[1]
    result = run(f"echo secret > /dev/tcp/127.0.0.1/{port}", cwd=git_repo, timeout_s=30)
    assert result.returncode != 0
    assert not _accepted(listener)


def test_tcp_bind_is_refused(git_repo: Path) -> None:
    code = "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); print('OK')"
    result = run([sys.executable, "-c", code], cwd=git_repo, timeout_s=30)
    assert result.returncode != 0
    assert "OK" not in result.output


def test_network_true_allows_tcp(git_repo: Path, listener: socket.socket) -> None:
    """The control: with the user's permission the same connection goes through."""
    result = run(
        _connect_script(listener.getsockname()[1]), cwd=git_repo, timeout_s=30, network=True
    )
    assert result.returncode == 0, result.output
    assert _accepted(listener)


@pytest.mark.skipif(sandbox.available() < 6, reason="needs Landlock ABI 6 scoping")
def test_abstract_unix_socket_outside_the_sandbox_is_unreachable(git_repo: Path) -> None:
    name = f"\0tiercode-test-{uuid.uuid4().hex}"
    server = socket.socket(socket.AF_UNIX)
    server.bind(name)
    server.listen()
    try:
        code = f"import socket; socket.socket(socket.AF_UNIX).connect({name!r}); print('OK')"
        result = run([sys.executable, "-c", code], cwd=git_repo, timeout_s=30)
    finally:
        server.close()
    assert result.returncode != 0
    assert "OK" not in result.output


@pytest.mark.skipif(sandbox.available() < 6, reason="needs Landlock ABI 6 scoping")
def test_a_process_outside_the_sandbox_cannot_be_signalled(git_repo: Path) -> None:
    victim = subprocess.Popen(["sleep", "60"])
    try:
        result = run(f"kill -9 {victim.pid}", cwd=git_repo, timeout_s=30)
        assert result.returncode != 0
        assert victim.poll() is None
    finally:
        victim.kill()
        victim.wait()
