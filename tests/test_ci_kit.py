"""The CI kit: the GitHub Actions example in docs/ parses, runs `tiercode run` with flags
that exist, reads the documented result fields, and the README says how to install it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from tiercode.cli.main import app

ROOT = Path(__file__).parents[1]
WORKFLOW = ROOT / "docs" / "github-actions.yml"


def run_options() -> set[str]:
    import typer.main

    command = typer.main.get_command(app).commands["run"]  # type: ignore[attr-defined]
    return {opt for p in command.params for opt in p.opts + p.secondary_opts}


def tiercode_command(script: str) -> list[str]:
    joined = script.replace("\\\n", " ")
    line = next(ln for ln in joined.splitlines() if ln.strip().startswith("tiercode run"))
    return shlex.split(line.split(">")[0])


def test_the_workflow_parses_and_uses_only_flags_that_exist() -> None:
    flow = yaml.safe_load(WORKFLOW.read_text())
    steps = flow["jobs"]["tiercode"]["steps"]
    script = next(s["run"] for s in steps if "tiercode run" in s.get("run", ""))
    args = tiercode_command(script)
    flags = {a.split("=", 1)[0] for a in args if a.startswith("--")}
    assert flags <= run_options(), flags - run_options()
    assert {"--output-format", "--max-cost-usd", "--branch", "--provider"} <= flags
    assert args[args.index("--output-format") + 1] == "json"
    # it reads fields the result object has
    for field in re.findall(r"jq -r \.(\w+)", script):
        assert field in {"total_cost_usd", "result", "status", "run_id", "is_error"}
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))
    assert "refs/pull/" in checkout["with"]["ref"]  # a detached HEAD, which runs accept


def test_the_readme_points_to_the_workflow_and_says_how_to_install_with_pipx() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "docs/github-actions.yml" in readme
    assert "pipx install" in readme
    assert "docs/events.schema.json" in readme
