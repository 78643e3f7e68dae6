"""How long `tiercode --help` and friends take, as a new process each time (what a user
and shell completion wait for). Target: median under 0.5 s. The CLI module imports no
model, network or UI library at start (llama_cpp, openai, langgraph, textual,
genai_prices load inside the commands that use them); tests/test_cli_polish.py holds
that, this measures it.

Usage: python bench/cli_help.py [--n 10]; writes bench/results/cli_help.json and exits 1
when a median is over the target.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_S = 0.5
COMMANDS = (["--help"], ["run", "--help"], ["-h"], ["--version"])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10)
    args = parser.parse_args()
    exe = str(Path(sys.executable).with_name("tiercode"))
    results = {}
    for argv in COMMANDS:
        times = []
        for _ in range(args.n):
            start = time.perf_counter()
            subprocess.run([exe, *argv], capture_output=True, check=True)
            times.append(time.perf_counter() - start)
        results[" ".join(argv)] = {
            "median_s": round(statistics.median(times), 3),
            "max_s": round(max(times), 3),
            "n": args.n,
        }
    load = os.getloadavg()[0]
    out = {"target_s": TARGET_S, "load_average_1m": round(load, 2), "results": results}
    path = Path(__file__).parent / "results" / "cli_help.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))
    return 0 if all(r["median_s"] < TARGET_S for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
