"""The ROI report as one self-contained HTML page: tables, and matplotlib charts
embedded as PNG data URIs, so the file can be mailed, archived or opened offline.

matplotlib is imported here only, when a page is asked for; `Figure` is used directly
(no pyplot), so nothing global changes and no display is needed.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from tiercode.agent.pricing import usd
from tiercode.agent.roi import Report

if TYPE_CHECKING:
    from matplotlib.axes import Axes

_COLOURS = {"cloud": "#d1495b", "energy": "#66a182", "delivery": "#edae49", "all": "#8d96a3"}

_CSS = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 980px; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .6em 0; } td, th { padding: .25em .8em; }
th { text-align: left; background: #f3f3f3; }
td.n { text-align: right; font-variant: tabular-nums; }
.note { color: #666; font-size: .9em; }
img.chart { max-width: 100%; display: block; margin: 1em 0; }
.cards { display: flex; gap: 1em; flex-wrap: wrap; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: .6em 1em; min-width: 180px; }
.card b { display: block; font-size: 1.4em; }
"""


def _png(draw: Callable[[Axes], None], width: float = 8.0, height: float = 3.6) -> str:
    """One chart as a base64 PNG."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    draw(fig.add_subplot())
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _micro(amount: Decimal) -> float:
    return float(amount * 1_000_000)


def _cost_chart(r: Report) -> Callable[[Axes], None]:
    def draw(ax: Axes) -> None:
        local, cloud = r.tiers[0], r.tiers[1]
        labels = ["local", "cloud", "all-cloud\n(counterfactual)"]

        def per(tier_value: Decimal, calls: int) -> float:
            return _micro(tier_value / calls) if calls else 0.0

        energy = [per(local.energy_usd, local.calls), 0.0, 0.0]
        delivery = [per(local.delivery_usd, local.calls), 0.0, 0.0]
        price = [0.0, per(cloud.cloud_usd, cloud.calls), _micro(r.all_cloud_per_inference_usd)]
        ax.bar(labels, energy, color=_COLOURS["energy"], label="local energy")
        ax.bar(labels, delivery, bottom=energy, color=_COLOURS["delivery"], label="model delivery")
        bottom = [a + b for a, b in zip(energy, delivery, strict=True)]
        ax.bar(labels, price, bottom=bottom, color=_COLOURS["cloud"], label="cloud price")
        ax.set_ylabel("micro-USD per inference")
        ax.set_title("Cost per inference by tier")
        ax.legend(loc="upper left", fontsize=8)

    return draw


def _latency_chart(r: Report) -> Callable[[Axes], None]:
    def draw(ax: Axes) -> None:
        labels = [f"{x.key}\n({x.group})" for x in r.latency]
        xs = range(len(labels))
        ax.bar([x - 0.2 for x in xs], [x.p50_s for x in r.latency], 0.4, label="p50")
        ax.bar([x + 0.2 for x in xs], [x.p95_s for x in r.latency], 0.4, label="p95")
        ax.set_xticks(list(xs), labels, fontsize=8)
        ax.set_ylabel("seconds per call")
        ax.set_title("Latency per tier and per step kind")
        ax.legend(fontsize=8)

    return draw


def _spend_chart(r: Report) -> Callable[[Axes], None]:
    def draw(ax: Axes) -> None:
        # matplotlib's date numbers: days since its default epoch, 1970-01-01 UTC
        times = [datetime.fromisoformat(t).timestamp() / 86400 for t, _, _ in r.timeline]
        ax.xaxis_date()
        ax.step(times, [float(s) for _, s, _ in r.timeline], where="post", label="spent")
        ax.step(
            times,
            [float(c) for _, _, c in r.timeline],
            where="post",
            color=_COLOURS["all"],
            label="all-cloud counterfactual",
        )
        ax.set_ylabel("USD, cumulative")
        ax.set_title("Spend against the all-cloud counterfactual")
        ax.tick_params(axis="x", labelsize=7, rotation=20)
        ax.legend(fontsize=8)

    return draw


def _risk_chart(r: Report) -> Callable[[Axes], None]:
    def draw(ax: Axes) -> None:
        k = r.risk
        other_local = k.local_calls - k.sensitive_local_calls - k.local_only_calls
        labels = ["local: sensitive", "local: --local-only", "local: other", "cloud"]
        values = [k.sensitive_local_calls, k.local_only_calls, other_local, k.cloud_calls]
        colours = ["#2e4057", "#66a182", "#9fc5a8", _COLOURS["cloud"]]
        ax.barh(labels, values, color=colours)
        ax.invert_yaxis()
        ax.set_xlabel("model calls")
        ax.set_title(
            f"Where calls went: {k.bytes_kept_local:,} prompt bytes stayed, {k.bytes_sent:,} left"
        )

    return draw


def _table(head: list[str], rows: list[list[str]]) -> str:
    def cell(i: int, text: str) -> str:
        return f'<td class="n">{html.escape(text)}</td>' if i else f"<td>{html.escape(text)}</td>"

    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(cell(i, c) for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def charts(r: Report) -> list[tuple[str, str]]:
    """(title, base64 PNG) of every chart the data allows; none without calls."""
    if not r.calls:
        return []
    return [
        ("Cost per inference by tier", _png(_cost_chart(r))),
        ("Latency per tier and per step kind", _png(_latency_chart(r))),
        ("Spend against the all-cloud counterfactual", _png(_spend_chart(r))),
        ("Where calls went", _png(_risk_chart(r), height=2.8)),
    ]


def render(r: Report) -> str:
    """The whole page; every chart is an <img> with its data inline."""
    k = r.risk
    sim = " Cloud prices are simulated (the embedded stand-in)." if r.simulated else ""
    period = f"{r.since or 'the first call'} to {r.until}"
    share = f"{k.local_calls / r.calls:.0%}" if r.calls else "-"
    cards = [
        ("saving against all-cloud", usd(r.saving_usd)),
        ("spent (all tiers)", usd(r.actual_usd)),
        ("calls kept local", share),
        ("sensitive calls kept local", str(k.sensitive_local_calls)),
    ]
    tiers = _table(
        ["tier", "calls", "cloud price", "local energy", "model delivery", "per inference"],
        [
            [t.tier, str(t.calls), usd(t.cloud_usd), usd(t.energy_usd), usd(t.delivery_usd),
             usd(t.per_inference_usd)]
            for t in r.tiers
        ]
        + [["all-cloud", str(r.calls), usd(r.counterfactual_usd), "-", "-",
            usd(r.all_cloud_per_inference_usd)]],
    )  # fmt: skip
    latency = _table(
        ["group", "calls", "p50 s", "p95 s", "ttft p50 s"],
        [
            [f"{x.key} ({x.group})", str(x.calls), f"{x.p50_s:.2f}", f"{x.p95_s:.2f}",
             "-" if x.ttft_p50_s is None else f"{x.ttft_p50_s:.2f}"]
            for x in r.latency
        ],
    )  # fmt: skip
    risk = _table(
        ["measure", "value"],
        [
            ["calls kept local because of sensitive content", str(k.sensitive_local_calls)],
            ["calls kept local by --local-only", str(k.local_only_calls)],
            ["prompt bytes that stayed on the machine", f"{k.bytes_kept_local:,}"],
            ["of which sensitive", f"{k.sensitive_bytes_kept:,}"],
            ["prompt bytes sent to the cloud", f"{k.bytes_sent:,}"],
            ["values redacted before sending", f"{k.redactions} in {k.redacted_calls} call(s)"],
            ["calls recorded before bytes were kept", str(k.unmeasured_calls)],
        ],
    )
    delivery = _table(
        ["local model", "bytes pulled", "disk bytes", "months held", "cost", ""],
        [
            [d.model, f"{d.bytes_pulled:,}", f"{d.disk_bytes:,}", f"{d.held_months:.2f}",
             usd(d.usd), d.note]
            for d in r.delivery
        ],
    )  # fmt: skip
    images = "".join(
        f'<img class="chart" alt="{html.escape(title)}" src="data:image/png;base64,{data}">'
        for title, data in charts(r)
    )
    card_html = "".join(
        f'<div class="card">{html.escape(label)}<b>{html.escape(value)}</b></div>'
        for label, value in cards
    )
    empty = "" if r.calls else "<p>No model calls recorded in this period.</p>"
    p = r.prices
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tiercode ROI report</title>
<style>{_CSS}</style></head><body>
<h1>tiercode ROI report</h1>
<p class="note">From {html.escape(period)}: {r.runs} run(s), {r.calls} model call(s).{sim}</p>
{empty}<div class="cards">{card_html}</div>
<h2>Cost per inference</h2>{tiers}
<p class="note">Local cost is an energy estimate; model delivery is each local model's download
(at ${p.usd_per_gb_pulled}/GB when pulled in the period) and disk (${p.usd_per_gb_month}/GB-month),
spread over the period's local calls.</p>{delivery}
<h2>Latency</h2>{latency}
<h2>Risk reduction</h2>{risk}
<h2>Charts</h2>{images}
</body></html>
"""
