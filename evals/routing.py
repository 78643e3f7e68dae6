"""RouteLLM's router metrics, computed from recorded outcomes without asking a model again.

A router here is one score per problem (a local confidence) and a threshold: problems
scoring below it go to the cloud tier. A run that recorded both baselines, `local` and
`cloud`, on the same problems holds what every threshold would give, so the whole curve
of pass rate against the share of problems sent to the cloud follows from the records.

- PGR, performance gap recovered: (router - local) / (cloud - local) pass rate.
- APGR: the area under PGR against cloud-call share over 0..1, by the trapezoid rule.
  RouteLLM samples 10 quantile thresholds; here every threshold between two recorded
  scores is a point, so the curve is exact. Tied scores move together, and the straight
  line across them is what breaking the tie at random would give on average.
- CPT(x): the smallest cloud-call share at which PGR reaches x, read off that curve.

The random router sends k of n problems to the cloud, chosen uniformly; by linearity its
expected pass rate is local + k/n × (cloud - local) exactly, so its PGR equals its share
and its APGR is 0.5. The oracle knows both outcomes and sends the problems only the cloud
solves first: the ceiling any score could reach.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tiercode.agent.state import Tier
from tiercode.evals.policy import is_live
from tiercode.evals.records import PolicyOutcome, TaskResult

CONFIDENCE = "confidence"
"""The score `auto` gates on; the component signals are routers of their own."""
MISSING_SCORE = 0.0
"""A problem with no local score counts as least sure, as the live cascade treats it."""


@dataclass(frozen=True)
class Case:
    """One problem as both tiers answered it, with a router's score for it."""

    task_id: str
    local: bool
    cloud: bool
    score: float
    cloud_usd: Decimal = Decimal(0)
    """What the cloud tier's answer cost: the spend of sending this problem there."""


@dataclass(frozen=True)
class Point:
    cloud_share: float
    pass_rate: float


def _first(outcome: PolicyOutcome, signal: str) -> float:
    pairs = outcome.confidence if signal == CONFIDENCE else outcome.signals.get(signal, [])
    return pairs[0][0] if pairs else MISSING_SCORE


def signals(results: Sequence[TaskResult]) -> list[str]:
    """The routers a run's records allow: `confidence` and each recorded component signal."""
    found = {
        name
        for r in results
        if Tier.LOCAL in r.outcomes
        for name, pairs in r.outcomes[Tier.LOCAL].signals.items()
        if pairs
    }
    return [CONFIDENCE, *sorted(found)]


def cases(results: Sequence[TaskResult], signal: str = CONFIDENCE) -> list[Case]:
    """Every task with both baselines recorded, scored by the local answer's first `signal`.
    For multi-step suites that is the first local step's score: a task-level cascade."""
    out = []
    for r in results:
        local, cloud = r.outcomes.get(Tier.LOCAL), r.outcomes.get(Tier.CLOUD)
        if local is None or cloud is None:
            continue
        spend = sum((c.cost_usd for c in cloud.calls if c.tier != Tier.LOCAL), Decimal(0))
        out.append(Case(r.task_id, local.passed, cloud.passed, _first(local, signal), spend))
    return out


def rate(passed: Sequence[bool]) -> float:
    return sum(passed) / len(passed) if passed else 0.0


def pgr(pass_rate: float, local: float, cloud: float) -> float | None:
    """The share of the local-to-cloud gap a pass rate recovers; None when there is no gap."""
    gap = cloud - local
    return None if gap <= 0 else (pass_rate - local) / gap


def curve(found: Sequence[Case]) -> list[Point]:
    """Pass rate at each cloud-call share the scores allow, from none sent to all sent.
    Sending the lowest k scores is what any threshold between two scores does."""
    n = len(found)
    if n == 0:
        return []
    ordered = sorted(found, key=lambda c: c.score)
    passed = sum(c.local for c in ordered)
    points = [Point(0.0, passed / n)]
    for k, case in enumerate(ordered, start=1):
        passed += case.cloud - case.local
        if k == n or ordered[k].score != case.score:
            points.append(Point(k / n, passed / n))
    return points


def random_curve(found: Sequence[Case]) -> list[Point]:
    """The random router's expected pass rate at every share k/n, computed exactly."""
    n = len(found)
    local, cloud = rate([c.local for c in found]), rate([c.cloud for c in found])
    return [Point(k / n, local + k / n * (cloud - local)) for k in range(n + 1)] if n else []


def oracle(found: Sequence[Case]) -> list[Case]:
    """The same problems scored by hindsight: cloud-only passes first, local-only last."""
    return [
        Case(c.task_id, c.local, c.cloud, float(c.local) - float(c.cloud), c.cloud_usd)
        for c in found
    ]


def _pgr_points(points: Sequence[Point], local: float, cloud: float) -> list[tuple[float, float]]:
    return [(p.cloud_share, (p.pass_rate - local) / (cloud - local)) for p in points]


def apgr(points: Sequence[Point], local: float, cloud: float) -> float | None:
    """Area under PGR against cloud-call share (trapezoids); None without a gap."""
    if cloud <= local or len(points) < 2:
        return None
    xy = _pgr_points(points, local, cloud)
    return sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in itertools.pairwise(xy))


def cpt(points: Sequence[Point], local: float, cloud: float, target: float) -> float | None:
    """The smallest cloud-call share at which PGR reaches `target` on the interpolated
    curve; None without a gap or when the curve never gets there."""
    if cloud <= local or not points:
        return None
    xy = _pgr_points(points, local, cloud)
    if xy[0][1] >= target:
        return xy[0][0]
    for (x0, y0), (x1, y1) in itertools.pairwise(xy):
        if y1 >= target:
            return x0 + (target - y0) / (y1 - y0) * (x1 - x0)
    return None


@dataclass(frozen=True)
class RouterMetrics:
    router: str
    apgr: float | None
    cpt50: float | None
    cpt80: float | None


def measure(name: str, points: Sequence[Point], local: float, cloud: float) -> RouterMetrics:
    return RouterMetrics(
        name,
        apgr(points, local, cloud),
        cpt(points, local, cloud, 0.5),
        cpt(points, local, cloud, 0.8),
    )


def sent_to_cloud(outcome: PolicyOutcome) -> bool:
    """A live policy's outcome called the cloud tier at least once."""
    return any(c.tier != Tier.LOCAL for c in outcome.calls)


def routers(results: Sequence[TaskResult]) -> dict[str, Any] | None:
    """Every router's metrics, the baselines', and each `auto` policy's PGR at its own
    cloud-call share beside the random router there; None without both baselines. A live
    twin (`--live`) is left out: it measures a policy already listed (`evals/live.py`)."""
    base = cases(results)
    if not base:
        return None
    local, cloud = rate([c.local for c in base]), rate([c.cloud for c in base])
    rows = [measure(s, curve(cases(results, s)), local, cloud) for s in signals(results)]
    rows.append(measure("random", random_curve(base), local, cloud))
    rows.append(measure("oracle", curve(oracle(base)), local, cloud))
    ids = {c.task_id for c in base}
    live = []
    autos = (n for r in results for n in r.outcomes if n.startswith("auto") and not is_live(n))
    for name in dict.fromkeys(autos):
        got = [r.outcomes[name] for r in results if r.task_id in ids and name in r.outcomes]
        if len(got) != len(base):
            continue
        share = rate([sent_to_cloud(o) for o in got])
        passed = rate([o.passed for o in got])
        live.append(
            {
                "policy": name,
                "cloud_share": share,
                "pass_rate": passed,
                "pgr": pgr(passed, local, cloud),
                "random_pass_rate": local + share * (cloud - local),
            }
        )
    return {"n": len(base), "local": local, "cloud": cloud, "routers": rows, "live": live}
