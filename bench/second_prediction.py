"""Which second prediction of a disputed value is right more often: the value worked out
in prose (the judge's old prompt), or a reference implementation written from the task
alone and run on the call (the judge's prompt now, `acceptance.worked_messages`)?

When an acceptance check and the answer disagree on `call == value`, a second prediction
decides: it may overrule the check, or confirm a reproduction. The cases here are the
dev split's hidden checks (never the held-out third's): every `assert f(literal, ...) ==
literal` in a feature or no-tests task's hidden tests, with its task's request, so the
right value is known and no case is picked by hand. Each arm is asked as the agent asks
it, greedy, with the same model; prose gets one call per case (its prompt names the
call), the reference one call per task and function (its prompt names only the function,
as the agent's does), then runs in the sandbox on every case's call.

    .venv/bin/python bench/second_prediction.py   # --model qwen2.5-coder-1.5b
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from llama_cpp import Llama

from tiercode.agent import acceptance
from tiercode.agent.llm import catalog, device
from tiercode.evals.pinning import source_commit
from tiercode.evals.repo import load

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "evals" / "realcode"
PROSE_RULES = (
    "For each call below, work out step by step, from the task's words alone, what it "
    "must return. Then end with one line per call: `Answer <n>: <Python literal>`."
)
"""The judge's prompt before the reference implementation replaced it (commit bb38b26)."""
PROSE_CHARS = 3000
"""Three times the room the agent gave prose (1,000 characters a call), so that no prose
answer is lost to the cap: the comparison favours prose, if anything."""


def cases() -> list[dict[str, str]]:
    """(task, request, call, bare call, right value) of every `assert call == literal`
    on literal arguments, of a function the test imports, in the dev feature and
    no-tests tasks' hidden tests."""
    found = []
    for task in load(None, None, SUITE):
        if task.split != "dev" or task.kind not in ("feature", "no-tests"):
            continue
        for test in sorted((task.path / "hidden").glob("*.py")):
            tree = ast.parse(test.read_text())
            imported = {
                (alias.asname or alias.name).partition(".")[0]
                for node in ast.walk(tree)
                if isinstance(node, ast.Import | ast.ImportFrom)
                for alias in node.names
            }
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare)):
                    continue
                left, ops, (right, *_) = node.test.left, node.test.ops, node.test.comparators
                if not (isinstance(left, ast.Call) and isinstance(ops[0], ast.Eq)):
                    continue
                callee = ast.unparse(left.func)
                if not re.fullmatch(r"[\w.]+", callee) or callee.partition(".")[0] not in imported:
                    continue  # a call on the repository's code, not on a test's variable
                try:
                    value = ast.literal_eval(right)
                    [ast.literal_eval(a) for a in [*left.args, *(k.value for k in left.keywords)]]
                except ValueError:
                    continue
                name = callee.rpartition(".")[2]
                bare = ast.Call(ast.Name(name, ast.Load()), left.args, left.keywords)
                found.append({
                    "task": task.name,
                    "request": task.request,
                    "call": ast.unparse(left),
                    "reference_call": ast.unparse(bare),
                    "right": repr(value),
                })  # fmt: skip
    return found


def chat(llm: Llama, messages: list[dict[str, str]], max_chars: int) -> str:
    reply = llm.create_chat_completion(
        messages,  # type: ignore[arg-type]
        temperature=0.0,
        max_tokens=max_chars // 3,
        seed=7,
    )
    return str(reply["choices"][0]["message"]["content"] or "")


def prose(llm: Llama, case: dict[str, str]) -> tuple[str, str]:
    """The answer worked out in prose, and the reply's last 300 characters."""
    messages = [
        {"role": "system", "content": "You work out exactly what code must return."},
        {
            "role": "user",
            "content": f"Task: {case['request']}\n\nCalls:\n1. {case['call']}\n\n{PROSE_RULES}",
        },
    ]
    reply = chat(llm, messages, PROSE_CHARS)
    found = re.findall(r"^\W*Answer 1\W*:\s*(.+?)\s*$", reply, re.M)
    return (found[-1].strip("`* ") if found else ""), reply[-300:]


def references(llm: Llama, group: list[dict[str, str]]) -> dict[str, str]:
    """One reference per task and function, run on each of its cases' calls."""
    names = acceptance.reference_names(group)  # type: ignore[arg-type]
    messages = acceptance.worked_messages(names, group[0]["request"])
    reply = chat(llm, messages, acceptance.WORKED_CHARS * len(names))
    return acceptance.worked_answers(reply, group)  # type: ignore[arg-type]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / f"second_prediction-{stamp}.json"
    )
    args = parser.parse_args()
    threads = device.auto_threads()
    llm = Llama(
        str(catalog.resolve(args.model)),
        n_ctx=4096,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    load_before = os.getloadavg()
    found = cases()
    rows: list[dict[str, Any]] = []
    for task in dict.fromkeys(c["task"] for c in found):
        group = [c for c in found if c["task"] == task]
        by_reference = references(llm, group)
        for case in group:
            said, tail = prose(llm, case)
            rows.append({
                **{k: case[k] for k in ("task", "call", "right")},
                "prose": said,
                "prose_right": acceptance.same_value(said, case["right"]),
                "prose_reply_end": tail,
                "reference": by_reference[case["call"]],
                "reference_right": acceptance.same_value(by_reference[case["call"]], case["right"]),
            })  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
    summary = {
        "cases": len(rows),
        "tasks": len({r["task"] for r in rows}),
        "prose_right": sum(r["prose_right"] for r in rows),
        "reference_right": sum(r["reference_right"] for r in rows),
        "reference_answered": sum(bool(r["reference"]) for r in rows),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "model": args.model,
        "threads": threads,
        "load_average": [load_before, os.getloadavg()],
        **source_commit(ROOT),
        "summary": summary,
        "cases": rows,
    }, indent=1) + "\n")  # fmt: skip
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
