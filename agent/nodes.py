"""The graph's nodes: small functions from state to a partial update.

localize → plan → route → act → verify → (advance → route | escalate → route | finish).
Side effects happen only in `verify` and `finish` and are idempotent on resume: a step
that already has its commit is not applied again.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from langgraph.runtime import Runtime

from tiercode.agent import acceptance, prompts, replies, verification
from tiercode.agent import confidence as conf
from tiercode.agent.context import RunContext
from tiercode.agent.errors import TiercodeError
from tiercode.agent.events import ApprovalNeeded, Planned, StepCompleted, StepEscalated
from tiercode.agent.models import Completion
from tiercode.agent.router import Decision, Signals
from tiercode.agent.state import AgentState, Step, StepRecord
from tiercode.tools import checks, shell, tracebacks
from tiercode.tools.checks import TestRun
from tiercode.tools.files import truncate_middle
from tiercode.tools.repomap import RepoMap, focus_symbols, is_test_file, outline, symbols

MAX_ATTEMPTS = 3
FILE_CHARS = 6000
OUTPUT_CHARS = 2000
MAP_CHARS = 3000
CANDIDATES = 8
REPLY_ROOM_CHARS = 1500
RETRY_TEMPERATURE = 0.7
_PLACEHOLDER = re.compile(r"(^|/)(relative|path|example|your_?file|file)(/|\.)", re.IGNORECASE)
_ASKS_FOR_NEW = re.compile(
    r"\b(create|new (file|module|package|script)|add (a )?(test|module|file)|write (a )?tests?)",
    re.IGNORECASE,
)
_ASKS_FOR_TESTS = re.compile(
    r"\b(add|write|create|update|extend|change)\s+(\w+\s+){0,3}tests?\b", re.IGNORECASE
)


def _ctx(runtime: Runtime[RunContext]) -> RunContext:
    return runtime.context


def _baseline(state: AgentState) -> TestRun | None:
    data = state.get("baseline")
    return TestRun(**{**data, "failing": tuple(data["failing"])}) if data else None


def localize(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Run the tests once before any change and rank the files that matter: the frames a
    failing test passes through come first, then the files that match the task."""
    ctx = _ctx(runtime)
    if "baseline" in state:
        return {}
    command = ctx.settings.test_cmd or shell.detect_test_command(ctx.root)
    baseline = checks.run_tests(ctx.root, command) if command else None
    frames = tracebacks.suspects(baseline.output, ctx.root) if baseline else []
    repo_map = RepoMap.build(ctx.root, ctx.files.list())
    tested = _code_under_test(ctx, repo_map, baseline.failing if baseline else ())
    suspects = list(dict.fromkeys([*(f.path for f in frames), *tested]))
    candidates = repo_map.rank(state["task"], limit=CANDIDATES, boost=suspects)
    stored = None
    if baseline:
        stored = {**dataclasses.asdict(baseline), "failing": list(baseline.failing)}
        stored["output"] = truncate_middle(baseline.output, OUTPUT_CHARS)
    return {
        "baseline": stored,
        "candidates": candidates,
        "suspects": [f"{f.path}:{f.line}:{f.function}" for f in frames[:6]],
        "start_head": ctx.git.repo.head.commit.hexsha,
    }


def _code_under_test(ctx: RunContext, repo_map: RepoMap, failing: Sequence[str]) -> list[str]:
    """Files defining what the failing tests call: where an assertion fails inside the
    test, the traceback never reaches the code under test, but the test's calls do."""
    found: list[str] = []
    for node_id in failing[:5]:
        path, _, name = node_id.partition("::")
        name = name.split("[")[0].replace("::", ".")
        try:
            source = ctx.files.read(path)
        except TiercodeError:
            continue
        body = next((s for s in symbols(path, source) if s.name == name), None)
        if body is None:
            continue
        lines = "\n".join(source.splitlines()[body.start - 1 : body.end])
        for called in dict.fromkeys(re.findall(r"\b([A-Za-z_]\w*)\s*\(", lines)):
            for symbol in repo_map.find(called):
                if not is_test_file(symbol.path) and symbol.path not in found:
                    found.append(symbol.path)
    return found


def _plan_paths(ctx: RunContext, task: str, paths: list[Any]) -> list[str]:
    """The plan's paths that exist, or are new files the task asks for; never a
    placeholder a model copied from an example."""
    kept = []
    asks_new = bool(_ASKS_FOR_NEW.search(task))
    for p in paths:
        try:
            rel = ctx.files.relative(str(p))
        except TiercodeError:
            continue
        if rel in kept or rel == ".":
            continue
        exists = (ctx.root / rel).is_file()
        named = rel in task or rel.rsplit("/", 1)[-1] in task
        if exists or named or (asks_new and not _PLACEHOLDER.search(rel)):
            kept.append(rel)
    return kept


def _mentioned_files(ctx: RunContext, task: str) -> list[str]:
    found = []
    for p in re.findall(r"[\w./-]+\.\w+", task):
        try:
            rel = ctx.files.relative(p)
        except TiercodeError:
            continue
        if (ctx.root / rel).is_file() and rel not in found:
            found.append(rel)
    return found


def plan(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Ask for a short plan over the map of what matters; files the task names are always
    in, and a failing-test task edits the code under test, not the tests."""
    ctx = _ctx(runtime)
    if state.get("plan"):
        return {}
    run_id, task = state["run_id"], state["task"]
    mentioned = _mentioned_files(ctx, task)
    baseline = _baseline(state)
    candidates = list(dict.fromkeys([*mentioned, *state.get("candidates", [])]))
    repo_map = RepoMap.build(ctx.root, candidates).render(candidates, MAP_CHARS)
    messages = prompts.plan_messages(
        task, repo_map, baseline.failing if baseline else (), state.get("suspects", [])
    )
    decision = ctx.route(run_id, 0, 0, messages, mentioned)
    reply, _ = ctx.call_model(
        run_id, 0, 0, "plan", decision, messages, prompts.PLAN_SCHEMA, mentioned
    )
    steps: list[Step] = []
    try:
        data = prompts.parse_json_reply(reply.text, ("steps",))
        for raw in data["steps"][: ctx.settings.max_steps]:
            goal = str(raw.get("goal", "")).strip() if isinstance(raw, dict) else ""
            if goal and not _copied_instruction(goal):
                steps.append(
                    {"goal": goal, "files": _plan_paths(ctx, task, raw.get("files") or [])}
                )
    except (ValueError, AttributeError):
        steps = []
    if not steps:
        steps = [{"goal": task, "files": []}]
    _fix_plan_files(steps, task, mentioned, baseline, candidates)
    ctx.emit(Planned(run_id, [dict(s) for s in steps]))
    return {"plan": steps, "step": 0, "attempt": 0, "status": "running"}


def _copied_instruction(goal: str) -> bool:
    """A small model sometimes returns the prompt's own instructions as plan steps."""
    sentences = re.split(r"(?<=[.>])\s+", prompts.PLAN_RULES)
    low = goal.lower()
    return any(difflib.SequenceMatcher(None, low, s.lower()).ratio() > 0.7 for s in sentences)


def _fix_plan_files(
    steps: list[Step],
    task: str,
    mentioned: list[str],
    baseline: TestRun | None,
    candidates: list[str],
) -> None:
    """Plan hygiene, in place. While tests fail and the task does not ask for test
    changes, no step edits a test (not even one the task names: it names the symptom) and
    the first step always holds the likeliest code under test. A step left with no real
    file goes, if another has one; every file the task names is in some step; no step is
    left without files."""
    fixing = bool(baseline and baseline.failing and not _ASKS_FOR_TESTS.search(task))
    if fixing:
        mentioned = [f for f in mentioned if not is_test_file(f)]
        candidates = [f for f in candidates if not is_test_file(f)]
        for s in steps:
            s["files"] = [f for f in s["files"] if not is_test_file(f)]
    if any(s["files"] for s in steps):
        steps[:] = [s for s in steps if s["files"]]
    planned = {f for s in steps for f in s["files"]}
    must = [*mentioned, *(candidates[:1] if fixing else [])]
    steps[0]["files"] += [f for f in dict.fromkeys(must) if f not in planned]
    for s in steps:
        if not s["files"]:
            s["files"] = candidates[:2]


def _show(ctx: RunContext, path: str, hints: str) -> str | None:
    """A file as the model should see it: whole when small, else an outline with line
    numbers that keeps the symbols the task and tracebacks name in full."""
    try:
        text = ctx.files.read(path)
    except TiercodeError as exc:
        if not (ctx.root / path).exists():
            return None
        return f"(not shown: {exc})"
    if len(text) <= FILE_CHARS:
        return text
    return outline(path, text, focus_symbols(path, text, hints), FILE_CHARS)


def _act_messages(ctx: RunContext, state: AgentState) -> list[dict[str, str]]:
    step = state["plan"][state["step"]]
    baseline = _baseline(state)
    test_output = state.get("test_output", "") or (baseline.output if baseline else "")
    hints = " ".join([state["task"], step["goal"], state.get("feedback", ""), test_output])
    hints += " " + " ".join(s.rsplit(":", 1)[-1] for s in state.get("suspects", []))
    files = {path: _show(ctx, path, hints) for path in step["files"]}
    return prompts.act_messages(
        state["task"],
        state["plan"],
        state["step"],
        files,
        feedback=state.get("feedback", ""),
        test_output=truncate_middle(test_output, OUTPUT_CHARS)
        if not baseline or not baseline.passed or state.get("test_output")
        else "",
    )


def route(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = _ctx(runtime)
    index, attempt = state["step"], state.get("attempt", 0)
    step = state["plan"][index]
    previous = state.get("decision", {})
    decision = ctx.route(
        state["run_id"],
        index + 1,
        attempt,
        _act_messages(ctx, state),
        step["files"],
        escalation=state.get("escalation") or None,
    )
    if attempt and previous.get("tier") and previous["tier"] != decision.tier:
        ctx.emit(
            StepEscalated(
                state["run_id"],
                index + 1,
                previous["tier"],
                decision.tier,
                state.get("escalation") or state.get("feedback", ""),
            )
        )
    return {
        "decision": {
            "tier": decision.tier,
            "reason": decision.reason,
            "gate": decision.confidence_gate,
        }
    }


def _confidence(reply: Completion, stated: int | None, signal: str) -> dict[str, float | None]:
    self_score = conf.self_confidence(stated)
    lp_score = conf.logprob_confidence(reply.tokens, reply.logprobs)
    return {
        "self": self_score,
        "logprob": lp_score,
        "used": conf.combine(self_score, lp_score, signal),
    }


def act(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """One model call whose reply is the step's edits in plain text; judged by `verify`.
    No grammar: the reply format is parsed strictly instead, at full decoding speed."""
    ctx = _ctx(runtime)
    index, attempt = state["step"], state.get("attempt", 0)
    d = state["decision"]
    decision = Decision(d["tier"], d["reason"], _NO_SIGNALS, d.get("gate"))
    files = state["plan"][index]["files"]
    messages = _act_messages(ctx, state)
    reply, cost = ctx.call_model(
        state["run_id"],
        index + 1,
        attempt,
        "act",
        decision,
        messages,
        None,
        files,
        max_chars=_reply_room(messages),
        temperature=_retry_temperature(state, d["tier"]),
    )
    action: dict[str, Any] = {"usage": _usage(reply, cost, ctx), "edits": []}
    stated = None
    try:
        if reply.incomplete:
            raise ValueError(f"reply was cut ({reply.finish_reason})")
        parsed = replies.parse(reply.text, files)
        action["edits"] = [dataclasses.asdict(e) for e in parsed.edits]
        action["command"] = parsed.command
        stated = parsed.confidence
    except ValueError as exc:
        action["error"] = str(exc)
    action["confidence"] = _confidence(reply, stated, ctx.settings.confidence_signal)
    return {"action": action}


def _retry_temperature(state: AgentState, tier: str) -> float:
    """Greedy for a tier's first answer to a step; sampled when the same tier tries again,
    or the retry would be the same answer word for word."""
    index = state["step"] + 1
    tried = any(r["step"] == index and r["tier"] == tier for r in state.get("records", []))
    return RETRY_TEMPERATURE if tried else 0.0


def _reply_room(messages: list[dict[str, str]]) -> int:
    """Twice what an edit can need: everything the step shows, plus room for new code. A
    reply past this is a runaway, stopped now rather than at the token cap."""
    return 2 * (len(messages[-1]["content"]) + REPLY_ROOM_CHARS)


_NO_SIGNALS = Signals(policy="", threshold=0.0, prompt_tokens=0, local_window=0, reply_tokens=0)


def _usage(reply: Completion, cost: Any, ctx: RunContext) -> dict[str, Any]:
    return {
        "model": reply.model,
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "latency_s": round(reply.latency_s, 3),
        "ttft_s": round(reply.ttft_s, 3),
        "cost_usd": str(cost),  # state is checkpointed as JSON-like data
        "simulated": ctx.simulated and reply.tier == "cloud",
    }


def _apply(
    ctx: RunContext, step: Step, edits: list[dict[str, Any]], before: dict[str, bytes | None]
) -> tuple[list[str], str]:
    """Apply the edits; returns touched paths and a failure, if any. `before` collects
    each touched file's bytes (None: it did not exist) so a failed step can be undone
    exactly, whatever git knows of the file."""
    touched: list[str] = []
    if not edits:
        return touched, "the reply had no edits"
    for raw in edits:
        edit = replies.Edit(**raw)
        try:
            rel = ctx.files.relative(edit.path)
        except TiercodeError as exc:
            return touched, str(exc)
        if rel in ctx.user_dirty:
            return touched, f"{rel} has your uncommitted changes; tiercode leaves it alone"
        if rel not in step["files"]:
            return touched, f"{rel} is not one of this step's files ({', '.join(step['files'])})"
        real = ctx.root / rel
        if rel not in before:
            before[rel] = real.read_bytes() if real.is_file() else None
        try:
            source = real.read_bytes().decode("utf-8") if real.is_file() else None
            ctx.files.write(rel, replies.apply(edit, source, rel))
        except UnicodeDecodeError:
            return touched, f"{rel} is not UTF-8 text; tiercode does not edit it"
        except TiercodeError as exc:
            return touched, str(exc)
        if rel not in touched:
            touched.append(rel)
    return touched, ""


def _undo(ctx: RunContext, before: dict[str, bytes | None]) -> None:
    """Put every file the failed step touched back byte for byte; remove the ones it made."""
    for rel, data in before.items():
        real = ctx.root / rel
        if data is None:
            real.unlink(missing_ok=True)
        else:
            real.write_bytes(data)


def _run_command(ctx: RunContext, state: AgentState, command: str) -> None:
    verdict = shell.check_command(command, ctx.settings.shell_allow, root=ctx.root)
    granted = verdict.action == "allow"
    if verdict.action == "ask":
        granted = ctx.approve(command, verdict.reason)
    if verdict.action != "allow":
        ctx.emit(
            ApprovalNeeded(state["run_id"], state["step"] + 1, command, verdict.reason, granted)
        )
    if granted:
        shell.run(command, ctx.root, timeout_s=120)


def _check(
    ctx: RunContext, state: AgentState, touched: list[str], before: dict[str, bytes | None]
) -> verification.StepCheck:
    """Verify an applied step; the confidence gate applies only where no test could judge
    the change, so a local answer that the tests accept is never thrown away."""
    texts = {
        rel: None if data is None else data.decode("utf-8", "replace")
        for rel, data in before.items()
    }
    verdict = verification.check_step(
        ctx.root,
        ctx.files.list(),
        touched,
        texts,
        _baseline(state),
        last_step=state["step"] + 1 == len(state["plan"]),
    )
    last = state["step"] + 1 == len(state["plan"])
    code = [f for r in state.get("records", []) if r["success"] for f in r["files"]]
    code = [f for f in dict.fromkeys([*code, *touched]) if f.endswith(".py")]
    checked = False
    if (
        not verdict.failure
        and verdict.tests is None
        and last
        and code
        and ctx.settings.acceptance_check
    ):
        verdict.failure = _acceptance(ctx, state, code, verdict.evidence)
        checked = True
    gate = state["decision"].get("gate")
    used = state.get("action", {}).get("confidence", {}).get("used")
    tested = verdict.tests is not None or checked
    if not verdict.failure and not tested and gate is not None and used is not None and used < gate:
        verdict.failure = f"low confidence {used:.2f} < {gate:.2f} and no test to confirm it"
    return verdict


def _acceptance(ctx: RunContext, state: AgentState, code: list[str], evidence: list[str]) -> str:
    """With no tests to run, a model writes a short check from the task and the changed
    signatures; the run is done only if it passes. Returns the failure, if any."""
    run_id, step, attempt = state["run_id"], state["step"] + 1, state.get("attempt", 0)
    messages = acceptance.messages(state["task"], state["plan"], ctx.root, code)
    decision = ctx.route(run_id, step, attempt, messages, code)
    reply, _ = ctx.call_model(run_id, step, attempt, "check", decision, messages, None, code)
    try:
        script = acceptance.extract(reply.text)
    except ValueError as exc:
        return f"no usable acceptance check: {exc}"
    passed, output = acceptance.run(ctx.root, script)
    if not passed:
        return "the acceptance check fails:\n" + truncate_middle(output.strip(), OUTPUT_CHARS)
    asserts = script.count("assert ")
    evidence.append(f"acceptance check ({asserts} assert(s), written by the {decision.tier} tier)")
    return ""


def verify(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Apply, check, test and commit one step; undo the step's edits when it fails."""
    ctx = _ctx(runtime)
    run_id, index, attempt = state["run_id"], state["step"], state.get("attempt", 0)
    step = state["plan"][index]
    action = state.get("action", {})
    usage = action.get("usage", {})
    tier = state["decision"]["tier"]
    scores = action.get("confidence", {})
    existing = ctx.git.commit_for(run_id, index + 1)
    touched: list[str] = []
    commits: list[str] = []
    evidence: list[str] = []
    update: dict[str, Any] = {}
    test_output = state.get("test_output", "")
    if existing:
        failure = ""
        commits = [] if existing in state.get("commits", []) else [existing]
    else:
        before: dict[str, bytes | None] = {}
        failure = action.get("error", "")
        if not failure:
            touched, failure = _apply(ctx, step, action.get("edits", []), before)
        if not failure:
            verdict = _check(ctx, state, touched, before)
            failure, evidence = verdict.failure, verdict.evidence
            if verdict.tests is not None:
                test_output = verdict.tests.output if verdict.failure else ""
            if verdict.more_files:
                plan = [dict(s) for s in state["plan"]]
                plan[index]["files"] = list(dict.fromkeys([*step["files"], *verdict.more_files]))
                update["plan"] = plan
        if not failure and (command := str(action.get("command") or "").strip()):
            _run_command(ctx, state, command)
        if failure:
            _undo(ctx, before)
        else:
            message = f"tiercode: {step['goal'][:60]}\n\nTask: {state['task'][:200]}"
            try:
                commits = [ctx.git.commit(touched, message, run_id, step=index + 1)]
            except TiercodeError as exc:
                failure = str(exc)
                _undo(ctx, before)
    success = not failure
    ctx.ledger.record_outcome(
        run_id, index + 1, attempt, tier, scores.get("self"), scores.get("logprob"), success
    )
    record: StepRecord = {
        "step": index + 1,
        "attempt": attempt,
        "tier": tier,
        "success": success,
        "detail": failure or "applied, verified and committed",
        "confidence": scores.get("used"),
        "files": touched,
    }
    ctx.emit(
        StepCompleted(
            run_id,
            index + 1,
            attempt,
            tier,
            usage.get("model", ""),
            success,
            record["detail"],
            usage.get("prompt_tokens", 0),
            usage.get("completion_tokens", 0),
            usage.get("latency_s", 0.0),
            usage.get("ttft_s", 0.0),
            scores.get("used"),
            Decimal(usage.get("cost_usd", "0")),
            usage.get("simulated", False),
            touched,
        )
    )
    return {
        **update,
        "records": [record],
        "commits": commits,
        "evidence": evidence,
        "feedback": failure,
        "test_output": truncate_middle(test_output, OUTPUT_CHARS * 2),
    }


def after_verify(state: AgentState) -> str:
    if state["records"][-1]["success"]:
        return "advance" if state["step"] + 1 < len(state["plan"]) else "finish"
    return "escalate" if state.get("attempt", 0) + 1 < MAX_ATTEMPTS else "finish"


def advance(state: AgentState) -> dict[str, Any]:
    return {"step": state["step"] + 1, "attempt": 0, "feedback": "", "escalation": ""}


def escalate(state: AgentState) -> dict[str, Any]:
    """Retry the step: the router sends it one tier up unless policy keeps it local."""
    return {"attempt": state.get("attempt", 0) + 1, "escalation": state.get("feedback", "")}


def finish(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """`done` only with evidence; otherwise `failed`, and the branch is put back where
    the run found it so no unverified commit stays on the user's branch."""
    ctx = _ctx(runtime)
    last = state["records"][-1] if state.get("records") else None
    evidence = list(dict.fromkeys(state.get("evidence", [])))
    if last is not None and last["success"] and evidence:
        n = len(state["plan"])
        return {
            "status": "done",
            "message": f"{n} step(s) done in {len(state['commits'])} commit(s); verified: "
            + "; ".join(evidence),
        }
    if last is None or not last["success"]:
        reason = f"step {state['step'] + 1} failed: {last['detail'] if last else 'no step ran'}"
    else:
        reason = "the change could not be verified: no test, compile or import check applies"
    dropped = ctx.git.drop_run(state["run_id"], state["start_head"]) if state.get("commits") else []
    if dropped:
        reason += f" (its {len(dropped)} commit(s) were taken back off the branch)"
    return {"status": "failed", "message": reason}
