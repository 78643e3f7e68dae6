"""The `auto` threshold fit on some problems and scored on others: k-fold cross-validation
over recorded answers, with a bootstrap interval.

A threshold picked on the problems it is then scored on flatters itself: the best of many
thresholds is partly the luckiest. Here the problems are dealt into k folds (a seeded
shuffle); each fold is routed by a threshold fit on the other k-1 alone, so every problem
is scored once, by a threshold that never saw it.

The fitting rule: the lowest threshold (fewest cloud calls, so least cloud spend) whose
pass count on the training folds is at least the cloud tier's there. Sending everything
to the cloud always meets it, so a threshold always exists.

The interval is a 95 % percentile bootstrap over problems of the held-out outcomes, with
the fitted thresholds held fixed: it covers which problems were drawn, not the refitting.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tiercode.evals.metrics import percentile
from tiercode.evals.routing import Case

FOLDS = 5
DRAWS = 2000
SEED = 0


def fit(train: Sequence[Case]) -> float:
    """The rule's threshold: halfway between the last score sent to the cloud and the next,
    -inf to send none, +inf to send all."""
    ordered = sorted(train, key=lambda c: c.score)
    target = sum(c.cloud for c in ordered)
    passed = sum(c.local for c in ordered)
    if passed >= target:
        return -math.inf
    for k, case in enumerate(ordered, start=1):
        passed += case.cloud - case.local
        if k < len(ordered) and ordered[k].score == case.score:
            continue  # a threshold cannot split tied scores
        if passed >= target:
            return (case.score + ordered[k].score) / 2 if k < len(ordered) else math.inf
    return math.inf


@dataclass(frozen=True)
class Held:
    """One problem routed by a threshold fit without it."""

    case: Case
    threshold: float

    @property
    def to_cloud(self) -> bool:
        return self.case.score < self.threshold

    @property
    def passed(self) -> bool:
        return self.case.cloud if self.to_cloud else self.case.local

    @property
    def spend(self) -> Decimal:
        return self.case.cloud_usd if self.to_cloud else Decimal(0)


def folds(n: int, k: int, seed: int) -> list[list[int]]:
    """Indices 0..n-1 dealt into k folds after a seeded shuffle."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return [order[i::k] for i in range(k)]


def cross_validate(found: Sequence[Case], k: int = FOLDS, seed: int = SEED) -> list[Held]:
    """Every problem, routed by the threshold fit on the folds it is not in."""
    k = min(k, len(found))
    if k < 2:
        return []
    held: list[Held] = []
    for fold in folds(len(found), k, seed):
        out = set(fold)
        threshold = fit([c for i, c in enumerate(found) if i not in out])
        held.extend(Held(found[i], threshold) for i in sorted(fold))
    return held


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float


Stat = Callable[[Sequence[Held]], float]


def bootstrap(
    held: Sequence[Held], stats: dict[str, Stat], draws: int = DRAWS, seed: int = SEED
) -> dict[str, Estimate]:
    """Each statistic with its 95 % percentile interval over `draws` resamples of problems."""
    rng = random.Random(seed)
    samples: dict[str, list[float]] = {name: [] for name in stats}
    for _ in range(draws):
        drawn = rng.choices(held, k=len(held))
        for name, stat in stats.items():
            samples[name].append(stat(drawn))
    return {
        name: Estimate(
            stat(held),
            percentile(samples[name], 2.5) or 0.0,
            percentile(samples[name], 97.5) or 0.0,
        )
        for name, stat in stats.items()
    }


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _spend_share(held: Sequence[Held]) -> float:
    total = sum((h.case.cloud_usd for h in held), Decimal(0))
    return float(sum((h.spend for h in held), Decimal(0)) / total) if total else 0.0


STATS: dict[str, Stat] = {
    "pass_rate": lambda held: _mean([h.passed for h in held]),
    "cloud_pass_rate": lambda held: _mean([h.case.cloud for h in held]),
    "difference": lambda held: _mean([h.passed - h.case.cloud for h in held]),
    "cloud_share": lambda held: _mean([h.to_cloud for h in held]),
    "spend_share": _spend_share,
}
"""Pass rate, cloud's, their paired difference, share of problems sent to the cloud, and
share of cloud spend (against sending every problem)."""


def summary(
    found: Sequence[Case], k: int = FOLDS, seed: int = SEED, draws: int = DRAWS
) -> dict[str, Any] | None:
    """The cross-validated figures with intervals and the threshold each fold was given;
    None with fewer than two problems."""
    held = cross_validate(found, k, seed)
    if not held:
        return None
    return {
        "n": len(held),
        "folds": min(k, len(found)),
        "seed": seed,
        "thresholds": sorted({h.threshold for h in held}),
        "cloud_usd": sum((c.cloud_usd for c in found), Decimal(0)),
        **bootstrap(held, STATS, draws, seed),
    }
