"""Helpers shared by the TUI tests: scripted replies, a steady model, a fixed device, Pilot waits.

This module holds no tests; it sits beside them so both TUI test files use one copy.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from tiercode.agent import config
from tiercode.agent.llm.device import DeviceReport
from tiercode.agent.llm.models import Completion, Message, ScriptedModel
from tiercode.agent.replies import reply_from
from tiercode.agent.runner import Tiers
from tiercode.tui.app import TiercodeApp, make_app

SIZE = (120, 40)
DEVICE = DeviceReport(
    total_ram_gb=16.0,
    available_ram_gb=12.0,
    cores_physical=2,
    cores_logical=4,
    cpu_flags=["avx", "avx2", "f16c", "fma", "sse3", "sse4_2"],
    gpu_offload=False,
    gpus=[],
    free_disk_gb=100.0,
    models=[],
    recommended_local="qwen2.5-coder-0.5b",
    reason="fixed for tests",
)
"""A made-up machine, so that screens read the same on every machine."""


def plan(*steps: tuple[str, list[str]]) -> str:
    return json.dumps({"steps": [{"goal": g, "files": f} for g, f in steps]})


def edit(path: str, search: str, replace: str, confidence: int = 90, command: str = "") -> str:
    reply = reply_from([{"path": path, "search": search, "replace": replace}], confidence)
    return reply + (f"```bash\n{command}\n```\n" if command else "")


@dataclasses.dataclass
class SteadyModel(ScriptedModel):
    """A scripted model that reports a fixed latency, so costs and timings on screen do not
    vary from run to run (local cost is an energy estimate from latency)."""

    latency_s: float = 0.5

    def complete(self, messages: list[Message], **kwargs: Any) -> Completion:
        reply = super().complete(messages, **kwargs)
        return dataclasses.replace(reply, latency_s=self.latency_s, ttft_s=self.latency_s / 5)


def held(reply: str, gate: threading.Event, app: TiercodeApp) -> Callable[[list[Message]], str]:
    """A reply that waits until the test opens `gate` (or the app cancels the run)."""

    def answer(_messages: list[Message]) -> str:
        while not gate.wait(0.05):
            if app.runner is not None and app.runner.cancel.is_set():
                break
        return reply

    return answer


def scripted_app(
    repo: Path, local: ScriptedModel, cloud: ScriptedModel, **flags: Any
) -> TiercodeApp:
    settings, _ = config.load(repo, flags)
    tiers = Tiers(lambda: local, lambda: cloud, "gpt-4.1-mini", simulated=True)
    return make_app(repo, settings, tiers, device=DEVICE)


def drive(app: TiercodeApp, scenario: Callable[[Pilot[Any]], Awaitable[None]]) -> None:
    """Run `scenario` under Pilot at the snapshot size, on a fresh event loop."""

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await scenario(pilot)

    asyncio.run(main())


async def wait_for(
    pilot: Pilot[Any], predicate: Callable[[], bool], what: str, timeout: float = 15.0
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await pilot.pause(0.05)


async def submit(pilot: Pilot[Any], task: str = "create the files in the plan") -> None:
    field = pilot.app.query_one("#task", Input)
    field.focus()
    field.value = task
    await pilot.press("enter")


async def finish(pilot: Pilot[Any], timeout: float = 15.0) -> None:
    """Wait for the run's worker to end and the screen to settle."""
    app = pilot.app
    assert isinstance(app, TiercodeApp)
    await wait_for(pilot, lambda: not app.active, "the run to end", timeout)
    await pilot.pause(0.2)


def commit_file(repo: Path, name: str, text: str) -> None:
    (repo / name).write_text(text)
    subprocess.run(["git", "add", name], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", f"add {name}"], cwd=repo, check=True)


def git_out(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout


def test_the_readme_screenshot_is_kept_only_after_a_correct_run(tmp_path: Path) -> None:
    from tiercode.tui.screenshot import _judge, demo_repo

    repo = demo_repo(tmp_path)
    assert "ended failed" in _judge(repo, "failed")
    with (repo / "textutils.py").open("a") as fh:
        fh.write("\n\ndef word_count(text):\n    return len(text.split(' '))\n")
    assert "word_count is wrong" in _judge(repo, "done")
    with (repo / "textutils.py").open("a") as fh:
        fh.write("\n\ndef word_count(text):\n    return len(text.split())\n")
    assert _judge(repo, "done") == ""
