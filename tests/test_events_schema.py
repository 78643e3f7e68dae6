"""docs/events.schema.json is the contract for `--json` and `--output-format json`: every
event of a real (scripted-model) run, the final result object and the error object
validate against it, and the error object is what a CI step gets before a run starts."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from test_agent_flow import BUGGY, FIXED_SUB, code, commit, plan
from test_cli_errors import tiercode

from tiercode.agent import result
from tiercode.cli.output import Printer
from tiercode.tools.errors import ExitCode

SCHEMA = json.loads((Path(__file__).parents[1] / "docs" / "events.schema.json").read_text())


def validate(obj: dict[str, Any]) -> None:
    jsonschema.validate(obj, SCHEMA, cls=jsonschema.Draft202012Validator)


@pytest.fixture
def finished_run(git_repo: Path) -> tuple[list[dict[str, Any]], str]:
    """The events of a scripted run that fixes a bug, and what `--output-format json`
    printed for it."""
    commit(git_repo, BUGGY)
    printer = Printer("json")
    seen: list[dict[str, Any]] = []
    out = io.StringIO()

    def emit(event: Any) -> None:
        seen.append(event.to_dict())
        printer(event)

    from test_agent_flow import Runner, ScriptedModel, Tiers, config

    # spare answers: on a loaded machine a check can time out and the step be retried
    fix = code("calc/ops.py", FIXED_SUB)
    local = ScriptedModel([plan(("fix sub", ["calc/ops.py"])), fix, fix, fix])
    settings, _ = config.load(git_repo, {"policy": "local", "samples": 1})
    tiers = Tiers(lambda: local, lambda: local, "gpt-4.1-mini", simulated=True)
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        Runner(settings, git_repo, emit=emit, tiers=tiers).start(
            "fix the failing test in calc/ops.py or calc/__init__.py"
        )
        printer.final()
    return seen, out.getvalue()


def test_every_event_of_a_run_matches_the_schema(finished_run: Any) -> None:
    events, _ = finished_run
    kinds = {e["type"] for e in events}
    assert {"run.started", "plan", "step.routed", "step.completed", "run.completed"} <= kinds
    for event in events:
        validate(event)


def test_output_format_json_prints_one_claude_code_shaped_object(finished_run: Any) -> None:
    events, stdout = finished_run
    lines = stdout.strip().splitlines()
    assert len(lines) == 1, stdout
    final = json.loads(lines[0])
    validate(final)
    completed = events[-1]
    assert final["is_error"] is False and final["subtype"] == "success"
    assert final["run_id"] == completed["run_id"] and final["status"] == "done"
    assert final["total_cost_usd"] == float(completed["total_cost_usd"])
    assert final["usage"]["input_tokens"] == completed["prompt_tokens"]
    summed = sum(e["prompt_tokens"] for e in events if e["type"] == "model.call")
    assert summed == completed["prompt_tokens"]  # the plan's call counts too


def test_the_schema_rejects_a_field_it_does_not_know() -> None:
    obj = result.from_error(2, "bad flag")
    validate(obj)
    with pytest.raises(jsonschema.ValidationError):
        validate({**obj, "surprise": 1})


@pytest.mark.parametrize("fmt", ["json", "stream-json"])
def test_an_error_before_the_run_is_a_json_object_on_stdout(tmp_path: Path, fmt: str) -> None:
    r = tiercode("run", "x", "--repo", str(tmp_path / "missing"), "--output-format", fmt)
    assert r.returncode == ExitCode.REPO_STATE
    last = json.loads(r.stdout.strip().splitlines()[-1])
    validate(last)
    assert last["exit_code"] == ExitCode.REPO_STATE
    if fmt == "json":
        assert last["is_error"] is True and "does not exist" in last["result"]
    else:
        assert last["type"] == "error" and "does not exist" in last["message"]


def test_a_bad_flag_value_under_json_is_an_object_too(git_repo: Path) -> None:
    r = tiercode("run", "x", "--repo", str(git_repo), "--output-format", "json", "--policy", "x")
    assert r.returncode == ExitCode.USAGE
    last = json.loads(r.stdout.strip().splitlines()[-1])
    assert last["is_error"] and "not a policy" in last["result"]


def test_an_option_click_refuses_under_json_is_an_object_too(git_repo: Path) -> None:
    r = tiercode("run", "x", "--repo", str(git_repo), "--output-format", "json", "--no-such")
    assert r.returncode == ExitCode.USAGE and "No such option" in r.stderr
    last = json.loads(r.stdout.strip().splitlines()[-1])
    validate(last)
    assert last["is_error"] and last["exit_code"] == ExitCode.USAGE
