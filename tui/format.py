"""Display forms shared by the widgets, rounded so that a screen reads the same on every run."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from rich.text import Text

from tiercode.agent.pricing import usd
from tiercode.agent.state import Tier

TIER_STYLES: dict[str, str] = {Tier.LOCAL: "bold green", Tier.CLOUD: "bold magenta"}


def tier(name: str) -> Text:
    """Local green, cloud magenta: the one colour code used everywhere in the app."""
    return Text(name, style=TIER_STYLES.get(name, ""))


def money(value: Any) -> str:
    """Events carry Decimal or its string form (JSON-safe); show either the ledger's way."""
    return usd(decimal(value))


def decimal(value: Any) -> Decimal:
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)


def seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}s"


def confidence(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def step_label(step: int) -> str:
    """Step 0 is the plan call; the plan's steps count from 1, as in the events."""
    return "plan" if step == 0 else str(step)


NOISE_WORDS = {"instruct", "awq", "gguf", "chat"}
"""Words in GGUF model names that do not tell two models apart."""


def short_model(name: str) -> str:
    """`Qwen2.5 Coder 0.5B Instruct AWQ` -> `Qwen2.5 Coder 0.5B`; a path -> its file stem."""
    if "/" in name:
        name = name.rsplit("/", 1)[-1].removesuffix(".gguf")
    words = [w for w in name.split() if w.lower() not in NOISE_WORDS]
    return " ".join(words) or name


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
