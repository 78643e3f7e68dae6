"""Local inference speed on the path the agent takes, in one run, same prompt throughout.

Part 1, as the machine is (threads picked once per repetition and shared by all variants):
  raw            llama-cpp-python `create_completion`, no grammar
  LocalModel     `LocalModel.complete(schema=None)`: the agent's grammar-free edit format
  LocalModel+schema  `complete(schema=OLD_ACTION_SCHEMA)`: the old JSON action
                 format under a llama.cpp grammar
Each repetition starts with a unique nonce line so the cold call reads the whole prompt;
a warm call then shares that prompt and differs only in its last sentence (prefix reuse).
llama.cpp's own perf counters split each call into prompt reading and generation compute.

Part 2, with one competing CPU-bound process (a busy-loop subprocess this script starts,
bounded in time and killed at the end): `LocalModel` with threads=1, threads=2 and
threads=auto (`device.auto_threads`, picked per call), cold calls, alternating order.

    python bench/local_inference.py [--runs 2] [--contended-runs 2] [--max-tokens 200]

Prints a markdown table; writes bench/results/local_inference.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import llama_cpp
from llama_cpp import Llama

from tiercode.agent.llm import catalog, device
from tiercode.agent.llm.models import LocalModel, Message

OLD_ACTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "edits": {
            "type": "array",
            "minItems": 1,
            "maxItems": 3,
            "items": {
                "type": "object",
                "properties": {
                    "path": {"enum": ["app.py"]},
                    "search": {"type": "string"},
                    "replace": {"type": "string"},
                },
                "required": ["path", "search", "replace"],
            },
        },
        "command": {"type": "string"},
        "confidence": {"type": "integer", "minimum": 0, "maximum": 100},
    },
    "required": ["edits", "command", "confidence"],
}
"""The JSON reply shape the act step used before its plain-text format; kept here so the
bench can still measure what a JSON-schema grammar costs."""

RESULTS = Path(__file__).parent / "results" / "local_inference.json"
PATH = "app.py"

CODE = """\
import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Task:
    id: int
    title: str
    done: bool = False
    tags: list = field(default_factory=list)


class TaskStore:
    def __init__(self, path):
        self.path = Path(path)
        self.tasks = []
        if self.path.exists():
            for row in json.loads(self.path.read_text()):
                self.tasks.append(Task(**row))

    def add(self, title, tags=None):
        task = Task(len(self.tasks) + 1, title, tags=tags or [])
        self.tasks.append(task)
        self.save()
        return task

    def complete(self, task_id):
        for task in self.tasks:
            if task.id == task_id:
                task.done = True
        self.save()

    def save(self):
        rows = [t.__dict__ for t in self.tasks]
        self.path.write_text(json.dumps(rows, indent=2))
"""

COLD_ASK = (
    "Rewrite `complete` so that it raises KeyError for an unknown id instead of silently "
    "doing nothing. Reply with the new method only."
)
WARM_ASK = (
    "Add a `pending()` method that returns the tasks not yet done, newest first. "
    "Reply with the new method only."
)

BUSY_LOOP = "import time\nend = time.monotonic() + {s}\nwhile time.monotonic() < end:\n    pass\n"


def messages(nonce: str, ask: str) -> list[Message]:
    system = (
        f"Session {nonce}.\nYou are a careful Python engineer working in a git repository. "
        "Keep the existing style, add type hints to what you touch, and do not explain."
    )
    user = f"File `{PATH}`:\n```python\n{CODE}```\n\n{ask}"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


@dataclass
class Call:
    part: str
    """idle: part 1; contended: part 2, beside the busy loop."""
    variant: str
    run: int
    phase: str
    """cold: whole prompt read; warm: shares the cold prompt up to its last sentence."""
    threads: int
    prompt_tokens: int
    prompt_evaluated: int
    completion_tokens: int
    ttft_s: float
    latency_s: float
    prompt_compute_s: float
    gen_compute_s: float
    gen_decodes: int

    @property
    def prompt_tps(self) -> float:
        """Prompt tokens actually read per second of time to first token."""
        return self.prompt_evaluated / self.ttft_s

    @property
    def gen_tps(self) -> float:
        """Tokens decoded per wall second after the first token."""
        return self.gen_decodes / max(self.latency_s - self.ttft_s, 1e-9)


Timed = tuple[int, int, float, float, int]
"""prompt tokens, completion tokens, time to first token, latency, threads."""


class Perf:
    """llama.cpp's own counters for one context: reset, then read after a call."""

    def __init__(self, llm: Llama) -> None:
        self.ctx = llm._ctx.ctx

    def reset(self) -> None:
        llama_cpp.llama_perf_context_reset(self.ctx)

    def read(self) -> tuple[int, float, int, float]:
        d = llama_cpp.llama_perf_context(self.ctx)
        return int(d.n_p_eval), d.t_p_eval_ms / 1e3, int(d.n_eval), d.t_eval_ms / 1e3


def set_raw_threads(llm: Llama, n: int) -> None:
    llama_cpp.llama_set_n_threads(llm._ctx.ctx, n, n)
    llm.n_threads = llm.n_threads_batch = n


def raw_call(llm: Llama, prompt: str, max_tokens: int) -> Timed:
    """Plain `create_completion` on the prompt string, streamed only to time the first token."""
    start = time.perf_counter()
    ttft, pieces = 0.0, 0
    stream = llm.create_completion(
        prompt, max_tokens=max_tokens, temperature=0.0, repeat_penalty=1.05, stream=True
    )
    for chunk in stream:
        if chunk["choices"][0]["text"]:
            pieces += 1
            if not ttft:
                ttft = time.perf_counter() - start
    latency = time.perf_counter() - start
    n_prompt = len(llm.tokenize(prompt.encode(), special=True))
    return n_prompt, pieces, ttft, latency, llm.n_threads


def local_call(
    local: LocalModel, msgs: list[Message], max_tokens: int, schema: dict[str, Any] | None
) -> Timed:
    c = local.complete(msgs, max_tokens=max_tokens, schema=schema)
    return c.prompt_tokens, c.completion_tokens, c.ttft_s, c.latency_s, c.threads


def measure(
    part: str, variant: str, run: int, phase: str, perf: Perf, call: Callable[[], Timed]
) -> Call:
    perf.reset()
    n_prompt, n_completion, ttft, latency, threads = call()
    n_p, t_p, n_e, t_e = perf.read()
    return Call(
        part, variant, run, phase, threads, n_prompt, n_p, n_completion, ttft, latency,
        t_p, t_e, n_e,
    )  # fmt: skip


def log(c: Call) -> None:
    print(
        f"{c.part} run {c.run} {c.variant:<18} {c.phase} t={c.threads}: prompt "
        f"{c.prompt_tokens} (read {c.prompt_evaluated}) ttft {c.ttft_s:.2f}s, "
        f"{c.gen_decodes} decodes in {c.latency_s:.2f}s ({c.gen_tps:.1f} tok/s)",
        flush=True,
    )


IDLE = ("raw", "LocalModel", "LocalModel+schema")
CONTENDED = ("threads=1", "threads=2", "threads=auto")


def rotate(names: tuple[str, ...], run: int) -> list[str]:
    """Rotate which variant goes first, so drift (heat, page cache, neighbours) hits each
    alike."""
    k = run % len(names)
    return [*names[k:], *names[:k]]


def part_idle(raw: Llama, local: LocalModel, runs: int, max_tokens: int) -> list[Call]:
    schema = OLD_ACTION_SCHEMA
    perf_raw, perf_local = Perf(raw), Perf(local.llm)
    local.auto_threads = False
    calls: list[Call] = []
    for run in range(runs):
        threads = device.auto_threads()
        set_raw_threads(raw, threads)
        local.set_threads(threads)
        for name in rotate(IDLE, run):
            nonce = uuid.uuid4().hex[:12]
            for phase, ask in (("cold", COLD_ASK), ("warm", WARM_ASK)):
                msgs = messages(nonce, ask)
                if name == "raw":
                    prompt = local.prompt_text(msgs)
                    c = measure(
                        "idle", name, run, phase, perf_raw,
                        lambda p=prompt: raw_call(raw, p, max_tokens),
                    )  # fmt: skip
                else:
                    sch = schema if name == "LocalModel+schema" else None
                    c = measure(
                        "idle", name, run, phase, perf_local,
                        lambda m=msgs, s=sch: local_call(local, m, max_tokens, s),
                    )  # fmt: skip
                calls.append(c)
                log(c)
    return calls


def part_contended(local: LocalModel, runs: int, max_tokens: int) -> tuple[list[Call], float]:
    """Cold `LocalModel` calls beside one busy-loop process. Returns the calls and what
    `device.busy_other_tasks` saw with the loop running."""
    perf = Perf(local.llm)
    bound_s = 600
    hog = subprocess.Popen([sys.executable, "-c", BUSY_LOOP.format(s=bound_s)])
    calls: list[Call] = []
    try:
        time.sleep(1.0)
        seen = device.busy_other_tasks()
        for run in range(runs):
            for name in rotate(CONTENDED, run):
                if name == "threads=auto":
                    local.auto_threads = True
                else:
                    local.auto_threads = False
                    local.set_threads(int(name.split("=")[1]))
                msgs = messages(uuid.uuid4().hex[:12], COLD_ASK)
                c = measure(
                    "contended", name, run, "cold", perf,
                    lambda m=msgs: local_call(local, m, max_tokens, None),
                )  # fmt: skip
                calls.append(c)
                log(c)
    finally:
        hog.kill()
        hog.wait()
        local.auto_threads = False
    return calls, seen


def stats(
    calls: list[Call], variant: str, phase: str | None, value: Callable[[Call], float]
) -> tuple[float, float]:
    """(median, highest) of a value over matching calls; for a rate, the highest is the
    call least disturbed by other work on the machine."""
    xs = [value(c) for c in calls if c.variant == variant and phase in (None, c.phase)]
    return statistics.median(xs), max(xs)


def summarise(idle: list[Call], contended: list[Call], seen: float) -> dict[str, Any]:
    out: dict[str, Any] = {"idle": {}, "contended": {}}
    for v in IDLE:
        gen, gen_best = stats(idle, v, None, lambda c: c.gen_tps)
        prompt, prompt_best = stats(idle, v, "cold", lambda c: c.prompt_tps)
        cold, _ = stats(idle, v, "cold", lambda c: c.ttft_s)
        warm, _ = stats(idle, v, "warm", lambda c: c.ttft_s)
        out["idle"][v] = {
            "gen_tps": gen,
            "gen_tps_best": gen_best,
            "gen_compute_tps": stats(idle, v, None, lambda c: c.gen_decodes / c.gen_compute_s)[0],
            "decodes": stats(idle, v, None, lambda c: c.gen_decodes)[0],
            "prompt_tps_cold": prompt,
            "prompt_tps_cold_best": prompt_best,
            "ttft_cold_s": cold,
            "ttft_warm_s": warm,
            "warm_over_cold": warm / cold,
            "latency_cold_s": stats(idle, v, "cold", lambda c: c.latency_s)[0],
            "prompt_tokens": stats(idle, v, "cold", lambda c: c.prompt_tokens)[0],
            "threads": sorted({c.threads for c in idle if c.variant == v}),
        }
    for v in CONTENDED:
        gen, gen_best = stats(contended, v, None, lambda c: c.gen_tps)
        out["contended"][v] = {
            "gen_tps": gen,
            "gen_tps_best": gen_best,
            "latency_s": stats(contended, v, None, lambda c: c.latency_s)[0],
            "ttft_s": stats(contended, v, None, lambda c: c.ttft_s)[0],
            "threads": [c.threads for c in contended if c.variant == v],
        }
    raw, loc, sch = (out["idle"][v] for v in IDLE)
    con = out["contended"]
    best_fixed = max(("threads=1", "threads=2"), key=lambda v: con[v]["gen_tps"])
    fastest_fixed = min(("threads=1", "threads=2"), key=lambda v: con[v]["latency_s"])
    out["busy_other_tasks_seen"] = seen
    out["ratios"] = {
        "gen_local_over_raw": loc["gen_tps"] / raw["gen_tps"],
        "gen_schema_over_raw": sch["gen_tps"] / raw["gen_tps"],
        "gen_schema_over_local": sch["gen_tps"] / loc["gen_tps"],
        "prompt_local_over_raw": loc["prompt_tps_cold"] / raw["prompt_tps_cold"],
        "warm_over_cold_local": loc["warm_over_cold"],
        "best_fixed_threads_contended": best_fixed,
        "gen_auto_over_best_fixed": con["threads=auto"]["gen_tps"] / con[best_fixed]["gen_tps"],
        "latency_best_fixed_over_auto": con[fastest_fixed]["latency_s"]
        / con["threads=auto"]["latency_s"],
        "gen_threads2_over_threads1": con["threads=2"]["gen_tps"] / con["threads=1"]["gen_tps"],
    }
    return out


def table(summary: dict[str, Any]) -> str:
    rows = [
        "| variant | threads | gen tok/s median / best | gen tok/s in llama.cpp | decodes "
        "| prompt tok/s cold | TTFT cold s | TTFT warm s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for v in IDLE:
        s = summary["idle"][v]
        rows.append(
            f"| {v} | {'/'.join(map(str, s['threads']))} "
            f"| {s['gen_tps']:.1f} / {s['gen_tps_best']:.1f} | {s['gen_compute_tps']:.1f} "
            f"| {s['decodes']:.0f} | {s['prompt_tps_cold']:.0f} "
            f"| {s['ttft_cold_s']:.2f} | {s['ttft_warm_s']:.2f} |"
        )
    rows += [
        "",
        "| beside one busy loop | threads used | gen tok/s median / best | call latency s |",
        "|---|---|---|---|",
    ]
    for v in CONTENDED:
        s = summary["contended"][v]
        rows.append(
            f"| {v} | {','.join(map(str, s['threads']))} "
            f"| {s['gen_tps']:.1f} / {s['gen_tps_best']:.1f} | {s['latency_s']:.2f} |"
        )
    r = summary["ratios"]
    rows += [
        "",
        f"- b/a generation, LocalModel (no grammar) / raw: {r['gen_local_over_raw']:.3f}",
        f"- c/a generation, LocalModel + action schema / raw: {r['gen_schema_over_raw']:.3f} "
        f"(target >= 0.9 for structured decoding)",
        f"- prompt reading, LocalModel / raw: {r['prompt_local_over_raw']:.3f}; "
        f"warm / cold TTFT: {r['warm_over_cold_local']:.2f}",
        f"- beside one busy loop: auto / best fixed ({r['best_fixed_threads_contended']}) "
        f"generation {r['gen_auto_over_best_fixed']:.3f} (target >= 0.8); best fixed / auto "
        f"call latency {r['latency_best_fixed_over_auto']:.3f}; threads=2 / threads=1 "
        f"{r['gen_threads2_over_threads1']:.3f}; other busy tasks seen by the picker: "
        f"{summary['busy_other_tasks_seen']:.0f}",
    ]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--contended-runs", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    started = time.perf_counter()
    load_before = os.getloadavg()
    if load_before[0] > 0.5:
        print(f"warning: load average {load_before[0]:.2f}; other work will skew the figures")
    path = catalog.resolve(args.model)
    cores = device.usable_cores()
    local = LocalModel(path, n_ctx=4096, threads=cores)
    raw = Llama(
        model_path=str(path), n_ctx=4096, n_threads=cores, n_threads_batch=cores, verbose=False
    )
    # page the weights in and build the grammar once before timing anything
    raw_call(raw, local.prompt_text(messages("warmup", COLD_ASK)), 16)
    local.complete(messages("warmup", COLD_ASK), max_tokens=16, schema=OLD_ACTION_SCHEMA)

    idle = part_idle(raw, local, args.runs, args.max_tokens)
    load_mid = os.getloadavg()
    contended, seen = part_contended(local, args.contended_runs, args.max_tokens)

    summary = summarise(idle, contended, seen)
    report = device.detect()
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_s": round(time.perf_counter() - started, 1),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cores_physical": report.cores_physical,
            "cores_logical": report.cores_logical,
            "cpu_flags": report.cpu_flags,
            "total_ram_gb": report.total_ram_gb,
            "load_avg_before": load_before,
            "load_avg_after_idle_part": load_mid,
            "load_avg_after": os.getloadavg(),
            "llama_cpp_python": llama_cpp.__version__,
        },
        "settings": {
            "model": args.model,
            "n_ctx": 4096,
            "max_tokens": args.max_tokens,
            "runs": args.runs,
            "contended_runs": args.contended_runs,
            "temperature": 0.0,
            "repeat_penalty": 1.05,
            "schema": "OLD_ACTION_SCHEMA (the JSON reply shape of the act step before)",
        },
        "summary": summary,
        "calls": [asdict(c) for c in idle + contended],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print()
    print(table(summary))
    print(
        f"\nload average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}; "
        f"{result['wall_s']:.0f} s; wrote {args.out}"
    )


if __name__ == "__main__":
    main()
