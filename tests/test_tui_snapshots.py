"""Snapshots of the TUI at 120x40: after a run, mid-run, the approval modal, an escalation.

Models report fixed latencies (`SteadyModel`) and the device is fixed, so every number on
screen is the same on every run. Update with `pytest --snapshot-update` after a deliberate
change, and look at the report before accepting it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from test_tui_support import (
    SIZE,
    SteadyModel,
    edit,
    finish,
    held,
    plan,
    scripted_app,
    submit,
    wait_for,
)
from textual.pilot import Pilot

from tiercode.tui.app import TiercodeApp
from tiercode.tui.approval_screen import ApprovalScreen

TWO_STEPS = plan(("create util with f", ["util.py"]), ("create more with g", ["more.py"]))
STEP1 = edit("util.py", "", "def f():\n    return 1\n")
STEP2 = edit("more.py", "", "def g():\n    return 2\n")


async def settle(pilot: Pilot[Any]) -> None:
    pilot.app.clear_notifications()
    await pilot.pause(0.2)


def test_main_screen_after_a_run(snap_compare: Any, git_repo: Path) -> None:
    """Plan on local, step 1 forced to cloud before the run, step 2 back on local."""
    local = SteadyModel([TWO_STEPS, STEP2], latency_s=0.8)
    cloud = SteadyModel([STEP1], tier="cloud", name="cloud-scripted", latency_s=1.5)
    app = scripted_app(git_repo, local, cloud, policy="auto", max_cost_usd="0.50")

    async def run_before(pilot: Pilot[Any]) -> None:
        app.w.table.focus()  # keys go to the task field while it has focus
        await pilot.press("c")
        await submit(pilot, "create util.py with f and more.py with g")
        await finish(pilot)
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_main_screen_mid_run(snap_compare: Any, git_repo: Path) -> None:
    """Step 1 done, step 2 running: its call is held open until the screenshot is taken."""
    gate = threading.Event()
    local = SteadyModel([TWO_STEPS, STEP1], latency_s=0.8)
    app = scripted_app(git_repo, local, SteadyModel([], tier="cloud"), policy="local")
    local.replies.append(held(STEP2, gate, app))

    async def run_before(pilot: Pilot[Any]) -> None:
        await submit(pilot, "create util.py with f and more.py with g")
        await wait_for(pilot, lambda: running_step(app) == 2, "step 2 to start")
        await settle(pilot)

    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
    finally:
        gate.set()


def running_step(app: TiercodeApp) -> int:
    return app.view.current_step if app.active else -1


def test_approval_modal(snap_compare: Any, git_repo: Path) -> None:
    local = SteadyModel(
        [
            plan(("create util", ["util.py"])),
            edit("util.py", "", "x = 1\n", command="touch marker.txt"),
        ]
    )
    app = scripted_app(git_repo, local, SteadyModel([], tier="cloud"), policy="local")

    async def run_before(pilot: Pilot[Any]) -> None:
        await submit(pilot)
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen), "the approval")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
    assert not (git_repo / "marker.txt").exists()  # closing the app denied it


def test_escalation_banner(snap_compare: Any, git_repo: Path) -> None:
    """A local answer that does not apply is retried on the cloud, and the banner says why."""
    local = SteadyModel([plan(("create util", ["util.py"])), edit("util.py", "nope", "x")])
    cloud = SteadyModel([STEP1], tier="cloud", name="cloud-scripted", latency_s=1.5)
    app = scripted_app(git_repo, local, cloud, policy="auto", samples=1)

    async def run_before(pilot: Pilot[Any]) -> None:
        await submit(pilot, "create util.py with f")
        await finish(pilot)
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
