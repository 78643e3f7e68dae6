"""The one place a command turns a TiercodeError into a line on stderr and an exit code."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import typer

from tiercode.agent import result
from tiercode.agent.events import SCHEMA_VERSION
from tiercode.tools.errors import ExitCode, TiercodeError

F = TypeVar("F", bound=Callable[..., Any])


def guarded(fn: F) -> F:
    """`tiercode: <message>` on stderr and the error's exit code, never a traceback. Under
    `--json` the error is also a last JSON line on stdout, so `tail -1 | jq` always works."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TiercodeError as exc:
            typer.echo(f"tiercode: {exc}", err=True)
            _json_error(kwargs, int(exc.exit_code), str(exc))
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            typer.echo("tiercode: interrupted", err=True)
            _json_error(kwargs, int(ExitCode.INTERRUPTED), "interrupted")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None

    return wrapper  # type: ignore[return-value]


reported = False
"""Set once a command has reported its error, so `main` does not report it again."""


def _json_error(kwargs: dict[str, Any], exit_code: int, message: str) -> None:
    global reported
    reported = True
    fmt = kwargs.get("output_format") or ("stream-json" if kwargs.get("as_json") else None)
    if fmt in ("json", "stream-json"):
        json_error(fmt, exit_code, message)


def json_error(fmt: str, exit_code: int, message: str) -> None:
    """In a JSON mode, the error as the last object on stdout: the final result object
    under `--output-format json`, an `error` event line under `--json`/`stream-json`."""
    if fmt == "json":
        typer.echo(json.dumps(result.from_error(exit_code, message)))
    else:
        line = {
            "type": "error",
            "schema_version": SCHEMA_VERSION,
            "exit_code": exit_code,
            "message": message,
        }
        typer.echo(json.dumps(line))


def progress(message: str) -> None:
    """Progress goes to stderr so stdout stays results only."""
    typer.echo(message, err=True)
