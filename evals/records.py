"""What an eval records per task, the same for every suite, so metrics are computed once.

A task yields one `PolicyOutcome` per policy: did the answer pass, which model calls it
took (tier, tokens, latency, money), how often it escalated, and the local confidence
beside the local answer's own outcome (for calibration). Money stays Decimal and is
written to JSON as text.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from tiercode.agent.events import plain


@dataclass
class Call:
    """One model call. `cost_usd` is cloud spend (simulated when priced as a stand-in) or
    the local energy estimate; `counterfactual_usd` prices the same tokens at cloud rates."""

    tier: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    cost_usd: Decimal
    counterfactual_usd: Decimal

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class PolicyOutcome:
    policy: str
    passed: bool
    calls: list[Call]
    latency_s: float
    """Wall time of the task under this policy, checks included."""
    escalations: int = 0
    route: str = ""
    """The tiers that answered, in order, with the router's reasons."""
    confidence: list[tuple[float, bool]] = field(default_factory=list)
    """(local confidence, did that local answer pass) for each local answer."""
    signals: dict[str, list[tuple[float, bool]]] = field(default_factory=dict)
    """The same pairs for each component signal (logprob, self_check, ...)."""
    claimed_done: bool | None = None
    """Whether the agent said done (exit 0); None where a suite has no such claim. Done
    with a failing check is a false done, the one outcome tiercode must never have."""


@dataclass
class TaskResult:
    task_id: str
    outcomes: dict[str, PolicyOutcome]
    detail: dict[str, Any] = field(default_factory=dict)
    """Suite-specific record: the answers, checks, errors."""
    error: str = ""
    """Set when the task could not be run at all (it then counts as failed)."""


def task_to_dict(task: TaskResult) -> dict[str, Any]:
    return plain(asdict(task))  # type: ignore[no-any-return]


def _pairs(raw: list[Any]) -> list[tuple[float, bool]]:
    return [(float(c), bool(ok)) for c, ok in raw]


def _call(raw: dict[str, Any]) -> Call:
    return Call(
        **{
            **raw,
            "cost_usd": Decimal(raw["cost_usd"]),
            "counterfactual_usd": Decimal(raw["counterfactual_usd"]),
        }
    )


def task_from_dict(raw: dict[str, Any]) -> TaskResult:
    outcomes = {
        name: PolicyOutcome(
            **{
                **o,
                "calls": [_call(c) for c in o["calls"]],
                "confidence": _pairs(o.get("confidence", [])),
                "signals": {k: _pairs(v) for k, v in o.get("signals", {}).items()},
            }
        )
        for name, o in raw["outcomes"].items()
    }
    return TaskResult(raw["task_id"], outcomes, raw.get("detail", {}), raw.get("error", ""))
