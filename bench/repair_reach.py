"""How far the no-model repair reaches: on fresh injected bugs, where the bug's line ranks
among the suspects `faultloc` gives `infill`, and whether a one-token change of that line
(`tools/mutants.py`) puts it back; for a dropped branch, where it sat and whether its place
is among `infill`'s empty places, where the model writes an `if`.

The bugs are made the way the real-code suite's were (evals/realcode/build.py: one
mutation of one function of a real project, kept when 1 to 10 of the project's tests
fail), in the suite's four projects, leaving out every function a held-out task mutates,
so nothing here is tuned on the held-out third. Each bug goes through the agent's own
localization: the tests run (`checks.run_tests`), the traceback is read
(`tracebacks.suspects`) and the lines are ranked (`faultloc.rank`), as `localize` does.
No model is called.

    .venv/bin/python bench/repair_reach.py   # --per-project 20 --seed 1 [--other faultloc.py]
    .venv/bin/python bench/repair_reach.py --dropped-branches   # only dropped branches
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import os
import random
import shutil
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

from tiercode.agent import infill
from tiercode.agent.planning import FAULT_LINES
from tiercode.evals.pinning import source_commit
from tiercode.evals.repo import RepoTask, apply_solution, load
from tiercode.tools import checks, faultloc, shell, tracebacks
from tiercode.tools.mutants import changes
from tiercode.tools.search_replace import indent

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "evals" / "realcode"
sys.path.insert(0, str(SUITE))
import build  # noqa: E402  (the suite's own bug injector)

ONE_TOKEN = {"comparison", "operator", "boolean", "dropped-not", "off-by-one", "swapped-arguments"}
REACHES = (8, 16, 24, 40)


def clean_project(project: str, tasks: list[RepoTask], where: Path) -> Path:
    """The project as released: a bug task's snapshot with its reference fix applied."""
    task = next(
        t
        for t in tasks
        if t.kind in ("bug", "large-file") and _meta(t).get("project", "").startswith(project)
    )
    root = where / project
    shutil.copytree(task.path / "repo", root)
    apply_solution(task, root)
    return root


def _meta(task: RepoTask) -> dict:
    return tomllib.loads((SUITE / task.name / "task.toml").read_text())


def held_out_functions(tasks: list[RepoTask]) -> set[tuple[str, str]]:
    """(file, function) of every held-out bug task: never mutated here."""
    found = set()
    for task in tasks:
        meta = _meta(task)
        if task.split == "heldout" and "function" in meta:
            path, _, name = meta["function"].partition(":")
            found.add((path, name))
    return found


def line_of(source: str, offset: int) -> int:
    return source.count("\n", 0, offset) + 1


def measure(root: Path, rel: str, mutant: dict, original: str, other: object = None) -> dict | None:
    """Localize one injected bug (also with `other`, a second faultloc module, when given);
    None when it is not kept (0 or over 10 failing tests)."""
    try:
        compile(mutant["source"], rel, "exec")
    except SyntaxError:
        return None  # `is not not None`: the suite's builder drops these too
    (root / rel).write_text(mutant["source"])
    try:
        command = shell.detect_test_command(root)
        baseline = checks.run_tests(root, command)
        if not 0 < len(baseline.failing) <= 10 or baseline.timed_out:
            return None
        frames = tracebacks.suspects(baseline.output, root)
        started = time.monotonic()
        timeout = baseline.rerun_timeout()
        ranking = faultloc.rank(root, command, baseline.failing, frames, timeout)
        rank_s = time.monotonic() - started
        if other is not None:
            ranking_other = other.rank(root, command, baseline.failing, frames, timeout)
    finally:
        (root / rel).write_text(original)
    line = line_of(mutant["source"], mutant["start"])
    fixed_line = original.splitlines(keepends=True)[line - 1]
    restoring = changes(mutant["source"], line)
    where = {}
    if mutant["op"] == "dropped-branch":  # its place: before the next line of code
        lines = mutant["source"].splitlines()
        while line < len(lines) and lines[line - 1].strip()[:1] in ("", "#"):
            line += 1
        where = _branch_place(ranking, rel, mutant["source"], line, fixed_line)
    return {
        "file": rel,
        "function": mutant["function"],
        "kind": mutant["op"],
        "line": line,
        "failing": len(baseline.failing),
        **_placed(ranking, rel, line, ""),
        **(_placed(ranking_other, rel, line, "other_") if other is not None else {}),
        "restored_by_one_token": fixed_line in restoring,
        "one_token_changes": len(restoring),
        "tests_s": baseline.seconds,
        "rank_s": round(rank_s, 2),
        **where,
    }


def _placed(ranking: faultloc.Ranking, rel: str, line: int, prefix: str) -> dict:
    """The bug's line's rank among the suspects in its file, and how many tie at the top."""
    in_file = [s.line for s in ranking.suspects if s.path == rel]
    top = ranking.suspects[0].score if ranking.suspects else None
    return {
        f"{prefix}rank": in_file.index(line) + 1 if line in in_file else None,
        f"{prefix}suspects_in_file": len(in_file),
        f"{prefix}tied_at_top": sum(1 for s in ranking.suspects if s.score == top),
    }


def _branch_place(
    ranking: faultloc.Ranking, rel: str, source: str, line: int, dropped: str
) -> dict:
    """Where the dropped `if` sat (`return`: before a return; `block start`: before the
    first statement of a block; `block end`: after a block's last, where no place before a
    line can put it back; else `middle`); whether it is among `infill`'s empty places
    (`placed`), and whether it was among those of the rule before it, the places before
    the 4 most suspect returns (`placed_before_returns`)."""
    lines = source.splitlines(keepends=True)
    at = lines[line - 1] if line <= len(lines) else ""
    suspects = [(s.path, s.line) for s in ranking.suspects[:FAULT_LINES] if s.path == rel]
    same_block = indent(at) == indent(dropped)
    returns = [n for _, n in suspects if infill._RETURN.match(lines[n - 1])]  # the old rule
    if not same_block:
        kind = "block end"
    elif infill._RETURN.match(at):
        kind = "return"
    else:
        kind = "block start" if line in block_starts(source) else "middle"
    held = [h.number for h in infill.places({rel: lines}, suspects)]
    return {
        "place": kind,
        "placed": same_block and line in held,
        "placed_before_returns": same_block and line in returns[: infill.PLACES],
    }


def block_starts(source: str) -> set[int]:
    """The lines of the statements that open a block's body (a function's after its
    docstring)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(node, ast.Module | ast.ClassDef) or not isinstance(body, list):
            continue
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and ast.get_docstring(node):
            body = body[1:]
        if body:
            found.add(body[0].lineno)
    return found


def _module(path: Path) -> object:
    spec = importlib.util.spec_from_file_location("faultloc_other", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-project", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--dropped-branches", action="store_true", help="only dropped branches: where they sat"
    )
    parser.add_argument(
        "--other", type=Path, help="a second faultloc.py (e.g. a branch's) to rank beside it"
    )
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    default = ROOT / "bench" / "results" / f"repair_reach-{stamp}.json"
    parser.add_argument("--out", type=Path, default=default)
    args = parser.parse_args()
    tasks = load(None, None, SUITE)
    excluded = held_out_functions(tasks)
    other = _module(args.other) if args.other else None
    rng = random.Random(args.seed)
    kinds = () if args.dropped_branches else ONE_TOKEN
    bugs: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="tiercode-reach-") as tmp:
        for project, spec in build.PROJECTS.items():
            root = clean_project(project, tasks, Path(tmp))
            pool = []
            for rel in spec["targets"]:
                original = (root / rel).read_text()
                pool += [
                    (rel, m, original)
                    for m in build.candidates(original)
                    if (rel, m["function"]) not in excluded
                    and (m["op"] == "dropped-branch" or m["op"] in kinds)
                ]
            rng.shuffle(pool)
            kept = 0
            for rel, mutant, original in pool:
                if kept >= args.per_project:
                    break
                found = measure(root, rel, mutant, original, other)
                if found:
                    kept += 1
                    bugs.append({"project": project, **found})
                    print(json.dumps(bugs[-1]), flush=True)
    summary = summarize(bugs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "seed": args.seed,
        "per_project": args.per_project,
        "load_average": os.getloadavg(),
        **source_commit(ROOT),
        "summary": summary,
        "bugs": bugs,
    }, indent=1) + "\n")  # fmt: skip
    print(table(summary))
    return 0


def summarize(bugs: list[dict]) -> dict[str, dict]:
    """Per kind (and all one-token kinds together): bugs, and the share whose line ranks
    within each reach; for one-token kinds, the share a one-token change restores and the
    share both ranked within the reach and restored. With a second faultloc, the same
    shares for its ranks (`other_`)."""
    groups: dict[str, list[dict]] = {}
    for bug in bugs:
        groups.setdefault(bug["kind"], []).append(bug)
        if bug["kind"] in ONE_TOKEN:
            groups.setdefault("one-token (all)", []).append(bug)
    prefixes = ["", *(["other_"] if bugs and "other_rank" in bugs[0] else [])]
    out: dict[str, dict] = {}
    for kind, group in sorted(groups.items()):
        n = len(group)
        row: dict[str, object] = {"bugs": n}
        one_token = kind != "dropped-branch"
        if one_token:
            row["restorable"] = _share(group, lambda b: b["restored_by_one_token"])
        for p in prefixes:
            row[f"{p}unranked"] = sum(b[f"{p}rank"] is None for b in group)
            for reach in REACHES:
                within = lambda b, r=reach, p=p: b[f"{p}rank"] is not None and b[f"{p}rank"] <= r  # noqa: E731
                row[f"{p}rank<={reach}"] = _share(group, within)
                if one_token:
                    row[f"{p}fixed<={reach}"] = _share(
                        group, lambda b, w=within: w(b) and b["restored_by_one_token"]
                    )
        if not one_token:
            for place in ("return", "block start", "middle", "block end"):
                row[f"at {place}"] = sum(b["place"] == place for b in group)
            row["placed"] = _share(group, lambda b: b["placed"])
            row["placed before returns"] = _share(group, lambda b: b["placed_before_returns"])
        out[kind] = row
    return out


def _share(group: list[dict], test: Callable[[dict], object]) -> float:
    return round(sum(bool(test(b)) for b in group) / len(group), 3)


def table(summary: dict[str, dict]) -> str:
    columns = list(dict.fromkeys(c for row in summary.values() for c in row))
    lines = ["| kind | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for kind, row in summary.items():
        lines.append(f"| {kind} | " + " | ".join(str(row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
