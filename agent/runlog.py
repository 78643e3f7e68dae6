"""What was sent and what came back, per run: every prompt and reply goes to
`$TIERCODE_HOME/logs/RUN_ID.log`, and with `--verbose` also to stderr, so a reply that
did not parse ("reply lacks edits") can be read instead of guessed at.

The file is the user's own (mode 0600, in tiercode's home); replies are kept in the
ledger only with `keep_replies`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

Message = dict[str, str]


def log_path(home: Path, run_id: str) -> Path:
    """The run's log file in tiercode's home `home`."""
    return home / "logs" / f"{run_id}.log"


class RunLog:
    """Appends one block per model call; `echo` gets each block too (the CLI's `--verbose`
    writes it to stderr, made terminal-safe)."""

    def __init__(self, run_id: str, home: Path, echo: Callable[[str], None] | None = None) -> None:
        self.path = log_path(home, run_id)
        self.echo = echo
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8")

    def call(
        self,
        label: str,
        tier: str,
        model: str,
        messages: list[Message],
        reply: str,
        finish: str,
    ) -> None:
        stamp = time.strftime("%H:%M:%S")
        parts = [f"=== {stamp} {label} → {tier} ({model})"]
        for m in messages:
            parts.append(f"--- {m['role']}\n{m['content']}")
        parts.append(f"--- reply ({finish})\n{reply}\n")
        block = "\n".join(parts) + "\n"
        with self._lock:
            self._file.write(block)
            self._file.flush()
            if self.echo is not None:
                self.echo(block)

    def close(self) -> None:
        self._file.close()
