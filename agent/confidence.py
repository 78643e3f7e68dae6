"""How sure the local model is of a step, and how well that predicts success.

Three signals: the score the model states in its reply (`self`), the geometric-mean
probability of the tokens it chose (`logprob`), and the share of the cheap checks its
answer cleared once applied (`checks`: parses, applies, compiles, imports, leaves no
dangling reference). Small models state high confidence whatever they write and are
sure of the tokens of a wrong fix too, so `grounded` (the default) averages the token
score with what running the answer showed. All are recorded against verified outcomes
and `tiercode calibrate` shows which one actually separates passes from failures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

SIGNALS = ("grounded", "logprob", "self", "mean")
_STRUCTURE = set('{}[]":, \n\t')
_KEYS = {"edits", "path", "search", "replace", "command", "confidence", "steps", "goal", "files"}


def self_confidence(stated: object) -> float | None:
    """The model's stated 0-100 score as 0..1, or None when it gave none."""
    if isinstance(stated, bool) or not isinstance(stated, int | float):
        return None
    return min(1.0, max(0.0, float(stated) / 100.0))


def logprob_confidence(
    tokens: Sequence[str] | None, logprobs: Sequence[float] | None
) -> float | None:
    """exp(mean log-probability) over the tokens that carry content.

    JSON punctuation, whitespace and key names are forced by the grammar rather than
    chosen by the model, so they would only add noise.
    """
    if not tokens or not logprobs:
        return None
    kept = [
        lp
        for tok, lp in zip(tokens, logprobs, strict=False)
        if tok.strip(" \n\t") and not set(tok) <= _STRUCTURE and tok.strip(' "') not in _KEYS
    ]
    if not kept:
        return None
    return math.exp(sum(kept) / len(kept))


def combine(
    self_score: float | None,
    logprob_score: float | None,
    signal: str,
    checks: float | None = None,
) -> float | None:
    """The confidence the router gates on, by the configured signal; `checks` is the
    share of the cheap checks the applied answer cleared (None: not applied yet)."""
    if signal == "self":
        return self_score
    if signal == "logprob":
        return logprob_score if logprob_score is not None else self_score
    if signal == "grounded":
        return _mean(logprob_score if logprob_score is not None else self_score, checks)
    return _mean(self_score, logprob_score)


def _mean(*scores: float | None) -> float | None:
    """The mean of the scores that are known; None when none is."""
    known = [s for s in scores if s is not None]
    return sum(known) / len(known) if known else None


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    count: int
    mean_confidence: float
    success_rate: float


def reliability(pairs: Sequence[tuple[float, bool]], bins: int = 10) -> list[Bin]:
    """Equal-width reliability table: in each confidence band, how often the step passed."""
    table = []
    for i in range(bins):
        low, high = i / bins, (i + 1) / bins
        inside = [(c, ok) for c, ok in pairs if low <= c < high or (i == bins - 1 and c == 1.0)]
        if inside:
            table.append(
                Bin(
                    low,
                    high,
                    len(inside),
                    sum(c for c, _ in inside) / len(inside),
                    sum(ok for _, ok in inside) / len(inside),
                )
            )
    return table


def expected_calibration_error(pairs: Sequence[tuple[float, bool]], bins: int = 10) -> float:
    """Weighted mean gap between stated confidence and observed success."""
    if not pairs:
        return 0.0
    return sum(
        b.count * abs(b.mean_confidence - b.success_rate) for b in reliability(pairs, bins)
    ) / len(pairs)


def auroc(pairs: Sequence[tuple[float, bool]]) -> float | None:
    """Chance that a passing step scored above a failing one (0.5 = no signal)."""
    passes = [c for c, ok in pairs if ok]
    fails = [c for c, ok in pairs if not ok]
    if not passes or not fails:
        return None
    wins = sum(1.0 if p > f else 0.5 if p == f else 0.0 for p in passes for f in fails)
    return wins / (len(passes) * len(fails))


def fit_threshold(
    pairs: Sequence[tuple[float, bool]],
    *,
    cloud_share: float | None = None,
    success_rate: float | None = None,
) -> float:
    """The `auto` threshold that meets a target.

    `cloud_share`: escalate that fraction of steps (the least confident ones).
    `success_rate`: the lowest threshold at which the steps kept local pass at least
    that often. Raises ValueError with no history or no target.
    """
    if not pairs:
        raise ValueError("no (confidence, outcome) history yet: run some tasks first")
    scores = sorted(c for c, _ in pairs)
    if cloud_share is not None:
        k = round(cloud_share * len(scores))
        return 0.0 if k == 0 else scores[k] if k < len(scores) else 1.0
    if success_rate is not None:
        for t in [0.0, *scores]:
            kept = [ok for c, ok in pairs if c >= t]
            if kept and sum(kept) / len(kept) >= success_rate:
                return t
        return 1.0
    raise ValueError("give a target: cloud_share or success_rate")
