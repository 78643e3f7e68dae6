"""The shared stand-in behaves like a service: started on demand, reused by the next
run, stopped after an idle timeout, and never kept alive by a run killed outright.
A small fake server (python's http.server answering /v1/models) stands in for
llama_cpp.server so the lifecycle is tested without loading a model."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from tiercode.agent.llm.standin_shared import SharedStandIn


@pytest.fixture
def fake_command(tmp_path: Path):  # type: ignore[no-untyped-def]
    root = tmp_path / "www"
    (root / "v1").mkdir(parents=True)
    (root / "v1" / "models").write_text('{"data": []}')

    def command(port: int) -> list[str]:
        return [
            sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
            "--directory", str(root),
        ]  # fmt: skip

    return command


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.1)
    return False


def test_runs_share_one_warm_server_that_stops_when_idle(fake_command, tiercode_home: Path) -> None:  # type: ignore[no-untyped-def]
    first = SharedStandIn(
        "smollm2-135m", home=tiercode_home, idle_s=1.0, command=fake_command
    ).start()
    supervisor = first.supervisor()
    assert supervisor and listening(first.port)
    with SharedStandIn(
        "smollm2-135m", home=tiercode_home, idle_s=1.0, command=fake_command
    ) as second:
        assert second.port == first.port and second.supervisor() == supervisor  # reused
        first.close()
        time.sleep(1.6)
        assert listening(second.port)  # one user left: still up past the idle timeout
    assert gone_within(supervisor, 5)  # the last user left: stopped after the timeout
    time.sleep(0.3)
    assert not listening(first.port)
    again = SharedStandIn(
        "smollm2-135m", home=tiercode_home, idle_s=1.0, command=fake_command
    ).start()
    try:
        assert again.supervisor() not in (None, supervisor)  # started on demand again
    finally:
        again.close()


def test_a_run_killed_outright_does_not_keep_it_alive(
    fake_command, tmp_path: Path, tiercode_home: Path
) -> None:  # type: ignore[no-untyped-def]
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from tiercode.agent.llm.standin_shared import SharedStandIn
        root, home = {str(tmp_path / "www")!r}, {str(tiercode_home)!r}
        cmd = lambda port: [sys.executable, "-m", "http.server", str(port), "--bind",
                            "127.0.0.1", "--directory", root]
        handle = SharedStandIn("smollm2-135m", home=Path(home), idle_s=1.0, command=cmd).start()
        print(handle.supervisor(), handle.port, flush=True)
        time.sleep(600)
        """
    )
    fake_command(0)  # writes the fake server's files
    run = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    supervisor = 0
    try:
        assert run.stdout is not None
        supervisor, port = map(int, run.stdout.readline().split())
        assert listening(port)
        run.send_signal(signal.SIGKILL)  # no cleanup code of the run runs
        run.wait()
        assert gone_within(supervisor, 6), "the stand-in outlived its killed user"
        time.sleep(0.3)
        assert not listening(port)
    finally:
        run.kill()
        if supervisor and psutil.pid_exists(supervisor):
            os.killpg(supervisor, signal.SIGKILL)


@pytest.mark.real
def test_the_real_server_is_shared_and_answers(tiercode_home: Path) -> None:
    from tiercode.agent.llm.cloud import CloudModel

    with SharedStandIn("smollm2-135m", home=tiercode_home, threads=1, idle_s=1.0) as first:
        supervisor = first.supervisor()
        with SharedStandIn("smollm2-135m", home=tiercode_home, threads=1, idle_s=1.0) as second:
            assert second.port == first.port
            model = CloudModel(name=second.model, base_url=second.base_url, api_key="none")
            reply = model.complete([{"role": "user", "content": "Say hi."}], max_tokens=8)
            assert reply.completion_tokens > 0
    assert supervisor and gone_within(supervisor, 8)
    assert not listening(first.port)


def test_a_home_removed_under_it_ends_in_an_idle_stop_not_a_crash(
    fake_command, tiercode_home: Path
) -> None:  # type: ignore[no-untyped-def]
    """A run's home can go away (an eval gives each task its own): the supervisor then
    counts no users and stops after the idle timeout, not at once."""
    import shutil

    handle = SharedStandIn(
        "smollm2-135m", home=tiercode_home, idle_s=1.5, command=fake_command
    ).start()
    supervisor = handle.supervisor()
    assert supervisor
    shutil.rmtree(handle.users)
    time.sleep(0.8)
    alive = psutil.Process(supervisor).status() != psutil.STATUS_ZOMBIE
    assert alive and listening(handle.port)  # still serving within the timeout
    assert gone_within(supervisor, 5)
