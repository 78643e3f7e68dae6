"""`tiercode report`: the ROI of tiering from the ledger, as text, JSON or an HTML page
with charts (cost per inference, latency, risk reduction)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer

from tiercode.agent.ledger import Ledger
from tiercode.agent.pricing import usd
from tiercode.agent.roi import DeliveryPrices, Report, build


def parse_since(text: str) -> datetime:
    """An ISO date or date-time; without a zone it is UTC."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO date such as 2026-11-01") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _money(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise typer.BadParameter(f"{text!r} is not a number") from None
    if value < 0 or not value.is_finite():
        raise typer.BadParameter(f"{text!r} must be zero or more")
    return value


def text(r: Report) -> str:
    k = r.risk
    lines = [
        f"{r.runs} run(s), {r.calls} call(s) since {r.since or 'the first call'}"
        + (" (simulated cloud price)" if r.simulated else ""),
        "",
        "cost per inference:",
    ]
    for t in r.tiers:
        lines.append(
            f"  {t.tier:<6} {t.calls:>5} calls  {usd(t.per_inference_usd):>14}  (cloud "
            f"{usd(t.cloud_usd)}, energy {usd(t.energy_usd)}, delivery {usd(t.delivery_usd)})"
        )
    lines += [
        f"  all-cloud {r.calls:>2} calls  {usd(r.all_cloud_per_inference_usd):>14}",
        f"saving against all-cloud: {usd(r.saving_usd)} "
        f"(spent {usd(r.actual_usd)} of {usd(r.counterfactual_usd)})",
        "",
        "latency (p50 / p95 s):",
        *(f"  {x.key:<6} {x.group:<5} {x.p50_s:6.2f} / {x.p95_s:6.2f}" for x in r.latency),
        "",
        "risk reduction:",
        f"  sensitive calls kept local: {k.sensitive_local_calls}; "
        f"--local-only calls: {k.local_only_calls}",
        f"  prompt bytes kept local: {k.bytes_kept_local:,} "
        f"(sensitive {k.sensitive_bytes_kept:,}); sent: {k.bytes_sent:,}",
        f"  redactions: {k.redactions} in {k.redacted_calls} call(s)",
    ]
    return "\n".join(lines)


def report(
    since: Annotated[
        str | None, typer.Option("--since", help="Only calls from this ISO date or time (UTC).")
    ] = None,
    html_file: Annotated[
        Path | None, typer.Option("--html", help="Also write a self-contained HTML page here.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    usd_per_gb_pulled: Annotated[
        str, typer.Option(help="Transfer price of a model download, USD per GB.")
    ] = str(DeliveryPrices.usd_per_gb_pulled),
    usd_per_gb_month: Annotated[
        str, typer.Option(help="Disk price of a kept model, USD per GB-month.")
    ] = str(DeliveryPrices.usd_per_gb_month),
) -> None:
    """ROI of tiering: cost per inference, latency p50/p95 and risk reduction."""
    prices = DeliveryPrices(_money(usd_per_gb_pulled), _money(usd_per_gb_month))
    start = parse_since(since) if since else None
    with Ledger() as ledger:
        result = build(ledger, start, prices)
    if html_file is not None:
        from tiercode.agent.report_html import render

        html_file.write_text(render(result), encoding="utf-8")
        typer.echo(f"tiercode: wrote {html_file}", err=True)
    typer.echo(json.dumps(result.to_dict(), indent=2) if as_json else text(result))


def register(app: typer.Typer) -> None:
    """Add the `report` command to the main CLI."""
    app.command("report")(report)
