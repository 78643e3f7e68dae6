"""One row per model call: where it ran, why, what it took and what it cost."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from tiercode.agent.events import ModelCalled
from tiercode.tui.format import (
    clip,
    confidence,
    money,
    seconds,
    short_model,
    step_label,
    tier,
)

MODEL_WIDTH = 18
"""Fits `Qwen2.5 Coder 0.5B` and `qwen2.5-coder-1.5b`: the size is what tells them apart."""
COLUMNS = (
    ("step", "step", 4), ("try", "attempt", 3), ("tier", "tier", 5),
    ("model", "model", MODEL_WIDTH), ("tokens p+c", "tokens", 10), ("latency", "latency", 7),
    ("TTFT", "ttft", 6), ("conf", "confidence", 4), ("cost", "cost", 12),
    ("route reason", "reason", None),
)  # fmt: skip
"""Label, key and fixed width: fixed, so the layout never depends on update order."""
FIXED_WIDTH = sum(w + 2 for _, _, w in COLUMNS if w) + 2
"""What the columns before the reason take (each pads one cell a side), plus the borders
and the reason's own padding; the reason gets the rest of the table's width."""


class StepTable(DataTable[Any]):
    """One row per model call, keyed `step:attempt:purpose`: the route adds the row, the
    call's `model.call` fills in what it took, the step's outcome marks a failed answer."""

    DEFAULT_CSS = """
    StepTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__(id="steps", cursor_type="row", zebra_stripes=True)
        self.token_counts: list[int] = []
        """Prompt plus completion tokens of each finished call, in order (the sparkline's data)."""

    def on_mount(self) -> None:
        self.border_title = "steps"
        for label, key, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def reset(self) -> None:
        self.clear()
        self.token_counts = []

    def routed(self, step: int, attempt: int, purpose: str, tier_name: str, reason: str) -> None:
        key = _key(step, attempt, purpose)
        if key in self.rows:
            return
        if purpose in ("check", "judge"):
            reason = f"acceptance {purpose}: {reason}"
        reason = clip(reason, max(24, self.size.width - FIXED_WIDTH))
        cells = [step_label(step), str(attempt), tier(tier_name), "…", *[""] * 5, reason]
        self.add_row(*cells, key=key)
        self.move_cursor(row=self.row_count - 1)

    def called(self, call: ModelCalled) -> None:
        """Fill a routed row with what its call took and cost."""
        key = _key(call.step, call.attempt, call.purpose)
        if key not in self.rows:
            self.routed(call.step, call.attempt, call.purpose, call.tier, call.route_reason)
        values = {
            "tier": tier(call.tier),
            "model": clip(short_model(call.model), MODEL_WIDTH),
            "tokens": f"{call.prompt_tokens}+{call.completion_tokens}",
            "latency": seconds(call.latency_s),
            "ttft": seconds(call.ttft_s),
            "cost": money(call.cost_usd),
        }
        for column, value in values.items():
            self.update_cell(key, column, value)
        self.token_counts.append(call.prompt_tokens + call.completion_tokens)

    def judged(self, step: int, attempt: int, confidence_used: float | None, failed: str) -> None:
        """Show the answer's confidence; `failed` marks an answer that did not hold."""
        key = _key(step, attempt, "plan" if step == 0 else "act")
        if key not in self.rows:
            return
        self.update_cell(key, "confidence", confidence(confidence_used))
        if failed:
            self.update_cell(key, "step", Text(step_label(step), style="bold red"))


def _key(step: int, attempt: int, purpose: str) -> str:
    return f"{step}:{attempt}:{purpose}"
