"""`tiercode calibrate`: how well each confidence signal predicted verified outcomes,
and the `auto` threshold that meets a target, fitted from the ledger's history."""

from __future__ import annotations

from typing import Any

from tiercode.agent import confidence as conf
from tiercode.agent.ledger import Ledger
from tiercode.agent.state import Tier

DEFAULT_SUCCESS = 0.8


def signal_pairs(ledger: Ledger) -> dict[str, list[tuple[float, bool]]]:
    """(confidence, passed) per signal, over local attempts that reached verification."""
    pairs: dict[str, list[tuple[float, bool]]] = {s: [] for s in conf.SIGNALS}
    for o in ledger.outcomes():
        if o.tier != Tier.LOCAL:
            continue
        scores = {
            s: conf.combine(o.self_confidence, o.logprob_confidence, s, o.check_share)
            for s in conf.SIGNALS
        }
        for name, score in scores.items():
            if score is not None:
                pairs[name].append((score, bool(o.success)))
    return pairs


def report(
    *,
    cloud_share: float | None = None,
    success_rate: float | None = None,
    ledger: Ledger | None = None,
) -> dict[str, Any]:
    """Per signal: count, AUROC, ECE, reliability table and the fitted threshold."""
    if cloud_share is None and success_rate is None:
        success_rate = DEFAULT_SUCCESS
    target = f"cloud share {cloud_share}" if cloud_share is not None else f"success {success_rate}"
    result: dict[str, Any] = {"target": target, "signals": {}}
    lines = [f"target: {target}"]
    for name, pairs in signal_pairs(ledger or Ledger()).items():
        if not pairs:
            lines.append(f"{name}: no history yet")
            continue
        threshold = conf.fit_threshold(pairs, cloud_share=cloud_share, success_rate=success_rate)
        auc = conf.auroc(pairs)
        ece = conf.expected_calibration_error(pairs)
        table = conf.reliability(pairs)
        result["signals"][name] = {
            "n": len(pairs),
            "auroc": auc,
            "ece": ece,
            "threshold": threshold,
            "reliability": [b.__dict__ for b in table],
        }
        auc_text = "n/a" if auc is None else f"{auc:.2f}"
        lines.append(
            f"{name}: n={len(pairs)} AUROC={auc_text} ECE={ece:.3f} → threshold {threshold:.2f}"
        )
        for b in table:
            lines.append(
                f"  [{b.low:.1f},{b.high:.1f}) n={b.count:<4} confidence {b.mean_confidence:.2f}"
                f"  passed {b.success_rate:.2f}"
            )
    result["text"] = "\n".join(lines)
    return result
