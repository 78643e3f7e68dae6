"""Exit codes and the typed errors that map onto them.

Every failure a user can cause or meet is one of these; the CLI prints the message
on one line and exits with the code, never a traceback.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The `tiercode` command's exit codes; part of the public API."""

    OK = 0
    TASK_FAILED = 1
    USAGE = 2
    BUDGET_EXHAUSTED = 3
    MODEL_UNAVAILABLE = 4
    REPO_STATE = 5
    INTERRUPTED = 130


class TiercodeError(Exception):
    """Base for errors that end a command with a clear one-line message."""

    exit_code: ExitCode = ExitCode.TASK_FAILED


class ConfigError(TiercodeError):
    """Bad configuration or command-line input."""

    exit_code = ExitCode.USAGE


class RepoError(TiercodeError):
    """The repository is missing, not a git repo, detached, or dirty where that matters."""

    exit_code = ExitCode.REPO_STATE


class PathOutsideRepo(TiercodeError):
    """A tool was asked to touch a path outside the repository root (or inside .git/)."""

    exit_code = ExitCode.USAGE


class ModelUnavailable(TiercodeError):
    """A model file is missing or corrupt, or an endpoint cannot be used."""

    exit_code = ExitCode.MODEL_UNAVAILABLE


class BudgetExhausted(TiercodeError):
    """The cloud budget is spent and no tier can take the step."""

    exit_code = ExitCode.BUDGET_EXHAUSTED


class Cancelled(TiercodeError):
    """The user stopped the run; the repo is left at the last finished step."""

    exit_code = ExitCode.INTERRUPTED


class TaskFailed(TiercodeError):
    """The agent could not complete the task."""

    exit_code = ExitCode.TASK_FAILED


class CloudUnavailable(ModelUnavailable):
    """A cloud call failed. `transient` failures (rate limits, 5xx, timeouts) may fall back
    to the local tier; permanent ones (bad key, unknown model, bad request) end the run."""

    def __init__(self, message: str, *, transient: bool, partial_text: str = "") -> None:
        super().__init__(message)
        self.transient = transient
        self.partial_text = partial_text
