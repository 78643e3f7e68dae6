"""The ledger: idempotent migrations and writes, exact totals, and the `usage` command."""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tiercode.agent.ledger import MIGRATIONS, Ledger
from tiercode.agent.ledger_records import CallRecord
from tiercode.agent.pricing import cloud_cost, energy_cost, price_for
from tiercode.cli.usage import register

D = Decimal
MINI = price_for("gpt-4.1-mini")


@pytest.fixture(autouse=True)
def tiercode_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("TIERCODE_HOME", str(home))
    return home


def call(
    call_id: str,
    *,
    run_id: str = "r1",
    tier: str = "cloud",
    step: int = 0,
    prompt: int = 1000,
    completion: int = 100,
    seconds: float = 2.0,
    day: str = "2025-01-02",
    simulated: bool = True,
) -> CallRecord:
    """A call priced the way the graph prices it: cloud at list price, local as energy."""
    counterfactual = cloud_cost(MINI, prompt, completion)
    cost = counterfactual if tier == "cloud" else energy_cost(seconds, 35.0, D("0.15"))
    return CallRecord(
        call_id=call_id,
        run_id=run_id,
        step=step,
        attempt=0,
        ts=f"{day}T10:00:00.000+00:00",
        tier=tier,
        model="qwen2.5-coder-1.5b" if tier == "cloud" else "qwen2.5-coder-0.5b",
        price_model="gpt-4.1-mini",
        prompt_tokens=prompt,
        completion_tokens=completion,
        latency_s=seconds,
        cost_usd=cost,
        counterfactual_usd=counterfactual,
        simulated=simulated and tier == "cloud",
    )


def sample_calls() -> list[CallRecord]:
    return [
        call("c1", run_id="r1", tier="local", prompt=1234, completion=77, day="2025-01-01"),
        call("c2", run_id="r1", tier="cloud", prompt=98765, completion=4321, day="2025-01-01"),
        call("c3", run_id="r2", tier="local", prompt=333, completion=33, day="2025-01-02"),
        call("c4", run_id="r2", tier="cloud", prompt=5555, completion=555, day="2025-01-03"),
        call("c5", run_id="r2", tier="cloud", prompt=7, completion=1, day="2025-01-03"),
    ]


def test_default_path_follows_tiercode_home(tiercode_home: Path) -> None:
    with Ledger() as ledger:
        assert ledger.path == tiercode_home / "ledger.db"
    assert (tiercode_home / "ledger.db").exists()


def test_migrations_apply_once(tiercode_home: Path) -> None:
    Ledger().close()
    with Ledger() as ledger:
        ledger.record_call(call("c1"))
    with Ledger() as ledger:
        assert len(ledger.calls()) == 1
    conn = sqlite3.connect(tiercode_home / "ledger.db")
    names = [row[0] for row in conn.execute("SELECT name FROM _migrations")]
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    assert names == [name for name, _ in MIGRATIONS]
    assert {"runs", "calls", "decisions", "egress", "outcomes"} <= tables


def test_resumed_run_writes_nothing_twice() -> None:
    with Ledger() as ledger:
        ledger.start_run("r1", "fix bug", "/repo", "auto", "{}", {"local": "abc"})
        ledger.start_run("r1", "other task", "/elsewhere", "cloud", "{}", {})
        for _ in range(2):
            ledger.record_call(call("c1"))
            ledger.record_decision("r1", 0, 0, "local", "confident", {"confidence": 0.9})
            ledger.record_outcome("r1", 0, 0, "local", 0.9, None, True)
            ledger.record_egress("r1", 0, 0, "m", "http://x", 10, ["h"], 1, call_id="c1")
        ledger.record_decision("r1", 0, 0, "cloud", "replayed differently", {})
        ledger.finish_run("r1", "done")

        run = ledger.run("r1")
        assert run is not None
        assert (run["task"], run["status"]) == ("fix bug", "done")
        assert json.loads(run["model_hashes_json"]) == {"local": "abc"}
        assert run["finished_at"]
        assert len(ledger.calls("r1")) == 1
        [decision] = ledger.decisions("r1")
        assert (decision["tier"], decision["signals"]) == ("local", {"confidence": 0.9})
        assert len(ledger.outcomes()) == 1
        assert len(ledger.egress("r1")) == 1


def test_calls_round_trip() -> None:
    rec = call("c1", tier="cloud")
    rec.confidence = 0.42
    rec.ttft_s = 0.25
    rec.incomplete = True
    with Ledger() as ledger:
        ledger.record_call(rec)
        assert ledger.calls() == [rec]
        assert ledger.calls("other") == []


def test_epoch_timestamps_are_stored_as_utc_days() -> None:
    rec = call("c1")
    rec.ts = 1735775999.5  # 2025-01-01T23:59:59.5Z
    with Ledger() as ledger:
        ledger.record_call(rec)
        [stored] = ledger.calls()
        assert stored.ts == "2025-01-01T23:59:59.500+00:00"
        assert [r["key"] for r in ledger.summary("day")] == ["2025-01-01"]


def test_outcomes_keep_confidence_for_calibration() -> None:
    with Ledger() as ledger:
        ledger.record_outcome("r1", 1, 0, "local", 0.3, 0.55, False)
        ledger.record_outcome("r1", 1, 1, "cloud", None, None, True)
        out = ledger.outcomes()
    assert [(o.tier, o.self_confidence, o.logprob_confidence, o.success) for o in out] == [
        ("local", 0.3, 0.55, False),
        ("cloud", None, None, True),
    ]


def test_run_totals_are_the_exact_sum_of_rows() -> None:
    # Ten cloud calls of $0.1: a float SUM would give 0.9999999999999999.
    with Ledger() as ledger:
        for i in range(10):
            rec = call(f"c{i}")
            rec.cost_usd = rec.counterfactual_usd = D("0.1")
            ledger.record_call(rec)
        totals = ledger.run_totals("r1")
    assert totals.cloud_usd == D("1.0")
    assert str(totals.cloud_usd) == "1.0"
    assert totals.calls == totals.cloud_calls == 10


def test_counterfactual_and_saving() -> None:
    calls = sample_calls()
    with Ledger() as ledger:
        for rec in calls:
            ledger.record_call(rec)
        totals = ledger.run_totals("r1")
    local, cloud = calls[0], calls[1]
    assert totals.local_usd == local.cost_usd
    assert totals.cloud_usd == cloud.cost_usd
    assert totals.counterfactual_usd == local.counterfactual_usd + cloud.counterfactual_usd
    assert totals.saving_usd == totals.counterfactual_usd - totals.cloud_usd - totals.local_usd
    assert totals.saving_usd > 0
    assert (totals.local_calls, totals.cloud_calls) == (1, 1)
    assert totals.prompt_tokens == 1234 + 98765
    assert totals.simulated


@pytest.mark.parametrize("by", ["day", "model", "tier", "run"])
def test_summary_rows_add_up_to_every_call(by: str) -> None:
    calls = sample_calls()
    with Ledger() as ledger:
        for rec in calls:
            ledger.record_call(rec)
        rows = ledger.summary(by)  # type: ignore[arg-type]
    assert sum(r["calls"] for r in rows) == len(calls)
    assert sum(r["prompt_tokens"] for r in rows) == sum(c.prompt_tokens for c in calls)
    assert sum(r["completion_tokens"] for r in rows) == sum(c.completion_tokens for c in calls)
    cloud = sum((c.cost_usd for c in calls if c.tier == "cloud"), D(0))
    local = sum((c.cost_usd for c in calls if c.tier == "local"), D(0))
    assert sum((r["cloud_usd"] for r in rows), D(0)) == cloud
    assert sum((r["local_usd"] for r in rows), D(0)) == local
    counterfactual = sum((c.counterfactual_usd for c in calls), D(0))
    assert sum((r["counterfactual_usd"] for r in rows), D(0)) == counterfactual


def test_summary_keys() -> None:
    with Ledger() as ledger:
        for rec in sample_calls():
            ledger.record_call(rec)
        assert [r["key"] for r in ledger.summary("day")] == [
            "2025-01-01",
            "2025-01-02",
            "2025-01-03",
        ]
        assert [r["key"] for r in ledger.summary("run")] == ["r1", "r2"]
        by_tier = {r["key"]: r for r in ledger.summary("tier")}
        assert by_tier["local"]["cloud_usd"] == 0
        assert by_tier["cloud"]["local_usd"] == 0
        assert by_tier["cloud"]["simulated"] and not by_tier["local"]["simulated"]
        with pytest.raises(ValueError):
            ledger.summary("week")  # type: ignore[arg-type]


def test_worker_threads_share_one_ledger() -> None:
    with Ledger() as ledger, ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: ledger.record_call(call(f"c{i}", step=i)), range(200)))
        assert len(ledger.calls()) == 200


def _usage_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Keep `usage` a subcommand, as it is under `tiercode`."""

    register(app)
    return app


@pytest.mark.parametrize("by", ["day", "model", "tier", "run"])
def test_usage_json_totals_equal_rows(by: str) -> None:
    calls = sample_calls()
    with Ledger() as ledger:
        for rec in calls:
            ledger.record_call(rec)
    result = CliRunner().invoke(_usage_app(), ["usage", "--by", by, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["by"] == by
    rows, totals = data["rows"], data["totals"]
    for key in ("cloud_usd", "local_usd", "counterfactual_usd"):
        assert D(totals[key]) == sum((D(r[key]) for r in rows), D(0))
    for key in ("calls", "prompt_tokens", "completion_tokens"):
        assert totals[key] == sum(r[key] for r in rows)
    assert D(totals["cloud_usd"]) == sum((c.cost_usd for c in calls if c.tier == "cloud"), D(0))
    assert totals["calls"] == len(calls)
    assert totals["simulated"] is True


def test_usage_table_is_plain_and_labels_simulated_prices() -> None:
    with Ledger() as ledger:
        for rec in sample_calls():
            ledger.record_call(rec)
    result = CliRunner().invoke(_usage_app(), ["usage", "--by", "tier"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "\x1b[" not in result.stdout
    assert lines[0].split()[:2] == ["tier", "calls"]
    cloud_line = next(line for line in lines if line.startswith("cloud"))
    local_line = next(line for line in lines if line.startswith("local"))
    assert "(simulated price)" in cloud_line
    assert "(simulated price)" not in local_line
    assert lines[-1].startswith("total") and lines[-1].split()[1] == "5"


def test_usage_on_an_empty_ledger() -> None:
    result = CliRunner().invoke(_usage_app(), ["usage"])
    assert result.exit_code == 0
    assert "No model calls" in result.stdout
    result = CliRunner().invoke(_usage_app(), ["usage", "--json"])
    assert json.loads(result.stdout)["totals"]["calls"] == 0
