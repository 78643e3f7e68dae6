"""Run the agent with scripted models in its own process, so a test can SIGKILL it.

Usage: python scripted_run.py REPO — step 1 answers at once, step 2 hangs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tiercode.agent import config
from tiercode.agent.llm.models import ScriptedModel
from tiercode.agent.replies import reply_from
from tiercode.agent.runner import Runner, Tiers

PLAN = json.dumps(
    {
        "steps": [
            {"goal": "create a.py", "files": ["a.py"]},
            {"goal": "create b.py", "files": ["b.py"]},
        ]
    }
)


def write(path: str, text: str) -> str:
    return reply_from([{"path": path, "search": "", "replace": text}])


def main() -> None:
    repo = Path(sys.argv[1])
    local = ScriptedModel([PLAN, write("a.py", "A = 1\n")])

    def hang(_messages: object) -> str:
        import time

        time.sleep(600)
        return ""

    local.replies.append(hang)
    settings, _ = config.load(repo, {"policy": "local"})
    tiers = Tiers(lambda: local, lambda: local, "gpt-4.1-mini", simulated=True)

    def emit(event: object) -> None:
        if event.type == "run.started":  # type: ignore[attr-defined]
            print(event.run_id, flush=True)  # type: ignore[attr-defined]

    Runner(settings, repo, emit=emit, tiers=tiers).start("create a.py and b.py")


if __name__ == "__main__":
    main()
