"""Reproduce the reported failure before any change, where the repository has no tests.

Agentless writes a reproduction test before it repairs; here the acceptance check plays
that part. It is written from the task and the planned files' signatures, and run on the
code as found, under coverage. It is kept only when it shows a failure two predictions
agree on: its asserts that fail are `call == value` asserts (nothing else failed), and a
second prediction, a reference implementation written from the task alone and run, gives
other values than the code's for some of them; those asserts stay, expecting the
reference's values (computed, where the check's were guessed), the others are taken out
(`acceptance.reproducing`). Such a check is the bug's failing test: the lines it
ran become the fault lines where `infill` writes code again (one run has no spectrum: the
lines of its traceback first), its output is shown to the answer as a failing test's is,
and it judges every answer with no overruling.

Any other check is dropped, and the check is written after the first answer as before: one
that passes on the code as found proves nothing; one that fails on a missing name or
a wrong call is about a feature, whose names the answer chooses; one whose values the
second prediction gives as the code's is a guess that a search over candidate lines could fit.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from tiercode.agent import acceptance, verification
from tiercode.agent.context import CallKey, RunContext
from tiercode.agent.events import StepCompleted
from tiercode.agent.planning import FAULT_LINES
from tiercode.agent.state import AgentState, Tier
from tiercode.tools import faultloc, tracebacks


def reproduce(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Write the acceptance check first and keep it, with the lines it ran as the fault
    lines, when it shows the reported failure (see the module doc); once per run, and only
    for a repository without tests."""
    ctx = runtime.context
    if "reproduced" in state or state.get("baseline") or not ctx.settings.acceptance_check:
        return {}
    files = [f for s in state["plan"] for f in s["files"] if (ctx.root / f).is_file()]
    code = [f for f in dict.fromkeys(files) if f.endswith(".py")]
    if not code:
        return {"reproduced": False}
    run_id, task = state["run_id"], state["task"]
    key = CallKey(run_id, step=0, purpose="check")
    messages = acceptance.messages(task, state["plan"], ctx.root, code)
    reply = ctx.call_model(key, ctx.route(key, messages, code), messages, None, code)
    try:
        script = acceptance.extract(reply.text, cut=reply.incomplete)
    except ValueError as exc:
        return _dropped(ctx, state, reply.tier, str(exc))
    with tempfile.TemporaryDirectory(prefix="tiercode-reproduce-") as tmp:
        trace = Path(tmp) / "coverage"
        result = acceptance.run(ctx.root, script, trace)
        disputed = result.disputed
        if result.passed or not 0 < len(disputed) <= verification.MAX_DISPUTED:
            why = "it passes" if result.passed else "it fails on more than a wrong value"
            return _dropped(ctx, state, reply.tier, why)
        check = verification.AcceptanceCheck(script, reply.tier.value)
        judge = CallKey(run_id, step=0, purpose="judge")
        check = verification.work_out(ctx, judge, task, check, disputed, code)
        reproducing, kept = acceptance.reproducing(script, disputed, check.worked)
        if reproducing and reproducing != script:  # its lines and output are the failure's
            result = acceptance.run(ctx.root, reproducing, trace)
        if not reproducing or result.passed:
            said = "; ".join(f"{d['call']} == {d['got']}" for d in disputed)
            why = f"a second prediction gives the code's values or none ({said})"
            return _dropped(ctx, state, reply.tier, why)
        frames = tracebacks.suspects(result.output, ctx.root)
        ran = faultloc.rank_run(ctx.root, trace, frames)
    said = "; ".join(f"{d['call']} gives {d['got']}, not {d['expected']}" for d in kept)
    _tell(ctx, state, reply.tier, f"reproduced before any change: {said}")
    return {  # read as a failing test's are: its output and frames shown to the answer
        "reproduced": True,
        "acceptance": replace(check, script=reproducing, reproduced=True).to_state(),
        "fault_lines": [f"{s.path}:{s.line}" for s in ran[:FAULT_LINES]],
        "suspects": [f"{f.path}:{f.line}:{f.function}" for f in frames[:6]],
        "test_output": result.output,
    }


def _dropped(ctx: RunContext, state: AgentState, tier: Tier, why: str) -> dict[str, Any]:
    _tell(ctx, state, tier, f"the check written first is dropped: {why}")
    return {"reproduced": False}


def _tell(ctx: RunContext, state: AgentState, tier: Tier, detail: str) -> None:
    """Say how reproduction went, on the plan's line (it is part of getting ready)."""
    ctx.emit(
        StepCompleted(
            run_id=state["run_id"],
            step=0,
            attempt=0,
            tier=tier,
            success=True,
            detail=detail,
            confidence=None,
            files=[],
        )
    )
