"""Setup commands: `doctor`, `setup`, `models list|pull|path|verify` and `serve-cloud`.

They get a machine from nothing to a working local tier and cloud stand-in, and say
plainly what is missing. Results go to stdout, progress to stderr; a TiercodeError
ends the command with one line and its exit code, never a traceback.
"""

from __future__ import annotations

import json
import signal
import sys
from typing import Annotated, Any

import typer

from tiercode.agent.llm import catalog, device
from tiercode.agent.llm.standin import DEFAULT_STANDIN, StandInServer, standin_price_model
from tiercode.cli.guard import guarded, progress
from tiercode.tools.errors import ConfigError, ModelUnavailable

DEFAULT_MODELS = ("qwen2.5-coder-0.5b", DEFAULT_STANDIN)


def _known(name: str) -> str:
    if name not in catalog.CATALOG:
        raise ConfigError(f"unknown model '{name}'; known: {', '.join(catalog.CATALOG)}")
    return name


def _doctor_text(report: device.DeviceReport) -> str:
    gpus = ", ".join(report.gpus) or "none found"
    lines = [
        f"RAM          {report.available_ram_gb:.1f} GB available of {report.total_ram_gb:.1f} GB",
        f"CPU          {report.cores_physical} physical / {report.cores_logical} logical cores",
        f"CPU flags    {' '.join(report.cpu_flags) or 'unknown'}",
        f"GPU offload  {'yes' if report.gpu_offload else 'no'} (llama-cpp-python build)",
        f"GPUs         {gpus}",
        f"free disk    {report.free_disk_gb:.1f} GB at {catalog.models_dir()}",
        "models:",
    ]
    for m in report.models:
        fits = "fits" if m.fits else "too big"
        pulled = "pulled" if m.pulled else "not pulled"
        lines.append(f"  {m.name:<20} {m.ram_gb:>4.1f} GB  {fits:<7}  {pulled:<10}  {m.role}")
    lines.append(f"recommended local model: {report.recommended_local}")
    lines.append(f"  why: {report.reason}")
    return "\n".join(lines)


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Show what this machine can run and which local model suits it."""
    report = device.detect()
    typer.echo(json.dumps(report.to_dict(), indent=2) if as_json else _doctor_text(report))


@guarded
def setup() -> None:
    """Pull the recommended local model and the cloud stand-in, verifying both."""
    report = device.detect()
    progress(f"local model: {report.recommended_local} ({report.reason})")
    for name in dict.fromkeys((report.recommended_local, DEFAULT_STANDIN)):
        path = catalog.pull(name, progress)
        typer.echo(f"{name}\t{path}")


models_app = typer.Typer(help="List, pull, locate and verify catalog models.", no_args_is_help=True)


@models_app.command("list")
def list_models(
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """Catalog models, their size and role, and whether each is pulled."""
    rows: list[dict[str, Any]] = []
    for m in catalog.CATALOG.values():
        path = catalog.installed_path(m.name)
        rows.append(
            {
                "name": m.name,
                "title": m.title,
                "size": m.size,
                "role": m.role,
                "pulled": path is not None,
                "path": str(path or catalog.models_dir() / m.filename),
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        pulled = "yes" if r["pulled"] else "no"
        typer.echo(
            f"{r['name']:<20} {r['size'] / 1e6:>6,.0f} MB  pulled: {pulled:<3}  "
            f"{r['role']:<24} {r['title']:<36} {r['path']}"
        )


@models_app.command("pull")
@guarded
def pull_models(
    names: Annotated[
        list[str] | None, typer.Argument(help="Catalog names; default: the two defaults.")
    ] = None,
) -> None:
    """Download, join and verify models; progress goes to stderr, paths to stdout."""
    for name in names or DEFAULT_MODELS:
        path = catalog.pull(_known(name), progress)
        typer.echo(f"{name}\t{path}")


@models_app.command("path")
@guarded
def model_path(name: Annotated[str, typer.Argument(help="Catalog name.")]) -> None:
    """Print the verified file of a pulled model; fail if it is not pulled or corrupt."""
    typer.echo(str(catalog.resolve(_known(name))))


@models_app.command("verify")
@guarded
def verify_model(name: Annotated[str, typer.Argument(help="Catalog name.")]) -> None:
    """Re-hash a pulled model against the catalog's SHA-256."""
    path = catalog.verify(_known(name))
    typer.echo(f"{name}: ok, sha256 matches ({path})")


@guarded
def serve_cloud(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1; 0 picks a free one.")] = 0,
    model: Annotated[str, typer.Option(help="Catalog name or GGUF path.")] = DEFAULT_STANDIN,
) -> None:
    """Run the cloud stand-in on loopback until Ctrl-C, for use by other tools."""
    server = StandInServer(model, port=port)
    progress(f"starting {model} with llama_cpp.server…")
    # the server has its own process group, so a SIGTERM sent to us must stop it too
    signal.signal(signal.SIGTERM, _interrupt)
    with server:
        typer.echo(server.base_url)
        typer.echo(f"OPENAI_BASE_URL={server.base_url} OPENAI_API_KEY=none")
        progress(f"model name: {server.model}")
        progress(f"tokens priced as {standin_price_model()} (simulated); Ctrl-C stops the server")
        sys.stdout.flush()
        try:
            code = server.wait()
        except KeyboardInterrupt:
            progress("stopping the stand-in")
            return
        raise ModelUnavailable(f"the cloud stand-in exited with code {code}: {server.log_tail()}")


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def register(app: typer.Typer) -> None:
    """Add the setup commands to the `tiercode` app."""
    app.command("doctor")(doctor)
    app.command("setup")(setup)
    app.command("serve-cloud")(serve_cloud)
    app.add_typer(models_app, name="models")
