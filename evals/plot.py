"""The cost/quality frontier: pass rate against cloud spend, one point per policy.

As in RouteLLM's evaluations, the always-local and always-cloud baselines anchor the
plot and the `auto` thresholds trace the curve between them; a point above the straight
line joining the baselines buys quality more cheaply than mixing the two at random.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from tiercode.agent.state import Tier
from tiercode.evals.policy import is_live


def frontier(data: dict[str, Any], path: Path, title: str = "") -> Path:
    """Write the plot as PNG (Agg backend: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    autos, lives = [], []
    for name, m in data["policies"].items():
        if m["pass_rate"] is None:
            continue
        x, y = float(Decimal(m["cloud_usd"])), 100 * m["pass_rate"]
        if is_live(name):  # a second measurement of a point on the curve, not a new point
            lives.append((x, y))
        elif name.startswith("auto"):
            autos.append((x, y, name))
        else:
            ax.scatter([x], [y], s=70, marker="s", zorder=3, label=f"{name} (baseline)")
            ax.annotate(name, (x, y), textcoords="offset points", xytext=(6, -12), fontsize=8)
    if autos:
        autos.sort()
        ax.plot([a[0] for a in autos], [a[1] for a in autos], "o-", zorder=2, label="auto:T")
        for i, ((x, y), label) in enumerate(_threshold_labels(autos).items()):
            offset = (4, 5) if i % 2 == 0 else (5, -11)  # alternate, so close points stay legible
            ax.annotate(label, (x, y), textcoords="offset points", xytext=offset, fontsize=7)
    if lives:
        ax.scatter([x for x, _ in lives], [y for _, y in lives], s=40, marker="x",
                   color="black", zorder=4, label="auto:T live")  # fmt: skip
    base = {n: data["policies"][n] for n in Tier if n in data["policies"]}
    if len(base) == 2:
        xs = [float(Decimal(base[n]["cloud_usd"])) for n in Tier]
        ys = [100 * (base[n]["pass_rate"] or 0) for n in Tier]
        ax.plot(xs, ys, ":", color="grey", zorder=1, label="random mix")
    sim = " (simulated)" if data.get("simulated") else ""
    ax.set_xlabel(f"cloud spend, USD at {data['price_model']}{sim}")
    ax.set_ylabel("pass@1, %")
    ax.set_title(title or f"{data['suite']}: cost/quality by policy ({data['tasks_done']} tasks)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def _threshold_labels(autos: list[tuple[float, float, str]]) -> dict[tuple[float, float], str]:
    """One label per point; thresholds that land on the same point share it ("0.5–0.6")."""
    points: dict[tuple[float, float], list[str]] = {}
    for x, y, name in autos:
        points.setdefault((x, y), []).append(name.split(":", 1)[1] if ":" in name else name)
    return {
        xy: names[0] if len(names) == 1 else f"{min(names, key=float)}–{max(names, key=float)}"
        for xy, names in points.items()
    }
