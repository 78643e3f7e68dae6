"""Live `auto` rows against their replayed twins: does the simulated cascade hold?

HumanEval derives every `auto:T` outcome from one recorded answer per tier
(`humaneval.solve`), which is what a live cascade returns only if each tier gives the same
answer every time it is asked. A `live` twin asks afresh; here it is compared with its
replayed policy problem by problem: pass/fail, route (stayed local or escalated) and
cloud spend.

A live row is a second measurement of a policy already in the run, not another router.
So it stays out of everything that ranks or fits policies: the router metrics and the
cross-validated threshold read only the local and cloud baselines (`routing.cases`),
and the routers' policy rows, the McNemar lines, the verdict and the plot's curve list
replayed policies only. Counting both twins there would weigh one policy twice, and
picking the better twin would pick the luckier measurement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from tiercode.agent.state import Tier
from tiercode.evals.policy import is_live, replayed
from tiercode.evals.records import PolicyOutcome, TaskResult


@dataclass(frozen=True)
class Difference:
    """A problem on which the twins differ in pass/fail or route."""

    task_id: str
    replayed: PolicyOutcome
    live: PolicyOutcome


@dataclass(frozen=True)
class Agreement:
    """One `auto` policy, replayed and live, over the problems both were run on."""

    policy: str
    tasks: int
    same_passed: int
    same_route: int
    replayed_usd: Decimal
    live_usd: Decimal
    differences: list[Difference]


def escalated(outcome: PolicyOutcome) -> bool:
    return outcome.escalations > 0


def cloud_usd(outcome: PolicyOutcome) -> Decimal:
    return sum((c.cost_usd for c in outcome.calls if c.tier != Tier.LOCAL), Decimal(0))


def compare(results: Sequence[TaskResult]) -> list[Agreement]:
    """Each live policy against its replayed twin, in the run's order; [] without one."""
    found = []
    for name in dict.fromkeys(n for r in results for n in r.outcomes if is_live(n)):
        twin = replayed(name)
        pairs = [
            (r.task_id, r.outcomes[twin], r.outcomes[name])
            for r in results
            if twin in r.outcomes and name in r.outcomes
        ]
        same_passed = [a.passed == b.passed for _, a, b in pairs]
        same_route = [escalated(a) == escalated(b) for _, a, b in pairs]
        found.append(
            Agreement(
                twin,
                len(pairs),
                sum(same_passed),
                sum(same_route),
                sum((cloud_usd(a) for _, a, _ in pairs), Decimal(0)),
                sum((cloud_usd(b) for _, _, b in pairs), Decimal(0)),
                [
                    Difference(tid, a, b)
                    for (tid, a, b), p, r in zip(pairs, same_passed, same_route, strict=True)
                    if not (p and r)
                ],
            )
        )
    return found
