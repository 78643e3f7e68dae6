"""The routing policy: signals in, a `Decision` out, with the reason in words.

Rules are checked in order of what must never be broken: privacy first, then the
user's explicit choice, then what physically fits, then money, then confidence.
`decide` is a pure function so that every decision can be replayed and tested.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from tiercode.agent.state import Route, Tier
from tiercode.tools.errors import BudgetExhausted


@dataclass(frozen=True)
class Signals:
    """Everything the router looks at for one model call."""

    policy: str
    """A tier's name (every call there) or auto."""
    threshold: float
    prompt_tokens: int
    local_window: int
    reply_tokens: int
    """Room kept for the reply when checking the local window."""
    sensitive: bool = False
    sensitive_reasons: tuple[str, ...] = ()
    redact: bool = False
    """Privacy mode `redact`: secrets are masked, so a sensitive prompt may go to cloud."""
    local_only: bool = False
    forced: Tier | None = None
    """A tier the user forced for this step."""
    budget_left: Decimal | None = None
    cloud_cost_estimate: Decimal = Decimal(0)
    escalation: str | None = None
    """Why the previous attempt at this step failed, when this is a retry."""
    confidence: float | None = None
    """The local model's confidence on the previous attempt, when known."""
    purpose: str = "act"
    """What the call is for: plan, act, check (write the acceptance check that judges
    answers) or judge (work out again a value the check and the code disagree on)."""

    def to_dict(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Decimal | Tier) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Decision:
    """Which tier takes a call and why: what the graph state, the ledger and the events
    record of a route (the signals behind it are recorded beside it, once)."""

    tier: Tier
    reason: str
    confidence_gate: float | None = None
    """Under `auto`, a local answer below this confidence is escalated before it is used."""

    def to_state(self) -> Route:
        return {"tier": self.tier.value, "reason": self.reason, "gate": self.confidence_gate}

    @classmethod
    def from_state(cls, route: Route) -> Decision:
        return cls(Tier(route["tier"]), route["reason"], route.get("gate"))


def _fits_local(s: Signals) -> bool:
    return s.prompt_tokens + s.reply_tokens <= s.local_window


def _affordable(s: Signals) -> bool:
    return s.budget_left is None or s.cloud_cost_estimate <= s.budget_left


def decide(s: Signals) -> Decision:
    """Pick the tier for one call. Raises BudgetExhausted when only cloud could take
    it and the budget cannot pay for it."""

    def local(reason: str, gate: float | None = None) -> Decision:
        return Decision(Tier.LOCAL, reason, gate)

    def cloud(reason: str) -> Decision:
        return Decision(Tier.CLOUD, reason)

    if s.local_only:
        return local("--local-only: nothing leaves the machine")
    if s.sensitive and not s.redact:
        return local("sensitive: " + "; ".join(s.sensitive_reasons or ("secret in prompt",)))
    if s.forced == Tier.LOCAL:
        return local("forced local by the user")
    if s.policy == Tier.LOCAL and s.forced != Tier.CLOUD:
        return local("policy local")
    if s.escalation and s.policy == "auto" and not _affordable(s):
        raise BudgetExhausted(
            f"step failed locally ({s.escalation}) and the cloud retry would cost "
            f"~${s.cloud_cost_estimate:.4f} with ${s.budget_left:.4f} left"
        )
    if not _affordable(s):
        if _fits_local(s):
            return local(
                f"budget low: cloud call ~${s.cloud_cost_estimate:.4f} > ${s.budget_left:.4f} "
                "left, kept local"
            )
        raise BudgetExhausted(
            f"prompt of {s.prompt_tokens} tokens needs the cloud and the budget "
            f"(${s.budget_left:.4f} left) cannot pay ~${s.cloud_cost_estimate:.4f}"
        )
    if s.forced == Tier.CLOUD:
        return cloud("forced cloud by the user")
    if s.policy == Tier.CLOUD:
        return cloud("policy cloud")
    if not _fits_local(s):
        return cloud(
            f"context: {s.prompt_tokens}+{s.reply_tokens} tokens exceed the local "
            f"window of {s.local_window}"
        )
    if s.escalation:
        return cloud(f"escalated: {s.escalation}")
    if s.purpose in ("check", "judge"):
        # A wrong check throws right answers away (a 0.5B check asserted that "Hello world
        # this is a test" has 4 words), and one check judges every answer to the step.
        return cloud("auto: the acceptance check judges every answer; the stronger tier writes it")
    return local(f"auto: local first, escalate if confidence < {s.threshold:.2f}", gate=s.threshold)
