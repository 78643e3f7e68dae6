"""Repair by writing a line again, tried before any whole answer to a step whose tests fail.

A small model shown buggy code copies it back: the commonest failed answer of the 1.5B
on the real-code suite's bug tasks sent the buggy code back unchanged (bench/README).
A hidden line cannot be copied. Each of the lines the failing tests most suspect
(`tools/faultloc.py`) is taken out in turn, and the model writes it again from the code
around it, as code models are trained to (fill-in-the-middle). A line written otherwise
is a candidate, applied and checked like any answer (`nodes.apply_and_check`); the first
that passes is the step's change. A call writes one line, and its samples reuse the
whole prompt; a tier whose model cannot fill in skips the writing.

After the model's tries at a line (or in their place) come the line's one-token changes
(`tools/mutants.py`), with no model call: the commonest one-line fixes, which a small
model rarely writes. Then the one-token changes reach further down the ranking than the
model's tries: a line ranks low when many lines tie with it (every line that only the
failing tests run ties), and on injected one-token bugs a reach of REACH lines holds the
bug's line far more often than the model's eight (bench/README.md, `repair_reach.py`).
They come before any new code the model writes: they cost test runs and no model call,
and the smallest change that passes is the likeliest right (an `if` written before a
suspect line can be fitted to the tests).

Two kinds of code run when the module is imported, so no test's coverage ranks them:
a default value of a suspect function's parameter (written again alone, the rest of its
line shown), and the lines of a function the module calls at import (`setup_lines`).

Last, a removed branch (an `if` block the code lacks), which cannot come back one line
at a time: the model writes an `if` into the empty place before each of the few most
suspect lines, and before each of the few most suspect `return` lines (`places`). The
`if` is written for it: left free, the 1.5B mostly wrote nothing there (an empty reply)
on the dev suite's dropped branches.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

from langgraph.runtime import Runtime

from tiercode.agent import nodes
from tiercode.agent.context import CallKey, RunContext
from tiercode.agent.events import StepCompleted
from tiercode.agent.llm.models import LINE_END
from tiercode.agent.router import Decision
from tiercode.agent.state import AgentState, Tier, current_step, is_last_step
from tiercode.tools.definitions import body_lines, columns, functions
from tiercode.tools.errors import CloudUnavailable, ModelUnavailable, TiercodeError
from tiercode.tools.mutants import changes
from tiercode.tools.search_replace import indent

BEFORE, AFTER, GRID = 60, 20, 40
"""The model reads at least BEFORE lines before the hidden one and AFTER lines after it.
The window starts on a multiple of GRID lines, so the windows of nearby lines begin
alike and a model reads their shared beginning once (its cached prefix)."""
TEMPERATURES = (0.0, *[0.8] * 5)
"""Tries per line: the likeliest line, then samples, each nearly free (same prompt)."""
LINE_TOKENS = 96
PLACES = 4
"""Empty places tried before the most suspect lines, and again before the most suspect
`return` lines (`places`)."""
BRANCH = "if "
"""How the code written into an empty place begins: a missing branch."""
BLOCK_TOKENS = 128
DEFAULTS = 12
"""Default values tried, of the functions that hold the most suspect lines."""
VALUE_TEMPERATURES = (0.0, 0.8)
"""Tries per default value: a value has few likely spellings."""
SETUP_LINES = 8
"""Lines tried of the functions that ran only at import (`setup_lines`)."""
REACH = 24
"""The suspect lines whose one-token changes are tried, the model's lines among them."""
UNROUTED = Decision(Tier.LOCAL, "one-token changes only, no model call")
_RETURN = re.compile(r"\s*return\b")
_CLAUSE = re.compile(r"\s*(elif|else|except|finally|case)\b")


@dataclass(frozen=True)
class Hole:
    """Where the model writes: line `number` of `path` hidden (`replaces`), only the
    default value at `columns` of that line, or the empty place before the line (new
    lines go in). Without `model`, only the line's one-token changes are tried."""

    path: str
    number: int
    replaces: bool
    columns: tuple[int, int] | None = None
    model: bool = True

    @property
    def written(self) -> str:
        """What was written, as the step's record says it."""
        at = f"{self.path}:{self.number}"
        if self.columns:
            return f"the default value at {at} written again"
        return f"{at} written again" if self.replaces else f"lines written before {at}"

    @property
    def changed(self) -> str:
        """A one-token change of the hidden line, as the step's record says it."""
        return f"{self.path}:{self.number} with one token changed (no model call)"


def infill(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Write the step's most suspect lines again (each followed by its one-token
    changes), then new lines before its most suspect returns, then the default values and
    the lines run at import (with their one-token changes), then try the next suspect
    lines' one-token changes, one hole at a time; keep the first that passes every check.
    Runs once per step; a step it cannot fix goes on to `act`."""
    ctx = runtime.context
    done: dict[str, Any] = {"infilled": state["step"]}
    calls = 0
    for hole in holes(ctx, state):
        lines = _lines(ctx, hole.path)  # read again: a failed candidate was put back
        if not 0 < hole.number <= len(lines) or not lines[hole.number - 1].strip():
            continue
        before, hidden, after = window(lines, hole.number)
        if hole.columns:  # only the value is hidden: the rest of its line is shown
            start, end = hole.columns
            before, after = before + hidden[len(indent(hidden)) : start], hidden[end:] + after
        elif not hole.replaces:
            before, after = before + BRANCH, hidden.lstrip() + after  # the hole is before the line
        decision = UNROUTED
        if hole.model:  # routed: a window may hold what a prompt did not
            pieces = [{"role": "user", "content": before}, {"role": "user", "content": after}]
            decision = ctx.route(CallKey.of(state, "infill", calls + 1), pieces, [hole.path])
        tried = Tried(hole, lines, decision, set())
        temperatures = VALUE_TEMPERATURES if hole.columns else TEMPERATURES
        writes = hole.model and ctx.model(decision.tier).can_infill
        for temperature in temperatures if writes else ():
            calls += 1
            try:
                reply = ctx.call_infill(
                    CallKey.of(state, "infill", calls), decision, before, after, [hole.path],
                    max_tokens=LINE_TOKENS if hole.replaces else BLOCK_TOKENS,
                    temperature=temperature,
                    stop=LINE_END if hole.replaces else (hidden.strip(),),
                )  # fmt: skip
            except CloudUnavailable:
                raise
            except ModelUnavailable:
                break  # a window too long for the model: the next line's may fit
            text = reply.text.rpartition("\n")[0] if reply.incomplete else reply.text
            if not (hole.replaces or hole.columns):
                text = BRANCH + text if text.strip() else ""
            line = (  # a line cut short is no line
                value(text, hidden, hole.columns)
                if hole.columns
                else code(text, hidden, hole.replaces)
            )
            if kept := _try(ctx, state, tried, line, reply.tier, hole.written):
                return {**kept, **done}
        if hole.replaces and not hole.columns:
            for line in changes("".join(lines), hole.number):  # fixes the model did not write
                if kept := _try(ctx, state, tried, line, decision.tier, hole.changed):
                    return {**kept, **done}
    return done


@dataclass(frozen=True)
class Tried:
    """A hole, its file's lines when it was read, its route and the lines tried there."""

    hole: Hole
    lines: list[str]
    decision: Decision
    written: set[str]


def _try(
    ctx: RunContext, state: AgentState, at: Tried, line: str, tier: Tier, saying: str
) -> dict[str, Any]:
    """Apply and check `line` at the hole, once per distinct line: the step's state update
    when it passes every check; else nothing, and the failure is told."""
    hidden = at.lines[at.hole.number - 1]
    if not line or line.strip() == hidden.strip() or line in at.written:
        return {}
    at.written.add(line)
    action = {"edits": [edit(at.hole, at.lines, line)], "confidence": {}, "written": saying}
    tried: Any = {**state, "action": action, "decision": at.decision.to_state()}
    out = nodes.apply_and_check(ctx, tried)
    if not out.failure:
        return {**nodes.settle(ctx, tried, out), "action": action}
    ctx.emit(
        StepCompleted(
            run_id=state["run_id"],
            step=state["step"],
            attempt=state.get("attempt", 0),
            tier=tier,
            success=False,
            detail=f"{saying} as `{line.strip()[:80]}`: {out.failure}",
            confidence=None,
            files=[],
        )
    )
    return {}


def after_infill(state: AgentState) -> str:
    """On to the next step (or the end) when a written line passed; else to `act`."""
    last = state["records"][-1] if state.get("records") else None
    if last is None or last["step"] != state["step"] or not last["success"]:
        return "act"
    return "finish" if is_last_step(state) else "advance"


def holes(ctx: RunContext, state: AgentState) -> list[Hole]:
    """The most suspect lines in the step's files, the next suspect lines (their one-token
    changes only), the default values of the functions that hold the suspect lines, the
    lines that ran only at import, and the places for a dropped branch: the smallest
    changes first. Only when this step is the one the failing tests judge (the last) and
    has not been tried here yet."""
    if state.get("infilled") == state["step"] or not is_last_step(state):
        return []
    if ctx.settings.infill_lines <= 0 or state.get("attempt", 0):
        return []
    if ctx.git.commit_for(state["run_id"], state["step"]):
        return []  # resumed after this step's commit: `verify` takes it as it is
    files = set(current_step(state)["files"])
    suspects = _located(state.get("fault_lines", []), files)
    lines = ctx.settings.infill_lines
    replaced = [Hole(path, number, True) for path, number in suspects[:lines]]
    reach = [Hole(path, number, True, model=False) for path, number in suspects[lines:REACH]]
    texts = {path: _lines(ctx, path) for path in files}
    setup = [
        Hole(path, number, True) for path, number in _located(state.get("setup_lines", []), files)
    ]
    return [
        *replaced,
        *reach,
        *defaults(texts, suspects)[:DEFAULTS],
        *setup[:SETUP_LINES],
        *places(texts, suspects),
    ]


def places(texts: dict[str, list[str]], suspects: list[tuple[str, int]]) -> list[Hole]:
    """The empty places where a dropped branch is looked for: before each of the PLACES
    most suspect lines (a branch dropped from the middle of a block leaves the line after
    it run by the failing tests), then before each of the PLACES most suspect `return`
    lines (the return that now gives the wrong value). Never before a clause (`elif`,
    `except`, ...), which a new `if` would take over. On dropped branches in the suite's
    projects, this holds the place of 12 in 33, the returns alone 5 (bench/README.md)."""
    lines = [(path, n) for path, n in suspects if 0 < n <= len(texts[path])]
    placeable = [(path, n) for path, n in lines if not _CLAUSE.match(texts[path][n - 1])]
    returns = [(path, n) for path, n in placeable if _RETURN.match(texts[path][n - 1])]
    return [
        Hole(path, n, False) for path, n in dict.fromkeys([*placeable[:PLACES], *returns[:PLACES]])
    ]


def defaults(texts: dict[str, list[str]], suspects: list[tuple[str, int]]) -> list[Hole]:
    """The one-line default values of the functions whose bodies hold the suspect lines,
    the most suspect function's first. A default is evaluated once, when the module is
    imported, so no test's coverage shows it, yet every call that omits it uses it."""
    defined = {path: functions("".join(lines)) for path, lines in texts.items()}
    held: dict[tuple[str, int], ast.arguments] = {}
    for path, number in suspects:
        around = [f for f in defined.get(path, []) if number in body_lines(f)]
        if around:  # the innermost: the function whose code the line is
            inner = max(around, key=lambda f: f.lineno)
            held.setdefault((path, inner.lineno), inner.args)
    found = []
    for (path, _), args in held.items():
        for node in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
            if node.lineno == node.end_lineno:
                at = columns(texts[path][node.lineno - 1], node)
                found.append(Hole(path, node.lineno, True, at))
    return found


def _located(places: list[str], files: set[str]) -> list[tuple[str, int]]:
    """The `path:line` places that lie in `files`, as (path, line)."""
    split = (place.rpartition(":") for place in places)
    return [(path, int(line)) for path, _, line in split if path in files]


def _lines(ctx: RunContext, path: str) -> list[str]:
    """The file's lines with their endings; none when it cannot be read."""
    try:
        return ctx.files.read(path).splitlines(keepends=True)
    except TiercodeError:
        return []


def window(lines: list[str], number: int) -> tuple[str, str, str]:
    """The code before line `number` (1-based) with its indentation, the line, and the
    code after it: what the model reads around the line it writes."""
    hidden = lines[number - 1]
    start = max(0, (number - 1 - BEFORE) // GRID * GRID)
    before = "".join(lines[start : number - 1]) + indent(hidden)
    return before, hidden, "".join(lines[number : number + AFTER])


def code(text: str, hidden: str, replaces: bool) -> str:
    """What the model wrote, as whole lines: the hidden line written again, or the lines
    for the place before it, at its indent or deeper (they end where the model's code
    leaves that block, and not on a block's opening line, whose body would be the hidden
    line). Empty when there is no code in it."""
    pad, ending = indent(hidden), _ending(hidden)
    if replaces:
        return pad + text.strip() + ending if text.strip() else ""
    block = []
    for line in (pad + text).splitlines():
        if line.strip() and not line.startswith(pad):
            break
        block.append(line.rstrip())
    while block and (not block[-1].strip() or block[-1].endswith(":")):
        block.pop()
    if all(not line.strip() or line.lstrip().startswith("#") for line in block):
        return ""
    return ending.join(block) + ending


def value(text: str, hidden: str, columns: tuple[int, int]) -> str:
    """The line with the model's value in place of its default at `columns`. A model that
    wrote on to the end of the line (`False,` before `,`) has that rest dropped. Empty
    when it wrote no value."""
    start, end = columns
    written, rest = text.strip(), hidden[end:].strip()
    if rest and written.endswith(rest):
        written = written[: -len(rest)].rstrip()
    return hidden[:start] + written + hidden[end:] if written else ""


def edit(hole: Hole, lines: list[str], new: str) -> dict[str, str]:
    """A search/replace edit that puts `new` in place of the hole's line, or before it,
    its search grown by neighbouring lines until it occurs once in the file."""
    number, source = hole.number, "".join(lines)
    for reach in range(len(lines)):
        first, last = max(0, number - 1 - reach), min(len(lines), number + reach)
        search = "".join(lines[first:last])
        if source.find(search) == source.rfind(search):  # once, overlaps counted too
            break
    kept = lines[number - 1 + hole.replaces : last]
    replace = "".join([*lines[first : number - 1], new, *kept])
    return {"path": hole.path, "kind": "search_replace", "search": search, "replace": replace}


def _ending(line: str) -> str:
    return line[len(line.rstrip("\r\n")) :] or "\n"
