"""One eval run: load the suite, solve every task under every policy, write the results.

Task results are appended to `<run_id>.tasks.jsonl` as they arrive; the summary JSON and
markdown table are rewritten every few tasks (status `running`) and at the end with the
frontier plot (`complete`, or `partial` with the count of tasks done when the run is
stopped), so a long run never loses what it measured.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tiercode.agent import config
from tiercode.agent.config import Settings
from tiercode.evals import executor, metrics, pinning, plot, report
from tiercode.evals.policy import Policy
from tiercode.evals.records import TaskResult, task_from_dict, task_to_dict
from tiercode.evals.tiers import TierFactory, TierSpec, default_factory
from tiercode.tools.errors import ConfigError

Progress = Callable[[str], None]
SNAPSHOT_EVERY = 10
"""Rewrite the summary after this many tasks, so a killed run still leaves one."""


@dataclasses.dataclass
class Request:
    suite: str
    policies: list[Policy]
    settings: Settings
    limit: int | None = None
    seed: int | None = None
    workers: int = 1
    executor: str = "local"
    sampling: str | None = None
    """`reference` (plain greedy) or `agent`; None takes the suite's default."""
    out_dir: Path | None = None
    ray_address: str | None = None
    factory: TierFactory = default_factory
    run_id: str = ""
    plot: bool = True
    only: tuple[str, ...] = ()
    """Run just these task ids (before `limit`)."""
    split: str = ""
    """Run just the tasks of this split (`dev` or `heldout`), where the suite has one."""
    resume: bool = False
    """Continue run `run_id`: keep the tasks its stream already holds, run the rest."""
    home: Path = dataclasses.field(default_factory=config.home)
    """tiercode's home: results go under it unless `out_dir`, and workers get it."""


def select(req: Request) -> list[Any]:
    """The suite's tasks after `only`, `seed` and `limit`; an unknown id is an error."""
    tasks = executor.suite_module(req.suite).load(None, req.seed)
    if req.split:
        tasks = [t for t in tasks if getattr(t, "split", "") == req.split]
        if not tasks:
            raise ConfigError(f"--split: suite {req.suite} has no '{req.split}' tasks")
    if req.only:
        known = {executor.task_id(t) for t in tasks}
        unknown = [name for name in req.only if name not in known]
        if unknown:
            raise ConfigError(f"--task: no task {', '.join(unknown)} in suite {req.suite}")
        tasks = [t for t in tasks if executor.task_id(t) in req.only]
    return list(tasks[: req.limit] if req.limit else tasks)


def _resumed(req: Request, stream: Path, ids: list[str]) -> list[TaskResult]:
    """The finished tasks of the run being resumed; they must cover the same policies.
    A task that ended in an error (a crash, not a wrong answer) was not measured: it runs
    again."""
    if not req.run_id or not stream.exists():
        raise ConfigError(f"--resume: no task stream for run '{req.run_id}' ({stream})")
    lines = [line for line in stream.read_text().splitlines() if line.strip()]
    done = [
        r for r in map(task_from_dict, map(json.loads, lines)) if r.task_id in ids and not r.error
    ]
    names = {p.name for p in req.policies}
    if any(set(r.outcomes) != names for r in done):
        raise ConfigError(f"--resume: run '{req.run_id}' was made with other policies")
    return list({r.task_id: r for r in done}.values())


def _worker_settings(settings: Settings, workers: int) -> Settings:
    """Split the cores between workers rather than oversubscribing them."""
    if workers <= 1 or settings.local_threads:
        return settings
    return dataclasses.replace(settings, local_threads=max(1, (os.cpu_count() or 1) // workers))


def _cascade_note(suite: str, live: bool = False) -> str:
    if suite == "humaneval":
        note = (
            "auto outcomes are derived from one answer per tier per problem (greedy decoding "
            "makes each tier's answer independent of the threshold): a simulated cascade."
        )
        if live:
            note += " Each `live` row ran its cascade for real, with model calls of its own."
        return note
    return "Every policy ran the full agent live."


def check_live(suite: str, live: bool) -> None:
    """Live twins exist to check HumanEval's replayed `auto` rows; the other suites have
    none to check, since they run every policy live already."""
    if live and suite != "humaneval":
        raise ConfigError(
            f"--live: only for --suite humaneval (suite {suite} runs every policy live already)"
        )


@dataclasses.dataclass(frozen=True)
class Pricing:
    price_model: str
    simulated: bool


def pricing(req: Request) -> Pricing:
    """What cloud tokens are priced as; building the tiers starts nothing until a model is
    asked for, so this is cheap in the parent process."""
    import contextlib

    with contextlib.ExitStack() as stack:
        tiers = req.factory(req.settings, stack, req.home)
        return Pricing(tiers.price_model, tiers.simulated)


def build(
    req: Request, results: list[TaskResult], task_ids: list[str], status: str, started: str,
    sampling: str, price: Pricing, pins: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    order = {tid: i for i, tid in enumerate(task_ids)}  # the suite's order, not arrival's
    ordered = sorted(results, key=lambda r: order.get(r.task_id, len(order)))
    names = [p.name for p in req.policies]
    return {
        "schema": 1,
        "run_id": req.run_id,
        "suite": req.suite,
        "status": status,
        "started_at": started,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tasks_total": len(task_ids),
        "tasks_done": len(results),
        "config": {
            "policies": names,
            "limit": req.limit,
            "seed": req.seed,
            "only": list(req.only),
            "split": req.split,
            "resumed": req.resume,
            "workers": req.workers,
            "executor": req.executor,
            "sampling": sampling,
        },
        "price_model": price.price_model,
        "simulated": price.simulated,
        "cascade": _cascade_note(req.suite, any(p.live for p in req.policies)),
        "pins": pins,
        "policies": metrics.summarize_all(ordered, names),
        "tasks": [task_to_dict(r) for r in ordered],
    }


def write(
    data: dict[str, Any], out_dir: Path, with_plot: bool = True, warn: Progress = lambda _m: None
) -> dict[str, Path]:
    """JSON and table first; a plot that cannot be drawn (a broken matplotlib) is reported,
    not allowed to lose the results (`tiercode eval show RUN --plot` draws it later)."""
    paths = {
        "json": report.write_json(data, out_dir),
        "markdown": report.write_markdown(data, out_dir),
    }
    if with_plot and data["tasks_done"]:
        try:
            paths["plot"] = plot.frontier(data, out_dir / f"{data['run_id']}.png")
        except (ImportError, OSError, RuntimeError, ValueError) as exc:
            warn(f"tiercode: plot not written ({type(exc).__name__}: {exc})")
    return paths


def run(
    req: Request, progress: Progress = lambda _m: None
) -> tuple[dict[str, Any], dict[str, Path]]:
    """Run the request; returns the results and the files written. Raises TiercodeError
    for setup problems (unknown suite, missing model); Ctrl-C writes a partial report."""
    suite = executor.suite_module(req.suite)
    check_live(req.suite, any(p.live for p in req.policies))
    sampling = req.sampling or suite.SAMPLING
    req.run_id = (
        req.run_id or f"{req.suite}-{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:4]}"
    )
    out_dir = req.out_dir or report.default_dir(req.home)
    out_dir.mkdir(parents=True, exist_ok=True)
    tasks = select(req)
    ids = [executor.task_id(t) for t in tasks]
    spec = TierSpec(_worker_settings(req.settings, req.workers), req.home, req.factory, sampling)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    price = pricing(req)
    pins = pinning.pin(req.settings, cloud_is_endpoint=bool(req.settings.cloud_base_url))
    stream = out_dir / f"{req.run_id}.tasks.jsonl"
    results: list[TaskResult] = _resumed(req, stream, ids) if req.resume else []
    finished = {r.task_id for r in results}
    todo = [t for t in tasks if executor.task_id(t) not in finished]
    t0 = time.monotonic()

    def on_result(result: TaskResult) -> None:
        results.append(result)
        with stream.open("a") as fh:
            fh.write(json.dumps(task_to_dict(result)) + "\n")
        if len(results) % SNAPSHOT_EVERY == 0:
            snapshot = build(req, results, ids, "running", started, sampling, price, pins)
            write(snapshot, out_dir, with_plot=False)
        marks = " ".join(f"{n}={'✓' if o.passed else '✗'}" for n, o in result.outcomes.items())
        progress(
            f"[{len(results)}/{len(tasks)} {time.monotonic() - t0:.0f}s] {result.task_id}: "
            f"{marks}{' ERROR ' + result.error if result.error else ''}"
        )

    progress(f"run {req.run_id}: {len(tasks)} {req.suite} tasks × {len(req.policies)} policies "
             f"({len(todo)} to run), executor {req.executor}, {req.workers} worker(s), "
             f"sampling {sampling}")  # fmt: skip
    status = "partial"
    try:
        executor.run(req.executor, spec, req.suite, todo, req.policies, on_result,
                     req.workers, req.ray_address)  # fmt: skip
        status = "complete"
    finally:
        data = build(req, results, ids, status, started, sampling, price, pins)
        paths = write(data, out_dir, req.plot, progress)
    return data, paths
