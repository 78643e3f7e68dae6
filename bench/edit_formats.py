"""Which reply format a small local model edits best: pass rate per sample on real bugs.

Builds the agent's own first act prompt for each task (the real graph up to `act`, with
failing tests leading to one file, so no model plans), then asks the local model for
`--samples` answers per format arm (the first greedy, the rest sampled), applies each
answer the way the agent does and runs the task's hidden check on a fresh copy.

Arms differ only in the format rules at the end of the prompt and the reply's start:
- symbol: send whole functions or classes (spliced by syntax tree), or a search/replace
  block for a small change to a large file, the reply prefilled with the first step
  file's path line and fence (the agent's format);
- symbol-no-prefill: the same rules, the reply not begun (the agent before the prefill);
- search-replace: search/replace blocks only, quoting just the lines to change;
- diagnose: the symbol rules, the reply begun with `Bug:` so that the model first says in
  one line which code is wrong and what it must become, then writes the edit;
- symbol-forks: the symbol arm, its answers after the first not sampled but forks of the
  first (`tiercode.agent.forks`: the first answer up to the token where the runner-up was
  likeliest, the runner-up in its place, continued greedily), as the agent does.

Reported per arm: answers that pass the check, tasks passed within the first k answers
(the agent stops at a task's first passing answer), answers that echo the code unchanged,
that do not parse or apply (no block, a block that is not valid Python, a search that
is not in the file), completion tokens per pass. Tasks default to the dev split's bug
and large-file tasks (the held-out third is for results, not for choosing formats).

Usage: python bench/edit_formats.py [--samples 5] [--temperature 0.7] [--threads 1]
           [--arms symbol,symbol-no-prefill,search-replace] [--tasks a,b]
           [--model qwen2.5-coder-1.5b] [--out bench/results]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tiercode.agent import config, nodes, replies, reply_parser
from tiercode.agent.forks import forks
from tiercode.agent.llm import catalog
from tiercode.agent.llm.models import LocalModel, ScriptedModel, with_prefill
from tiercode.agent.runner import Runner, Tiers
from tiercode.agent.step_view import FILE_CHARS
from tiercode.evals import realcode_suite
from tiercode.evals import repo as repo_suite
from tiercode.tools import edits
from tiercode.tools.search_replace import EditFailed

ROOT = Path(__file__).resolve().parents[1]
SEARCH_REPLACE_RULES = (
    """\
Reply in plain text, not JSON. For each change, write the file's path on its own line, \
then a search/replace block that quotes only the lines to change and a few lines around them:
"""
    + replies.SEARCH_REPLACE_BLOCK
    + replies.CLOSING_RULES
)
DIAGNOSE_RULES = replies.FORMAT_RULES + (
    "Before the code, write one line `Bug: <the wrong code> -> <what it must be>`.\n"
)
ARMS = {
    "symbol": (replies.FORMAT_RULES, "path"),
    "symbol-no-prefill": (replies.FORMAT_RULES, ""),
    "search-replace": (SEARCH_REPLACE_RULES, ""),
    "diagnose": (DIAGNOSE_RULES, "Bug:"),
    "symbol-forks": (replies.FORMAT_RULES, "path"),
}
"""Each arm's format rules, and how its reply starts: "path" is the agent's prefill (the
first step file's path line and fence), "" is not begun, other text is that text."""


def act_prompt(task: Any) -> tuple[list[dict[str, str]], Path, list[str]]:
    """The agent's first act prompt for the task (its prefill last), its repo and the
    step's files."""
    repo = repo_suite.make_repo(task, Path(tempfile.mkdtemp()))
    test_cmd = f"{sys.executable} -m pytest -q -p no:cacheprovider"
    settings, _ = config.load(repo, {"policy": "local", "samples": 1, "test_cmd": test_cmd})
    scripted = ScriptedModel(["no answer"] * 4)
    tiers = Tiers(lambda: scripted, lambda: scripted, "gpt-4.1-mini", True)
    events: list[Any] = []
    Runner(settings, repo, emit=events.append, tiers=tiers).start(task.request)
    plan = next(e.to_dict() for e in events if e.type == "plan")
    if not scripted.prefills[0]:
        # Only failing tests that lead to one file make the plan without a model call; any
        # other task's first call is the plan, not the act prompt this bench needs.
        raise SystemExit(f"{task.name}: the first call is not an act prompt; pick a bug task")
    prefill = [{"role": "assistant", "content": scripted.prefills[0]}]
    return scripted.calls[0] + prefill, repo, plan["steps"][0]["files"]


def judge(task: Any, repo: Path, files: list[str], text: str) -> str:
    """What one answer comes to: pass, fail, echo, no-block, syntax, apply or other."""
    try:
        parsed = reply_parser.parse(text, files)
    except ValueError as exc:
        return "no-block" if "no code block" in str(exc) else "other"
    copy = Path(tempfile.mkdtemp()) / "repo"
    shutil.copytree(task.path / "repo", copy)
    changed = False
    for edit in parsed.edits:
        source = (copy / edit.path).read_text() if (copy / edit.path).exists() else None
        try:
            new = edits.new_text(edit, source, edit.path, whole=len(source or "") <= FILE_CHARS)
        except EditFailed as exc:
            why = str(exc)
            if "changes nothing" in why:
                continue
            return "syntax" if "parse" in why else "apply"
        if edit.path.endswith(".py"):
            try:
                compile(new, edit.path, "exec")
            except SyntaxError:
                return "syntax"
        changed = changed or new != source
        (copy / edit.path).write_text(new)
    if not changed:
        return "echo"
    return "pass" if repo_suite.check(task, copy)[0] else "fail"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--arms", default="symbol,symbol-no-prefill")
    parser.add_argument("--tasks", default="")
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--show", action="store_true", help="print every reply")
    args = parser.parse_args()
    suite = realcode_suite.load()
    names = [n for n in args.tasks.split(",") if n]
    tasks = (
        [t for t in suite if t.name in names]
        if names
        else [t for t in suite if t.split == "dev" and t.kind in ("bug", "large-file")]
    )
    path = catalog.installed_path(args.model)
    model = LocalModel(path, n_ctx=4096, threads=args.threads)
    arms = args.arms.split(",")
    counts = {arm: collections.Counter() for arm in arms}
    tokens = collections.Counter()
    firsts: dict[str, list[int | None]] = {arm: [] for arm in arms}
    per_task: list[dict[str, Any]] = []
    started = time.time()
    for task in tasks:
        base, repo, files = act_prompt(task)
        room = nodes.reply_room(base)
        for arm in arms:
            rules, start = ARMS[arm]
            messages = [dict(m) for m in (base if start == "path" else base[:-1])]
            if start not in ("path", ""):
                messages.append({"role": "assistant", "content": start})
            messages[1]["content"] = messages[1]["content"].replace(replies.FORMAT_RULES, rules)
            outcomes = collections.Counter()
            starts: list[str] = []
            first: int | None = None
            for i in range(args.samples):
                if i and arm == "symbol-forks" and i <= len(starts):
                    begun = with_prefill(messages, starts[i - 1])
                    reply = model.complete(begun, max_tokens=768, max_chars=room)
                else:
                    reply = model.complete(
                        messages,
                        max_tokens=768,
                        max_chars=room,
                        temperature=0.0 if i == 0 else args.temperature,
                        logprobs=i == 0,
                    )
                if i == 0 and arm == "symbol-forks":
                    starts = forks(reply, args.samples - 1)
                tokens[arm] += reply.completion_tokens
                verdict = judge(task, repo, files, reply.text)
                outcomes[verdict] += 1
                if verdict == "pass" and first is None:
                    first = i + 1  # the agent stops at its first passing answer
                if args.show:
                    print(f"--- {task.name} {arm} {i}\n{reply.text}", flush=True)
            counts[arm].update(outcomes)
            firsts[arm].append(first)
            per_task.append({"task": task.name, "arm": arm, **outcomes, "first_pass": first})
            print(task.name, arm, dict(outcomes), f"load {os.getloadavg()[0]:.1f}", flush=True)
    n = args.samples * len(tasks)
    summary = {
        arm: {
            "answers": n,
            "passed": counts[arm]["pass"],
            "tasks_passed_within": {
                k: sum(1 for f in firsts[arm] if f is not None and f <= k)
                for k in range(1, args.samples + 1)
            },
            "echo": counts[arm]["echo"],
            "did_not_parse_or_apply": sum(
                counts[arm][k] for k in ("no-block", "other", "syntax", "apply")
            ),
            "syntax": counts[arm]["syntax"],
            "completion_tokens": tokens[arm],
            "tokens_per_pass": round(tokens[arm] / counts[arm]["pass"])
            if counts[arm]["pass"]
            else None,
        }
        for arm in arms
    }
    result = {
        "model": args.model,
        "samples": args.samples,
        "temperature": args.temperature,
        "threads": args.threads,
        "tasks": [t.name for t in tasks],
        "seconds": round(time.time() - started),
        "load_average_end": round(os.getloadavg()[0], 2),
        "summary": summary,
        "per_task": per_task,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"edit_formats-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
