"""`tiercode usage --watch` in its own process sees calls that another process records."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

from tiercode.agent.ledger import Ledger
from tiercode.agent.ledger_records import CallRecord

_CLI = (  # Ctrl-C restored: a shell's background job starts its children with it ignored
    "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from tiercode.cli.main import main; main()"
)


def _lines(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    out: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return out


def _wait_for(out: queue.Queue[str], text: str, timeout: float = 60) -> str:
    seen = ""
    while text not in seen:
        seen += out.get(timeout=timeout)
    return seen


def _call(run_id: str, n: int) -> CallRecord:
    return CallRecord(
        call_id=f"{run_id}:1:0:act:{n}", run_id=run_id, step=1, attempt=0, tier="cloud",
        model="gpt-4.1-mini", price_model="gpt-4.1-mini", prompt_tokens=100,
        completion_tokens=20, cost_usd=Decimal("0.0001"), counterfactual_usd=Decimal("0.0001"),
    )  # fmt: skip


def test_watch_shows_calls_recorded_by_another_process(tiercode_home: Path) -> None:
    Ledger().close()  # create the ledger before the watcher opens it
    proc = subprocess.Popen(
        [sys.executable, "-c", _CLI, "usage", "--watch", "--interval", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    try:
        out = _lines(proc)
        _wait_for(out, "No model calls recorded yet.")
        with Ledger() as ledger:
            ledger.record_call(_call("ci-run-1", 1))
        first = _wait_for(out, "ci-run-1")
        assert "total" in _wait_for(out, "total") or "total" in first
        with Ledger() as ledger:
            ledger.record_call(_call("ci-run-2", 1))
        _wait_for(out, "ci-run-2")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""


def test_watch_json_prints_one_line_per_new_state(tiercode_home: Path) -> None:
    with Ledger() as ledger:
        ledger.record_call(_call("run-a", 1))
    proc = subprocess.Popen(
        [sys.executable, "-c", _CLI, "usage", "--watch", "--json", "--by", "tier",
         "--interval", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    try:
        out = _lines(proc)
        first = json.loads(out.get(timeout=60))
        assert first["totals"]["calls"] == 1
        with Ledger() as ledger:
            ledger.record_call(_call("run-a", 2))
        second = json.loads(out.get(timeout=60))
        assert second["totals"]["calls"] == 2 and second["rows"][0]["key"] == "cloud"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert out.empty(), "an unchanged ledger must not print again"
