"""The report's router sections: RouteLLM's metrics for every recorded score beside the
random and oracle routers, and the `auto` threshold fit by cross-validation.

Both are computed when the report is rendered, from the per-task records in the results
file, so any stored run (old ones included) shows them and nothing else needs storing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tiercode.agent.state import Tier
from tiercode.evals import crossval, routing
from tiercode.evals.records import task_from_dict


@dataclass(frozen=True)
class Analysis:
    """A run's router figures, computed once per report (the bootstrap is the slow part)."""

    suite: str
    missing: list[str]
    """The baselines the run lacks, which the router figures need."""
    routers: dict[str, Any] | None
    cv: dict[str, Any] | None


def analyse(data: dict[str, Any]) -> Analysis:
    results = [task_from_dict(t) for t in data.get("tasks") or []]
    return Analysis(
        data.get("suite", ""),
        [str(p) for p in Tier if p not in data["policies"]],
        routing.routers(results),
        crossval.summary(routing.cases(results)),
    )


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _scored_by(suite: str) -> str:
    if suite == "humaneval":
        return (
            "Each problem has one recorded answer per tier; a router sends the problems "
            "whose local score is below its threshold to the cloud answer."
        )
    return (
        "Each task is scored by its local run's first confidence; a task below the "
        "threshold takes the cloud run's outcome. That is a task-level cascade simulated "
        "from the two runs, not the step-level `auto` policy, whose live rows are below."
    )


def routers(a: Analysis) -> list[str]:
    """The router table, or one line saying why the run allows none."""
    found = a.routers
    if found is None:
        why = (
            f"this run has no {' or '.join(a.missing)} policy" if a.missing else "no task has both"
        )
        return [
            "Router metrics (PGR, APGR, CPT) need the local and cloud baselines on the same "
            f"tasks: {why}."
        ]
    lines = [
        f"#### Routers on the recorded outcomes (RouteLLM's metrics, {found['n']} tasks)",
        "",
        f"Local passes {_pct(found['local'])} and cloud {_pct(found['cloud'])} of the same "
        f"tasks. PGR is the share of that gap a router recovers; APGR its area against the "
        f"share of tasks sent to the cloud, over every threshold between recorded scores; "
        f"CPT(x) the smallest such share that recovers x of the gap. Random is the exact "
        f"expectation of sending a random share; oracle knows both outcomes (it can pass "
        f"more than cloud, so its PGR can exceed 1). "
        f"{_scored_by(a.suite)}",
        "",
    ]
    if found["cloud"] <= found["local"]:
        return [*lines, "Local passes as many tasks as cloud: no gap to recover, no PGR."]
    lines += ["| router | APGR | CPT(50%) | CPT(80%) |", "|---|---:|---:|---:|"]
    for m in found["routers"]:
        lines.append(f"| {m.router} | {_num(m.apgr)} | {_pct(m.cpt50)} | {_pct(m.cpt80)} |")
    if found["live"]:
        lines += [
            "",
            "| policy | sent to cloud | pass@1 | PGR | random router at that share |",
            "|---|---:|---:|---:|---:|",
        ]
        for row in found["live"]:
            lines.append(
                f"| {row['policy']} | {_pct(row['cloud_share'])} | {_pct(row['pass_rate'])} "
                f"| {_num(row['pgr'])} | {_pct(row['random_pass_rate'])} |"
            )
    return lines


def _interval(e: crossval.Estimate) -> str:
    return f"{_pct(e.low)}–{_pct(e.high)}"


def _threshold(t: float) -> str:
    return {float("-inf"): "none sent", float("inf"): "all sent"}.get(t, f"{t:.3f}")


def cross_validated(a: Analysis) -> list[str]:
    """The threshold fit on k-1 folds and scored on the held-out one, aggregated."""
    cv = a.cv
    if cv is None:
        return []
    spend = cv["cloud_usd"] > 0
    rows = [
        ("auto, threshold fit on the other folds: pass@1", cv["pass_rate"]),
        ("cloud pass@1, same tasks", cv["cloud_pass_rate"]),
        ("tasks sent to the cloud", cv["cloud_share"]),
        *([("share of all-cloud spend", cv["spend_share"])] if spend else []),
    ]
    diff = cv["difference"]
    flat = any(e.low == e.high for _, e in rows)
    return [
        f"#### `auto` threshold by {cv['folds']}-fold cross-validation ({cv['n']} tasks)",
        "",
        "Each fold is routed by the lowest threshold whose pass count on the other folds is "
        "at least cloud's there, so no task is scored by a threshold fit on it. Intervals: "
        f"95 % bootstrap over tasks (seed {cv['seed']}, thresholds held fixed)"
        f"{'; where every task had the same outcome it is a single point' if flat else ''}. "
        f"Thresholds the folds were given: {', '.join(map(_threshold, cv['thresholds']))}.",
        "",
        "| held-out figure | value | 95 % interval |",
        "|---|---:|---:|",
        *(f"| {label} | {_pct(e.value)} | {_interval(e)} |" for label, e in rows),
        f"| difference, auto − cloud | {100 * diff.value:+.1f} pts "
        f"| {100 * diff.low:+.1f} to {100 * diff.high:+.1f} pts |",
    ]


def verdict(a: Analysis) -> str:
    """The verdict on `auto` from the cross-validated threshold; empty when the run cannot
    be cross-validated. The caller withholds it from partial runs and small n."""
    cv = a.cv
    if cv is None:
        return ""
    diff, spend = cv["difference"], cv["spend_share"]
    cost = (
        f"at {_pct(spend.value)} of cloud spend ({_interval(spend)}) — at most half of cloud "
        f"spend: {'yes' if spend.value <= 0.5 else 'no'}"
        if cv["cloud_usd"] > 0
        else f"sending {_pct(cv['cloud_share'].value)} of tasks to the cloud"
    )
    if diff.low > 0:
        quality = "better than cloud"
    elif diff.high < 0:
        quality = "worse than cloud"
    else:
        quality = "no difference from cloud detected"
    return (
        f"Verdict, threshold cross-validated: auto {_pct(cv['pass_rate'].value)} against "
        f"cloud {_pct(cv['cloud_pass_rate'].value)} ({quality}: the difference's interval is "
        f"{100 * diff.low:+.1f} to {100 * diff.high:+.1f} pts) {cost}."
    )
