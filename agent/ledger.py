"""The SQLite usage ledger: every model call, routing decision, egress, outcome and command.

Like `llm`'s logs.db, the schema grows by small migrations kept in code, and the file
lives in tiercode's home, so `TIERCODE_HOME` gives each test its own. Writes are keyed so
that a resumed run can replay its steps without counting anything twice. Money is
stored as Decimal text and summed in Python, never as SQL floats.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from tiercode.agent.config import home
from tiercode.agent.ledger_records import CallRecord, Outcome, RunTotals, now_iso, totals
from tiercode.agent.ledger_schema import MIGRATIONS
from tiercode.agent.state import RunStatus
from tiercode.tools.errors import ConfigError


def _iso(ts: str | float) -> str:
    """Store time as ISO-8601 UTC text whether given that or epoch seconds (`time.time()`)."""
    if isinstance(ts, str):
        return ts
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


_CALL_COLUMNS = (
    "call_id, run_id, step, attempt, ts, tier, model, price_model, prompt_tokens, cached_tokens, "
    "completion_tokens, latency_s, ttft_s, confidence, route_reason, cost_usd, simulated, "
    "incomplete, counterfactual_usd, prompt_bytes"
)


SummaryBy = Literal["day", "model", "tier", "run"]


class Ledger:
    """One SQLite connection shared by the graph's threads, guarded by a lock."""

    def __init__(self, path: Path | str | None = None) -> None:
        """`path`: the SQLite file; None: the one in the home `TIERCODE_HOME` names."""
        self.path = Path(path) if path is not None else home() / "ledger.db"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=30
            )
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open the ledger {self.path}: {exc}") from None
        self._conn.row_factory = sqlite3.Row
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            # Never moved or rebuilt silently: it holds the egress audit and the spend.
            self._conn.close()
            hint = (
                "" if isinstance(exc, sqlite3.OperationalError) else "; move it aside to start anew"
            )
            raise ConfigError(f"cannot use the ledger {self.path}: {exc}{hint}") from None

    @classmethod
    def at(cls, home_dir: Path) -> Ledger:
        """The ledger in tiercode's home `home_dir`."""
        return cls(home_dir / "ledger.db")

    def _migrate(self) -> None:
        """Apply each migration not yet recorded, in one transaction per migration."""
        with self._lock:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
            )
            for name, sql in MIGRATIONS:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    done = self._conn.execute(
                        "SELECT 1 FROM _migrations WHERE name = ?", (name,)
                    ).fetchone()
                    if not done:
                        for statement in sql.split(";"):
                            if statement.strip():
                                self._conn.execute(statement)
                        self._conn.execute(
                            "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                            (name, now_iso()),
                        )
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        with self._lock:
            self._conn.execute(sql, params)

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    # runs

    def start_run(
        self,
        run_id: str,
        task: str,
        repo: str,
        policy: str,
        settings_json: str,
        model_hashes: dict[str, str],
    ) -> None:
        """Record a run's start; starting it again on resume keeps the original row."""
        row = (run_id, now_iso(), task, repo, policy, RunStatus.RUNNING, settings_json)
        self._write(
            "INSERT OR IGNORE INTO runs (run_id, started_at, task, repo, policy, status, "
            "settings_json, model_hashes_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (*row, _json(model_hashes)),
        )

    def finish_run(self, run_id: str, status: RunStatus, *, if_running: bool = False) -> None:
        """Give a run its final status; `if_running` leaves one that already has it."""
        where = " AND status = ?" if if_running else ""
        self._write(
            f"UPDATE runs SET finished_at = ?, status = ? WHERE run_id = ?{where}",
            (now_iso(), status, run_id, *([RunStatus.RUNNING] if if_running else [])),
        )

    def run(self, run_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM runs WHERE run_id = ?", (run_id,))
        return dict(rows[0]) if rows else None

    # calls

    def record_call(self, rec: CallRecord) -> None:
        """Store one call; a call_id seen before (a resumed run) is ignored."""
        self._write(
            f"INSERT OR IGNORE INTO calls ({_CALL_COLUMNS}) VALUES ({', '.join('?' * 20)})",
            (
                rec.call_id, rec.run_id, rec.step, rec.attempt, _iso(rec.ts), rec.tier, rec.model,
                rec.price_model, rec.prompt_tokens, rec.cached_tokens, rec.completion_tokens,
                rec.latency_s, rec.ttft_s, rec.confidence, rec.route_reason, str(rec.cost_usd),
                int(rec.simulated), int(rec.incomplete), str(rec.counterfactual_usd),
                rec.prompt_bytes,
            ),
        )  # fmt: skip

    def calls(self, run_id: str | None = None) -> list[CallRecord]:
        where, params = ("WHERE run_id = ?", (run_id,)) if run_id is not None else ("", ())
        rows = self._rows(f"SELECT {_CALL_COLUMNS} FROM calls {where} ORDER BY ts, rowid", params)
        return [_call_from_row(row) for row in rows]

    # decisions, egress, outcomes

    def record_decision(
        self, run_id: str, step: int, attempt: int, tier: str, reason: str, signals: dict[str, Any]
    ) -> None:
        """Store the route taken for one attempt of a step; a replay keeps the first."""
        self._write(
            "INSERT OR IGNORE INTO decisions (run_id, step, attempt, ts, tier, reason, "
            "signals_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (run_id, step, attempt, now_iso(), tier, reason, _json(signals)),
        )

    def decisions(self, run_id: str | None = None) -> list[dict[str, Any]]:
        where, params = ("WHERE run_id = ?", (run_id,)) if run_id is not None else ("", ())
        rows = self._rows(f"SELECT * FROM decisions {where} ORDER BY id", params)
        return [{**dict(r), "signals": json.loads(r["signals_json"])} for r in rows]

    def record_egress(
        self,
        run_id: str,
        step: int,
        attempt: int,
        model: str,
        endpoint: str,
        bytes_sent: int,
        message_hashes: list[str],
        redactions: int,
        call_id: str | None = None,
    ) -> None:
        """Record what left the machine; with a call_id, a replayed call is not counted twice."""
        self._write(
            "INSERT OR IGNORE INTO egress (run_id, step, attempt, ts, model, endpoint, bytes_sent, "
            "message_hashes_json, redactions, call_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id, step, attempt, now_iso(), model, endpoint, bytes_sent,
                _json(message_hashes), redactions, call_id,
            ),
        )  # fmt: skip

    def egress(self, run_id: str | None = None) -> list[dict[str, Any]]:
        where, params = ("WHERE run_id = ?", (run_id,)) if run_id is not None else ("", ())
        rows = self._rows(f"SELECT * FROM egress {where} ORDER BY id", params)
        return [{**dict(r), "message_hashes": json.loads(r["message_hashes_json"])} for r in rows]

    def record_outcome(
        self,
        run_id: str,
        step: int,
        attempt: int,
        tier: str,
        self_confidence: float | None,
        logprob_confidence: float | None,
        success: bool,
        check_share: float | None = None,
    ) -> None:
        self._write(
            "INSERT OR IGNORE INTO outcomes (run_id, step, attempt, tier, self_confidence, "
            "logprob_confidence, success, check_share) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id, step, attempt, tier, self_confidence, logprob_confidence, int(success),
                check_share,
            ),
        )  # fmt: skip

    def typical_reply_tokens(self, default: int, last: int = 50) -> int:
        """The median reply length of the last `last` complete calls, or `default` before
        any: a budget estimate at the full `max_tokens` overstated real calls about 8x."""
        rows = self._rows(
            "SELECT completion_tokens FROM calls WHERE incomplete = 0 ORDER BY ts DESC LIMIT ?",
            (last,),
        )
        sizes = sorted(r["completion_tokens"] for r in rows)
        return sizes[len(sizes) // 2] if sizes else default

    def record_reply(self, call_id: str, run_id: str, text: str) -> None:
        """Keep a model's reply text: only when the user asks (`keep_replies`), since a
        reply can quote the code it was shown."""
        self._write(
            "INSERT OR IGNORE INTO replies (call_id, run_id, text) VALUES (?, ?, ?)",
            (call_id, run_id, text),
        )

    def replies(self, run_id: str) -> dict[str, str]:
        rows = self._rows("SELECT call_id, text FROM replies WHERE run_id = ?", (run_id,))
        return {r["call_id"]: r["text"] for r in rows}

    def outcomes(self, run_id: str | None = None) -> list[Outcome]:
        where, params = ("WHERE run_id = ?", (run_id,)) if run_id is not None else ("", ())
        rows = self._rows(f"SELECT * FROM outcomes {where} ORDER BY rowid", params)
        return [Outcome(**{**dict(r), "success": bool(r["success"])}) for r in rows]

    # commands

    def record_command(
        self,
        run_id: str,
        step: int,
        command: str,
        verdict: str,
        granted: bool,
        returncode: int | None,
    ) -> None:
        """Record a command the agent asked to run, allowed or not, so what ran on the
        user's machine can be audited; `returncode` is None when it did not run."""
        if verdict not in ("allow", "ask", "deny"):
            raise ValueError(f"verdict must be allow, ask or deny, not {verdict!r}")
        self._write(
            "INSERT INTO commands (run_id, step, ts, command, verdict, granted, returncode) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (run_id, step, now_iso(), command, verdict, int(granted), returncode),
        )

    def commands(self, run_id: str | None = None) -> list[dict[str, Any]]:
        where, params = ("WHERE run_id = ?", (run_id,)) if run_id is not None else ("", ())
        rows = self._rows(f"SELECT * FROM commands {where} ORDER BY id", params)
        return [{**dict(r), "granted": bool(r["granted"])} for r in rows]

    # reports

    def run_totals(self, run_id: str) -> RunTotals:
        return totals(self.calls(run_id))

    def summary(self, by: SummaryBy) -> list[dict[str, Any]]:
        """Calls grouped by UTC day, model, tier or run; each row's money is exact Decimal."""
        key_of = _SUMMARY_KEYS.get(by)
        if key_of is None:
            raise ValueError(f"summary by must be day, model, tier or run, not {by!r}")
        groups: dict[str, list[CallRecord]] = {}
        for call in self.calls():  # ordered by time, so runs appear in the order they started
            groups.setdefault(key_of(call), []).append(call)
        keys = list(groups) if by == "run" else sorted(groups)
        return [_summary_row(key, groups[key]) for key in keys]


_SUMMARY_KEYS: dict[str, Callable[[CallRecord], str]] = {
    "day": lambda c: str(c.ts)[:10],  # ISO text, so the UTC day
    "model": lambda c: c.model,
    "tier": lambda c: c.tier,
    "run": lambda c: c.run_id,
}


def _call_from_row(row: sqlite3.Row) -> CallRecord:
    data = dict(row)
    data["cost_usd"] = Decimal(data["cost_usd"])
    data["counterfactual_usd"] = Decimal(data["counterfactual_usd"])
    data["simulated"] = bool(data["simulated"])
    data["incomplete"] = bool(data["incomplete"])
    return CallRecord(**data)


def _summary_row(key: str, calls: list[CallRecord]) -> dict[str, Any]:
    t = totals(calls)
    return {
        "key": key,
        "calls": t.calls,
        "prompt_tokens": t.prompt_tokens,
        "completion_tokens": t.completion_tokens,
        "cloud_usd": t.cloud_usd,
        "local_usd": t.local_usd,
        "counterfactual_usd": t.counterfactual_usd,
        "simulated": t.simulated,
    }
