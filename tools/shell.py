"""Run commands for the agent: sandboxed, bounded in time and output, without secrets.

`run` executes a command inside the Landlock sandbox (`tiercode.tools.sandbox`) with an
allow-listed environment and a private HOME and TMPDIR, and ends its whole process tree
when it returns. Whether a model-written command line may run at all, needs the user's
approval, or must never run is `tiercode.tools.command_policy`'s to say, before this.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from tiercode.tools import sandbox as _sandbox
from tiercode.tools.errors import TiercodeError
from tiercode.tools.text import middle_cut, omission_marker, truncate_middle

__all__ = [
    "SandboxUnavailable",
    "ShellResult",
    "asking_when_unconfined",
    "command_env",
    "detect_test_command",
    "run",
    "sandbox_available",
    "sandbox_wanted",
    "use_sandbox",
]

_TERM_GRACE_S = 2.0
_sandbox_by_default = True
_approve_unconfined: Callable[[str], bool] | None = None


class SandboxUnavailable(TiercodeError):
    """Landlock is missing here (an old kernel, or not Linux): commands cannot be confined.

    The caller should ask the user before each command (and refuse headless), unless the
    user chose `--no-sandbox` (`use_sandbox(False)`).
    """


@dataclass(frozen=True)
class ShellResult:
    """The outcome of one command; `output` is stdout and stderr interleaved, possibly cut."""

    returncode: int
    output: str
    timed_out: bool
    truncated: bool
    duration_s: float


def use_sandbox(enabled: bool) -> None:
    """Set whether `run` confines commands when not told (`--no-sandbox` passes False)."""
    global _sandbox_by_default
    _sandbox_by_default = enabled


@contextlib.contextmanager
def asking_when_unconfined(approve: Callable[[str], bool]) -> Iterator[None]:
    """Within this block, where Landlock is missing, a command that should be sandboxed
    runs unconfined only if `approve(command)` says yes, asked before each one (the TUI's
    approval modal); headless callers pass a function that says no."""
    global _approve_unconfined
    previous, _approve_unconfined = _approve_unconfined, approve
    try:
        yield
    finally:
        _approve_unconfined = previous


def sandbox_wanted() -> bool:
    """Whether commands are confined unless told otherwise (False after `--no-sandbox`)."""
    return _sandbox_by_default


def sandbox_available() -> bool:
    """Whether this kernel can confine commands (Landlock present and enabled)."""
    return bool(_sandbox.available() > 0)


def command_env(home: str, tmpdir: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a command gets: only `sandbox.ENV_ALLOW` names, a private HOME/TMPDIR."""
    return _sandbox.allowed_env(os.environ if environ is None else environ, home, tmpdir)


def run(
    cmd: str | list[str],
    cwd: Path,
    timeout_s: float,
    max_output_chars: int = 20_000,
    env_extra: Mapping[str, str] | None = None,
    *,
    sandbox: bool | None = None,
    network: bool = False,
    writable: Iterable[Path] = (),
) -> ShellResult:
    """Run `cmd` (a str through `bash -c`, a list directly) in `cwd`, at most `timeout_s`.

    Check a str with `check_command` first. With `sandbox` (the default unless `use_sandbox
    (False)`), the command may write only beneath `cwd` (minus `.git`), its private temp dir
    and `writable`, and may not use TCP unless `network`. `sandbox=False` is for tiercode's
    own trusted commands. Either way the environment is allow-listed (`env_extra` is added
    as given), and every process the command started, `setsid` ones included, is ended when
    the call returns. A missing program gives returncode 127, like a shell.

    Raises SandboxUnavailable when a sandbox is wanted, Landlock is missing and no
    approval (`asking_when_unconfined`) let the command run unconfined.
    """
    confine = _sandbox_by_default if sandbox is None else sandbox
    if confine and not sandbox_available():
        shown = cmd if isinstance(cmd, str) else shlex.join(cmd)
        if _approve_unconfined is None or not _approve_unconfined(shown[:300]):
            raise SandboxUnavailable(
                "this system has no Landlock, so commands and tests cannot be sandboxed, "
                "and running one unconfined was not approved; run with --no-sandbox to "
                "run them unconfined"
            )
        confine = False
    argv = ["bash", "-c", cmd] if isinstance(cmd, str) else list(cmd)
    with tempfile.TemporaryDirectory(prefix="tiercode-cmd-", ignore_cleanup_errors=True) as tmp:
        home, private_tmp = os.path.join(tmp, "home"), os.path.join(tmp, "tmp")
        os.mkdir(home)
        os.mkdir(private_tmp)
        env = {**command_env(home, private_tmp), **(env_extra or {})}
        if confine:
            roots = (str(Path(cwd).resolve()), tmp, *(str(Path(p).resolve()) for p in writable))
            policy = _sandbox.Policy(writable=roots, network=network)
            argv = _sandbox.wrap(argv, policy)
        elif sys.platform.startswith("linux"):
            argv = _sandbox.wrap(argv, None)  # no confinement, but the tree still ends with it
        return _execute(argv, cwd, env, timeout_s, max_output_chars)


def _execute(
    argv: list[str], cwd: Path, env: dict[str, str], timeout_s: float, max_output_chars: int
) -> ShellResult:
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        return ShellResult(127, f"cannot run {argv[0]}: {exc}", False, False, 0.0)
    capped = _CappedOutput(max_output_chars)
    reader = threading.Thread(target=capped.drain, args=(proc.stdout,), daemon=True)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        _end_tree(proc)
    reader.join(timeout=_TERM_GRACE_S)
    if not reader.is_alive() and proc.stdout is not None:
        proc.stdout.close()
    output, truncated = capped.text()
    if timed_out:
        output += f"\n[timed out after {timeout_s:g}s; process tree killed]\n"
    returncode = proc.returncode if proc.returncode is not None else -signal.SIGKILL
    return ShellResult(returncode, output, timed_out, truncated, time.monotonic() - started)


def _end_tree(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group and every descendant, then SIGKILL what is left after a
    grace period. The wrapper is a child subreaper, so while it lives even processes that
    left the group with `setsid` are still its descendants."""
    tree = _descendants(proc.pid) if proc.poll() is None else []
    if not _signal(proc.pid, tree, signal.SIGTERM):
        proc.wait()  # the group is gone and the wrapper already ended the rest
        return
    deadline = time.monotonic() + _TERM_GRACE_S
    while time.monotonic() < deadline:
        proc.poll()  # reap the leader, or it would count as alive forever
        if not _group_alive(proc.pid) and not any(_alive(p) for p in tree):
            break
        time.sleep(0.02)
    if proc.poll() is None:
        tree += _descendants(proc.pid)
    _signal(proc.pid, tree, signal.SIGKILL)
    proc.wait()


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return list(psutil.Process(pid).children(recursive=True))
    except psutil.Error:
        return []


def _signal(pgid: int, tree: list[psutil.Process], signum: int) -> bool:
    """Signal the group and the tree; whether anything was there to signal."""
    found = False
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)
        found = True
    for process in tree:
        with suppress(psutil.Error):
            process.send_signal(signum)  # psutil checks the pid was not reused
            found = True
    return found


def _alive(process: psutil.Process) -> bool:
    try:
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _group_alive(pgid: int) -> bool:
    """Whether any non-zombie process is left in the group (zombies wait on their reaper)."""
    proc_dir = Path("/proc")
    if not proc_dir.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for stat in proc_dir.glob("[0-9]*/stat"):
        with suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


class _CappedOutput:
    """Collects a stream keeping only its head and tail, so a flood of output costs no memory."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self.head: list[str] = []
        self.head_len = 0
        self.tail: deque[str] = deque()
        self.tail_len = 0
        self.total = 0
        self.lock = threading.Lock()

    def drain(self, stream: Any) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        fd = stream.fileno()
        while chunk := os.read(fd, 65536):
            self.feed(decoder.decode(chunk))
        self.feed(decoder.decode(b"", final=True))

    def feed(self, text: str) -> None:
        with self.lock:
            self.total += len(text)
            room = self.max_chars - self.head_len
            if room > 0:
                self.head.append(text[:room])
                self.head_len += len(text[:room])
                text = text[room:]
            if text:
                self.tail.append(text)
                self.tail_len += len(text)
                while self.tail and self.tail_len - len(self.tail[0]) >= self.max_chars:
                    self.tail_len -= len(self.tail.popleft())

    def text(self) -> tuple[str, bool]:
        """The kept output with an omission marker where the middle was cut, and whether it was."""
        with self.lock:
            head, tail = "".join(self.head), "".join(self.tail)
            if self.total == len(head) + len(tail):
                full = head + tail
                return truncate_middle(full, self.max_chars), len(full) > self.max_chars
            keep_head, keep_tail = middle_cut(self.total, self.max_chars)
            cut = omission_marker(self.total - keep_head - keep_tail)
            return head[:keep_head] + cut + tail[len(tail) - keep_tail :], True


TEST_COMMAND = "python -m pytest -q -p no:cacheprovider"
"""No cache: the sandbox cannot create `.pytest_cache` at the top level, and the warning
would only add noise to what the model reads."""


def detect_test_command(root: Path) -> str | None:
    """`TEST_COMMAND` when the repo looks like it has pytest tests, else None."""
    if (root / "tests").is_dir() or (root / "conftest.py").is_file():
        return TEST_COMMAND
    if (root / "pytest.ini").is_file():
        return TEST_COMMAND
    for name, section in (
        ("pyproject.toml", "[tool.pytest.ini_options]"),
        ("tox.ini", "[pytest]"),
        ("setup.cfg", "[tool:pytest]"),
    ):
        with suppress(OSError):
            if section in (root / name).read_text(encoding="utf-8", errors="replace"):
                return TEST_COMMAND
    skip = {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", "build", "dist"}
    for _dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in skip and not d.startswith(".")]
        if any(f.startswith("test_") and f.endswith(".py") for f in filenames):
            return TEST_COMMAND
    return None
