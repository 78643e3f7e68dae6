"""Prices per 1M tokens and the local energy estimate, all in exact Decimal USD.

Money is never a float here: the ledger sums these values, and a budget check must
not drift by a rounding error. An unknown cloud model is an error, not a zero price,
so that a misspelt model name cannot make spend look free.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from tiercode.tools.errors import ConfigError

_MILLION = Decimal(1_000_000)
_JOULES_PER_KWH = Decimal(3_600_000)
_ENERGY_PLACES = Decimal("1e-12")
# Dated snapshots such as `gpt-4o-2024-08-06` or `gpt-4-0613` share their family's price.
_DATED_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens; cached input is the discounted rate for a reused prompt prefix."""

    input: Decimal
    cached_input: Decimal
    output: Decimal


def _p(input_: str, cached: str, output: str) -> Price:
    return Price(Decimal(input_), Decimal(cached), Decimal(output))


PRICES: dict[str, Price] = {
    "gpt-4o": _p("2.50", "1.25", "10.00"),
    "gpt-4o-mini": _p("0.15", "0.075", "0.60"),
    "gpt-4.1": _p("2.00", "0.50", "8.00"),
    "gpt-4.1-mini": _p("0.40", "0.10", "1.60"),
    "gpt-4.1-nano": _p("0.10", "0.025", "0.40"),
    "gpt-5": _p("1.25", "0.125", "10.00"),
    "gpt-5-mini": _p("0.25", "0.025", "2.00"),
    "gpt-5-nano": _p("0.05", "0.005", "0.40"),
    "o4-mini": _p("1.10", "0.275", "4.40"),
}


def _parse_override(model: str, raw: dict[str, str], base: Price | None) -> Price:
    """Turn a `[prices.MODEL]` table into a Price; missing keys fall back to the list price."""
    values: dict[str, Decimal] = {}
    for key in ("input", "cached_input", "output"):
        if key in raw:
            try:
                values[key] = Decimal(str(raw[key]).strip())
            except InvalidOperation:
                raise ConfigError(f"prices.{model}.{key}: not a number: {raw[key]!r}") from None
            if not values[key].is_finite() or values[key] < 0:
                raise ConfigError(f"prices.{model}.{key}: must be a non-negative number")
        elif base is not None:
            values[key] = getattr(base, key)
    unknown = set(raw) - {"input", "cached_input", "output"}
    if unknown:
        raise ConfigError(f"prices.{model}: unknown keys {sorted(unknown)}")
    if "input" not in values or "output" not in values:
        raise ConfigError(f"prices.{model}: needs both input and output (USD per 1M tokens)")
    # Without a cached rate, bill cached tokens at the full input rate: never under-count.
    return Price(values["input"], values.get("cached_input", values["input"]), values["output"])


def price_for(model: str, overrides: dict[str, dict[str, str]] | None = None) -> Price:
    """The price of `model`, overrides first; a dated snapshot uses its family's price.

    Raises ConfigError when no price is known: spend must never be silently zero.
    """
    overrides = overrides or {}
    name = model.strip()
    candidates = [name]
    dated = _DATED_SUFFIX.search(name)
    if dated:
        candidates.append(name[: dated.start()])
    for candidate in candidates:
        base = PRICES.get(candidate) or PRICES.get(candidate.lower())
        raw = overrides.get(candidate)
        if raw is not None:
            return _parse_override(candidate, raw, base)
        if base is not None:
            return base
    key = model if re.fullmatch(r"[A-Za-z0-9_-]+", model) else json.dumps(model)
    raise ConfigError(
        f"no price for cloud model '{model}': add [prices.{key}] with input, cached_input "
        "and output (USD per 1M tokens) to ~/.config/tiercode/config.toml, or set "
        "cloud_price_as to a priced model"
    )


def cloud_cost(
    price: Price, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0
) -> Decimal:
    """Exact cost of one call; cached tokens are part of the prompt, billed at the cached rate."""
    if min(prompt_tokens, completion_tokens, cached_tokens) < 0:
        raise ValueError("token counts must not be negative")
    if cached_tokens > prompt_tokens:
        raise ValueError("cached_tokens cannot exceed prompt_tokens")
    total = (
        (prompt_tokens - cached_tokens) * price.input
        + cached_tokens * price.cached_input
        + completion_tokens * price.output
    )
    return total / _MILLION


def energy_cost(seconds: float, watts: float, usd_per_kwh: Decimal) -> Decimal:
    """Electricity for `seconds` of local inference, to 1e-12 USD, so local ROI can be compared."""
    if seconds < 0 or watts < 0 or usd_per_kwh < 0:
        raise ValueError("seconds, watts and price must not be negative")
    kwh = Decimal(str(seconds)) * Decimal(str(watts)) / _JOULES_PER_KWH
    return (kwh * usd_per_kwh).quantize(_ENERGY_PLACES, rounding=ROUND_HALF_UP)


def usd(amount: Decimal) -> str:
    """Display form: cents for ordinary sums, three significant digits for tiny ones.

    `usd(Decimal("0.000123"))` is "$0.000123"; `usd(Decimal("12.345"))` is "$12.35".
    """
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    places = 2
    if 0 < amount < Decimal("0.01"):
        # adjusted() is the exponent of the first significant digit (-4 for 0.000123).
        places = min(-amount.adjusted() + 2, 12)
    shown = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{sign}${shown:,.{places}f}"
