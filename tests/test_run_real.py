"""`tiercode run --json` on the embedded default tiers: a real GGUF in-process and a real
llama_cpp.server stand-in on loopback. Asserts structure and consistency, not cleverness."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

TIERCODE = str(Path(sys.executable).with_name("tiercode"))
SAMPLE = Path(__file__).with_name("sample_repo")


@pytest.fixture
def sample_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "sample"
    shutil.copytree(SAMPLE, repo)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "sample"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@localhost", *args],
            cwd=repo,
            check=True,
        )
    return repo


@pytest.mark.real
def test_run_json_event_stream_is_complete_and_consistent(sample_repo: Path) -> None:
    result = subprocess.run(
        [
            TIERCODE,
            "run",
            "add a function slugify to textutils.py",
            "--repo",
            str(sample_repo),
            "--json",
            "--policy",
            "cloud",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "CI": "true"},
    )
    assert "Traceback" not in result.stderr, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    types = [e["type"] for e in events]
    assert types[0] == "run.started" and types[-1] == "run.completed", types
    assert types.count("plan") == 1
    run_id = events[0]["run_id"]
    assert all(e["run_id"] == run_id for e in events)

    routed = [e for e in events if e["type"] == "step.routed"]
    calls = [e for e in events if e["type"] == "model.call"]
    assert routed and calls and any(e["type"] == "step.completed" for e in events)
    assert all(e["tier"] in ("local", "cloud") and e["reason"] for e in routed)
    for e in calls:
        assert e["prompt_tokens"] > 0 and e["completion_tokens"] > 0
        assert e["latency_s"] > 0 and Decimal(e["cost_usd"]) >= 0
        assert e["model"]

    done = events[-1]
    assert result.returncode == done["exit_code"]
    assert done["status"] in ("done", "failed")
    assert (result.returncode == 0) == (done["status"] == "done")
    assert done["cloud_calls"] >= 1 and done["simulated"] is True
    assert Decimal(done["counterfactual_usd"]) >= Decimal(done["cloud_usd"]) > 0
    log = subprocess.run(
        ["git", "log", "--format=%H"], cwd=sample_repo, capture_output=True, text=True
    ).stdout.split()
    assert log[: len(done["commits"])] == done["commits"]

    usage = subprocess.run(
        [TIERCODE, "usage", "--by", "run", "--json"], capture_output=True, text=True, check=True
    )
    row = next(r for r in json.loads(usage.stdout)["rows"] if r["key"] == run_id)
    assert Decimal(row["cloud_usd"]) == Decimal(done["cloud_usd"])
    assert row["calls"] == done["local_calls"] + done["cloud_calls"]
