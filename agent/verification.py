"""Whether a step's change may be kept: the evidence rules behind every "done".

A step is kept only when its files compile, every module that imports them still
imports, no name it removed is still referenced, and the tests say so: no test that
passed before fails now, and on the plan's last step the tests that failed before the
run (the task's target) pass. What was checked is returned as evidence lines, which
the run reports in `run.completed`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tiercode.agent import acceptance, asked_names, prompts
from tiercode.agent.context import CallKey, RunContext
from tiercode.agent.state import AgentState, is_last_step
from tiercode.tools import checks
from tiercode.tools.checks import TestRun
from tiercode.tools.repomap import RepoMap, is_test_file, symbols
from tiercode.tools.text import truncate_middle

MAX_DISPUTED = 3
"""Most asserts a second prediction may overrule at once; more failures than that
say the answer is wrong, not the check."""

_LACKS = re.compile(
    r"module '([\w.]+)' has no attribute '\w+'|cannot import name '\w+' from '([\w.]+)'"
)
"""What a failure says when a module lacks a name (the module is group 1 or 2)."""


@dataclass
class StepCheck:
    """The verdict on one applied step: a failure to show the model, or evidence."""

    failure: str = ""
    evidence: list[str] = field(default_factory=list)
    tests: TestRun | None = None
    more_files: list[str] = field(default_factory=list)
    """Files the next attempt needs too (callers still using a removed name)."""
    acceptance: AcceptanceCheck | None = None
    """The acceptance check written for this run, kept to judge later answers the same way."""
    cleared: int = 0
    """How many of the cheap checks before the tests passed: compiles, imports, leaves no
    reference to a removed name (for the `grounded` confidence)."""

    @property
    def judged(self) -> bool:
        """Whether the tests or an acceptance check, not only the cheap checks, judged it."""
        return self.tests is not None or self.acceptance is not None


def removed_names(before: dict[str, str | None], root: Path) -> list[str]:
    """Functions and classes defined in a touched file before the step and nowhere in it
    after: a rename or a deletion, whose callers must follow."""
    gone: list[str] = []
    for rel, old in before.items():
        if old is None or not rel.endswith(".py"):
            continue
        new = (root / rel).read_text(encoding="utf-8", errors="replace")
        now = {s.name.rsplit(".", 1)[-1] for s in symbols(rel, new)}
        for s in symbols(rel, old):
            name = s.name.rsplit(".", 1)[-1]
            if name not in now and not name.startswith("__") and name not in gone:
                gone.append(name)
    return gone


def check_step(
    root: Path,
    files: list[str],
    touched: list[str],
    before: dict[str, str | None],
    baseline: TestRun | None,
    last_step: bool,
) -> StepCheck:
    """Run every check on the applied step, cheapest first, stopping at the first failure."""
    verdict = StepCheck()
    errors = checks.compile_errors(root, touched)
    if errors:
        verdict.failure = "syntax error in " + "; ".join(errors)
        return verdict
    verdict.cleared += 1
    py = [rel for rel in touched if rel.endswith(".py")]
    if py:
        verdict.evidence.append(f"compiles: {', '.join(py)}")
    if other := [rel for rel in touched if not rel.endswith(".py")]:
        verdict.evidence.append(f"written, no check applies to the file type: {', '.join(other)}")
    modules = checks.importers(root, files, touched)
    failed = checks.import_errors(root, modules)
    if failed:
        verdict.failure = "after this edit a module no longer imports: " + "; ".join(failed[:3])
        unimportable = {line.split(":", 1)[0] for line in failed}
        verdict.more_files = _files_of(root, files, unimportable)
        return verdict
    verdict.cleared += 1
    if modules:
        verdict.evidence.append(f"imports: {', '.join(modules[:8])}")
    left = _leftover_references(root, files, removed_names(before, root))
    if left:
        verdict.failure = "the old name is still used: " + "; ".join(
            f"{path}:{line}: {text.strip()[:80]}" for path, line, text in left[:6]
        )
        verdict.more_files = list(dict.fromkeys(path for path, _, _ in left))
        return verdict
    verdict.cleared += 1
    if baseline is None:
        return verdict
    if last_step and (target := checks.narrowed(baseline.command, root, baseline.failing)):
        # The task's failing tests first: most wrong candidates fail them in a second or
        # two, where the whole suite would take its full time to say the same.
        tests = checks.run_tests(root, target, timeout_s=baseline.target_timeout())
        if tests.timed_out or tests.failing:
            verdict.tests = tests
            verdict.failure = _loops(tests, baseline) if tests.timed_out else _still_fail(tests)
            return verdict
    tests = checks.run_tests(root, baseline.command, timeout_s=baseline.rerun_timeout())
    verdict.tests = tests
    if tests.timed_out:
        verdict.failure = _loops(tests, baseline)
        return verdict
    broken = tests.broken_since(baseline)
    if broken:
        verdict.failure = (
            f"after this edit these tests fail (they passed or did not exist before): "
            f"{', '.join(broken[:5])}"
        )
        return verdict
    if last_step and not tests.passed:
        verdict.failure = _still_fail(tests)
        return verdict
    fixed = tests.fixed_since(baseline)
    verdict.evidence.append(
        f"tests: {tests.counts or ('pass' if tests.passed else 'no new failures')}"
        + (f" (now passing: {', '.join(fixed[:5])})" if fixed else "")
    )
    return verdict


def _loops(tests: TestRun, baseline: TestRun) -> str:
    return (
        f"the tests did not finish within {tests.seconds:.0f} s (before this edit they took "
        f"{baseline.seconds:.1f} s): the change may loop forever"
    )


def _still_fail(tests: TestRun) -> str:
    return f"the tests still fail: {', '.join(tests.failing[:5]) or tests.counts or 'the test run'}"


def _leftover_references(
    root: Path, files: list[str], names: list[str]
) -> list[tuple[str, int, str]]:
    if not names:
        return []
    repo_map = RepoMap.build(root, [f for f in files if f.endswith(".py")])
    return [hit for name in names for hit in repo_map.references(name)]


def judge(
    ctx: RunContext, state: AgentState, touched: list[str], before: dict[str, bytes | None]
) -> StepCheck:
    """Verify an applied step: compile, import, the tests, and on the last step the names
    the task calls and an acceptance check where no test shows the change."""
    texts = {
        rel: None if data is None else data.decode("utf-8", "replace")
        for rel, data in before.items()
    }
    baseline = TestRun.from_state(state.get("baseline"))
    last = is_last_step(state)
    files = ctx.files.list()
    verdict = check_step(ctx.root, files, touched, texts, baseline, last_step=last)
    task, start = state["task"], state["start_head"]
    names = (
        asked_names.missing(task, ctx.root, files, start) if last and not verdict.failure else []
    )
    if names:  # no check can pass without them
        verdict.failure = asked_names.failure(names)
        verdict.more_files = _files_of(ctx.root, files, {n.rpartition(".")[0] for n in names})
    code = changed_code(state, touched)
    # A test now passing that failed shows the change; so does a touched test file, when
    # more tests pass than before or the step renamed or removed a definition (the tests
    # then call the new name and pass). An edited test file alone shows nothing.
    tests = verdict.tests
    shown_by_tests = (
        tests is not None
        and baseline is not None
        and bool(
            tests.fixed_since(baseline)
            or (
                any(is_test_file(f) for f in code)
                and (tests.grew_since(baseline) or removed_names(texts, ctx.root))
            )
        )
    )
    if not verdict.failure and not shown_by_tests and _acceptance_due(ctx, state, code):
        # Tests that passed before and pass now show nothing broke, not that it is done.
        verdict.acceptance = AcceptanceCheck.from_state(state.get("acceptance"))
        if verdict.acceptance is None:
            verdict.acceptance, verdict.failure = _write_acceptance(ctx, state, code)
        if verdict.acceptance is not None:
            verdict.acceptance, verdict.failure, shown = _run_acceptance(
                ctx, state, verdict.acceptance, code
            )
            verdict.evidence += [shown] if shown else []
    if verdict.failure:
        said = verdict.failure + (verdict.tests.output if verdict.tests else "")
        lacking = lacking_names(ctx.root, files, said)
        verdict.more_files += [f for f in lacking if f not in verdict.more_files]
    return verdict


def lacking_names(root: Path, files: list[str], failure: str) -> list[str]:
    """The repository's files of the modules a failure says lack a name (`module 'pkg'
    has no attribute 'f'`, `cannot import name 'f' from 'pkg'`): an answer that defined
    `f` in `pkg/number.py` must export it from `pkg/__init__.py` too, so the next attempt
    is shown that file (and may edit it)."""
    return _files_of(root, files, {a or b for a, b in _LACKS.findall(failure)})


def _files_of(root: Path, files: list[str], modules: set[str]) -> list[str]:
    """The files among `files` that are these dotted modules."""
    return [f for f in files if checks.module_name(f, root) in modules] if modules else []


def changed_code(state: AgentState, paths: Iterable[str]) -> list[str]:
    """The Python files the run has changed: earlier steps' and these `paths`."""
    done = [f for r in state.get("records", []) if r["success"] for f in r["files"]]
    return [f for f in dict.fromkeys([*done, *paths]) if f.endswith(".py")]


def _acceptance_due(ctx: RunContext, state: AgentState, code: list[str]) -> bool:
    """Whether an acceptance check judges the step when no test shows the change: on the
    last step, with Python code changed, unless the user turned it off."""
    return is_last_step(state) and bool(code) and ctx.settings.acceptance_check


@dataclass(frozen=True)
class AcceptanceCheck:
    """A check script, the tier that wrote it, and the values a second prediction gave for
    calls it disputed. Written once per run, before any change when it reproduces the failure
    (`reproduction`), else when the first answer needs it: every later answer meets the
    same bar, and no model call is spent on the same question twice."""

    script: str
    tier: str
    worked: dict[str, str] = field(default_factory=dict)
    reproduced: bool = False
    """Written before any change, it failed on the code as found, and a second prediction
    (a reference implementation) gave the values it expects (`reproduction`): no later
    answer may overrule it."""

    def to_state(self) -> dict[str, Any]:
        return {
            "script": self.script,
            "tier": self.tier,
            "worked": dict(self.worked),
            "reproduced": self.reproduced,
        }

    @classmethod
    def from_state(cls, data: dict[str, Any] | None) -> AcceptanceCheck | None:
        if not data:
            return None
        worked = dict(data.get("worked", {}))
        return cls(data["script"], data["tier"], worked, bool(data.get("reproduced")))


def _write_acceptance(
    ctx: RunContext, state: AgentState, code: list[str]
) -> tuple[AcceptanceCheck | None, str]:
    """A model writes a short check from the task and the changed signatures; a check
    that is unusable or already passes on the code from before is not kept (the failure
    says why), so the next answer asks for a new one."""
    key = CallKey.of(state, "check")
    messages = acceptance.messages(state["task"], state["plan"], ctx.root, code)
    decision = ctx.route(key, messages, code)
    reply = ctx.call_model(key, decision, messages, None, code)
    try:
        script = acceptance.extract(reply.text, cut=reply.incomplete)
    except ValueError as exc:
        return None, f"no usable acceptance check: {exc}"
    if acceptance.passes_before(ctx.root, state["start_head"], script):
        return None, (
            "the acceptance check passes on the code from before the change too: no evidence"
        )
    return AcceptanceCheck(script, reply.tier.value), ""


def _run_acceptance(
    ctx: RunContext, state: AgentState, check: AcceptanceCheck, code: list[str]
) -> tuple[AcceptanceCheck, str, str]:
    """Run the check on the applied answer: the check (with any values predicted anew),
    the failure, if any, and the evidence. Asserts that reach only code the run left as
    it was are left out; when every failure is a value the code contradicts, a second
    prediction (a reference implementation, run) may side with the code, unless the check
    reproduced the failure (two predictions already agreed on its values)."""
    try:
        changed, same = acceptance.symbol_changes(ctx.root, state["start_head"], code)
        script = acceptance.relevant(check.script, changed, same)
    except ValueError as exc:  # the answer changed none of what the check tests
        return check, str(exc), ""
    if script != check.script and acceptance.passes_before(ctx.root, state["start_head"], script):
        return check, "the acceptance check's asserts on the changed code pass before it too", ""
    result = acceptance.run(ctx.root, script)
    asserts = len(result.asserts) or script.count("assert ")  # asserts inside functions too
    what = f"acceptance check ({asserts} assert(s), written by the {check.tier} tier"
    if check.reproduced:
        what += ", before the change; it failed on the code as found"
    if result.passed:
        return check, "", what + ")"
    disputed = result.disputed
    if 0 < len(disputed) <= MAX_DISPUTED and not check.reproduced:
        check = work_out(ctx, CallKey.of(state, "judge"), state["task"], check, disputed, code)
        if acceptance.overruled(check.worked, disputed):
            said = "; ".join(f"{d['call']} == {d['got']}" for d in disputed)
            return (
                check,
                "",
                f"{what}; a reference written from the task gives the code's values: {said})",
            )
    failure = "the acceptance check fails:\n" + truncate_middle(
        result.output.strip(), prompts.OUTPUT_CHARS
    )
    return check, failure, ""


def work_out(
    ctx: RunContext,
    key: CallKey,
    task: str,
    check: AcceptanceCheck,
    disputed: list[dict[str, object]],
    files: list[str],
) -> AcceptanceCheck:
    """The check with a second prediction of each disputed call it has none for: the
    values a reference implementation gives, written by a model from the task alone (one
    call for all of them; none when every one was predicted before, or none calls a plain
    function)."""
    asked = [d for d in disputed if str(d["call"]) not in check.worked]
    names = acceptance.reference_names(asked)
    if not names:
        return check
    messages = acceptance.worked_messages(names, task)
    decision = ctx.route(key, messages, files)
    room = acceptance.WORKED_CHARS * len(names)
    reply = ctx.call_model(key, decision, messages, None, files, room)
    return replace(check, worked={**check.worked, **acceptance.worked_answers(reply.text, asked)})
