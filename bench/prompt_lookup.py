"""Prompt-lookup decoding for copy-heavy local replies, against plain decoding, in one run.

A rewrite mostly copies its input, so drafting the next tokens from n-grams of the prompt
(llama-cpp-python's `LlamaPromptLookupDecoding`) could verify several tokens per decode.
But llama-cpp-python turns on `logits_all` whenever a draft model is set, so every prompt
token's logits (151,936 floats for Qwen2.5) are copied out as the prompt is read. This
bench measures both effects on the same copy-heavy prompt: the agent's act prompt for a
one-line change to a 40-line file, whose reply sends the whole function back.

    python bench/prompt_lookup.py [--model qwen2.5-coder-0.5b] [--runs 3] [--max-tokens 300]

Each run calls both models (order alternating) on a prompt made unique by a nonce, so no
call reuses a cached prefix. Greedy decoding: both must give the same text. Prints a
markdown table; writes bench/results/prompt_lookup-MODEL.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import llama_cpp
from llama_cpp import Llama
from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

from tiercode.agent import prompts
from tiercode.agent.llm import catalog, device
from tiercode.agent.llm.models import _chat_formatter as chat_formatter
from tiercode.agent.llm.models import split_prefill

RESULTS = Path(__file__).parent / "results"
CODE = '''"""Order totals."""


def line_total(price, quantity, discount=0.0):
    """Price times quantity, less a fractional discount."""
    if quantity < 0:
        raise ValueError("quantity must not be negative")
    if not 0.0 <= discount <= 1.0:
        raise ValueError("discount must be between 0 and 1")
    subtotal = price * quantity
    return round(subtotal * (1 - discount), 2)


def order_total(lines, shipping=0.0, free_shipping_over=100.0):
    """Sum of the lines' totals plus shipping, which is free above a threshold."""
    total = 0.0
    for line in lines:
        total += line_total(line["price"], line["quantity"], line.get("discount", 0.0))
    if total >= free_shipping_over:
        shipping = 0.0
    return round(total + shipping, 2)


def describe(lines):
    """One line per order line, for a receipt."""
    rows = []
    for line in lines:
        amount = line_total(line["price"], line["quantity"], line.get("discount", 0.0))
        rows.append(f"{line['name']:<20} {line['quantity']:>3} {amount:>9.2f}")
    return "\\n".join(rows)
'''
TASK = "free shipping must start above the threshold, not at it: an order of exactly 100 pays"


def prompt(llm: Llama, nonce: str) -> list[int]:
    plan = [
        {
            "goal": "in order_total, charge shipping when the total equals the threshold",
            "files": ["orders.py"],
        }
    ]
    messages = prompts.act_messages(f"{TASK} ({nonce})", plan, 1, {"orders.py": CODE})
    asked, prefill = split_prefill(messages)  # the reply begun, as the agent's local tier has it
    return llm.tokenize((chat_formatter(llm)(asked) + prefill).encode(), special=True)


def timed(llm: Llama, tokens: list[int], max_tokens: int) -> dict[str, Any]:
    llm.reset()
    start = time.perf_counter()
    ttft, text = 0.0, ""
    for chunk in llm.create_completion(
        tokens, max_tokens=max_tokens, temperature=0.0, repeat_penalty=1.05, stream=True
    ):
        piece = chunk["choices"][0]["text"]  # type: ignore[index]
        if piece and not ttft:
            ttft = time.perf_counter() - start
        text += piece
    latency = time.perf_counter() - start
    completion = len(llm.tokenize(text.encode(), add_bos=False))
    return {
        "prompt_tokens": len(tokens),
        "completion_tokens": completion,
        "ttft_s": round(ttft, 3),
        "latency_s": round(latency, 3),
        "gen_tps": round(completion / max(latency - ttft, 1e-9), 2),
        "text": text,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=300)
    parser.add_argument("--draft-tokens", type=int, default=10)
    args = parser.parse_args()
    path = catalog.resolve(args.model)
    threads = device.auto_threads()
    common = {
        "model_path": str(path),
        "n_ctx": 4096,
        "n_threads": threads,
        "n_threads_batch": threads,
        "n_batch": 512,
        "verbose": False,
    }
    plain = Llama(**common)
    # logits_all=True by hand: 0.3.36 turns it on for a draft model but sizes its logits
    # array from the argument, so without it any prompt past n_batch (512) tokens crashes.
    lookup = Llama(
        **common,
        logits_all=True,
        draft_model=LlamaPromptLookupDecoding(num_pred_tokens=args.draft_tokens),
    )
    load = [os.getloadavg()[0]]
    calls: list[dict[str, Any]] = []
    for run in range(args.runs):
        tokens = prompt(plain, uuid.uuid4().hex[:8])
        order = [("plain", plain), ("lookup", lookup)]
        for variant, llm in order if run % 2 == 0 else order[::-1]:
            calls.append({"variant": variant, "run": run, **timed(llm, tokens, args.max_tokens)})
            load.append(os.getloadavg()[0])
    by = {v: [c for c in calls if c["variant"] == v] for v in ("plain", "lookup")}

    def median(variant: str, key: str) -> float:
        return statistics.median(c[key] for c in by[variant])

    summary = {
        "latency_lookup_over_plain": round(
            median("lookup", "latency_s") / median("plain", "latency_s"), 3
        ),
        "ttft_lookup_over_plain": round(median("lookup", "ttft_s") / median("plain", "ttft_s"), 3),
        "gen_tps_lookup_over_plain": round(
            median("lookup", "gen_tps") / median("plain", "gen_tps"), 3
        ),
        "same_text": all(
            a["text"] == b["text"] for a, b in zip(by["plain"], by["lookup"], strict=True)
        ),
    }
    result = {
        "bench": "prompt_lookup",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": args.model,
        "threads": threads,
        "draft_tokens": args.draft_tokens,
        "llama_cpp_python": llama_cpp.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": {"min": min(load), "max": max(load)},
        "summary": summary,
        "calls": calls,
    }
    out = RESULTS / f"prompt_lookup-{args.model}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print("| variant | run | prompt tok | completion tok | ttft s | latency s | gen tok/s |")
    print("|---|---|---|---|---|---|---|")
    for c in calls:
        print(
            f"| {c['variant']} | {c['run']} | {c['prompt_tokens']} | {c['completion_tokens']} "
            f"| {c['ttft_s']} | {c['latency_s']} | {c['gen_tps']} |"
        )
    print(f"\n{json.dumps(summary)}; load {min(load):.2f}-{max(load):.2f}")


if __name__ == "__main__":
    main()
