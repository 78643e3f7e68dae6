"""Signs of life during a long model call: a `heartbeat` event every few seconds (for
`--json` readers and CI logs), and a one-line status on stderr in a terminal (tier,
tokens so far, elapsed), redrawn in place and cleared before any other line.

A 1.5B model on two cores can be silent for minutes between events; without these a
user cannot tell a slow call from a hung one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TextIO

from tiercode.agent.events import Event, Heartbeat

HEARTBEAT_S = 5.0


class Progress:
    """Wraps an event sink: forwards every event under one lock (the heartbeat thread
    and the run thread both emit), keeps the state a heartbeat reports, and starts the
    heartbeat thread at `run.started` and stops it at `run.completed`."""

    def __init__(
        self,
        emit: Callable[[Event], None],
        *,
        interval_s: float = HEARTBEAT_S,
        status: TextIO | None = None,
    ) -> None:
        self.emit = emit
        self.interval_s = interval_s
        self.status = status
        """A terminal to draw the status line on, or None."""
        self.run_id = ""
        self.step, self.tier, self.tokens = 0, "", 0
        self.started = time.monotonic()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._drawn = 0.0
        self._shown = False

    def __call__(self, event: Event) -> None:
        with self._lock:
            d = event.type
            if d == "run.started":
                self.run_id = event.run_id
                self._start()
            elif d == "step.routed":
                routed = event.to_dict()
                self.step, self.tier, self.tokens = routed["step"], routed["tier"], 0
            elif d == "token":
                self.tokens += 1
            if d != "token":
                self._clear()
            self.emit(event)
            if d == "run.completed":
                self.stop()
            elif d == "token" and time.monotonic() - self._drawn > 0.25:
                self._draw()

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._beat, daemon=True, name="heartbeat")
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            self._clear()

    def _beat(self) -> None:
        while not self._stop.wait(self.interval_s):
            with self._lock:
                if self._stop.is_set():
                    return
                elapsed = round(time.monotonic() - self.started, 1)
                self.emit(
                    Heartbeat(
                        run_id=self.run_id,
                        step=self.step,
                        tier=self.tier,
                        tokens=self.tokens,
                        elapsed_s=elapsed,
                    )
                )
                self._draw()

    def _draw(self) -> None:
        if self.status is None or not self.tier:
            return
        label = "plan" if self.step == 0 else f"step {self.step}"
        elapsed = time.monotonic() - self.started
        line = f"{label} · {self.tier} · {self.tokens} tokens · {elapsed:.0f}s"
        self.status.write(f"\r\x1b[2K{line}")
        self.status.flush()
        self._drawn, self._shown = time.monotonic(), True

    def _clear(self) -> None:
        if self.status is not None and self._shown:
            self.status.write("\r\x1b[2K")
            self.status.flush()
            self._shown = False
