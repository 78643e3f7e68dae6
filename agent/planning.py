"""The first two nodes: find the code that matters, then plan over it.

`localize` runs the tests once and ranks files (failing-test frames and the code their
calls reach first); `plan` asks for steps over that ranked map and cleans them: no
placeholder paths, no test edits while tests fail, the task's own files always in.
Steps that all edit the same files become one step whose goal is the task itself: a
small model's goal for a one-step plan drops what the task said ("converts snake_case
to kebab-case" for a task whose example was `kebab_case("DeviceType")`) or turns it
around ("add a function to convert Fahrenheit to Celsius" for a wrong conversion), and
its steps over one file split a change its answer would make whole (only the last step
meets the acceptance check) or invent work the task never asked for ("make `parse`
raise ValueError" in a task about adding amounts), which broke passing tests.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

from langgraph.runtime import Runtime

from tiercode.agent import prompts
from tiercode.agent.context import CallKey, RunContext
from tiercode.agent.events import Planned, StepCompleted
from tiercode.agent.state import AgentState, RunStatus, Step
from tiercode.tools import checks, faultloc, shell, tracebacks
from tiercode.tools.checks import TestRun
from tiercode.tools.errors import TiercodeError
from tiercode.tools.repomap import RepoMap, is_test_file, symbols

MAP_CHARS = 3000
CANDIDATES = 8
FAULT_LINES = 40
_PLACEHOLDER = re.compile(r"(^|/)(relative|path|example|your_?file|file)(/|\.)", re.IGNORECASE)
_ASKS_FOR_NEW = re.compile(
    r"\b(create|new (file|module|package|script)|add (a )?(test|module|file)|write (a )?tests?)",
    re.IGNORECASE,
)
_ASKS_FOR_TESTS = re.compile(
    r"\b((add|write|create|update|extend|change)\s+(\w+\s+){0,3}|with\s+(its\s+)?)tests?\b",
    re.IGNORECASE,
)


def localize(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Run the tests once before any change and rank the files that matter: the frames a
    failing test passes through come first, then the files that match the task."""
    ctx = runtime.context
    if "baseline" in state:
        return {}
    command = ctx.settings.test_cmd or shell.detect_test_command(ctx.root)
    baseline = checks.run_tests(ctx.root, command) if command else None
    if baseline is not None and baseline.found_none:
        baseline = None  # judged as a repository without tests: by the acceptance check
    frames = tracebacks.suspects(baseline.output, ctx.root) if baseline else []
    repo_map = RepoMap.build(ctx.root, ctx.files.list())
    called, imported = _code_under_test(ctx, repo_map, baseline.failing if baseline else ())
    under_test = list(dict.fromkeys([*(f.path for f in frames), *called]))
    suspects = list(dict.fromkeys([*under_test, *imported]))
    candidates = repo_map.rank(state["task"], limit=CANDIDATES, boost=suspects)
    fault_lines, setup_lines = [], []
    if baseline is not None and baseline.failing and ctx.settings.infill_lines > 0:
        ranking = faultloc.rank(
            ctx.root, baseline.command, baseline.failing, frames, baseline.rerun_timeout()
        )
        fault_lines = [f"{s.path}:{s.line}" for s in ranking.suspects[:FAULT_LINES]]
        setup_lines = [f"{path}:{line}" for path, line in ranking.setup[:FAULT_LINES]]
    return {
        "fault_lines": fault_lines,
        "setup_lines": setup_lines,
        "baseline": baseline.to_state(prompts.OUTPUT_CHARS) if baseline else None,
        "candidates": candidates,
        "suspects": [f"{f.path}:{f.line}:{f.function}" for f in frames[:6]],
        "under_test": [f for f in under_test if not is_test_file(f)],
        "start_head": ctx.git.repo.head.commit.hexsha,
    }


def _code_under_test(
    ctx: RunContext, repo_map: RepoMap, failing: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Files defining what the failing tests call, then the other modules they import:
    where an assertion fails inside the test, the traceback never reaches the code under
    test, but the test's calls do."""
    called: list[str] = []
    imported: list[str] = []
    for node_id in failing[:5]:
        path, name = tracebacks.split_node_id(node_id)
        try:
            source = ctx.files.read(path)
        except TiercodeError:
            continue
        body = next((s for s in symbols(path, source) if s.name == name), None)
        if body is None:
            continue
        lines = "\n".join(source.splitlines()[body.start - 1 : body.end])
        for callee in dict.fromkeys(re.findall(r"\b([A-Za-z_]\w*)\s*\(", lines)):
            for symbol in repo_map.find(callee):
                if not is_test_file(symbol.path) and symbol.path not in called:
                    called.append(symbol.path)
        modules = checks.imported_modules(source, "")
        imported += [f for f in _module_files(repo_map, modules) if f not in imported]
    return called, [f for f in imported if f not in called]


def _module_files(repo_map: RepoMap, modules: set[str]) -> list[str]:
    """The repo's non-test files that these dotted module names are, in repo order."""
    return [
        f
        for f in repo_map.paths
        if not is_test_file(f) and (name := checks.module_name(f)) and name in modules
    ]


def _relative_paths(ctx: RunContext, paths: Sequence[Any]) -> list[str]:
    """Repo-relative forms of the paths that resolve inside the repository, each once."""
    kept: list[str] = []
    for p in paths:
        try:
            rel = ctx.files.relative(str(p))
        except TiercodeError:
            continue
        if rel not in kept and rel != ".":
            kept.append(rel)
    return kept


def _plan_paths(ctx: RunContext, task: str, paths: list[Any]) -> list[str]:
    """The plan's paths that exist, or are new files the task asks for; never a
    placeholder a model copied from an example."""
    asks_new = bool(_ASKS_FOR_NEW.search(task))
    return [
        rel
        for rel in _relative_paths(ctx, paths)
        if (ctx.root / rel).is_file()
        or rel in task
        or rel.rsplit("/", 1)[-1] in task
        or (asks_new and not _PLACEHOLDER.search(rel))
    ]


def _mentioned_files(ctx: RunContext, task: str) -> list[str]:
    found = _relative_paths(ctx, re.findall(r"[\w./-]+\.\w+", task))
    return [rel for rel in found if (ctx.root / rel).is_file()]


def plan(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Ask for a short plan over the map of what matters; files the task names are always
    in, and a failing-test task edits the code under test, not the tests."""
    ctx = runtime.context
    if state.get("plan"):
        return {}
    run_id, task = state["run_id"], state["task"]
    mentioned = _mentioned_files(ctx, task)
    baseline = TestRun.from_state(state.get("baseline"))
    if direct := _failing_tests_plan(task, mentioned, baseline, state.get("under_test", [])):
        ctx.emit(Planned(run_id=run_id, steps=[dict(s) for s in direct]))
        return {"plan": direct, "step": 1, "attempt": 0, "status": RunStatus.RUNNING.value}
    candidates = list(dict.fromkeys([*mentioned, *state.get("candidates", [])]))
    repo_map = RepoMap.build(ctx.root, candidates).render(candidates, MAP_CHARS)
    messages = prompts.plan_messages(
        task, repo_map, baseline.failing if baseline else (), state.get("suspects", [])
    )
    key = CallKey(run_id, step=0, purpose="plan")
    decision = ctx.route(key, messages, mentioned)
    reply = ctx.call_model(key, decision, messages, prompts.PLAN_SCHEMA, mentioned)
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
    planned = bool(steps)
    if not steps:
        steps = [{"goal": task, "files": []}]
    _fix_plan_files(steps, task, mentioned, baseline, candidates)
    summary = f"planned {len(steps)} step(s)" if planned else "no usable plan: one step, the task"
    if all(s["files"] == steps[0]["files"] for s in steps):
        summary += " on the same files: one step, the task" if len(steps) > 1 else ""
        steps = [{"goal": task, "files": steps[0]["files"]}]
    if baseline and baseline.failing and not _ASKS_FOR_TESTS.search(task):
        _retarget_test_goals(ctx, steps, baseline)
    ctx.emit(Planned(run_id=run_id, steps=[dict(s) for s in steps]))
    ctx.emit(
        StepCompleted(
            run_id=run_id,
            step=0,
            attempt=0,
            tier=reply.tier,
            success=planned,
            detail=summary,
            confidence=None,
            files=[],
        )
    )
    return {"plan": steps, "step": 1, "attempt": 0, "status": RunStatus.RUNNING.value}


def _failing_tests_plan(
    task: str, mentioned: Sequence[str], baseline: TestRun | None, under_test: Sequence[str]
) -> list[Step]:
    """When failing tests lead to exactly one file of code and the task names no other,
    the plan is known without a model call (Agentless: localize, repair, validate). A
    model's own goal here tends to guess a cause ("handle string inputs") that the
    step then follows instead of the failure; the failing tests say what to fix."""
    if not baseline or not baseline.failing or _ASKS_FOR_TESTS.search(task):
        return []
    files = {*under_test, *(f for f in mentioned if not is_test_file(f))}
    if len(files) != 1:
        return []
    return [{"goal": _fix_failing_goal(baseline), "files": sorted(files)}]


def _fix_failing_goal(baseline: TestRun) -> str:
    failing = ", ".join(baseline.failing[:3])
    return f"change the code under test so that these failing tests pass: {failing}"


def _retarget_test_goals(ctx: RunContext, steps: list[Step], baseline: TestRun) -> None:
    """A goal that names a helper or test of the failing test files (`_check_signature`)
    leads the step to rewrite that helper in the code: say what to fix instead."""
    test_files = dict.fromkeys(node.split("::", 1)[0] for node in baseline.failing)
    helpers = {name for f in test_files for name in _names(ctx, f)}
    for step in steps:
        named = set(re.findall(r"\w+", step["goal"]))
        defined = {name for f in step["files"] for name in _names(ctx, f)}
        if named & (helpers - defined):
            step["goal"] = _fix_failing_goal(baseline)


def _names(ctx: RunContext, path: str) -> set[str]:
    """Bare names of the functions, classes and methods a file defines."""
    try:
        return {s.name.rsplit(".", 1)[-1] for s in symbols(path, ctx.files.read(path))}
    except TiercodeError:
        return set()


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
    the first step always holds the likeliest code under test. Unless the task asks for
    test changes, a step that edits only tests the task does not name goes (a small
    model's "update the test to use it" step broke passing tests; a rename's references
    in tests follow it by themselves). A step left with no real file goes, if another has
    one; every file the task names is in some step; no step is left without files."""
    asks_for_tests = bool(_ASKS_FOR_TESTS.search(task))
    fixing = bool(baseline and baseline.failing and not asks_for_tests)
    if fixing:
        mentioned = [f for f in mentioned if not is_test_file(f)]
        candidates = [f for f in candidates if not is_test_file(f)]
        for s in steps:
            s["files"] = [f for f in s["files"] if not is_test_file(f)]
    elif not asks_for_tests:
        code = [s for s in steps if any(not is_test_file(f) or f in mentioned for f in s["files"])]
        steps[:] = code or steps
    if any(s["files"] for s in steps):
        steps[:] = [s for s in steps if s["files"]]
    planned = {f for s in steps for f in s["files"]}
    must = [*mentioned, *(candidates[:1] if fixing else [])]
    steps[0]["files"] += [f for f in dict.fromkeys(must) if f not in planned]
    for s in steps:
        if not s["files"]:
            s["files"] = candidates[:2]
