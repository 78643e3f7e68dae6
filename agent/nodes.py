"""The graph's nodes after planning (see `planning` for localize and plan): small
functions from state to a partial update.

localize → plan → route → infill (`agent/infill.py`) → act → verify →
    (advance → route | resample → route | escalate → route | finish).
An answer's confidence is grounded in what running it showed: the token score averaged
with the share of cheap checks it cleared once applied. Under `auto` that confidence is
the gate for an answer no test or acceptance check judges: below it, the answer is not
kept. A failed answer is first followed by others to the same prompt
(forks of the local tier's first answer, or samples; checks pick the candidate, not the
model's own word), then the step is retried with the failure shown, one tier up under
`auto`.
Side effects happen only in `verify` and `finish` and are idempotent on resume: a step
that already has its commit is not applied again.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from langgraph.runtime import Runtime

from tiercode.agent import applying, forks, prompts, reply_parser, step_view, verification
from tiercode.agent import confidence as conf
from tiercode.agent.context import CallKey, RunContext
from tiercode.agent.events import StepCompleted, StepEscalated
from tiercode.agent.llm.models import Completion, split_prefill, with_prefill
from tiercode.agent.router import Decision
from tiercode.agent.state import (
    AgentState,
    RunStatus,
    Step,
    StepRecord,
    Tier,
    current_step,
    is_last_step,
)
from tiercode.tools.errors import TiercodeError
from tiercode.tools.text import truncate_middle
from tiercode.tools.tracebacks import digest

MAX_ROUNDS = 2
"""Prompts per step: the first, and one retry that shows why the first round failed."""
CHEAP_CHECKS = 5
"""What an answer meets before the tests: it parses, applies (and changes something),
compiles, imports, and leaves no reference to a name it removed."""
REPLY_ROOM_CHARS = 1500
RETRY_TEMPERATURE = 0.7


def _ctx(runtime: Runtime[RunContext]) -> RunContext:
    return runtime.context


def route(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = _ctx(runtime)
    attempt, step = state.get("attempt", 0), current_step(state)
    previous = state.get("decision", {})
    messages = state.get("messages") or step_view.act_messages(ctx, state)
    decision = ctx.route(
        CallKey.of(state),
        messages,
        step["files"],
        escalation=state.get("escalation") or None,
    )
    if attempt and previous.get("tier") and previous["tier"] != decision.tier:
        ctx.emit(
            StepEscalated(
                run_id=state["run_id"],
                step=state["step"],
                from_tier=Tier(previous["tier"]),
                to_tier=decision.tier,
                reason=state.get("escalation") or state.get("feedback", ""),
            )
        )
    return {"decision": decision.to_state(), "messages": messages}


def _confidence(reply: Completion, stated: int | None) -> dict[str, float | None]:
    """The model's own scores, known before the answer is applied."""
    return {
        "self": conf.self_confidence(stated),
        "logprob": conf.logprob_confidence(reply.tokens, reply.logprobs),
    }


def act(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """One model call whose reply is the step's edits in plain text; judged by `verify`.
    No grammar: the reply format is parsed strictly instead, at full decoding speed."""
    ctx = _ctx(runtime)
    decision = Decision.from_state(state["decision"])
    files = current_step(state)["files"]
    messages, sample = state["messages"], state.get("sample", 0)
    fork = _fork(state) if decision.tier == Tier.LOCAL else ""
    reply = ctx.call_model(
        CallKey.of(state),
        decision,
        with_prefill(messages, fork) if fork else messages,
        None,
        files,
        max_chars=reply_room(messages),
        temperature=0.0 if fork else _retry_temperature(state, decision.tier),
    )
    action: dict[str, Any] = {"edits": []}
    stated = None
    try:
        text = reply_parser.complete_part(reply.text) if reply.incomplete else reply.text
        if text is None:
            raise ValueError(f"reply was cut ({reply.finish_reason})")
        parsed = reply_parser.parse(text, files)
        action["edits"] = [dataclasses.asdict(e) for e in parsed.edits]
        action["command"] = parsed.command
        action["ignored"] = parsed.ignored
        stated = parsed.confidence
    except ValueError as exc:
        action["error"] = str(exc)
    action["confidence"] = _confidence(reply, stated)
    update: dict[str, Any] = {"action": action}
    if not sample:
        update["forks"] = forks.forks(reply, ctx.settings.samples - 1)
    if reply.tier != decision.tier:
        # The cloud was down and the local tier answered: record the tier that did the work.
        update["decision"] = Decision(reply.tier, "cloud unavailable, fell back").to_state()
    return update


def _fork(state: AgentState) -> str:
    """The beginning this sample continues: the round's next fork, or "" to sample."""
    sample, taken = state.get("sample", 0), state.get("forks", [])
    return taken[sample - 1] if 0 < sample <= len(taken) else ""


def _retry_temperature(state: AgentState, tier: str) -> float:
    """Greedy for a tier's first answer to a step; sampled when the same tier tries again,
    or the retry would be the same answer word for word."""
    number = state["step"]
    tried = any(r["step"] == number and r["tier"] == tier for r in state.get("records", []))
    return RETRY_TEMPERATURE if tried else 0.0


def reply_room(messages: list[dict[str, str]]) -> int:
    """Twice what an edit can need: everything the step shows, plus room for new code. A
    reply past this is a runaway, stopped now rather than at the token cap."""
    return 2 * (len(split_prefill(messages)[0][-1]["content"]) + REPLY_ROOM_CHARS)


@dataclasses.dataclass
class Outcome:
    """What applying one answer came to: a failure to show the model, or evidence."""

    failure: str = ""
    touched: list[str] = dataclasses.field(default_factory=list)
    commits: list[str] = dataclasses.field(default_factory=list)
    evidence: list[str] = dataclasses.field(default_factory=list)
    test_output: str | None = None
    """The test run's output when the tests judged the answer (empty when they passed)."""
    more_files: list[str] = dataclasses.field(default_factory=list)
    acceptance: verification.AcceptanceCheck | None = None
    cleared: int = 0
    """How many of the `CHEAP_CHECKS` the answer passed."""

    @property
    def check_share(self) -> float:
        return self.cleared / CHEAP_CHECKS


def apply_and_check(ctx: RunContext, state: AgentState) -> Outcome:
    """Apply the answer's edits, follow renames, give the code the names the task calls,
    check, run its command and commit; put every touched file back byte for byte when any
    of it fails."""
    action, step = state.get("action", {}), current_step(state)
    before: dict[str, bytes | None] = {}
    out = Outcome(failure=action.get("error", ""))
    if not out.failure:
        out.cleared = 1
        out.touched, out.failure = applying.apply_edits(ctx, step, action.get("edits", []), before)
    if not out.failure:
        out.failure = applying.follow_renames(ctx, state, out.touched, before)
    if not out.failure:
        out.failure = applying.name_as_asked(ctx, state, out.touched, before)
    if not out.failure:
        verdict = verification.judge(ctx, state, out.touched, before)
        out.failure, out.evidence, out.more_files, out.acceptance = (
            verdict.failure,
            verdict.evidence,
            verdict.more_files,
            verdict.acceptance,
        )
        out.cleared = 2 + verdict.cleared
        if verdict.tests is not None:
            out.test_output = digest(verdict.tests.output) if verdict.failure else ""
        if not out.failure and not verdict.judged:
            out.failure = _below_gate(ctx, state, out.check_share)
    if not out.failure and (command := str(action.get("command") or "").strip()):
        applying.run_command(ctx, state, command)
    if not out.failure:
        message = f"tiercode: {step['goal'][:60]}\n\nTask: {state['task'][:200]}"
        try:
            out.commits = [
                ctx.git.commit(out.touched, message, state["run_id"], step=state["step"])
            ]
        except TiercodeError as exc:
            out.failure = str(exc)
    if out.failure:
        applying.undo(ctx, before)
    return out


def _grounded(ctx: RunContext, state: AgentState, check_share: float) -> float | None:
    """The answer's confidence by the configured signal, with the checks it cleared."""
    scores = state.get("action", {}).get("confidence", {})
    return conf.combine(
        scores.get("self"), scores.get("logprob"), ctx.settings.confidence_signal, check_share
    )


def _below_gate(ctx: RunContext, state: AgentState, check_share: float) -> str:
    """The confidence gate, for an answer that only the cheap checks judged (no test or
    acceptance check applies): under `auto`, one below the gate is not kept."""
    gate, used = state["decision"].get("gate"), _grounded(ctx, state, check_share)
    if gate is None or used is None or used >= gate:
        return ""
    return f"low confidence {used:.2f} < {gate:.2f} and no test to confirm it"


def _report(ctx: RunContext, state: AgentState, out: Outcome) -> StepRecord:
    """Record the attempt in the ledger and the event stream; returns its record."""
    run_id, number, attempt = state["run_id"], state["step"], state.get("attempt", 0)
    action = state.get("action", {})
    scores = action.get("confidence", {})
    tier, success = Tier(state["decision"]["tier"]), not out.failure
    used = _grounded(ctx, state, out.check_share)
    ctx.ledger.record_outcome(
        run_id, number, attempt, tier, scores.get("self"), scores.get("logprob"), success,
        out.check_share,
    )  # fmt: skip
    record: StepRecord = {
        "step": number,
        "attempt": attempt,
        "tier": tier.value,
        "success": success,
        "detail": out.failure or _kept(action),
        "confidence": used,
        "files": out.touched,
    }
    ctx.emit(
        StepCompleted(
            run_id=run_id,
            step=number,
            attempt=attempt,
            tier=tier,
            success=success,
            detail=record["detail"],
            confidence=used,
            files=out.touched,
        )
    )
    return record


def _kept(action: dict[str, Any]) -> str:
    """What a kept answer was, as the TUI and `step.completed` say it."""
    if written := action.get("written"):
        return f"{written}, verified and committed"
    return "applied, verified and committed" + _left_out(action)


def _left_out(action: dict[str, Any]) -> str:
    """Blocks the parser dropped because their files are outside the step, said out loud."""
    if ignored := action.get("ignored"):
        return f" (left out its edits to {', '.join(ignored)}: not files of this step)"
    return ""


def verify(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Apply, check, test and commit one answer; undo its edits when it fails. Idempotent
    on resume: a step that already has its commit is not applied again."""
    ctx = _ctx(runtime)
    if existing := ctx.git.commit_for(state["run_id"], state["step"]):
        out = Outcome(
            commits=[] if existing in state.get("commits", []) else [existing],
            cleared=CHEAP_CHECKS,
        )
    else:
        out = apply_and_check(ctx, state)
    return settle(ctx, state, out)


def settle(ctx: RunContext, state: AgentState, out: Outcome) -> dict[str, Any]:
    """The state update for one checked answer: its record, commits and evidence, the
    files it showed the step needs, and the failure the next attempt is shown."""
    update: dict[str, Any] = {}
    if out.more_files:
        plan = [Step(goal=s["goal"], files=list(s["files"])) for s in state["plan"]]
        step = plan[state["step"] - 1]
        step["files"] = list(dict.fromkeys([*step["files"], *out.more_files]))
        update["plan"] = plan
    if out.acceptance is not None:
        update["acceptance"] = out.acceptance.to_state()
    test_output = state.get("test_output", "") if out.test_output is None else out.test_output
    return {
        **update,
        "records": [_report(ctx, state, out)],
        "commits": out.commits,
        "evidence": [] if out.failure else out.evidence,
        "feedback": out.failure,
        "test_output": truncate_middle(test_output, prompts.OUTPUT_CHARS * 2),
    }


def after_verify(state: AgentState, runtime: Runtime[RunContext]) -> str:
    """On to the next step; after a failure, another sample, then a new round with the
    failure shown, then give up."""
    if state["records"][-1]["success"]:
        return "finish" if is_last_step(state) else "advance"
    samples = _ctx(runtime).settings.samples
    if state.get("sample", 0) + 1 < samples:
        return "resample"
    return "escalate" if state.get("attempt", 0) + 1 < MAX_ROUNDS * samples else "finish"


def advance(state: AgentState) -> dict[str, Any]:
    return {
        "step": state["step"] + 1,
        "attempt": 0,
        "sample": 0,
        "messages": [],
        "feedback": "",
        "escalation": "",
    }


def resample(state: AgentState) -> dict[str, Any]:
    """Another answer from the same prompt, a fork of the first or sampled: a small model
    that misses at first often finds the fix among a few tries, and the tests tell which
    one it is."""
    return {"attempt": state.get("attempt", 0) + 1, "sample": state.get("sample", 0) + 1}


def escalate(state: AgentState) -> dict[str, Any]:
    """A new round that shows why the last one failed; the router sends it one tier up
    unless policy keeps it local."""
    return {
        "attempt": state.get("attempt", 0) + 1,
        "sample": 0,
        "messages": [],
        "escalation": state.get("feedback", ""),
    }


def finish(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """`done` only with evidence; otherwise `failed`, and the branch is put back where
    the run found it so no unverified commit stays on the user's branch."""
    ctx = _ctx(runtime)
    last = state["records"][-1] if state.get("records") else None
    evidence = list(dict.fromkeys(state.get("evidence", [])))
    if last is not None and last["success"] and evidence:
        n = len(state["plan"])
        return {
            "status": RunStatus.DONE.value,
            "message": f"{n} step(s) done in {len(state['commits'])} commit(s); verified: "
            + "; ".join(evidence),
        }
    if last is None or not last["success"]:
        reason = f"step {state['step']} failed: {last['detail'] if last else 'no step ran'}"
    else:
        reason = "the change could not be verified: no test, compile or import check applies"
    dropped = ctx.git.drop_run(state["run_id"], state["start_head"]) if state.get("commits") else []
    if dropped:
        reason += f" (its {len(dropped)} commit(s) were taken back off the branch)"
    return {"status": RunStatus.FAILED.value, "message": reason}
