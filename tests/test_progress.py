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
from tiercode.cli.progress import Progress

SCHEMA = json.loads((Path(__file__).parents[1] / "docs" / "events.schema.json").read_text())


def completed() -> RunCompleted:
    zero = Decimal(0)
    return RunCompleted(
        run_id="r", status="done", exit_code=0, message="ok", commits=[], cloud_usd=zero,
        local_energy_usd=zero, counterfactual_usd=zero, saving_usd=zero, prompt_tokens=1,
        completion_tokens=1, local_calls=1, cloud_calls=0, simulated=True,
    )  # fmt: skip


def started() -> RunStarted:
    return RunStarted(
        run_id="r", task="t", repo="/repo", policy="auto", local_model="l", cloud_model="c",
        cloud_simulated=True,
    )  # fmt: skip


def test_heartbeats_while_a_call_is_silent_then_none_after_the_end() -> None:
    seen: list[Event] = []
    status = io.StringIO()
    progress = Progress(seen.append, interval_s=0.05, status=status)
    progress(started())
    progress(
        StepRouted(
            run_id="r", step=1, attempt=0, purpose="act", tier="local", reason="why", signals={}
        )
    )
    for _ in range(3):
        progress(TokenStreamed(run_id="r", step=1, text="x"))
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
    progress(started())
    progress(
        StepRouted(
            run_id="r", step=1, attempt=0, purpose="act", tier="cloud", reason="why", signals={}
        )
    )
    progress(TokenStreamed(run_id="r", step=1, text="x"))
    progress(completed())
    assert [e.type for e in seen] == ["run.started", "step.routed", "token", "run.completed"]


def test_without_a_status_line_a_long_quiet_gets_a_progress_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tiercode.agent.events import Heartbeat
    from tiercode.cli.output import Printer

    printer = Printer("text")
    printer.QUIET_S = 0.05
    # right after the start: nothing
    printer(Heartbeat(run_id="r", step=2, tier="cloud", tokens=143, elapsed_s=75.0))
    time.sleep(0.06)
    printer(Heartbeat(run_id="r", step=2, tier="cloud", tokens=150, elapsed_s=80.0))
    out = capsys.readouterr().out
    assert out.count("still working") == 1 and "step 2 on cloud, 150 tokens" in out
    live = Printer("text", status_line=True)
    live.QUIET_S = 0.0
    live(Heartbeat(run_id="r", step=2, tier="cloud", tokens=150, elapsed_s=80.0))
    assert "still working" not in capsys.readouterr().out
