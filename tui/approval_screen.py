"""The question a command needs answered before the agent may run it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class ApprovalScreen(ModalScreen[bool]):
    """Dismissed with True (approve) or False (deny); the app hands the answer to the run."""

    DEFAULT_CSS = """
    ApprovalScreen { align: center middle; }
    ApprovalScreen > Vertical {
        width: 72; height: auto; padding: 1 2;
        border: thick $warning; background: $surface;
    }
    ApprovalScreen #command { margin: 1 0; padding: 0 1; background: $panel; }
    ApprovalScreen #why { color: $text-muted; margin-bottom: 1; }
    ApprovalScreen Horizontal { height: auto; align-horizontal: center; }
    ApprovalScreen Button { margin: 0 2; }
    """
    AUTO_FOCUS = "#deny"
    """Deny has the focus: Enter never approves by accident. Textual focuses it when the
    screen is shown; focusing it in on_mount crashed an app quit while the screen mounted."""
    BINDINGS = [  # noqa: RUF012 - Textual's convention
        Binding("a", "answer(True)", "Approve"),
        Binding("d", "answer(False)", "Deny"),
        Binding("escape", "answer(False)", "Deny", show=False),
        Binding("q", "app.quit", "Quit", show=False),  # a modal hides the app's own keys
    ]

    def __init__(self, command: str, reason: str, step: int) -> None:
        super().__init__(id="approval")
        self.command = command
        self.reason = reason
        self.step = step

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Step {self.step} wants to run a command:", markup=False)
            yield Static(self.command, id="command", markup=False)
            yield Label(f"Needs approval: {self.reason}", id="why", markup=False)
            with Horizontal():
                yield Button("Approve (a)", id="approve", variant="success")
                yield Button("Deny (d)", id="deny", variant="error")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "approve")

    def action_answer(self, granted: bool) -> None:
        self.dismiss(granted)
