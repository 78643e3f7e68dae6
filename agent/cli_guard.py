"""The one place a command turns a TiercodeError into a line on stderr and an exit code."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import typer

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
            if kwargs.get("as_json"):
                line = {
                    "type": "error",
                    "schema_version": SCHEMA_VERSION,
                    "exit_code": int(exc.exit_code),
                    "message": str(exc),
                }
                typer.echo(json.dumps(line))
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            typer.echo("tiercode: interrupted", err=True)
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None

    return wrapper  # type: ignore[return-value]


def progress(message: str) -> None:
    """Progress goes to stderr so stdout stays results only."""
    typer.echo(message, err=True)
