"""How a run shows on the terminal: one human line per event (model and repo text made
safe for a terminal first), JSON lines, or one final object, as `--output-format` asks."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from tiercode.agent import config, result
from tiercode.agent.events import (
    ApprovalNeeded,
    Event,
    Heartbeat,
    ModelCalled,
    Planned,
    RunCompleted,
    RunStarted,
    StepCompleted,
    StepEscalated,
    StepRouted,
    TokenStreamed,
)
from tiercode.agent.pricing import usd
from tiercode.agent.runlog import log_path
from tiercode.agent.state import Tier, step_name
from tiercode.tools.errors import ConfigError

_ESCAPE_SEQUENCE = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|[PX^_][^\x1b]*(?:\x1b\\)?|[ -/]*[0-~])"
)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """Text from a model or a repo with every terminal control sequence taken out.

    Otherwise a reply could clear the screen, retitle the window, or set the clipboard
    (OSC 52) of whoever reads the progress lines.
    """
    return _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", text))


def describe(event: Event, home: Path) -> str | None:
    """One human line per event, for stderr progress and the plain terminal view; `home`
    is the run's (the start line names its log file there)."""
    match event:
        case RunStarted():
            sim = " (simulated price)" if event.cloud_simulated else ""
            return (
                f"run {event.run_id}: policy {event.policy}, local {event.local_model}, "
                f"cloud {event.cloud_model}{sim}; prompts and replies in "
                f"{log_path(home, event.run_id)}"
            )
        case Planned():
            return "plan:\n" + "\n".join(
                f"  {i}. {s['goal']} [{', '.join(s['files'])}]"
                for i, s in enumerate(event.steps, 1)
            )
        case StepRouted():
            return _routed(event)
        case StepEscalated():
            return (
                f"step {event.step} escalated {event.from_tier} → {event.to_tier}: {event.reason}"
            )
        case ModelCalled():
            return (
                f"  {step_name(event.step)} {event.purpose} call on {event.tier} ({event.model}): "
                f"{event.prompt_tokens}+{event.completion_tokens} tokens, "
                f"{event.latency_s:.1f}s, ttft {event.ttft_s:.2f}s, {usd(event.cost_usd)}"
            )
        case StepCompleted():
            conf = "-" if event.confidence is None else f"{event.confidence:.2f}"
            mark = "ok" if event.success else "FAILED"
            label = step_name(event.step)
            return f"{label} {mark} on {event.tier}, confidence {conf} — {event.detail}"
        case ApprovalNeeded():
            verdict = "approved" if event.granted else "denied"
            return f"command {verdict}: {event.command} ({event.reason})"
        case RunCompleted():
            sim = " (simulated price)" if event.simulated else ""
            return (
                f"{event.status}: {event.message}\n"
                f"cloud {usd(event.cloud_usd)}{sim}, local energy {usd(event.local_energy_usd)}, "
                f"all-cloud would be {usd(event.counterfactual_usd)}, saved "
                f"{usd(event.saving_usd)}; {event.local_calls} local / {event.cloud_calls} cloud "
                f"calls; commits: {', '.join(c[:8] for c in event.commits) or 'none'}"
            )
    return None


def _routed(event: StepRouted) -> str:
    """A route, or a notice when the budget overrode the cloud the user asked for."""
    label = step_name(event.step)
    asked = event.signals.get("forced") or event.signals.get("policy")
    if event.reason.startswith("budget") and asked == Tier.CLOUD and event.tier == Tier.LOCAL:
        return (
            f"NOTICE: {label} runs LOCAL, not on the cloud you asked for: {event.reason} "
            "(raise --max-cost-usd to keep it on the cloud)"
        )
    return f"{label} → {event.tier}: {event.reason}"


FORMATS = ("text", "json", "stream-json")


def output_format_of(as_json: bool, fmt: str | None) -> str:
    """`--json` is `--output-format stream-json`; `json` prints one final object."""
    fmt = fmt or ("stream-json" if as_json else "text")
    if fmt not in FORMATS:
        raise ConfigError(f"--output-format must be text, json or stream-json, got '{fmt}'")
    return fmt


class Printer:
    """Print events: JSON lines (json.dumps escapes control characters) or human lines,
    which carry model and repo text and so go through `terminal_safe`. Under `json` only
    the final object reaches stdout (`result.from_completed`), progress goes to stderr."""

    QUIET_S = 30.0
    """Without a status line, a heartbeat becomes a progress line after this long quiet."""

    def __init__(self, fmt: str, *, status_line: bool = False, home: Path | None = None) -> None:
        self.fmt = fmt
        self.home = home or config.home()
        self.status_line = status_line
        self.completed: dict[str, Any] | None = None
        self.started = self.last_line = time.monotonic()

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunCompleted):
            self.completed = event.to_dict()
        line = describe(event, self.home)
        if isinstance(event, Heartbeat) and not self.status_line:
            line = self._still_working(event.to_dict())
        if line:
            self.last_line = time.monotonic()
        if self.fmt == "text":
            if line:
                print(terminal_safe(line), flush=True)
            return
        if self.fmt == "stream-json" and not isinstance(event, TokenStreamed):
            print(json.dumps(event.to_dict()), flush=True)
        if line:
            print(terminal_safe(line), file=sys.stderr, flush=True)

    def _still_working(self, beat: dict[str, Any]) -> str | None:
        if time.monotonic() - self.last_line < self.QUIET_S:
            return None
        label = "plan" if beat["step"] == 0 else f"step {beat['step']}"
        return (
            f"… still working: {label} on {beat['tier']}, {beat['tokens']} tokens so far, "
            f"{beat['elapsed_s']:.0f}s since the start"
        )

    def final(self) -> None:
        """Under `json`, the one object on stdout."""
        if self.fmt == "json" and self.completed is not None:
            duration = time.monotonic() - self.started
            print(json.dumps(result.from_completed(self.completed, duration)), flush=True)


def printer(as_json: bool) -> Printer:
    return Printer("stream-json" if as_json else "text")
