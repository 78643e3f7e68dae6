"""What the run has cost so far, read from the ledger so the panel always equals it.

Cloud spend and local energy are kept apart (as the ledger does); the all-cloud
counterfactual and the saving show whether tiering paid off.
"""

from __future__ import annotations

from decimal import Decimal

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from tiercode.agent.ledger_records import RunTotals
from tiercode.agent.pricing import usd


class CostPanel(Static):
    DEFAULT_CSS = """
    CostPanel { height: auto; padding: 0 1; }
    """

    def __init__(self, max_cost_usd: Decimal | None) -> None:
        super().__init__(id="cost")
        self.max_cost_usd = max_cost_usd
        self.totals: RunTotals | None = None
        self.status = ""

    def on_mount(self) -> None:
        self.border_title = "cost"
        self.show(None)

    def show(self, totals: RunTotals | None, status: str | None = None) -> None:
        self.totals = totals
        if status is not None:
            self.status = status
        self.update(self.render_table())

    @property
    def budget_left(self) -> Decimal | None:
        if self.max_cost_usd is None:
            return None
        spent = self.totals.cloud_usd if self.totals else Decimal(0)
        return self.max_cost_usd - spent

    def render_table(self) -> Table:
        t = self.totals
        zero = Decimal(0)
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim")
        grid.add_column(justify="right")
        label = "cloud (simulated)" if t and t.simulated else "cloud spend"
        grid.add_row(label, usd(t.cloud_usd if t else zero))
        grid.add_row("local energy", usd(t.local_usd if t else zero))
        grid.add_row("all-cloud would be", usd(t.counterfactual_usd if t else zero))
        saving = t.saving_usd if t else zero
        grid.add_row("saving", Text(usd(saving), style="green" if saving >= 0 else "red"))
        left = self.budget_left
        budget = "no cap" if left is None else f"{usd(left)} of {usd(self.max_cost_usd or zero)}"
        spent_out = left is not None and left <= 0
        grid.add_row("budget left", Text(budget, style="red" if spent_out else ""))
        calls = f"{t.local_calls} local · {t.cloud_calls} cloud" if t else "none yet"
        grid.add_row("calls", calls)
        if self.status:
            grid.add_row("run", self.status)
        return grid
