"""A step's side effects on the repository: its edits (with the renames they imply), its
command, and putting every touched file back byte for byte when the step fails."""

from __future__ import annotations

import re
from typing import Any

from tiercode.agent import asked_names
from tiercode.agent.context import RunContext
from tiercode.agent.events import ApprovalNeeded
from tiercode.agent.state import AgentState, Step, current_step
from tiercode.agent.step_view import FILE_CHARS
from tiercode.tools import checks, command_policy, rename, shell
from tiercode.tools.edits import Edit, Unchanged
from tiercode.tools.errors import TiercodeError


def apply_edits(
    ctx: RunContext, step: Step, edits: list[dict[str, Any]], before: dict[str, bytes | None]
) -> tuple[list[str], str]:
    """Apply the edits; returns touched paths and a failure, if any. An edit that repeats
    its file is skipped; only a reply in which every edit does so fails. `before` collects
    each touched file's bytes (None: it did not exist) so a failed step can be undone
    exactly, whatever git knows of the file."""
    touched: list[str] = []
    unchanged: list[str] = []
    if not edits:
        return touched, "the reply had no edits"
    for raw in edits:
        edit = Edit(**raw)
        try:
            rel = ctx.files.relative(edit.path)
        except TiercodeError as exc:
            return touched, str(exc)
        if rel in ctx.user_dirty:
            return touched, f"{rel} has your uncommitted changes; tiercode leaves it alone"
        if rel not in step["files"]:
            return touched, f"{rel} is not one of this step's files ({', '.join(step['files'])})"
        _keep(ctx, before, rel)
        try:
            ctx.files.apply_edit(edit, whole_up_to=FILE_CHARS)
        except Unchanged as exc:
            unchanged.append(str(exc))
            continue
        except TiercodeError as exc:
            return touched, str(exc)
        if rel not in touched:
            touched.append(rel)
    return touched, "" if touched else "; ".join(unchanged)


def follow_renames(
    ctx: RunContext, state: AgentState, touched: list[str], before: dict[str, bytes | None]
) -> str:
    """When an edit renamed a definition to a name the task or step asks for, rope renames
    every reference too (other files, imports, tests): a small model edits the definition
    and forgets the callers. The files rope changes join the step. Returns a failure."""
    asked = f"{state['task']} {current_step(state)['goal']}"
    for rel in [t for t in touched if t.endswith(".py")]:
        if (data := before.get(rel)) is None:
            continue
        now = (ctx.root / rel).read_text(encoding="utf-8")
        found = rename.detect(rel, data.decode("utf-8", "replace"), now)
        if found is None or not re.search(rf"\b{re.escape(found.new)}\b", asked):
            continue
        try:
            texts = rename.follow(ctx.root, found)
        except ValueError:
            continue  # the checks that follow say which references are left
        if failure := _write_all(ctx, texts, touched, before, f"renaming {found.old}"):
            return failure
    return ""


def name_as_asked(
    ctx: RunContext, state: AgentState, touched: list[str], before: dict[str, bytes | None]
) -> str:
    """Give the answer's code the names the task calls it by (`asked_names`): a new
    definition named `prefix_<name>` for a missing `pkg.name` is renamed, references too
    (rope), and a name the task calls on a package that one of its modules now defines is
    imported into the package's `__init__.py`. The files changed join the step. Returns a
    failure."""
    task, files = state["task"], ctx.files.list()
    code = [t for t in touched if t.endswith(".py")]
    if not code or not asked_names.calls(task):
        return ""
    added = {rel: _added(ctx, before.get(rel), rel) for rel in code}
    new = [name for names in added.values() for name in names]
    missing = asked_names.missing(task, ctx.root, files, state["start_head"]) if new else []
    if pair := asked_names.flattened(missing, new):
        flat, name = pair
        rel = next(r for r, names in added.items() if flat in names)
        try:
            texts = rename.definition(ctx.root, rename.Renamed(rel, flat, name))
        except ValueError:
            texts = {}  # the checks that follow say the name is missing
        if failure := _write_all(ctx, texts, touched, before, f"renaming {flat}"):
            return failure
    for rel in code:
        module = checks.module_name(rel, ctx.root) or ""
        package = module.rpartition(".")[0]
        init = next((f for f in files if f.endswith("__init__.py") and package and
                     checks.module_name(f, ctx.root) == package), None)  # fmt: skip
        if init is None:
            continue
        try:
            names = list(rename.top_level(ctx.files.read(rel)))
        except SyntaxError:
            continue
        text = asked_names.exported(task, ctx.files.read(init), package, module, names)
        if text and (
            failure := _write_all(ctx, {init: text}, touched, before, f"exporting {module}")
        ):
            return failure
    return ""


def _added(ctx: RunContext, data: bytes | None, rel: str) -> list[str]:
    """The top-level definitions of `rel` that it lacked before the step (`data`)."""
    try:
        now = rename.top_level(ctx.files.read(rel))
        then = rename.top_level(data.decode("utf-8", "replace")) if data else {}
    except SyntaxError:
        return []
    return [name for name in now if name not in then]


def _write_all(
    ctx: RunContext,
    texts: dict[str, str],
    touched: list[str],
    before: dict[str, bytes | None],
    doing: str,
) -> str:
    """Write files the step changes beyond its edits; they join it. Returns a failure."""
    for path, text in texts.items():
        if path in ctx.user_dirty:
            return f"{doing} would change {path}, which has your uncommitted changes"
        _keep(ctx, before, path)
        try:
            ctx.files.write(path, text)
        except TiercodeError as exc:
            return str(exc)
        if path not in touched:
            touched.append(path)
    return ""


def _keep(ctx: RunContext, before: dict[str, bytes | None], rel: str) -> None:
    """Remember a file's bytes (None: it does not exist) before its first change."""
    if rel not in before:
        real = ctx.root / rel
        before[rel] = real.read_bytes() if real.is_file() else None


def undo(ctx: RunContext, before: dict[str, bytes | None]) -> None:
    """Put every file the failed step touched back byte for byte; remove the ones it made."""
    for rel, data in before.items():
        real = ctx.root / rel
        if data is None:
            real.unlink(missing_ok=True)
        else:
            real.write_bytes(data)


def run_command(ctx: RunContext, state: AgentState, command: str) -> None:
    verdict = command_policy.check_command(command, ctx.settings.shell_allow, root=ctx.root)
    granted = verdict.action == "allow"
    if verdict.action == "ask":
        granted = ctx.approve(command, verdict.reason)
    if verdict.action != "allow":
        ctx.emit(
            ApprovalNeeded(
                run_id=state["run_id"],
                step=state["step"],
                command=command,
                reason=verdict.reason,
                granted=granted,
            )
        )
    returncode = shell.run(command, ctx.root, timeout_s=120).returncode if granted else None
    ctx.ledger.record_command(
        state["run_id"], state["step"], command, verdict.action, granted, returncode
    )
