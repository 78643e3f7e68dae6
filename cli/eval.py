"""`tiercode eval`: run a suite under several policies, show a run, compare two runs.

`register(app)` adds the `eval` group to the main command: `tiercode eval --suite ...`
runs a suite, `tiercode eval show RUN` and `tiercode eval compare RUN_A RUN_B` read
stored runs. The table goes to stdout, progress and file paths to stderr; failures are
one line with an `ExitCode`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tiercode.agent import config
from tiercode.cli.guard import guarded, progress
from tiercode.evals import extras, report
from tiercode.evals import policy as policies
from tiercode.evals.sampling import SAMPLING
from tiercode.tools.errors import ConfigError, ExitCode


def _results(out: Path | None) -> Path:
    """`--out`, or the results directory in the home `TIERCODE_HOME` names."""
    return out or report.default_dir(config.home())


Suite = Annotated[str | None, typer.Option(help="humaneval, repo or realcode (required to run).")]
PolicyOpt = Annotated[str, typer.Option("--policy", help="Comma list: local, cloud, auto, auto:X.")]
Sweep = Annotated[bool, typer.Option("--sweep", help="Add auto:T for each sweep threshold.")]
Thresholds = Annotated[str, typer.Option(help="Sweep thresholds, e.g. 0.3,0.5,0.7.")]
Limit = Annotated[int | None, typer.Option(help="Run only the first N tasks.")]
Seed = Annotated[
    int | None,
    typer.Option(help="Shuffle tasks with this seed before --limit; seeds the sampled calls."),
]
Workers = Annotated[int, typer.Option(help="Worker processes; each loads its own models.")]
Executor = Annotated[str, typer.Option("--executor", help="local (process pool) or ray.")]
RayAddress = Annotated[str | None, typer.Option(help="Ray cluster to join; default local.")]
Out = Annotated[
    Path | None, typer.Option(help="Results directory; default ~/.config/tiercode/evals.")
]
Sampling = Annotated[str | None, typer.Option(help="reference (plain greedy) or agent.")]
LocalModel = Annotated[str | None, typer.Option(help="Catalog name or GGUF path (local).")]
CloudModel = Annotated[str | None, typer.Option(help="Cloud model name (or stand-in GGUF).")]
Only = Annotated[list[str] | None, typer.Option("--task", help="Run only this task (repeatable).")]
Resume = Annotated[str | None, typer.Option(help="Continue this run id (same options).")]
Split = Annotated[str, typer.Option(help="Only this split: dev (tune) or heldout (report).")]
Live = Annotated[
    bool, typer.Option("--live", help="humaneval: also run each auto policy live, to compare.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the results JSON to stdout.")]


def run_suite(
    suite: str, policy: str, sweep: bool, thresholds: str, limit: int | None,
    seed: int | None, workers: int, executor_name: str, ray_address: str | None,
    out: Path | None, sampling: str | None, local_model: str | None, cloud_model: str | None,
    as_json: bool, only: list[str] | None = None, resume: str | None = None, split: str = "",
    live: bool = False,
) -> None:  # fmt: skip
    from tiercode.evals import executor, harness  # the agent's graph: only when running

    if workers < 1:
        raise ConfigError("--workers: must be at least 1")
    if limit is not None and limit < 1:
        raise ConfigError("--limit: must be at least 1")
    if sampling is not None and sampling not in SAMPLING:
        raise ConfigError(f"--sampling: must be one of {', '.join(SAMPLING)}")
    if executor_name not in executor.EXECUTORS:
        raise ConfigError(f"--executor: unknown executor '{executor_name}' (use local or ray)")
    executor.suite_module(suite)
    harness.check_live(suite, live)
    extras.require(suite)
    home = config.home()
    flags = {"local_model": local_model, "cloud_model": cloud_model, "seed": seed}
    settings, notes = config.load(None, flags, home)
    for note in notes:
        progress(f"tiercode: {note}")
    chosen = policies.parse(
        policy, default_threshold=settings.auto_threshold, sweep=sweep, thresholds=thresholds,
        live=live,
    )  # fmt: skip
    req = harness.Request(
        suite=suite, policies=chosen, settings=settings, limit=limit, seed=seed,
        workers=workers, executor=executor_name, sampling=sampling, out_dir=out,
        ray_address=ray_address, only=tuple(only or ()), run_id=resume or "",
        resume=resume is not None, split=split, home=home,
    )  # fmt: skip
    try:
        data, paths = harness.run(req, progress)
    except KeyboardInterrupt:
        progress(f"tiercode: partial results were written; --resume {req.run_id} continues")
        raise
    for kind, path in paths.items():
        progress(f"{kind}: {path}")
    print(json.dumps(data, indent=1) if as_json else report.markdown(data), end="")


def register(app: typer.Typer) -> None:
    """Add `tiercode eval` (run, show, compare) to the main command."""
    group = typer.Typer(
        name="eval",
        help="Compare routing policies on cost and quality (humaneval, repo tasks).",
        invoke_without_command=True,
        no_args_is_help=False,
    )

    @group.callback()
    @guarded
    def main(
        ctx: typer.Context,
        suite: Suite = None,
        policy: PolicyOpt = "local,cloud,auto",
        sweep: Sweep = False,
        thresholds: Thresholds = "",
        limit: Limit = None,
        seed: Seed = None,
        workers: Workers = 1,
        executor_name: Executor = "local",
        ray_address: RayAddress = None,
        out: Out = None,
        sampling: Sampling = None,
        local_model: LocalModel = None,
        cloud_model: CloudModel = None,
        as_json: AsJson = False,
        only: Only = None,
        resume: Resume = None,
        split: Split = "",
        live: Live = False,
    ) -> None:
        """Run a suite under each policy: JSON, a markdown table and a cost/quality plot."""
        if ctx.invoked_subcommand is not None:
            return
        if suite is None:  # a bare `tiercode eval` must not start an hours-long run
            typer.echo(ctx.get_help())
            raise typer.Exit(int(ExitCode.USAGE))
        run_suite(
            suite, policy, sweep, thresholds, limit, seed, workers, executor_name,
            ray_address, out, sampling, local_model, cloud_model, as_json, only, resume, split,
            live,
        )  # fmt: skip

    @group.command("show")
    @guarded
    def show(
        run: Annotated[str, typer.Argument(help="Run id or path to its JSON.")],
        out: Out = None,
        plot_path: Annotated[Path | None, typer.Option("--plot", help="Also write a PNG.")] = None,
    ) -> None:
        """Print a stored run's table (and redraw its plot)."""
        data = report.load(run, _results(out))
        if plot_path is not None:
            from tiercode.evals import plot

            extras.require()
            progress(f"plot: {plot.frontier(data, plot_path)}")
        print(report.markdown(data), end="")

    @group.command("resweep")
    @guarded
    def resweep_cmd(
        run: Annotated[str, typer.Argument(help="A humaneval run with local and cloud.")],
        thresholds: Annotated[str, typer.Option(help="Thresholds to add, e.g. 0.9,0.93.")],
        out: Out = None,
    ) -> None:
        """Add auto:T policies to a finished HumanEval run from its recorded answers."""
        from tiercode.evals import harness, resweep

        values = [p.threshold for p in policies.parse(
            "", default_threshold=0.0, sweep=True, thresholds=thresholds)]  # fmt: skip
        data = resweep.resweep(report.load(run, _results(out)), values)
        for kind, path in harness.write(data, _results(out)).items():
            progress(f"{kind}: {path}")
        print(report.markdown(data), end="")

    @group.command("compare")
    @guarded
    def compare(
        run_a: Annotated[str, typer.Argument(help="Run id or path to its JSON.")],
        run_b: Annotated[str, typer.Argument(help="Run id or path to its JSON.")],
        out: Out = None,
    ) -> None:
        """Print what differs between two runs: pins, each policy's figures, flipped tasks."""
        results = _results(out)
        print(report.compare(report.load(run_a, results), report.load(run_b, results)), end="")

    app.add_typer(group)
