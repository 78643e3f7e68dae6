"""Signs of life: heartbeats every few seconds in the event stream, a status line redrawn
on a terminal and cleared before any other line, nothing after the run ends."""

from __future__ import annotations

import io
import json
import time
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

from tiercode.agent.events import Event, RunCompleted, RunStarted, StepRouted, TokenStreamed
from tiercode.agent.progress import Progress

SCHEMA = json.loads((Path(__file__).parents[1] / "docs" / "events.schema.json").read_text())


def completed() -> RunCompleted:
    zero = Decimal(0)
    return RunCompleted("r", "done", 0, "ok", [], zero, zero, zero, zero, 1, 1, 1, 0, True)


def test_heartbeats_while_a_call_is_silent_then_none_after_the_end() -> None:
    seen: list[Event] = []
    status = io.StringIO()
    progress = Progress(seen.append, interval_s=0.05, status=status)
    progress(RunStarted("r", "t", "/repo", "auto", "l", "c", True))
    progress(StepRouted("r", 1, 0, "local", "why", {}))
    for _ in range(3):
        progress(TokenStreamed("r", 1, "x"))
    time.sleep(0.3)
    progress(completed())
    time.sleep(0.15)
    beats = [e.to_dict() for e in seen if e.type == "heartbeat"]
    assert beats, [e.type for e in seen]
    assert beats[-1]["step"] == 1 and beats[-1]["tier"] == "local" and beats[-1]["tokens"] == 3
    for beat in beats:
        jsonschema.validate(beat, SCHEMA)
    assert seen[-1].type == "run.completed"  # nothing after the end
    drawn = status.getvalue()
    assert "step 1 · local · 3 tokens" in drawn
    assert drawn.endswith("\r\x1b[2K")  # cleared, the terminal line left clean


def test_no_status_line_without_a_terminal() -> None:
    seen: list[Event] = []
    progress = Progress(seen.append, interval_s=10)
    progress(RunStarted("r", "t", "/repo", "auto", "l", "c", True))
    progress(StepRouted("r", 1, 0, "cloud", "why", {}))
    progress(TokenStreamed("r", 1, "x"))
    progress(completed())
    assert [e.type for e in seen] == ["run.started", "step.routed", "token", "run.completed"]


def test_without_a_status_line_a_long_quiet_gets_a_progress_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tiercode.agent.cli_output import Printer
    from tiercode.agent.events import Heartbeat

    printer = Printer("text")
    printer.QUIET_S = 0.05
    printer(Heartbeat("r", 2, "cloud", 143, 75.0))  # right after the start: nothing
    time.sleep(0.06)
    printer(Heartbeat("r", 2, "cloud", 150, 80.0))
    out = capsys.readouterr().out
    assert out.count("still working") == 1 and "step 2 on cloud, 150 tokens" in out
    live = Printer("text", status_line=True)
    live.QUIET_S = 0.0
    live(Heartbeat("r", 2, "cloud", 150, 80.0))
    assert "still working" not in capsys.readouterr().out
