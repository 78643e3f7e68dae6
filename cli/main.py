"""The `tiercode` command. Results go to stdout, diagnostics to stderr, and every
failure is one line with a documented exit code (see `ExitCode`)."""

from __future__ import annotations

import importlib.metadata
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from tiercode.agent import config
from tiercode.agent.llm.providers import PROVIDERS
from tiercode.cli import guard, report, setup, usage
from tiercode.cli.eval import register as register_eval
from tiercode.cli.guard import guarded
from tiercode.cli.output import Printer, output_format_of, terminal_safe
from tiercode.cli.progress import Progress
from tiercode.tools.errors import ConfigError, ExitCode, RepoError, TiercodeError

app = typer.Typer(
    name="tiercode",
    help="Agentic coding with tiered inference: a local GGUF for routine and sensitive work, "
    "a cloud model where it pays off.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"tiercode {importlib.metadata.version('tiercode')}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Agentic coding with tiered inference: a local GGUF for routine and sensitive work,
    a cloud model where it pays off."""


# A whole escape sequence (CSI, OSC up to BEL or ST, DCS/PM/APC strings, two-byte forms),
# then any control character left: C0 but newline and tab, DEL, C1, and bidi overrides.
def _repo(path: Path) -> Path:
    """The repo as an absolute directory; a missing path or a file is repository state (5)."""
    if not path.exists():
        raise RepoError(f"repository path does not exist: {path}")
    if not path.is_dir():
        raise RepoError(f"repository path is not a directory: {path}")
    return path.resolve()


def load_settings(repo: Path | None, home: Path, **flags: Any) -> config.Settings:
    settings, notes = config.load(repo, flags, home)
    for note in notes:
        typer.echo(terminal_safe(f"tiercode: {note}"), err=True)
    return settings


RepoOpt = Annotated[Path, typer.Option("--repo", help="The git repository to work in.")]
OutputOpt = Annotated[
    str | None,
    typer.Option(
        "--output-format",
        metavar="[text|json|stream-json]",
        help="text: readable progress; stream-json: one JSON event per line; "
        "json: one final object (result, status, total_cost_usd, usage, run_id, is_error).",
    ),
]
PolicyOpt = Annotated[
    str | None,
    typer.Option(metavar="[local|cloud|auto|auto:X]", help="How each step picks its tier."),
]
ProviderOpt = Annotated[
    str | None,
    typer.Option(
        metavar="[" + "|".join(PROVIDERS) + "]",
        help="Cloud endpoint preset: base URL, key variable, default model.",
    ),
]


@app.command()
@guarded
def run(
    task: Annotated[str, typer.Argument(help="What to change, in plain words.")],
    repo: RepoOpt = Path("."),
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON lines on stdout (= --output-format stream-json).")
    ] = False,
    output_format: OutputOpt = None,
    policy: PolicyOpt = None,
    max_cost_usd: Annotated[str | None, typer.Option(help="Cap on cloud spend, USD.")] = None,
    local_only: Annotated[
        bool, typer.Option("--local-only", help="Nothing leaves the machine.")
    ] = False,
    test_cmd: Annotated[str | None, typer.Option(help="Command that runs the tests.")] = None,
    on_dirty: Annotated[
        str | None,
        typer.Option(metavar="[refuse|keep]", help="What to do with uncommitted changes."),
    ] = None,
    provider: ProviderOpt = None,
    cloud_model: Annotated[
        str | None, typer.Option(help="Model name the cloud endpoint serves.")
    ] = None,
    cloud_price: Annotated[
        str | None,
        typer.Option(help="Cloud price IN,OUT[,CACHED] USD per 1M tokens, or 0 (free server)."),
    ] = None,
    local_model: Annotated[str | None, typer.Option(help="Catalog name or GGUF path.")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Most plan steps.")] = None,
    no_sandbox: Annotated[
        bool, typer.Option("--no-sandbox", help="Run commands and tests unconfined.")
    ] = False,
    branch: Annotated[str, typer.Option(help="Create this branch at HEAD and commit there.")] = "",
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Every prompt and reply on stderr.")
    ] = False,
    keep_replies: Annotated[
        bool, typer.Option("--keep-replies", help="Keep reply texts in the ledger.")
    ] = False,
) -> None:
    """Carry out TASK in the repo, headless. Commands needing approval are denied."""
    from tiercode.agent.runner import Runner
    from tiercode.tools import shell

    home = config.home()
    live = _live_stderr()
    printer_ = Printer(output_format_of(as_json, output_format), status_line=live, home=home)
    emit = Progress(printer_, status=sys.stderr if live else None)
    root = _repo(repo)
    if no_sandbox:
        shell.use_sandbox(False)
        typer.echo("tiercode: --no-sandbox: commands and tests run unconfined", err=True)
    settings = load_settings(
        root,
        home,
        policy=policy,
        max_cost_usd=max_cost_usd,
        local_only=local_only or None,
        test_cmd=test_cmd,
        on_dirty=on_dirty,
        local_model=local_model,
        max_steps=max_steps,
        provider=provider,
        cloud_model=cloud_model,
        cloud_price=cloud_price,
        keep_replies=keep_replies or None,
    )
    echo = _stderr_echo if verbose else None
    runner = Runner(settings, root, emit=emit, echo=echo, home=home)
    try:
        outcome = runner.start(task, branch=branch)
    finally:
        emit.stop()
    printer_.final()
    finish(outcome)


def _live_stderr() -> bool:
    """A status line only on a terminal, never under CI or NO_COLOR."""
    return bool(sys.stderr.isatty() and not os.environ.get("CI") and not os.environ.get("NO_COLOR"))


def _stderr_echo(text: str) -> None:
    print(terminal_safe(text), file=sys.stderr, flush=True)


def finish(outcome: Any) -> None:
    """Exit with the run's code; a failed run also gets its one line on stderr."""
    if outcome.exit_code != ExitCode.OK:
        typer.echo(terminal_safe(f"tiercode: {outcome.message}"), err=True)
    raise typer.Exit(int(outcome.exit_code))


@app.command()
@guarded
def tui(
    repo: RepoOpt = Path("."),
    policy: PolicyOpt = None,
    max_cost_usd: Annotated[str | None, typer.Option(help="Cap on cloud spend, USD.")] = None,
    local_only: Annotated[bool, typer.Option("--local-only", help="Nothing leaves.")] = False,
    provider: ProviderOpt = None,
    no_sandbox: Annotated[
        bool, typer.Option("--no-sandbox", help="Run commands and tests unconfined.")
    ] = False,
) -> None:
    """Open the terminal UI: give a task, watch each step's tier and cost, approve, undo.
    Where Landlock is missing, it asks before each command or test run."""
    from tiercode.tools import shell
    from tiercode.tools.git import GitRepo
    from tiercode.tui.app import run_tui

    root, home = _repo(repo), config.home()
    shell.use_sandbox(not no_sandbox)
    GitRepo.open(root)  # a bad repo is one line here, not an error inside the UI
    settings = load_settings(
        root,
        home,
        policy=policy,
        max_cost_usd=max_cost_usd,
        local_only=local_only or None,
        provider=provider,
    )
    run_tui(root, settings, home)


@app.command()
@guarded
def resume(
    run_id: Annotated[str, typer.Argument(help="The run to continue.")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines on stdout.")] = False,
    output_format: OutputOpt = None,
) -> None:
    """Continue a run that died, from its last checkpoint; finished steps are not redone."""
    from tiercode.agent.ledger import Ledger
    from tiercode.agent.runner import Runner, settings_from_json

    home = config.home()
    with Ledger.at(home) as ledger:
        row = ledger.run(run_id)
    if row is None:
        raise ConfigError(f"no run '{run_id}' in the ledger")
    settings = settings_from_json(row["settings_json"])
    live = _live_stderr()
    printer_ = Printer(output_format_of(as_json, output_format), status_line=live, home=home)
    emit = Progress(printer_, status=sys.stderr if live else None)
    try:
        outcome = Runner(settings, Path(row["repo"]), emit=emit, home=home).resume(run_id)
    finally:
        emit.stop()
    printer_.final()
    finish(outcome)


@app.command()
@guarded
def undo(repo: RepoOpt = Path(".")) -> None:
    """Remove the agent's commits of the last run; refuses if pushed or files are dirty."""
    from tiercode.tools.git import GitRepo

    removed = GitRepo.open(_repo(repo)).undo()
    typer.echo(f"removed {len(removed)} commit(s): {', '.join(c[:8] for c in removed)}")


@app.command()
@guarded
def trust(repo: RepoOpt = Path(".")) -> None:
    """Let this repo's .tiercode.toml set every key (endpoint, shell, privacy...)."""
    config.trust(_repo(repo))
    typer.echo(f"trusted {_repo(repo)}")


@app.command()
@guarded
def calibrate(
    cloud_share: Annotated[
        float | None, typer.Option(help="Target share of steps sent to cloud.")
    ] = None,
    success_rate: Annotated[
        float | None, typer.Option(help="Target success of local steps.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Fit the `auto` threshold from recorded (confidence, outcome) pairs, per signal."""
    from tiercode.agent import calibration

    result = calibration.report(cloud_share=cloud_share, success_rate=success_rate)
    typer.echo(json.dumps(result, indent=1) if as_json else result["text"])


setup.register(app)
usage.register(app)
report.register(app)
register_eval(app)


def main() -> None:
    """Run the CLI; a TiercodeError from a command registered without `guarded` (such as
    `usage` meeting a corrupt ledger) still ends as one line and its exit code."""
    try:
        app()
    except TiercodeError as exc:
        typer.echo(terminal_safe(f"tiercode: {exc}"), err=True)
        sys.exit(int(exc.exit_code))
    except SystemExit as exc:
        # A command line click refused (unknown option, missing argument) never reaches a
        # command: in a JSON mode it still ends with an object on stdout.
        if exc.code == ExitCode.USAGE and not guard.reported:
            mode = _json_mode(sys.argv[1:])
            if mode:
                guard.json_error(mode, int(ExitCode.USAGE), "bad command line (see stderr)")
        raise


def _json_mode(argv: list[str]) -> str | None:
    """The JSON output mode a command line asks for, read before click parsed it."""
    for i, arg in enumerate(argv):
        value = arg.split("=", 1)[1] if arg.startswith("--output-format=") else None
        if arg == "--output-format" and i + 1 < len(argv):
            value = argv[i + 1]
        if value in ("json", "stream-json"):
            return value
    return "stream-json" if "--json" in argv else None
