"""The tiercode TUI: watch a run's plan, routes, tokens and cost, and steer it.

The run executes in a thread worker calling `Runner.start`; its events reach this app as
`RunEvent` messages (see `bridge.py`) and `RunView` shows them. The user's steering goes
back through the Runner's own seams: `runner.forced`, `runner.cancel`, and `approve`.
"""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Input, Sparkline

from tiercode.agent import config
from tiercode.agent.config import Settings
from tiercode.agent.events import Event
from tiercode.agent.ledger import Ledger
from tiercode.agent.llm.device import DeviceReport, detect
from tiercode.agent.llm.standin import standin_price_model
from tiercode.agent.pricing import usd
from tiercode.agent.runner import Runner, Tiers
from tiercode.agent.state import Tier
from tiercode.tools import shell
from tiercode.tools.errors import TiercodeError
from tiercode.tools.git import GitRepo
from tiercode.tui.approval_screen import ApprovalScreen
from tiercode.tui.banner import Banner
from tiercode.tui.bridge import Bridge
from tiercode.tui.cost_panel import CostPanel
from tiercode.tui.device_header import DeviceHeader, TierLabels
from tiercode.tui.diff import run_diff
from tiercode.tui.diff_screen import DiffScreen
from tiercode.tui.messages import ApprovalAsked, ApprovalRequest, RunEnded, RunEvent
from tiercode.tui.plan_list import PlanList
from tiercode.tui.run_view import RunView, Widgets
from tiercode.tui.step_table import StepTable
from tiercode.tui.stream_log import StreamLog

TASK_HINT = "n, then say what should change: e.g. add a function slugify to textutils.py"


class TiercodeApp(App[None]):
    TITLE = "tiercode"
    CSS_PATH = "app.tcss"
    BINDINGS = [  # noqa: RUF012 - Textual's convention
        Binding("l", "force('local')", "Next step local"),
        Binding("c", "force('cloud')", "Next step cloud"),
        Binding("a", "answer(True)", "Approve"),
        Binding("d", "answer(False)", "Deny"),
        Binding("u", "undo", "Undo run"),
        Binding("D", "diff", "Diff"),
        Binding("n", "new_task", "New task"),
        Binding("q", "quit", "Quit"),
        Binding("escape", "leave_task", "Back to the keys", show=False),
    ]

    def __init__(
        self,
        repo: Path,
        settings: Settings,
        *,
        tiers: Tiers | None,
        ledger: Ledger,
        device: DeviceReport,
        home: Path,
    ) -> None:
        super().__init__()
        self.repo = repo
        self.settings = settings
        self.tiers = tiers
        self.ledger = ledger
        self.home = home
        self.runner: Runner | None = None
        self.active = False
        """A run's worker is alive (from Enter until `RunEnded`)."""
        self.quitting = False
        self.pending: ApprovalRequest | None = None
        self.preforced: dict[int, Tier] = {}
        """Tiers forced before a run started, handed to its Runner."""
        self.w = Widgets(
            header=DeviceHeader(device, tier_labels(settings, tiers), repo.name),
            banner=Banner(),
            plan=PlanList(),
            table=StepTable(),
            stream=StreamLog(),
            cost=CostPanel(settings.max_cost_usd),
            spark=Sparkline([], id="spark"),
        )
        self.view = RunView(self.w, ledger)
        self.task_input = Input(placeholder=TASK_HINT, id="task")

    def compose(self) -> ComposeResult:
        yield self.w.header
        yield self.task_input
        yield self.w.banner
        yield self.w.table
        with Horizontal(id="bottom"):
            yield self.w.plan
            yield self.w.stream
            with Vertical(id="side"):
                yield self.w.cost
                yield self.w.spark
        yield Footer()

    def on_mount(self) -> None:
        """Focus starts on the step table, so every key works and shows in the footer from
        the first frame; `n` moves to the task field and Escape back."""
        self.w.spark.border_title = "tokens per call"
        self.w.table.focus()
        if shell.sandbox_wanted() and not shell.sandbox_available():
            self.notify(
                "this system has no Landlock sandbox: each command and test run waits for "
                "your approval (a/d)",
                severity="warning",
                timeout=10,
            )

    @property
    def run_id(self) -> str | None:
        return self.view.run_id

    @property
    def events(self) -> list[Event]:
        return self.view.events

    # starting and ending a run

    def on_input_submitted(self, event: Input.Submitted) -> None:
        task = event.value.strip()
        if not task:
            return
        if self.active:
            self.notify("a run is in progress; wait for it or press q", severity="warning")
            return
        self.start_run(task)

    def start_run(self, task: str) -> None:
        """Reset the views and start `task` in the worker."""
        self.view.reset()
        runner = Runner(
            self.settings, self.repo, tiers=self.tiers, ledger=self.ledger, home=self.home
        )
        bridge = Bridge(self.post_message, runner.cancel)
        runner.emit, runner.approve = bridge.emit, bridge.approve
        runner.forced.update(self.preforced)
        for step, tier in self.preforced.items():
            self.w.plan.force(step, tier)
        self.preforced.clear()
        self.runner, self.active = runner, True
        self.task_input.disabled = True
        self.w.table.focus()
        self.refresh_bindings()
        self.execute(runner, bridge, task)

    @work(thread=True, exclusive=True, group="run", exit_on_error=False)
    def execute(self, runner: Runner, bridge: Bridge, task: str) -> None:
        """The whole run, off the UI thread; how it ended arrives as events, then `RunEnded`."""
        error: str | None = None
        try:
            runner.start(task)
        except TiercodeError as exc:
            error = str(exc)
        except Exception as exc:  # a bug must reach the screen, not vanish with the thread
            error = f"{type(exc).__name__}: {exc}"
        finally:
            bridge.post(RunEnded(error))

    def on_run_event(self, message: RunEvent) -> None:
        self.view.apply(message.event)

    def on_run_ended(self, message: RunEnded) -> None:
        self.active = False
        if self.pending:
            self._answered(False)
        if message.error:
            self.w.banner.show(message.error, "error")
            status = "error" if self.run_id else "did not start"
            self.w.cost.show(self.w.cost.totals, status=status)
        self.task_input.disabled = False
        self.refresh_bindings()
        if self.quitting:
            self.exit()

    # approvals

    def on_approval_asked(self, message: ApprovalAsked) -> None:
        if self.quitting or (self.runner and self.runner.cancel.is_set()):
            message.request.answer(False)
            return
        self.pending = message.request
        self.w.stream.flush()  # show the reply that asks, under the question
        self.view.refresh_cost("waiting for approval")
        screen = ApprovalScreen(
            message.request.command, message.request.reason, self.view.current_step
        )
        self.push_screen(screen, callback=self._answered)
        self.refresh_bindings()

    def _answered(self, granted: bool | None) -> None:
        request, self.pending = self.pending, None
        if request:
            request.answer(bool(granted))
        self.refresh_bindings()

    def action_answer(self, granted: bool) -> None:
        if isinstance(self.screen, ApprovalScreen):
            self.screen.dismiss(granted)
        elif self.pending:
            self._answered(granted)

    # steering

    def action_force(self, name: str) -> None:
        """Force the step after the running one (step 1 while planning or before a run)."""
        tier = Tier(name)
        if tier == Tier.CLOUD and self.settings.local_only:
            # The router ranks this above a forced tier; saying "forced" would be a lie.
            self.notify("--local-only keeps every step local", severity="warning")
            return
        target = self.view.current_step + 1 if self.active else 1
        size = self.view.plan_size
        if self.active and size is not None and target > size:
            self.notify("no step after the running one", severity="warning")
            return
        forced = self.runner.forced if self.active and self.runner else self.preforced
        forced[target] = tier
        self.w.plan.force(target, tier)
        self.notify(f"step {target} will run on {tier}", timeout=2)

    def action_undo(self) -> None:
        try:
            removed = GitRepo.open(self.repo).undo(self.run_id)
        except TiercodeError as exc:
            self.w.banner.show(f"undo refused: {exc}", "error")
            return
        shas = ", ".join(sha[:8] for sha in removed)
        self.w.banner.show(f"undone: removed {len(removed)} commit(s): {shas}", "ok")

    def action_diff(self) -> None:
        try:
            text = run_diff(self.repo, self.run_id)
        except TiercodeError as exc:
            self.w.banner.show(f"diff: {exc}", "error")
            return
        if not text:
            self.notify("no agent commits at the tip of the branch", timeout=3)
            return
        self.push_screen(DiffScreen(text, f"changes of run {self.run_id or '(last run)'}"))

    def action_new_task(self) -> None:
        self.task_input.focus()

    def action_leave_task(self) -> None:
        self.w.table.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out keys that cannot act now, so the footer tells the truth."""
        if action == "answer":
            return True if self.pending else None
        if action in ("undo", "new_task"):
            return None if self.active else True
        return True

    # quitting

    async def action_quit(self) -> None:
        """Stop a running run at its next token or node (its step is restored), then exit."""
        if not self.active:
            self.exit()
            return
        self.quitting = True
        self.cancel_run()
        self.w.banner.show("cancelling: stopping the running step…", "warning")

    def cancel_run(self) -> None:
        if self.runner:
            self.runner.cancel.set()
        if isinstance(self.screen, ApprovalScreen):
            self.screen.dismiss(False)
        elif self.pending:
            self._answered(False)

    def on_unmount(self) -> None:
        """However the app ends, a run still going must stop, or its thread outlives the app."""
        if self.runner:
            self.runner.cancel.set()
        if self.pending:
            self.pending.answer(False)


def tier_labels(settings: Settings, tiers: Tiers | None) -> TierLabels:
    """The header's tier line until the run's first event says (this mirrors `default_tiers`)."""
    simulated = tiers.simulated if tiers else not settings.cloud_base_url
    if tiers:
        price = tiers.price_model
    elif simulated:
        price = settings.cloud_price_as or standin_price_model()
    else:
        price = settings.cloud_price_as or settings.cloud_model
    budget = "no cap" if settings.max_cost_usd is None else usd(settings.max_cost_usd)
    return TierLabels(
        settings.local_model, settings.cloud_model, price, simulated, settings.policy, budget
    )


def make_app(
    repo: Path,
    settings: Settings,
    tiers: Tiers | None = None,
    ledger: Ledger | None = None,
    *,
    device: DeviceReport | None = None,
    home: Path | None = None,
) -> TiercodeApp:
    """Build the app for the CLI and for tests; `tiers`, `ledger` and `device` may be
    injected (scripted models, a test's ledger, a fixed device for stable snapshots).
    `home` is tiercode's directory for the runs (None: the one `TIERCODE_HOME` names)."""
    home = home or config.home()
    return TiercodeApp(
        repo.resolve(),
        settings,
        tiers=tiers,
        ledger=ledger or Ledger.at(home),
        device=device or detect(),
        home=home,
    )


def run_tui(repo: Path, settings: Settings, home: Path) -> None:
    """What `tiercode tui` runs."""
    make_app(repo, settings, home=home).run()
