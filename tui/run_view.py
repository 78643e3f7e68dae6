"""Turns each event of a run into updates of the widgets that show it.

Kept apart from the app so that the app is about steering (keys, worker, approvals) and
this is about showing. It also remembers where the run is, which steering needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.widgets import Sparkline

from tiercode.agent.events import (
    ApprovalNeeded,
    Event,
    ModelCalled,
    Planned,
    RunCompleted,
    RunStarted,
    StepCompleted,
    StepEscalated,
    StepRouted,
    TokenStreamed,
)
from tiercode.agent.ledger import Ledger
from tiercode.agent.state import RunStatus
from tiercode.tui.banner import Banner
from tiercode.tui.cost_panel import CostPanel
from tiercode.tui.device_header import DeviceHeader
from tiercode.tui.format import clip
from tiercode.tui.plan_list import PlanList
from tiercode.tui.step_table import StepTable
from tiercode.tui.stream_log import StreamLog

BANNER_CHARS = 200


@dataclass
class Widgets:
    """The main screen's widgets, held directly: a modal on top must not hide them."""

    header: DeviceHeader
    banner: Banner
    plan: PlanList
    table: StepTable
    stream: StreamLog
    cost: CostPanel
    spark: Sparkline


class RunView:
    def __init__(self, widgets: Widgets, ledger: Ledger) -> None:
        self.w = widgets
        self.ledger = ledger
        self.run_id: str | None = None
        self.current_step = 0
        """The step of the latest route: 0 while planning, then 1-based plan steps."""
        self.plan_size: int | None = None
        self.events: list[Event] = []
        """Every event of this session's runs, in order (tests and post-mortems read it)."""
        self._handlers: dict[type[Event], Callable[[Any], None]] = {
            RunStarted: self._run_started,
            Planned: self._planned,
            StepRouted: self._step_routed,
            TokenStreamed: lambda e: self.w.stream.feed(e.text),
            ModelCalled: self._model_called,
            StepCompleted: self._step_completed,
            StepEscalated: self._step_escalated,
            ApprovalNeeded: self._approval_needed,
            RunCompleted: self._run_completed,
        }

    def reset(self) -> None:
        self.run_id, self.current_step, self.plan_size = None, 0, None
        self.w.plan.reset()
        self.w.table.reset()
        self.w.banner.hide()
        self.w.cost.show(None, status="starting…")
        self.w.spark.data = []

    def apply(self, event: Event) -> None:
        self.events.append(event)
        if handler := self._handlers.get(type(event)):
            handler(event)

    def _run_started(self, e: RunStarted) -> None:
        self.run_id = e.run_id
        self.w.header.set_tiers(e.local_model, e.cloud_model, e.cloud_simulated)
        self.w.cost.show(None, status="planning…")

    def _planned(self, e: Planned) -> None:
        self.plan_size = len(e.steps)
        self.w.plan.set_plan(e.steps)
        self.refresh_cost("running")

    def _step_routed(self, e: StepRouted) -> None:
        self.current_step = e.step
        self.w.plan.routed(e.step, e.tier)
        self.w.table.routed(e.step, e.attempt, e.purpose, e.tier, e.reason)
        self.w.stream.begin(e.step, e.attempt, e.tier)

    def _model_called(self, e: ModelCalled) -> None:
        self.w.table.called(e)
        self.refresh_cost("running" if self.plan_size is not None else "planning…")

    def _step_completed(self, e: StepCompleted) -> None:
        self.w.table.judged(e.step, e.attempt, e.confidence, "" if e.success else e.detail)
        if e.step:  # step 0 is the plan call, not a step of the plan
            self.w.plan.finished(e.step, e.success)
        self.refresh_cost("running")

    def _step_escalated(self, e: StepEscalated) -> None:
        self.w.plan.escalated(e.step, e.to_tier)
        reason = f": {first_line(e.reason)}" if e.reason else ""
        self.w.banner.show(
            f"step {e.step} escalated {e.from_tier} → {e.to_tier}{reason}", "warning"
        )

    def _approval_needed(self, e: ApprovalNeeded) -> None:
        verdict = "approved" if e.granted else "denied"
        self.w.stream.feed(f"\n$ {e.command}  ({verdict}: {e.reason})")

    def _run_completed(self, e: RunCompleted) -> None:
        commits = f"{len(e.commits)} commit(s)" if e.commits else "no commits"
        self.w.stream.flush()
        self.refresh_cost(f"{e.status}, {commits}")
        if e.status != RunStatus.DONE:
            level = "warning" if e.status == RunStatus.CANCELLED else "error"
            self.w.banner.show(f"{e.status}: {first_line(e.message)}", level)

    def refresh_cost(self, status: str) -> None:
        """Re-read the run's totals from the ledger, so the panel equals it by construction."""
        totals = self.ledger.run_totals(self.run_id) if self.run_id else None
        self.w.cost.show(totals, status=status)
        self.w.spark.data = list(self.w.table.token_counts)


def first_line(text: str) -> str:
    return clip(text.strip().splitlines()[0] if text.strip() else "", BANNER_CHARS)
