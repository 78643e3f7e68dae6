"""What an act step shows the model: each of its files whole when small, else only the
definitions the task, step and tracebacks name (never a file with its middle cut out), the
last test output, and the failed attempt the retry is about."""

from __future__ import annotations

import ast
from collections.abc import Sequence

from tiercode.agent import prompts, replies
from tiercode.agent.context import RunContext
from tiercode.agent.state import AgentState, current_step
from tiercode.tools.checks import TestRun
from tiercode.tools.edits import Edit
from tiercode.tools.errors import TiercodeError
from tiercode.tools.outline import (
    callees,
    enclosing_symbols,
    excerpt,
    focus_symbols,
    imports,
    literal_sites,
    outline,
)
from tiercode.tools.repomap import symbols
from tiercode.tools.text import truncate_middle

FILE_CHARS = 6000
"""Files up to this size are shown whole; larger ones by their relevant definitions."""


def _show(
    ctx: RunContext, path: str, hints: str, frames: Sequence[int] = (), raised: int = 0
) -> str | prompts.Shown | None:
    """A file as the model should see it: whole when small, else only the definitions the
    task, step and tracebacks name or whose strings they quote, and what those call,
    verbatim; when none is named, its imports and the names it defines (a new definition
    needs no more); an outline with line numbers only for a file that is not Python or
    does not parse. Never a file with its middle cut out. Line `raised`, where a failing
    test's error comes from, carries `RAISED_MARK`."""
    try:
        text = _marked(path, ctx.files.read(path), raised)
    except TiercodeError as exc:
        if not (ctx.root / path).exists():
            return None
        return prompts.Shown("", f"{path} is not shown: {exc}")
    if len(text) <= FILE_CHARS:
        return text
    focus = [
        *enclosing_symbols(path, text, frames),
        *focus_symbols(path, text, hints),
        *literal_sites(path, text, hints),
    ]
    focus[1:1] = callees(path, text, focus)[:2]  # what the first calls, or most of them do
    size = f"{path} has {text.count(chr(10)) + 1} lines"
    if part := excerpt(path, text, focus, FILE_CHARS):
        others = ", ".join(part.others[:12])
        if len(part.others) > 12:
            others += f" and {len(part.others) - 12} more"
        also = f" It also defines {others}." if others else ""
        return prompts.Shown(
            part.code,
            f"{size}; only {', '.join(part.shown)} shown.{also} "
            "Send back only the definitions you change.",
        )
    names = ", ".join(s.name for s in symbols(path, text) if "." not in s.name)
    if names and (head := imports(path, text)) is not None:
        return prompts.Shown(
            head,
            f"{size}; only its imports shown. It defines {truncate_middle(names, 600)}. "
            "Send only the definitions you add or change.",
        )
    return prompts.Shown(
        outline(path, text, focus, FILE_CHARS),
        f"{size}, shown as an outline with line numbers; '...' marks lines not shown. "
        "Change it with a search/replace block quoting its lines exactly, without the numbers.",
    )


def _marked(path: str, text: str, line: int) -> str:
    """`text` with `RAISED_MARK` after line `line` (1-based; 0 for none), when the comment
    leaves the syntax tree as it was (not inside a string, not after a backslash)."""
    lines = text.split("\n")
    if not path.endswith(".py") or not 0 < line <= len(lines) or "\r" in lines[line - 1]:
        return text
    lines[line - 1] += replies.RAISED_MARK
    marked = "\n".join(lines)
    try:
        same = ast.dump(ast.parse(marked)) == ast.dump(ast.parse(text))
    except (SyntaxError, ValueError):
        return text
    return marked if same else text


def act_messages(ctx: RunContext, state: AgentState) -> list[dict[str, str]]:
    step = current_step(state)
    baseline = TestRun.from_state(state.get("baseline"))
    test_output = state.get("test_output", "") or (baseline.output if baseline else "")
    hints = " ".join([state["task"], step["goal"], state.get("feedback", ""), test_output])
    frames: dict[str, list[int]] = {}
    for suspect in state.get("suspects", []):  # "path:line:function", innermost first
        path, line, _ = suspect.rsplit(":", 2)
        frames.setdefault(path, []).append(int(line))
    # The first suspect is the first failure's innermost frame: where its error comes from.
    raised = {path: lines[0] for path, lines in list(frames.items())[:1]}
    files = {
        path: _show(ctx, path, hints, frames.get(path, ()), raised.get(path, 0))
        for path in step["files"]
    }
    return prompts.act_messages(
        state["task"],
        state["plan"],
        state["step"],
        files,
        feedback=state.get("feedback", ""),
        attempt=_previous_attempt(state),
        test_output=truncate_middle(test_output, prompts.OUTPUT_CHARS)
        if not baseline or not baseline.passed or state.get("test_output")
        else "",
    )


def _previous_attempt(state: AgentState) -> str:
    """The edits this step's failed attempt sent, in the reply format: the test output
    the model reads is from that code, and without it a retry repeats the same answer."""
    edits = state.get("action", {}).get("edits") if state.get("attempt") else None
    if not edits or not state.get("feedback"):
        return ""
    text = replies.format_reply([Edit(**e) for e in edits])
    return truncate_middle(text, prompts.OUTPUT_CHARS)
