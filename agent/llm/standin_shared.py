"""One warm stand-in shared by runs, as a service would be: the first run that needs it
starts it, later runs (concurrent or not) reuse it, and it stops itself once no live
run has used it for `idle_s` seconds.

Loading the 1.5B stand-in made every run's first cloud call wait 15-20 s. The server is
owned by a small supervisor in its own session (so it outlives the run that started
it), which keeps a file per user run holding the run's pid and start time. A run killed
with SIGKILL cannot remove its file, but the supervisor sees its process gone and counts
it out, so a killed run never keeps the stand-in alive past the idle timeout; the server
itself is tied to the supervisor and dies with it.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil

from tiercode.agent.llm import catalog
from tiercode.agent.llm.standin import _LOOPBACK, StandInServer, free_port
from tiercode.tools.errors import ModelUnavailable

_SUPERVISOR = r"""
import fcntl, json, os, subprocess, sys, time
import psutil
state, users, lock = sys.argv[1:4]
idle_s, log = float(sys.argv[4]), sys.argv[5]
command = json.loads(sys.argv[6])

def live_users():
    count = 0
    try:
        names = os.listdir(users)
    except OSError:  # the home was removed under us: nobody can be using the server
        names = []
    for name in names:
        path = os.path.join(users, name)
        try:
            pid, started = open(path).read().split()
            alive = abs(psutil.Process(int(pid)).create_time() - float(started)) < 1e-3
        except (OSError, ValueError, psutil.Error):
            alive = False
        if alive:
            count += 1
        else:
            try:
                os.unlink(path)
            except OSError:
                pass
    return count

with open(log, "ab") as out:
    server = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
idle_since = None
while server.poll() is None:
    time.sleep(0.25)
    if live_users():
        idle_since = None
        continue
    idle_since = idle_since or time.monotonic()
    if time.monotonic() - idle_since < idle_s:
        continue
    with open(lock, "a") as held:  # no run may join between this check and the exit
        fcntl.flock(held, fcntl.LOCK_EX)
        if live_users():
            idle_since = None
            continue
        try:
            os.unlink(state)
        except OSError:
            pass
        break
server.terminate()
try:
    server.wait(timeout=10)
except subprocess.TimeoutExpired:
    server.kill()
"""
"""The supervisor: runs the server, counts live users, and ends both after `idle_s`
seconds without one."""

Command = Callable[[int], list[str]]


def _started(pid: int) -> float:
    return float(psutil.Process(pid).create_time())


def _healthy(port: int) -> bool:
    try:
        with _LOOPBACK.open(f"http://127.0.0.1:{port}/v1/models", timeout=2) as resp:
            return bool(resp.status == 200)
    except (OSError, http.client.HTTPException):
        return False


class SharedStandIn:
    """A handle on the shared stand-in for one run: `start()` joins it (starting it when
    none is up), `close()` leaves it. Same interface as `StandInServer` for the runner:
    `model`, `base_url`, context manager. `command` builds the server's command line for
    a port (tests pass a small fake server). Its files live in tiercode's `home`: one
    server per home."""

    def __init__(
        self,
        model: str,
        *,
        home: Path,
        n_ctx: int = 4096,
        threads: int = 0,
        idle_s: float = 300.0,
        startup_timeout_s: float = 120.0,
        command: Command | None = None,
    ) -> None:
        self.model_ref = model
        self.model = model if model in catalog.CATALOG else Path(model).stem
        self.n_ctx, self.threads = n_ctx, threads
        self.idle_s, self.startup_timeout_s = idle_s, startup_timeout_s
        self.command = command
        key = f"{self.model}-{n_ctx}"
        self.dir = home / "standin"
        self.state_path = self.dir / f"{key}.json"
        self.users = self.dir / f"{key}.users"
        self.lock_path = self.dir / f"{key}.lock"
        self.port = 0
        self.user_file: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def log_path(self) -> Path:
        return self.dir / f"{self.state_path.stem}.log"

    def start(self) -> SharedStandIn:
        if self.user_file is not None:
            return self
        self.users.mkdir(parents=True, exist_ok=True)
        with self._locked():
            self.user_file = self.users / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
            self.user_file.write_text(f"{os.getpid()} {_started(os.getpid())}")
            state = self._state()
            if state and psutil.pid_exists(state["supervisor"]) and _healthy(state["port"]):
                self.port = state["port"]
                return self
            try:
                self._launch()
            except BaseException:
                self.close()
                raise
        return self

    def _launch(self) -> None:
        self.port = free_port()
        if self.command is not None:
            command = self.command(self.port)
        else:
            path = catalog.resolve(self.model_ref)
            server = StandInServer(self.model_ref, n_ctx=self.n_ctx, threads=self.threads)
            server.port = self.port
            command = server.command(path)
        self.log_path.write_bytes(b"")
        supervisor = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _SUPERVISOR,
                str(self.state_path),
                str(self.users),
                str(self.lock_path),
                str(self.idle_s),
                str(self.log_path),
                json.dumps(command),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # outlives this run; Ctrl-C here does not reach it
        )
        deadline = time.monotonic() + self.startup_timeout_s
        while not _healthy(self.port):
            if supervisor.poll() is not None or time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(supervisor.pid, 9)
                raise ModelUnavailable(
                    f"the shared cloud stand-in did not start on {self.base_url}: "
                    f"{self._log_tail()}"
                )
            time.sleep(0.25)
        state = {"supervisor": supervisor.pid, "port": self.port, "model": self.model}
        self.state_path.write_text(json.dumps(state))

    def _state(self) -> dict[str, int] | None:
        try:
            data = json.loads(self.state_path.read_text())
            return {"supervisor": int(data["supervisor"]), "port": int(data["port"])}
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        tail = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
        return " | ".join(tail) or "(no output)"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self.lock_path.open("a") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            yield

    def supervisor(self) -> int | None:
        """The pid of the supervisor serving this model now, if one is up."""
        state = self._state()
        return state["supervisor"] if state and psutil.pid_exists(state["supervisor"]) else None

    def close(self) -> None:
        """Leave the stand-in; it stops `idle_s` seconds after its last user left."""
        user, self.user_file = self.user_file, None
        if user is not None:
            user.unlink(missing_ok=True)

    def __enter__(self) -> SharedStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
