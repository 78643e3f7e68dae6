"""The TUI driven under Pilot: scripted models, a real temp git repo, the real graph."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from test_tui_support import (
    DEVICE,
    commit_file,
    drive,
    edit,
    finish,
    git_out,
    plan,
    scripted_app,
    submit,
    wait_for,
)
from textual.pilot import Pilot

from tiercode.agent import config
from tiercode.agent.events import ApprovalNeeded, Event, RunCompleted, StepRouted
from tiercode.agent.ledger import Ledger
from tiercode.agent.llm.models import ScriptedModel
from tiercode.agent.pricing import usd
from tiercode.agent.runner import Tiers
from tiercode.tools.command_policy import check_command
from tiercode.tui.app import TiercodeApp, make_app
from tiercode.tui.approval_screen import ApprovalScreen
from tiercode.tui.bridge import Bridge
from tiercode.tui.device_header import simd_summary
from tiercode.tui.diff_screen import DiffScreen
from tiercode.tui.format import short_model
from tiercode.tui.messages import ApprovalAsked

APPROVAL_COMMAND = "touch docs/marker.txt"
"""Inside a folder that exists: the sandbox lets commands write in the repo's existing
entries but never create one at its top level (that right would reach into .git)."""


def routed(app: TiercodeApp) -> list[StepRouted]:
    return [e for e in app.events if isinstance(e, StepRouted)]


def completed(app: TiercodeApp) -> RunCompleted:
    done = [e for e in app.events if isinstance(e, RunCompleted)]
    assert done, [e.type for e in app.events]
    return done[-1]


def cell(app: TiercodeApp, row: str, column: str) -> str:
    return str(app.w.table.get_cell(row, column))


def two_step_models(delay_s: float = 0.0) -> tuple[ScriptedModel, ScriptedModel]:
    local = ScriptedModel(
        [
            plan(("create util", ["util.py"]), ("add g", ["more.py"])),
            edit("util.py", "", "def f():\n    return 1\n"),
            edit("more.py", "", "def g():\n    return 2\n"),
        ],
        delay_s=delay_s,
    )
    cloud = ScriptedModel([edit("more.py", "", "def g():\n    return 2\n")], tier="cloud")
    return local, cloud


def test_submitting_a_task_fills_the_plan_and_the_step_table(git_repo: Path) -> None:
    local, cloud = two_step_models()
    app = scripted_app(git_repo, local, cloud, policy="local")

    async def scenario(pilot: Pilot[Any]) -> None:
        await submit(pilot)
        await finish(pilot)

    drive(app, scenario)
    assert completed(app).status == "done"
    assert [s.goal for s in app.w.plan.model.steps] == ["create util", "add g"]
    assert [s.state for s in app.w.plan.model.steps] == ["ok", "ok"]
    assert [str(k.value) for k in app.w.table.rows] == ["0:0:plan", "1:0:act", "2:0:act"]
    assert [cell(app, k, "tier") for k in ("0:0:plan", "1:0:act", "2:0:act")] == ["local"] * 3
    assert cell(app, "1:0:act", "reason") == "policy local"
    assert cell(app, "1:0:act", "model") == "scripted"
    assert cell(app, "0:0:plan", "step") == "plan"
    assert not app.task_input.disabled
    assert "def g" in (git_repo / "more.py").read_text()


def test_c_while_planning_forces_the_next_step_to_cloud(git_repo: Path) -> None:
    # The plan call takes 2 s, so `c` lands while it runs even on a busy machine.
    local, cloud = two_step_models(delay_s=2.0)
    local.replies.pop(1)  # step 1 goes to the cloud, so local never answers it
    cloud.replies.insert(0, edit("util.py", "", "def f():\n    return 1\n"))
    cloud.replies.pop()
    app = scripted_app(git_repo, local, cloud, policy="auto")

    async def scenario(pilot: Pilot[Any]) -> None:
        await submit(pilot)
        await wait_for(pilot, lambda: bool(routed(app)), "the plan call to start")
        await pilot.press("c")
        assert app.runner is not None and app.runner.forced == {1: "cloud"}
        assert app.w.plan.model.forced == {1: "cloud"}
        await finish(pilot)

    drive(app, scenario)
    step1 = next(e for e in routed(app) if e.step == 1)
    assert step1.tier == "cloud" and step1.reason == "forced cloud by the user"
    assert cell(app, "1:0:act", "tier") == "cloud"
    assert cell(app, "1:0:act", "reason") == "forced cloud by the user"
    step2 = next(e for e in routed(app) if e.step == 2)
    assert step2.tier == "local"  # forcing is for one step only
    assert len(cloud.calls) == 1 and completed(app).status == "done"


def test_l_forces_the_next_step_local_under_policy_cloud(git_repo: Path) -> None:
    local = ScriptedModel([edit("util.py", "", "x = 1\n")])
    cloud = ScriptedModel([plan(("create util", ["util.py"]))], tier="cloud", delay_s=0.5)
    app = scripted_app(git_repo, local, cloud, policy="cloud")

    async def scenario(pilot: Pilot[Any]) -> None:
        await submit(pilot)
        await wait_for(pilot, lambda: bool(routed(app)), "the plan call to start")
        await pilot.press("l")
        await finish(pilot)

    drive(app, scenario)
    assert [(e.step, e.tier) for e in routed(app)] == [(0, "cloud"), (1, "local")]
    assert cell(app, "1:0:act", "reason") == "forced local by the user"


def test_cloud_cannot_be_forced_under_local_only(git_repo: Path) -> None:
    local, cloud = two_step_models()
    app = scripted_app(git_repo, local, cloud, policy="local", local_only=True)

    async def scenario(pilot: Pilot[Any]) -> None:
        app.w.table.focus()
        await pilot.press("c")
        assert app.preforced == {} and app.w.plan.model.forced == {}
        await pilot.press("l")
        assert app.preforced == {1: "local"}

    drive(app, scenario)


def approval_models() -> tuple[ScriptedModel, ScriptedModel]:
    local = ScriptedModel(
        [
            plan(("create util", ["util.py"])),
            edit("util.py", "", "x = 1\n", command=APPROVAL_COMMAND),
        ]
    )
    return local, ScriptedModel([], tier="cloud")


def test_the_approval_command_needs_approval() -> None:
    settings, _ = config.load(None, {})
    assert check_command(APPROVAL_COMMAND, settings.shell_allow).action == "ask"


@pytest.mark.parametrize(("key", "granted"), [("a", True), ("d", False), ("enter", False)])
def test_approving_or_denying_a_command(git_repo: Path, key: str, granted: bool) -> None:
    """Enter presses the focused button, which is Deny."""
    local, cloud = approval_models()
    (git_repo / "docs").mkdir()
    commit_file(git_repo, "docs/README", "docs\n")
    app = scripted_app(git_repo, local, cloud, policy="local")

    async def scenario(pilot: Pilot[Any]) -> None:
        await submit(pilot)
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen), "the approval")
        screen = app.screen
        assert isinstance(screen, ApprovalScreen) and screen.command == APPROVAL_COMMAND
        assert app.pending is not None and app.active
        await wait_for(pilot, lambda: getattr(app.focused, "id", "") == "deny", "deny focused")
        await pilot.press(key)
        await finish(pilot)
        assert not isinstance(app.screen, ApprovalScreen) and app.pending is None

    drive(app, scenario)
    asked = [e for e in app.events if isinstance(e, ApprovalNeeded)]
    assert [(e.command, e.granted) for e in asked] == [(APPROVAL_COMMAND, granted)]
    assert (git_repo / "docs/marker.txt").exists() is granted
    assert completed(app).status == "done"
    assert f"({'approved' if granted else 'denied'}" in app.w.stream.text


def test_without_landlock_the_tui_warns_and_asks_before_the_test_run(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tiercode.tools import sandbox

    monkeypatch.setattr(sandbox, "available", lambda: 0)
    (git_repo / "tests").mkdir()
    commit_file(git_repo, "tests/test_one.py", "def test_one():\n    assert True\n")
    local = ScriptedModel([plan(("create util", ["util.py"])), edit("util.py", "", "x = 1\n")])
    app = scripted_app(git_repo, local, ScriptedModel([], tier="cloud"), policy="local")
    asked: list[str] = []

    async def scenario(pilot: Pilot[Any]) -> None:
        warnings = [n.message for n in app._notifications]
        assert any("no Landlock sandbox" in m for m in warnings), warnings
        await submit(pilot)
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen), "the approval")
        screen = app.screen
        assert isinstance(screen, ApprovalScreen)
        asked.append(screen.command)
        await pilot.press("d")
        await finish(pilot)

    drive(app, scenario)
    assert "pytest" in asked[0]
    assert completed(app).status == "error"
    assert not (git_repo / "util.py").exists()


def test_cost_panel_equals_the_ledger(git_repo: Path) -> None:
    local = ScriptedModel([plan(("create util", ["util.py"])), edit("util.py", "nope", "x")])
    cloud = ScriptedModel([edit("util.py", "", "def f():\n    return 1\n")], tier="cloud")
    ledger = Ledger()
    settings, _ = config.load(git_repo, {"policy": "auto", "max_cost_usd": "0.50", "samples": 1})
    tiers = Tiers(lambda: local, lambda: cloud, "gpt-4.1-mini", simulated=True)
    app = make_app(git_repo, settings, tiers, ledger, device=DEVICE)

    async def scenario(pilot: Pilot[Any]) -> None:
        await submit(pilot)
        await finish(pilot)

    drive(app, scenario)
    done = completed(app)
    totals = Ledger().run_totals(done.run_id)
    assert totals.cloud_calls == 1 and totals.cloud_usd > 0
    assert app.w.cost.totals == totals
    assert app.w.cost.budget_left == settings.max_cost_usd - totals.cloud_usd
    assert (done.cloud_usd, done.saving_usd) == (totals.cloud_usd, totals.saving_usd)
    text = render(app.w.cost.render_table())
    for amount in (totals.cloud_usd, totals.local_usd, totals.counterfactual_usd):
        assert usd(amount) in text
    assert "cloud (simulated)" in text and "2 local · 1 cloud" in text
    assert "escalated local → cloud" in app.w.banner.message


def render(renderable: Any) -> str:
    from rich.console import Console

    console = Console(width=60, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(renderable)
    return console.export_text()


def test_ui_keeps_responding_during_a_slow_local_call(git_repo: Path) -> None:
    local = ScriptedModel(
        [plan(("create util", ["util.py"])), edit("util.py", "", "x = 1\n")], delay_s=2.0
    )
    app = scripted_app(git_repo, local, ScriptedModel([], tier="cloud"), policy="local")
    timings: list[float] = []

    async def scenario(pilot: Pilot[Any]) -> None:
        await submit(pilot)
        await wait_for(pilot, lambda: bool(routed(app)), "the plan call to start")
        started = time.monotonic()
        await pilot.press("l")
        await pilot.pause()
        timings.append(time.monotonic() - started)
        assert app.w.plan.model.forced == {1: "local"}  # the key was handled mid-call
        assert app.active and not any(e.type == "plan" for e in app.events)
        await finish(pilot, timeout=20)

    drive(app, scenario)
    assert timings[0] < 0.5, timings
    assert completed(app).status == "done"
    assert [e.reason for e in routed(app)][1] == "forced local by the user"


def test_quit_mid_run_cancels_and_leaves_the_repo_consistent(git_repo: Path) -> None:
    local, cloud = two_step_models(delay_s=2.0)
    app = scripted_app(git_repo, local, cloud, policy="local")

    async def scenario(pilot: Pilot[Any]) -> None:
        await submit(pilot)
        await wait_for(pilot, lambda: any(e.step == 2 for e in routed(app)), "step 2")
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, "the app to exit", timeout=10)

    drive(app, scenario)
    done = completed(app)
    assert done.status == "cancelled"
    assert git_out(git_repo, "status", "--porcelain") == ""
    assert (git_repo / "util.py").read_text() == "def f():\n    return 1\n"  # step 1 only
    assert not (git_repo / "more.py").exists()
    assert len(done.commits) == 1
    assert not [t for t in threading.enumerate() if "asyncio" in t.name and t.is_alive()]


@pytest.mark.parametrize("how", ["q", "exit"])
def test_quitting_while_asking_denies_the_command(git_repo: Path, how: str) -> None:
    """By `q`, or however else the app ends, a pending question is answered "no"."""
    local, cloud = approval_models()
    app = scripted_app(git_repo, local, cloud, policy="local")

    async def scenario(pilot: Pilot[Any]) -> None:
        await submit(pilot)
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen), "the approval")
        if how == "q":
            await pilot.press("q")
            await wait_for(pilot, lambda: not app.is_running, "the app to exit", timeout=10)
        else:
            app.exit()
            await pilot.pause()

    drive(app, scenario)
    assert not (git_repo / "marker.txt").exists()
    assert git_out(git_repo, "status", "--porcelain") == ""
    if how == "q":  # the app was there to hear the rest of the run
        asked = [e for e in app.events if isinstance(e, ApprovalNeeded)]
        assert [e.granted for e in asked] == [False]
        assert completed(app).status == "done"  # the denied command did not fail the step


def test_undo_then_undo_again(git_repo: Path) -> None:
    local, cloud = two_step_models()
    app = scripted_app(git_repo, local, cloud, policy="local")
    before = git_out(git_repo, "rev-parse", "HEAD")

    async def scenario(pilot: Pilot[Any]) -> None:
        await submit(pilot)
        await finish(pilot)
        await pilot.press("u")
        assert app.w.banner.level == "ok"
        assert app.w.banner.message.startswith("undone: removed 2 commit(s)")
        assert git_out(git_repo, "rev-parse", "HEAD") == before
        await pilot.press("u")
        assert app.w.banner.level == "error"
        assert (
            app.w.banner.message
            == "undo refused: no agent commits at the tip of main; nothing to undo"
        )

    drive(app, scenario)
    assert not (git_repo / "util.py").exists() and not (git_repo / "more.py").exists()


def test_diff_shows_the_runs_commits(git_repo: Path) -> None:
    commit_file(git_repo, "app.py", "def add(a, b):\n    return a - b\n")
    local = ScriptedModel(
        [plan(("fix add", ["app.py"])), edit("app.py", "    return a - b", "    return a + b")]
    )
    app = scripted_app(git_repo, local, ScriptedModel([], tier="cloud"), policy="local")

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("D")  # nothing of the agent's yet: a notice, no screen
        assert not isinstance(app.screen, DiffScreen)
        await submit(pilot)
        await finish(pilot)
        await pilot.press("D")
        screen = app.screen
        assert isinstance(screen, DiffScreen)
        assert "-    return a - b" in screen.diff and "+    return a + b" in screen.diff
        assert "README.md" not in screen.diff  # only the run's commits
        await pilot.press("escape")
        assert not isinstance(app.screen, DiffScreen)

    drive(app, scenario)


def test_a_run_that_cannot_start_shows_why(git_repo: Path) -> None:
    (git_repo / "notes.txt").write_text("user's draft\n")
    local, cloud = two_step_models()
    app = scripted_app(git_repo, local, cloud, policy="local")

    async def scenario(pilot: Pilot[Any]) -> None:
        await submit(pilot)
        await finish(pilot)

    drive(app, scenario)
    assert app.w.banner.level == "error"
    assert app.w.banner.message.startswith("uncommitted changes in notes.txt")
    assert not app.task_input.disabled
    assert local.calls == []


def test_approval_is_denied_when_the_run_is_cancelled() -> None:
    cancel = threading.Event()
    posted: list[Any] = []
    bridge = Bridge(lambda m: posted.append(m) or True, cancel)
    threading.Timer(0.2, cancel.set).start()
    assert bridge.approve("rm -rf build", "rm is not in the allow list") is False
    assert isinstance(posted[0], ApprovalAsked)
    closed = Bridge(lambda m: False, threading.Event())
    assert closed.approve("rm -rf build", "why") is False


def test_simd_summary_names_the_telling_flags_first() -> None:
    flags = ["sse3", "avx", "avx2", "fma", "f16c", "avx512f", "ssse3"]
    assert simd_summary(flags) == "avx512f avx2 avx fma +3"
    assert simd_summary([]) == "no SIMD flags seen"


def test_model_names_keep_what_tells_them_apart() -> None:
    assert short_model("Qwen2.5 Coder 0.5B Instruct AWQ") == "Qwen2.5 Coder 0.5B"
    assert short_model("/models/my-model.Q4_K_M.gguf") == "my-model.Q4_K_M"
    assert short_model("qwen2.5-coder-1.5b") == "qwen2.5-coder-1.5b"


def test_the_core_never_imports_textual() -> None:
    code = (
        "import sys, tiercode.cli.main, tiercode.agent.runner, tiercode.tools.shell;"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'textual'], 'textual imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def events_of(app: TiercodeApp) -> list[Event]:
    return [e for e in app.events if e.type != "token"]


@pytest.mark.real
def test_real_run_on_the_embedded_default_models(git_repo: Path) -> None:
    commit_file(git_repo, "textutils.py", 'def shout(text):\n    return text.upper() + "!"\n')
    settings, _ = config.load(git_repo, {"policy": "local", "max_steps": 1, "max_tokens": 384})
    app = make_app(git_repo, settings)

    async def scenario(pilot: Pilot[Any]) -> None:
        await submit(pilot, "add a function slugify to textutils.py")
        await finish(pilot, timeout=600)

    drive(app, scenario)
    done = completed(app)
    assert done.local_calls >= 2 and done.cloud_calls == 0, events_of(app)
    assert app.w.table.row_count >= 2
    assert all(cell(app, str(k.value), "tier") == "local" for k in app.w.table.rows)
    assert app.w.cost.totals == Ledger().run_totals(done.run_id)
    assert "qwen2.5-coder" in cell(app, "0:0:plan", "model")  # the catalog's name, as everywhere


def test_keys_work_from_the_first_frame_and_text_typed_in_the_task_field_stays_text(
    git_repo: Path,
) -> None:
    app = scripted_app(git_repo, ScriptedModel([]), ScriptedModel([], tier="cloud"))

    async def scenario(pilot: Pilot[Any]) -> None:
        assert app.focused is app.w.table
        await pilot.press("n")
        assert app.focused is app.task_input
        await pilot.press("q", "u")
        assert app.task_input.value == "qu" and app.is_running
        await pilot.press("escape")
        assert app.focused is app.w.table
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, "the app to exit", timeout=10)

    drive(app, scenario)
