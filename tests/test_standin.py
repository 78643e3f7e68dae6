"""The cloud stand-in's lifecycle: a real `llama_cpp.server` on loopback, started and stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from tiercode.agent.llm import catalog
from tiercode.agent.llm.standin import StandInServer, standin_price_model
from tiercode.tools.errors import ModelUnavailable

pytestmark = pytest.mark.real
TINY = "smollm2-135m"


def refused(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_the_stand_in_is_priced_as_a_named_real_model() -> None:
    assert standin_price_model() == "gpt-4.1-mini"


def test_serves_on_loopback_then_stops_its_whole_group_idempotently() -> None:
    server = StandInServer(model=TINY, threads=1)
    with server:
        assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
        with urllib.request.urlopen(f"{server.base_url}/models", timeout=5) as resp:
            assert server.model in resp.read().decode()
        assert server.proc is not None
        pid = server.proc.pid
        assert os.getpgid(pid) == pid
        log = server.log_path
        assert log is not None and log.exists()
    assert server.proc is None and refused(server.port)
    assert not log.exists()
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
    server.close()


def test_a_model_that_cannot_load_ends_startup_with_its_log(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    with catalog.resolve(TINY).open("rb") as src:
        broken.write_bytes(src.read(1 << 20))
    server = StandInServer(model=str(broken), threads=1, startup_timeout_s=60)
    start = time.monotonic()
    with pytest.raises(ModelUnavailable, match="exited with code") as info:
        server.start()
    assert time.monotonic() - start < 60
    assert "Failed to load model" in str(info.value)
    assert server.proc is None


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_serve_cloud_prints_the_endpoint_and_stops_cleanly(stop: signal.Signals) -> None:
    script = textwrap.dedent(
        """
        import signal, typer
        # Ctrl-C restored: a shell's background job starts its children with it ignored
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from tiercode.cli.setup import register
        app = typer.Typer()
        register(app)
        app()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, "serve-cloud", "--model", TINY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        env_line = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        assert env_line.startswith(f"OPENAI_BASE_URL={base_url} ")
        with urllib.request.urlopen(f"{base_url}/models", timeout=5) as resp:
            assert resp.status == 200
        proc.send_signal(stop)
        assert proc.wait(timeout=30) == 0
        assert refused(int(base_url.rsplit(":", 1)[1].split("/")[0]))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_busy_port_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        server = StandInServer(model=TINY, threads=1, port=port, startup_timeout_s=30)
        with pytest.raises(ModelUnavailable):
            server.start()


def test_a_run_killed_outright_leaves_no_stand_in_behind() -> None:
    script = textwrap.dedent(
        f"""
        import time
        from tiercode.agent.llm.standin import StandInServer
        server = StandInServer(model={TINY!r}, threads=1).start()
        print(server.proc.pid, server.port, flush=True)
        time.sleep(600)
        """
    )
    run = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    pid = 0
    try:
        assert run.stdout is not None
        pid, port = map(int, run.stdout.readline().split())
        assert not refused(port)
        run.kill()  # SIGKILL: no cleanup code of the run gets to stop the server
        run.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not refused(port):
            time.sleep(0.2)
        assert refused(port), "the stand-in outlived the run that started it"
        with pytest.raises(ProcessLookupError):
            for _ in range(50):  # reaped by init once it exits
                os.kill(pid, 0)
                time.sleep(0.1)
    finally:
        run.kill()
        if pid:  # when the test fails, the server it started must not outlive it either
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
