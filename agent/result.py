"""The one JSON object `--output-format json` prints when a run ends, in the shape CI
tools already read from Claude Code's `-p --output-format json` (`result`, `is_error`,
`total_cost_usd`, `usage`, a run id), so a workflow step can take one line and `jq` it.

An error before the run starts (bad flag, no repo, no price) gives the same object with
`is_error` true, so a CI step never has to parse a traceback or an empty stdout.
"""

from __future__ import annotations

from typing import Any

from tiercode.agent.events import SCHEMA_VERSION
from tiercode.agent.state import RunStatus


def from_completed(completed: dict[str, Any], duration_s: float) -> dict[str, Any]:
    """The final object for a run that started, from its `run.completed` event."""
    ok = completed["status"] == RunStatus.DONE
    return {
        "type": "result",
        "subtype": "success" if ok else f"error_{completed['status']}",
        "schema_version": SCHEMA_VERSION,
        "is_error": not ok,
        "status": completed["status"],
        "exit_code": completed["exit_code"],
        "result": completed["message"],
        "run_id": completed["run_id"],
        "duration_ms": round(duration_s * 1000),
        "num_turns": completed["local_calls"] + completed["cloud_calls"],
        # a number, as Claude Code gives it, so jq can add it up; the events carry the
        # exact decimal string
        "total_cost_usd": float(completed["total_cost_usd"]),
        "cloud_cost_usd": float(completed["cloud_usd"]),
        "simulated": completed["simulated"],
        "usage": {
            "input_tokens": completed["prompt_tokens"],
            "output_tokens": completed["completion_tokens"],
            "cache_read_input_tokens": completed.get("cached_tokens", 0),
        },
        "commits": completed["commits"],
        "verified": completed["verified"],
    }


def from_error(exit_code: int, message: str, duration_s: float = 0.0) -> dict[str, Any]:
    """The final object when the run could not start, or ended in an error outside it."""
    return {
        "type": "result",
        "subtype": "error",
        "schema_version": SCHEMA_VERSION,
        "is_error": True,
        "status": RunStatus.ERROR.value,
        "exit_code": exit_code,
        "result": message,
        "run_id": None,
        "duration_ms": round(duration_s * 1000),
        "num_turns": 0,
        "total_cost_usd": 0.0,
        "cloud_cost_usd": 0.0,
        "simulated": False,
        "usage": {"input_tokens": 0, "output_tokens": 0, "cache_read_input_tokens": 0},
        "commits": [],
        "verified": [],
    }
