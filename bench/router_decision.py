"""How long one routing decision takes, excluding model calls.

Measures, side by side in one run: `router.decide` alone, and the whole route step a
real run performs (privacy scan of the prompt, exact token count with the local model's
own tokenizer, decide, ledger row), both when the files were scanned before in the run
(every retry, and every cloud call's gate) and on first sight. Target: median under 5 ms.

Usage: python bench/router_decision.py [--n 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from tiercode.agent import config, privacy, prompts, secret_scan
from tiercode.agent.ledger import Ledger
from tiercode.agent.llm import catalog
from tiercode.agent.llm.models import LocalModel
from tiercode.agent.router import Signals, decide

SOURCE = Path(__file__).resolve().parents[1] / "agent" / "router.py"


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    settings = config.Settings()
    model = LocalModel(catalog.resolve("qwen2.5-coder-0.5b"), n_ctx=4096)
    text = SOURCE.read_text()[:4000]
    plan = [{"goal": "add a budget note to decide()", "files": ["agent/router.py"]}]
    messages = prompts.act_messages("improve the router", plan, 1, {"agent/router.py": text})
    ledger = Ledger(Path(tempfile.mkdtemp()) / "ledger.db")
    counter = iter(range(10**9))

    def full() -> None:
        verdict = privacy.inspect(messages, ["agent/router.py"], settings.sensitive_paths)
        tokens = model.count_tokens(messages)
        signals = Signals(
            policy="auto",
            threshold=0.6,
            prompt_tokens=tokens,
            local_window=4096,
            reply_tokens=768,
            sensitive=verdict.sensitive,
            budget_left=Decimal("0.5"),
            cloud_cost_estimate=Decimal("0.001"),
        )
        d = decide(signals)
        ledger.record_decision("bench", next(counter), 0, d.tier, d.reason, signals.to_dict())

    signals = Signals(
        policy="auto",
        threshold=0.6,
        prompt_tokens=1200,
        local_window=4096,
        reply_tokens=768,
        budget_left=Decimal("0.5"),
        cloud_cost_estimate=Decimal("0.001"),
    )

    def cold() -> None:
        secret_scan._LINE_CACHE.clear()
        full()

    tokens = model.count_tokens(messages)
    rows = {
        "decide() alone": timed(lambda: decide(signals), args.n * 10),
        f"route step, files seen before ({tokens}-token prompt)": timed(full, args.n),
        f"route step, first sight of the files ({tokens}-token prompt)": timed(cold, args.n // 4),
    }
    print("| measure | median ms | p95 ms |\n|---|---|---|")
    result = {}
    for name, samples in rows.items():
        p95 = statistics.quantiles(samples, n=20)[18]
        result[name] = {"median_ms": statistics.median(samples), "p95_ms": p95}
        print(f"| {name} | {statistics.median(samples):.3f} | {p95:.3f} |")
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    (out / "router_decision.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
