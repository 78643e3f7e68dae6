"""Results files: the JSON of a run, its markdown table, and the differences between two.

A run is stored as `<dir>/<run_id>.json` (`evals/` in tiercode's home unless `--out`), with
the per-task records beside the per-policy figures so that any figure can be recomputed
and any disagreement traced to a task.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from tiercode.agent.pricing import usd
from tiercode.agent.state import Tier
from tiercode.evals import live, metrics, routing_report
from tiercode.evals.policy import is_live
from tiercode.evals.records import PolicyOutcome, task_from_dict
from tiercode.tools.errors import ConfigError


def default_dir(home: Path) -> Path:
    return home / "evals"


def write_json(data: dict[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{data['run_id']}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    tmp.replace(path)
    return path


def load(ref: str, out_dir: Path) -> dict[str, Any]:
    """A run by id (looked up in the results directory `out_dir`) or by path to its JSON."""
    path = Path(ref)
    if not path.suffix:
        path = out_dir / f"{ref}.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"no eval run '{ref}' (looked for {path})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not an eval results file ({exc})") from None
    if "policies" not in data or "run_id" not in data:
        raise ConfigError(f"{path} is not an eval results file (no run_id/policies)")
    return data


def money(value: str | Decimal) -> str:
    """Eval sums are small: four decimals below a dollar, so policies can be told apart."""
    amount = Decimal(value)
    return f"${amount:.4f}" if abs(amount) < 1 else usd(amount)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, places: int = 2) -> str:
    return "-" if value is None else f"{value:.{places}f}"


def markdown(data: dict[str, Any]) -> str:
    """One row per policy; money labelled simulated when priced as a stand-in."""
    sim = " (simulated)" if data.get("simulated") else ""
    lines = [
        f"### {data['suite']} — run `{data['run_id']}` ({data['tasks_done']}/"
        f"{data['tasks_total']} tasks, {data['status']})",
        "",
        f"Cloud priced as `{data['price_model']}`{sim}. "
        f"Counterfactual = the same calls' tokens at cloud prices. {data.get('cascade', '')}",
        "",
        "| policy | pass@1 | 95% interval | passed | false done | cloud spend "
        "| all-cloud counterfactual | answered locally | calls local | local tokens "
        "| escalations | p50 s | p95 s | AUROC | ECE |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, m in data["policies"].items():
        cal = m["calibration"]["confidence"]
        interval = metrics.wilson(m["passed"], m["tasks"])
        shown = f"{_pct(interval[0])}–{_pct(interval[1])}" if interval else "-"
        lines.append(
            f"| {name} | {_pct(m['pass_rate'])} | {shown} | {m['passed']}/{m['tasks']} "
            f"| {m.get('false_done', '-')} "
            f"| {money(m['cloud_usd'])} | {money(m['counterfactual_usd'])} "
            f"| {_pct(m.get('local_answer_share'))} | {_pct(m['local_step_share'])} "
            f"| {_pct(m['local_token_share'])} "
            f"| {m['escalations']} | {_num(m['latency_p50_s'], 1)} | {_num(m['latency_p95_s'], 1)} "
            f"| {_num(cal['auroc'])} | {_num(cal['ece'])} |"
        )
    if notes := paired(data):
        lines += ["", *notes]
    if checked := live_vs_replay(data):
        lines += ["", *checked]
    analysis = routing_report.analyse(data)
    if data.get("tasks"):
        lines += ["", *routing_report.routers(analysis)]
        if cv := routing_report.cross_validated(analysis):
            lines += ["", *cv]
    if verdict := best_auto(data, analysis):
        lines += ["", verdict]
    return "\n".join(lines) + "\n"


def readme_table(data: dict[str, Any]) -> str:
    """The short table the README quotes for a run, rendered from its results file, so a
    test can hold the README to the committed figures (`tests/test_readme_results.py`)."""
    lines = [
        "| policy | passed | 95 % interval | false done | cloud spend | p50 s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    cloud = data["policies"].get(Tier.CLOUD)
    for name, m in data["policies"].items():
        low, high = metrics.wilson(m["passed"], m["tasks"]) or (0.0, 0.0)
        spend = money(m["cloud_usd"])
        if cloud and name != Tier.CLOUD and Decimal(cloud["cloud_usd"]) > 0:
            share = 100 * Decimal(m["cloud_usd"]) / Decimal(cloud["cloud_usd"])
            spend += f" ({share:.1f} % of cloud)"
        lines.append(
            f"| {name} | {m['passed']}/{m['tasks']} | {100 * low:.0f}–{100 * high:.0f} % "
            f"| {m.get('false_done', '-')} | {spend} | {m['latency_p50_s']:.0f} |"
        )
    return "\n".join(lines) + "\n"


MIN_VERDICT_TASKS = 20
"""Fewer tasks than this, or a partial run, get figures but no verdict on `auto`."""


def paired(data: dict[str, Any]) -> list[str]:
    """Each replayed auto policy against cloud on the same tasks: an exact McNemar test
    (a live twin is the same policy measured again: `live_vs_replay` covers it)."""
    tasks = data.get("tasks") or []
    if not tasks or Tier.CLOUD not in data["policies"]:
        return []
    out = []
    for name in (n for n in data["policies"] if n.startswith("auto") and not is_live(n)):
        both = [
            t["outcomes"] for t in tasks if name in t["outcomes"] and Tier.CLOUD in t["outcomes"]
        ]
        test = metrics.mcnemar(
            [o[name]["passed"] for o in both], [o[Tier.CLOUD]["passed"] for o in both]
        )
        out.append(
            f"{name} against cloud on {len(both)} tasks: {test['only_a']} passed only under "
            f"{name}, {test['only_b']} only under cloud (exact McNemar p = {test['p']:.2f})."
        )
    return out


def live_vs_replay(data: dict[str, Any]) -> list[str]:
    """Each live `auto` row against its replayed twin (`evals/live.py`); [] without any."""
    found = live.compare([task_from_dict(t) for t in data.get("tasks") or []])
    if not found:
        return []
    lines = [
        "#### Live against replayed `auto`",
        "",
        "A replayed `auto:T` row is derived from one recorded answer per tier; its `live` "
        "twin ran the cascade with model calls of its own (the local answer and its "
        "self-check, then the cloud if the router escalated). The two agree where each tier "
        "answered alike every time it was asked. Route: stayed local or escalated.",
        "",
        "| policy | tasks | same pass/fail | same route "
        "| cloud spend replayed | cloud spend live |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for a in found:
        lines.append(
            f"| {a.policy} | {a.tasks} | {a.same_passed}/{a.tasks} | {a.same_route}/{a.tasks} "
            f"| {money(a.replayed_usd)} | {money(a.live_usd)} |"
        )
    lines.append("")
    if not any(a.differences for a in found):
        return [*lines, "Live and replayed agree on every task."]
    for a in (a for a in found if a.differences):
        lines.append(
            f"Differences under {a.policy} ({len(a.differences)}): "
            + "; ".join(
                f"{d.task_id} (replayed {_how(d.replayed)}; live {_how(d.live)})"
                for d in a.differences
            )
            + "."
        )
    return lines


def _how(o: PolicyOutcome) -> str:
    route = "escalated" if live.escalated(o) else "local"
    score = f", confidence {o.confidence[0][0]:.2f}" if o.confidence else ""
    return f"{'passed' if o.passed else 'failed'}, {route}{score}"


def best_auto(data: dict[str, Any], analysis: routing_report.Analysis | None = None) -> str:
    """Does `auto` match the cloud's pass rate at no more than half its spend? With both
    baselines recorded, the threshold is cross-validated (`routing_report.verdict`); else
    the `auto` rows (live twins aside) are compared, and picking among several is marked
    in-sample."""
    pol = data["policies"]
    cloud = pol.get(Tier.CLOUD)
    if cloud and (data.get("status") != "complete" or cloud["tasks"] < MIN_VERDICT_TASKS):
        why = "a partial run" if data.get("status") != "complete" else f"{cloud['tasks']} tasks"
        return f"No verdict on auto against cloud from {why} (at least {MIN_VERDICT_TASKS} needed)."
    analysis = analysis or routing_report.analyse(data)
    if cloud and (cross_validated := routing_report.verdict(analysis)):
        return cross_validated
    autos = [
        (n, m)
        for n, m in pol.items()
        if n.startswith("auto") and not is_live(n) and m["pass_rate"] is not None
    ]
    if not cloud or cloud["pass_rate"] is None or not autos or Decimal(cloud["cloud_usd"]) == 0:
        return ""
    cloud_usd = Decimal(cloud["cloud_usd"])
    picked = " (picked among these on the same tasks: in-sample)" if len(autos) > 1 else ""
    matching = [(n, m) for n, m in autos if m["pass_rate"] >= cloud["pass_rate"]]
    if matching:
        name, m = min(matching, key=lambda nm: Decimal(nm[1]["cloud_usd"]))
        share = Decimal(m["cloud_usd"]) / cloud_usd
        half = "yes" if share <= Decimal("0.5") else "no"
        return (
            f"Cheapest auto policy at the cloud pass rate ({_pct(cloud['pass_rate'])}): {name}"
            f"{picked} with {_pct(m['pass_rate'])} at {_pct(float(share))} of cloud spend "
            f"— at most half of cloud spend: {half}."
        )
    name, m = max(autos, key=lambda nm: (nm[1]["pass_rate"], -Decimal(nm[1]["cloud_usd"])))
    share = Decimal(m["cloud_usd"]) / cloud_usd
    return (
        f"No auto policy reaches the cloud pass rate ({_pct(cloud['pass_rate'])}); the best is "
        f"{name}{picked} with {_pct(m['pass_rate'])} at {_pct(float(share))} of cloud spend."
    )


def write_markdown(data: dict[str, Any], out_dir: Path) -> Path:
    path = out_dir / f"{data['run_id']}.md"
    path.write_text(markdown(data))
    return path


_FIELDS = (
    ("pass_rate", "pass@1", "pct"),
    ("cloud_usd", "cloud spend", "usd"),
    ("counterfactual_usd", "all-cloud counterfactual", "usd"),
    ("local_answer_share", "answered locally", "pct"),
    ("local_step_share", "calls local", "pct"),
    ("local_token_share", "local tokens", "pct"),
    ("escalations", "escalations", "int"),
    ("latency_p50_s", "p50 latency s", "num"),
    ("latency_p95_s", "p95 latency s", "num"),
)


def _show(value: Any, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "pct":
        return _pct(value)
    if kind == "usd":
        return money(value)
    if kind == "int":
        return str(value)
    return f"{value:.2f}"


def _delta(a: Any, b: Any, kind: str) -> str:
    if a is None or b is None:
        return ""
    if kind == "usd":
        change = Decimal(b) - Decimal(a)
        return f" ({'+' if change >= 0 else '-'}{money(abs(change))})"
    d = float(b) - float(a)
    if kind == "pct":
        return f" ({d * 100:+.1f} pts)"
    return f" ({d:+g})" if kind == "int" else f" ({d:+.2f})"


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flat(v, key + "."))
        else:
            out[key] = v
    return out


def compare(a: dict[str, Any], b: dict[str, Any]) -> str:
    """What differs between two runs: what they were pinned to, each policy's figures, and
    the tasks whose outcome flipped."""
    lines = [f"A = {a['run_id']} ({a['suite']}), B = {b['run_id']} ({b['suite']})"]
    pa, pb = _flat(a.get("pins", {})), _flat(b.get("pins", {}))
    changed = [k for k in sorted(set(pa) | set(pb)) if pa.get(k) != pb.get(k)]
    lines.append("pins: identical" if not changed else "pins that differ:")
    lines += [f"  {k}: {pa.get(k)!r} → {pb.get(k)!r}" for k in changed]
    for name in dict.fromkeys([*a["policies"], *b["policies"]]):
        ma, mb = a["policies"].get(name), b["policies"].get(name)
        if ma is None or mb is None:
            lines.append(f"policy {name}: only in {'B' if ma is None else 'A'}")
            continue
        lines.append(f"policy {name}:")
        for key, label, kind in _FIELDS:
            va, vb = ma.get(key), mb.get(key)
            mark = "" if va == vb else _delta(va, vb, kind)
            lines.append(f"  {label:<26} {_show(va, kind):>10} → {_show(vb, kind):<10}{mark}")
        lines += _flips(a, b, name)
    return "\n".join(lines) + "\n"


def _flips(a: dict[str, Any], b: dict[str, Any], policy: str) -> list[str]:
    def passed(data: dict[str, Any]) -> dict[str, bool]:
        return {
            t["task_id"]: t["outcomes"][policy]["passed"]
            for t in data.get("tasks", [])
            if policy in t["outcomes"]
        }

    ra, rb = passed(a), passed(b)
    common = sorted(set(ra) & set(rb))
    gained = [t for t in common if rb[t] and not ra[t]]
    lost = [t for t in common if ra[t] and not rb[t]]
    if not gained and not lost:
        return [f"  same outcome on all {len(common)} shared tasks"]
    return [
        f"  now pass ({len(gained)}): {', '.join(gained[:10])}{' …' if len(gained) > 10 else ''}",
        f"  now fail ({len(lost)}): {', '.join(lost[:10])}{' …' if len(lost) > 10 else ''}",
    ]
