"""`tiercode usage`: the ledger summarised by day, model, tier or run.

Cloud spend and local energy are separate columns, and the all-cloud counterfactual
sits beside them so the saving is visible. Output is plain text (no colour), so it
reads the same in a terminal, a pipe and CI; `--json` is for machines. `--watch` keeps
reading the ledger while runs happen elsewhere (CI, other terminals): in a terminal it
redraws, in a pipe it prints each new state once.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

import typer

from tiercode.agent.ledger import Ledger
from tiercode.agent.pricing import usd

SIMULATED = "(simulated price)"
_MONEY = ("cloud_usd", "local_usd", "counterfactual_usd")
_COUNTS = ("calls", "prompt_tokens", "completion_tokens")


class By(StrEnum):
    day = "day"
    model = "model"
    tier = "tier"
    run = "run"


def _totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The bottom line is the sum of the rows shown, so the two can never disagree."""
    out: dict[str, Any] = {k: sum((r[k] for r in rows), 0) for k in _COUNTS}
    out.update({k: sum((r[k] for r in rows), Decimal(0)) for k in _MONEY})
    out["simulated"] = any(r["simulated"] for r in rows)
    return out


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in row.items()}


def _table(by: str, rows: list[dict[str, Any]], total: dict[str, Any]) -> str:
    header = [by, "calls", "prompt", "completion", "cloud", "local energy", "all-cloud", ""]

    def cells(label: str, r: dict[str, Any]) -> list[str]:
        note = SIMULATED if r["simulated"] else ""
        return [label, *(str(r[k]) for k in _COUNTS), *(usd(r[k]) for k in _MONEY), note]

    lines = [header, *(cells(r["key"], r) for r in rows), cells("total", total)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]

    def fmt(line: list[str]) -> str:
        parts = [line[0].ljust(widths[0])]
        parts += [c.rjust(w) for c, w in zip(line[1:-1], widths[1:-1], strict=True)]
        return "  ".join([*parts, line[-1]]).rstrip()

    rule = "-" * len(fmt(lines[0]))
    return "\n".join([fmt(lines[0]), rule, *map(fmt, lines[1:-1]), rule, fmt(lines[-1])])


def run_calls(ledger: Ledger, run_id: str) -> list[dict[str, Any]]:
    """Every call of one run with its tier, reason, tokens, cost, confidence and outcome."""
    outcomes = {(o.step, o.attempt): o for o in ledger.outcomes(run_id)}
    rows = []
    for c in ledger.calls(run_id):
        o = outcomes.get((c.step, c.attempt))
        rows.append(
            {
                "step": c.step,
                "attempt": c.attempt,
                "tier": c.tier,
                "model": c.model,
                "prompt_tokens": c.prompt_tokens,
                "completion_tokens": c.completion_tokens,
                "latency_s": round(c.latency_s, 3),
                "ttft_s": None if c.ttft_s is None else round(c.ttft_s, 3),
                "cost_usd": c.cost_usd,
                "simulated": c.simulated,
                "self_confidence": o.self_confidence if o else None,
                "logprob_confidence": o.logprob_confidence if o else None,
                "success": o.success if o else None,
                "reason": c.route_reason,
            }
        )
    return rows


def _run_table(rows: list[dict[str, Any]]) -> str:
    def conf(v: float | None) -> str:
        return "-" if v is None else f"{v:.2f}"

    lines = ["step try tier   tokens      latency  cost          self  logprob  ok   reason"]
    for r in rows:
        ok = "-" if r["success"] is None else "yes" if r["success"] else "no"
        cost = usd(r["cost_usd"]) + ("*" if r["simulated"] else "")
        tokens = f"{r['prompt_tokens']}+{r['completion_tokens']}"
        lines.append(
            f"{r['step']:<4} {r['attempt']:<3} {r['tier']:<6} {tokens:<11} "
            f"{r['latency_s']:>6.1f}s  {cost:<13} {conf(r['self_confidence']):<5} "
            f"{conf(r['logprob_confidence']):<8} {ok:<4} {r['reason']}"
        )
    if any(r["simulated"] for r in rows):
        lines.append(f"* {SIMULATED}")
    return "\n".join(lines)


def _render(ledger: Ledger, by: By, run: str | None, as_json: bool) -> str | None:
    """The text `usage` prints; None when `run` has no calls (yet)."""
    if run is not None:
        calls = run_calls(ledger, run)
        if not calls:
            return None
        return json.dumps([_jsonable(r) for r in calls], indent=2) if as_json else _run_table(calls)
    rows = ledger.summary(by.value)
    total = _totals(rows)
    if as_json:
        payload = {"by": by.value, "rows": [_jsonable(r) for r in rows], "totals": _jsonable(total)}
        return json.dumps(payload, indent=2)
    return _table(by.value, rows, total) if rows else "No model calls recorded yet."


def _watch(by: By, run: str | None, as_json: bool, interval: float) -> None:
    """Re-read the ledger every `interval` seconds until Ctrl-C. A terminal is redrawn in
    place; a pipe gets each changed state once, so a CI log does not fill with repeats.
    With `--json`, each state is one JSON line."""
    redraw = sys.stdout.isatty() and not as_json
    last = None
    with Ledger() as ledger:
        try:
            while True:
                text = _render(ledger, by, run, as_json)
                if text is None and not as_json:
                    text = f"No calls recorded for run '{run}' yet."
                if text is not None and text != last:
                    stamp = datetime.now().strftime("%H:%M:%S")
                    head = f"tiercode usage at {stamp}, every {interval:g}s (Ctrl-C stops)"
                    if as_json:
                        typer.echo(json.dumps(json.loads(text)))
                    elif redraw:
                        typer.echo("\x1b[H\x1b[2J" + head + "\n\n" + text)
                    else:
                        typer.echo(f"{head}\n{text}\n")
                    last = text
                time.sleep(interval)
        except KeyboardInterrupt:
            return


def usage(
    by: Annotated[By, typer.Option("--by", help="Group by day, model, tier or run.")] = By.run,
    run: Annotated[str | None, typer.Option("--run", help="Show each call of one run.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    watch: Annotated[
        bool, typer.Option("--watch", help="Keep refreshing from the ledger until Ctrl-C.")
    ] = False,
    interval: Annotated[
        float, typer.Option(min=0.1, help="Seconds between refreshes with --watch.")
    ] = 2.0,
) -> None:
    """Show model calls, tokens, cloud spend, local energy and the all-cloud counterfactual."""
    if watch:
        _watch(by, run, as_json, interval)
        return
    with Ledger() as ledger:
        text = _render(ledger, by, run, as_json)
    if text is None:
        typer.echo(f"tiercode: no calls recorded for run '{run}'", err=True)
        raise typer.Exit(2)
    typer.echo(text)


def register(app: typer.Typer) -> None:
    """Add the `usage` command to the main CLI."""
    app.command("usage")(usage)
