"""`Tier` and `RunStatus` are StrEnums: every file and line a run writes holds the same plain
strings as before they were enums, the graph's checkpoints included."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tiercode.agent import config
from tiercode.agent.events import Event
from tiercode.agent.llm.models import ScriptedModel
from tiercode.agent.replies import reply_from
from tiercode.agent.runner import Runner, Tiers
from tiercode.agent.state import RunStatus, Tier


def test_members_are_their_strings() -> None:
    assert [str(t) for t in Tier] == ["local", "cloud"]
    assert RunStatus.DONE == "done" and f"{RunStatus.FAILED}" == "failed"
    assert (
        json.dumps({Tier.LOCAL: [Tier.CLOUD, RunStatus.BUDGET]}) == '{"local": ["cloud", "budget"]}'
    )


def test_an_escalated_run_writes_only_plain_strings(git_repo: Path, tiercode_home: Path) -> None:
    plan = json.dumps({"steps": [{"goal": "create util", "files": ["util.py"]}]})
    local = ScriptedModel([plan, reply_from([{"path": "util.py", "search": "no", "replace": "x"}])])
    good = reply_from([{"path": "util.py", "search": "", "replace": "def f():\n    return 1\n"}])
    cloud = ScriptedModel([good], tier=Tier.CLOUD)
    settings, _ = config.load(git_repo, {"policy": "auto", "samples": 1})
    events: list[Event] = []
    tiers = Tiers(lambda: local, lambda: cloud, "gpt-4.1-mini", simulated=True)
    outcome = Runner(settings, git_repo, emit=events.append, tiers=tiers).start("create util")
    assert outcome.status is RunStatus.DONE, outcome.message

    # LangGraph stores an enum member as a typed extension naming its class: the state
    # holds the members' values, so a checkpoint reads as it did before the enums.
    with sqlite3.connect(tiercode_home / "checkpoints.db") as db:
        blobs = db.execute("SELECT checkpoint FROM checkpoints").fetchall()
        blobs += db.execute("SELECT value FROM writes").fetchall()
    assert blobs and not [b for (b,) in blobs if b and b"tiercode.agent.state" in b]

    with sqlite3.connect(tiercode_home / "ledger.db") as db:
        tiers_seen = db.execute("SELECT DISTINCT typeof(tier), tier FROM calls").fetchall()
        statuses = db.execute("SELECT typeof(status), status FROM runs").fetchall()
    assert sorted(tiers_seen) == [("text", "cloud"), ("text", "local")]
    assert statuses == [("text", "done")]

    lines = [e.to_dict() for e in events]
    assert {d["tier"] for d in lines if d["type"] == "step.routed"} == {"local", "cloud"}
    plain = [v for d in lines for v in d.values() if isinstance(v, str)]
    assert all(type(v) is str for v in plain)  # no member reaches a JSON line
