"""The ledger's records (a model call, a step's outcome, a run's totals) and their exact sums.

They are plain values, apart from the SQLite store in `agent/ledger.py`: code that builds
or reads a record (the run context, the ROI report, the TUI's cost panel, the evals) does
not need the store to do it. Money is Decimal, summed exactly, never as floats.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from tiercode.agent.state import Tier


def now_iso() -> str:
    """Now, as the ISO-8601 UTC text the ledger stores."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(kw_only=True)
class CallRecord:
    """One model call. `counterfactual_usd` is what its tokens would cost at the cloud price."""

    call_id: str
    run_id: str
    step: int
    attempt: int
    tier: str
    model: str
    price_model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal
    counterfactual_usd: Decimal
    cached_tokens: int = 0
    latency_s: float = 0.0
    ttft_s: float | None = None
    confidence: float | None = None
    route_reason: str = ""
    simulated: bool = False
    incomplete: bool = False
    prompt_bytes: int | None = None
    """UTF-8 bytes of the prompt as sent; None on calls recorded before it was kept."""
    # Epoch seconds are accepted; the ledger stores and returns ISO-8601 UTC text.
    ts: str | float = field(default_factory=now_iso)


@dataclass(frozen=True)
class Outcome:
    """How a step's attempt ended, next to the confidence that routed it (for calibration)."""

    run_id: str
    step: int
    attempt: int
    tier: str
    self_confidence: float | None
    logprob_confidence: float | None
    success: bool
    check_share: float | None = None


@dataclass(frozen=True)
class RunTotals:
    """A run's cost, cloud spend and local energy kept apart.

    `saving_usd` is the all-cloud counterfactual minus what was actually spent
    (cloud spend plus local energy); it is negative when tiering cost more.
    """

    cloud_usd: Decimal
    local_usd: Decimal
    counterfactual_usd: Decimal
    saving_usd: Decimal
    calls: int
    local_calls: int
    cloud_calls: int
    prompt_tokens: int
    completion_tokens: int
    simulated: bool
    cached_tokens: int = 0
    """Prompt tokens the provider served from its cache (part of prompt_tokens)."""


def _decimal_sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, Decimal(0))


def totals(calls: list[CallRecord]) -> RunTotals:
    """Sum calls exactly; local energy and cloud spend are never mixed."""
    local = [c for c in calls if c.tier == Tier.LOCAL]
    cloud = [c for c in calls if c.tier != Tier.LOCAL]
    cloud_usd = _decimal_sum(c.cost_usd for c in cloud)
    local_usd = _decimal_sum(c.cost_usd for c in local)
    counterfactual = _decimal_sum(c.counterfactual_usd for c in calls)
    return RunTotals(
        cloud_usd=cloud_usd,
        local_usd=local_usd,
        counterfactual_usd=counterfactual,
        saving_usd=counterfactual - cloud_usd - local_usd,
        calls=len(calls),
        local_calls=len(local),
        cloud_calls=len(cloud),
        prompt_tokens=sum(c.prompt_tokens for c in calls),
        completion_tokens=sum(c.completion_tokens for c in calls),
        simulated=any(c.simulated for c in calls),
        cached_tokens=sum(c.cached_tokens for c in calls),
    )
