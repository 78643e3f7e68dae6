"""The plan as a list: each step's goal, files, tier and state, updated from events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual.widgets import Static

from tiercode.agent.state import Tier
from tiercode.tui.format import TIER_STYLES, clip

STATES = {
    "pending": ("·", "dim"),
    "running": ("▶", "bold yellow"),
    "ok": ("✓", "green"),
    "failed": ("✗", "bold red"),
    "escalated": ("↑", "bold magenta"),
}


GOAL_CHARS = 80
"""Goals longer than this are cut; shorter ones wrap to the panel's width."""


@dataclass
class PlanStep:
    goal: str
    files: list[str]
    state: str = "pending"
    tier: str = ""
    forced: str = ""
    escalated: bool = False


@dataclass
class PlanModel:
    """The list's data, kept apart from rendering so the rules are easy to follow."""

    steps: list[PlanStep] = field(default_factory=list)
    planning: str = ""
    """The tier the plan call runs on, while it runs."""
    forced: dict[int, str] = field(default_factory=dict)
    """Tiers forced before the plan arrived, by 1-based step."""

    def step(self, number: int) -> PlanStep | None:
        return self.steps[number - 1] if 0 < number <= len(self.steps) else None


class PlanList(Static):
    DEFAULT_CSS = """
    PlanList { height: 1fr; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__(id="plan")
        self.model = PlanModel()

    def on_mount(self) -> None:
        self.border_title = "plan"
        self.refresh_view()

    def reset(self) -> None:
        self.model = PlanModel()
        self.refresh_view()

    def set_plan(self, steps: list[dict[str, Any]]) -> None:
        self.model.planning = ""
        self.model.steps = [
            PlanStep(str(s.get("goal", "")), [str(f) for f in s.get("files") or []]) for s in steps
        ]
        for number, tier in self.model.forced.items():
            if step := self.model.step(number):
                step.forced = tier
        self.refresh_view()

    def routed(self, number: int, tier: str) -> None:
        if number == 0:
            self.model.planning = tier
        elif step := self.model.step(number):
            step.state, step.tier = "running", tier
        self.refresh_view()

    def finished(self, number: int, success: bool) -> None:
        if step := self.model.step(number):
            step.state = "ok" if success else "failed"
        self.refresh_view()

    def escalated(self, number: int, to_tier: str) -> None:
        if step := self.model.step(number):
            step.state, step.tier, step.escalated = "escalated", to_tier, True
        self.refresh_view()

    def force(self, number: int, tier: str) -> None:
        self.model.forced[number] = tier
        if step := self.model.step(number):
            step.forced = tier
        self.refresh_view()

    def refresh_view(self) -> None:
        self.update(self.render_text())

    def render_text(self) -> Text:
        m = self.model
        if not m.steps:
            if m.planning:
                return Text.assemble("▶ planning on ", (m.planning, TIER_STYLES[m.planning]), "…")
            return Text("type a task below and press Enter", style="dim")
        text = Text()
        for number, step in enumerate(m.steps, 1):
            icon, style = STATES[step.state]
            text.append(f"{icon} {number}. ", style=style)
            text.append(clip(step.goal, GOAL_CHARS) + "\n")
            text.append("     ")
            if step.tier:
                text.append(step.tier, style=TIER_STYLES.get(step.tier, ""))
                text.append(" ↑ " if step.escalated else " ", style=TIER_STYLES[Tier.CLOUD])
            if step.forced and step.state == "pending":
                text.append(f"forced {step.forced} ", style="italic")
            text.append(", ".join(step.files), style="dim")
            text.append("\n")
        text.rstrip()
        return text
