"""Per-policy figures from task results: quality, spend, where the work ran, latency and
how well the local confidence predicted the local answer's outcome.

Money is summed as Decimal; cloud spend is what the cloud calls cost at the price
model (simulated for the stand-in), and the counterfactual prices every call of the
policy, local ones included, at that cloud price: "what the same tokens would have cost
all-cloud", as the ledger defines it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from tiercode.agent import confidence as conf
from tiercode.agent.state import Tier
from tiercode.evals.records import PolicyOutcome, TaskResult


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def calibration(pairs: Sequence[tuple[float, bool]]) -> dict[str, Any]:
    """ECE and AUROC of (confidence, passed) pairs; AUROC is None without both outcomes."""
    if not pairs:
        return {"n": 0, "ece": None, "auroc": None, "mean_confidence": None, "pass_rate": None}
    return {
        "n": len(pairs),
        "ece": round(conf.expected_calibration_error(pairs), 4),
        "auroc": None if (a := conf.auroc(pairs)) is None else round(a, 4),
        "mean_confidence": round(sum(c for c, _ in pairs) / len(pairs), 4),
        "pass_rate": round(sum(ok for _, ok in pairs) / len(pairs), 4),
    }


def _tokens(outcomes: list[PolicyOutcome], tier: str) -> dict[str, int]:
    calls = [c for o in outcomes for c in o.calls if c.tier == tier]
    return {
        "calls": len(calls),
        "prompt": sum(c.prompt_tokens for c in calls),
        "completion": sum(c.completion_tokens for c in calls),
    }


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def summarize(results: Sequence[TaskResult], policy: str) -> dict[str, Any]:
    """Every figure the report shows for one policy."""
    outcomes = [r.outcomes[policy] for r in results if policy in r.outcomes]
    n = len(outcomes)
    passed = sum(o.passed for o in outcomes)
    calls = [c for o in outcomes for c in o.calls]
    cloud_usd = sum((c.cost_usd for c in calls if c.tier != Tier.LOCAL), Decimal(0))
    local_usd = sum((c.cost_usd for c in calls if c.tier == Tier.LOCAL), Decimal(0))
    counterfactual = sum((c.counterfactual_usd for c in calls), Decimal(0))
    local, cloud = _tokens(outcomes, Tier.LOCAL), _tokens(outcomes, Tier.CLOUD)
    local_tokens = local["prompt"] + local["completion"]
    all_tokens = local_tokens + cloud["prompt"] + cloud["completion"]
    latencies = [o.latency_s for o in outcomes]
    pairs = [p for o in outcomes for p in o.confidence]
    signals: dict[str, list[tuple[float, bool]]] = {}
    for o in outcomes:
        for name, found in o.signals.items():
            signals.setdefault(name, []).extend(found)
    finished_local = sum(1 for o in outcomes if o.calls and o.calls[-1].tier == Tier.LOCAL)
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    return {
        "policy": policy,
        "tasks": n,
        "passed": passed,
        "pass_rate": _share(passed, n),
        "cloud_usd": str(cloud_usd),
        "local_energy_usd": str(local_usd),
        "counterfactual_usd": str(counterfactual),
        "saving_usd": str(counterfactual - cloud_usd - local_usd),
        "local_step_share": _share(local["calls"], local["calls"] + cloud["calls"]),
        "local_token_share": _share(local_tokens, all_tokens),
        "local_answer_share": _share(finished_local, n),
        "escalations": sum(o.escalations for o in outcomes),
        "latency_p50_s": None if p50 is None else round(p50, 3),
        "latency_p95_s": None if p95 is None else round(p95, 3),
        "tokens": {Tier.LOCAL: local, Tier.CLOUD: cloud},
        "calibration": {
            "confidence": calibration(pairs),
            **{name: calibration(found) for name, found in sorted(signals.items())},
        },
        "errors": sum(1 for r in results if r.error),
        "false_done": sum(1 for o in outcomes if o.claimed_done and not o.passed),
    }


def summarize_all(results: Sequence[TaskResult], policies: Sequence[str]) -> dict[str, Any]:
    return {p: summarize(results, p) for p in policies}


def wilson(passed: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """The 95 % Wilson interval of a pass rate: honest at small n and at 0 or n passes,
    where the normal approximation gives an interval of width zero."""
    if n == 0:
        return None
    rate = passed / n
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def mcnemar(a: Sequence[bool], b: Sequence[bool]) -> dict[str, Any]:
    """Exact two-sided McNemar test of two policies on the same tasks: only the tasks one
    passes and the other fails count. p is the binomial probability of a split at least
    this uneven if neither policy were better."""
    only_a = sum(1 for x, y in zip(a, b, strict=True) if x and not y)
    only_b = sum(1 for x, y in zip(a, b, strict=True) if y and not x)
    n, k = only_a + only_b, min(only_a, only_b)
    p = min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n) if n else 1.0
    return {"only_a": only_a, "only_b": only_b, "p": p}
