"""The embedded cloud stand-in: `llama_cpp.server` on loopback, serving a catalog GGUF.

With no cloud endpoint configured, the cloud tier still has to be a real
OpenAI-compatible server in another process, so that routing, the `openai` client,
usage and pricing are exercised exactly as with a paid endpoint. Its tokens are priced
at a real model's list price (`standin_price_model`), always labelled simulated.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tiercode.agent.llm import catalog
from tiercode.tools.errors import ModelUnavailable

DEFAULT_STANDIN = "qwen2.5-coder-1.5b"
_TIED_TO_PARENT = """
import os, runpy, sys, threading, time
parent = os.getppid()
def watch():
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
sys.argv = sys.argv[1:]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""
"""Runs a module as `python -m` would, and ends it within half a second of its parent's
death: a run killed with SIGKILL, which no cleanup code sees, leaves no server behind."""
_LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""Health polls go straight to 127.0.0.1, whatever proxy the environment names."""


def standin_price_model() -> str:
    """The real cloud model whose list price the stand-in's tokens are charged at."""
    return "gpt-4.1-mini"


def free_port() -> int:
    """A port nothing listens on now; the server binds it a moment later."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class StandInServer:
    """A `llama_cpp.server` subprocess on 127.0.0.1, ready once `/v1/models` answers.

    Use as a context manager (or `start()` / `close()`). The server runs in its own
    process group, so Ctrl-C in a terminal reaches tiercode, which then stops it cleanly;
    its output goes to a log file, never to a pipe that could fill and stall it.
    `start()` raises ModelUnavailable, with the last lines of that log, if it cannot serve.
    """

    def __init__(
        self,
        model: str = DEFAULT_STANDIN,
        *,
        n_ctx: int = 4096,
        threads: int = 0,
        port: int = 0,
        startup_timeout_s: float = 120.0,
    ) -> None:
        self.model_ref = model
        self.model = model if model in catalog.CATALOG else Path(model).stem
        """The alias clients send as the model name."""
        self.n_ctx = n_ctx
        self.threads = threads or os.cpu_count() or 1
        self.port = port
        self.startup_timeout_s = startup_timeout_s
        self.proc: subprocess.Popen[bytes] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.log_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self, path: Path) -> list[str]:
        return [
            sys.executable,
            "-c",
            _TIED_TO_PARENT,
            "llama_cpp.server",
            "--model",
            str(path),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(self.threads),
            "--n_threads_batch",
            str(self.threads),
            "--model_alias",
            self.model,
        ]

    def start(self) -> StandInServer:
        if self.proc is not None:
            return self
        path = catalog.resolve(self.model_ref)
        self.port = self.port or free_port()
        self._tmp = tempfile.TemporaryDirectory(prefix="tiercode-standin-")
        self.log_path = Path(self._tmp.name) / "server.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.command(path),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.close()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ModelUnavailable(
                    f"the cloud stand-in exited with code {self.proc.returncode} while "
                    f"starting: {self.log_tail()}"
                )
            try:
                with _LOOPBACK.open(f"{self.base_url}/models", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.25)
        raise ModelUnavailable(
            f"the cloud stand-in did not answer on {self.base_url} within "
            f"{self.startup_timeout_s:.0f} s: {self.log_tail()}"
        )

    def log_tail(self, lines: int = 5) -> str:
        """The server log's last lines, joined on one line for an error message."""
        if self.log_path is None:
            return ""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        tail = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
        return " | ".join(tail) or "(no output)"

    def wait(self) -> int:
        """Block until the server exits (it does not on its own); return its exit code."""
        assert self.proc is not None
        return self.proc.wait()

    def close(self, grace_s: float = 10.0) -> None:
        """Stop the server's whole process group: SIGTERM, then SIGKILL. Safe to repeat."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> StandInServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, sig)
        else:  # pragma: no cover - Windows has no process groups in this sense
            proc.kill() if sig == signal.SIGKILL else proc.terminate()
