"""The one event stream out of a run: the TUI renders it, `--json` prints it, evals sum it.

Each event is a small frozen dataclass, built with keywords only (most have a dozen
fields, too many to pass by position); `to_dict()` gives the JSON line, with `type` first.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from tiercode.agent.state import RunStatus, Tier

SCHEMA_VERSION = 2
"""Every JSON line carries it; it goes up when a field changes meaning or goes away.
2: `step.completed` carries the outcome only (usage is on `model.call`); `step.routed`
names the call's purpose."""


@dataclass(frozen=True, kw_only=True)
class Event:
    type = "event"
    run_id: str
    ts: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        body = {k: plain(v) for k, v in asdict(self).items()}
        return {"type": self.type, "schema_version": SCHEMA_VERSION, **body}


def plain(value: Any) -> Any:
    """`value` as JSON data: money and enums as strings, containers walked."""
    if isinstance(value, Decimal | StrEnum):
        return str(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


@dataclass(frozen=True, kw_only=True)
class RunStarted(Event):
    type = "run.started"
    task: str
    repo: str
    policy: str
    local_model: str
    cloud_model: str
    cloud_simulated: bool


@dataclass(frozen=True, kw_only=True)
class Planned(Event):
    type = "plan"
    steps: list[dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class StepRouted(Event):
    type = "step.routed"
    step: int
    attempt: int
    purpose: str
    """plan, act, check or judge, as on the `model.call` that follows."""
    tier: Tier
    reason: str
    signals: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class TokenStreamed(Event):
    type = "token"
    step: int
    text: str


@dataclass(frozen=True, kw_only=True)
class StepCompleted(Event):
    """What one attempt at a step came to (step 0: the plan). What its model calls took
    and cost is on their `model.call` events, so each figure has one source."""

    type = "step.completed"
    step: int
    attempt: int
    tier: Tier
    success: bool
    detail: str
    confidence: float | None
    files: list[str]


@dataclass(frozen=True, kw_only=True)
class StepEscalated(Event):
    type = "step.escalated"
    step: int
    from_tier: Tier
    to_tier: Tier
    reason: str


@dataclass(frozen=True, kw_only=True)
class ApprovalNeeded(Event):
    type = "approval.needed"
    step: int
    command: str
    reason: str
    granted: bool


@dataclass(frozen=True, kw_only=True)
class RunCompleted(Event):
    type = "run.completed"
    status: RunStatus
    exit_code: int
    message: str
    commits: list[str]
    cloud_usd: Decimal
    local_energy_usd: Decimal
    counterfactual_usd: Decimal
    saving_usd: Decimal
    prompt_tokens: int
    completion_tokens: int
    local_calls: int
    cloud_calls: int
    simulated: bool
    verified: list[str] = field(default_factory=list)
    """What was checked before the run said done: compiles, imports, tests."""
    total_cost_usd: Decimal = Decimal(0)
    """Cloud spend plus the local energy estimate: what the run cost in all."""
    cached_tokens: int = 0
    """Prompt tokens the provider reported as read from its cache."""


@dataclass(frozen=True, kw_only=True)
class Heartbeat(Event):
    """Every few seconds while a run is alive, so a CI log shows it is not stuck: the
    call under way, its tokens so far, and the time since the run started."""

    type = "heartbeat"
    step: int
    tier: str
    """The tier of the call under way; empty before the first call is routed."""
    tokens: int
    elapsed_s: float


class EventSink(Protocol):
    def __call__(self, event: Event) -> None: ...


@dataclass(frozen=True, kw_only=True)
class ModelCalled(Event):
    """One model call, sent from the one door (`RunContext.call_model`): the plan, each
    step's answer and each acceptance check. Telemetry turns it into a GenAI span."""

    type = "model.call"
    step: int
    attempt: int
    purpose: str
    """plan, act, check (writes the acceptance check) or judge (works out again the values
    that the check and the code disagree on): the kind of step the call served."""
    tier: Tier
    model: str
    route_reason: str
    started: float
    """Epoch seconds when the request went out; it ended `latency_s` later."""
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    latency_s: float
    ttft_s: float
    cost_usd: Decimal
    counterfactual_usd: Decimal
    simulated: bool
    incomplete: bool
    prompt_bytes: int
    """UTF-8 bytes of the prompt as sent (after redaction): on the local tier, what stayed."""
    redactions: int
    content: dict[str, Any] | None = None
    """Prompt and reply, only when the user opted in to exporting them (see telemetry)."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON line never carries prompt or reply text, opted in or not."""
        body = super().to_dict()
        body.pop("content", None)
        return body
