"""Prices per 1M tokens and the local energy estimate, all in exact Decimal USD.

Money is never a float here: the ledger sums these values, and a budget check must
not drift by a rounding error. List prices come from `genai-prices` (pydantic's
maintained price data, bundled in the wheel: no request is made for it at run time).
An unknown cloud model is an error with a one-line fix, not a zero price, so that a
misspelt model name cannot make spend look free.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from tiercode.tools.errors import ConfigError

_MILLION = Decimal(1_000_000)
_JOULES_PER_KWH = Decimal(3_600_000)
_ENERGY_PLACES = Decimal("1e-12")
# An override of `gpt-4o` also prices its dated snapshots such as `gpt-4o-2024-08-06`.
_DATED_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens; cached input is the discounted rate for a reused prompt prefix."""

    input: Decimal
    cached_input: Decimal
    output: Decimal


FREE = Price(Decimal(0), Decimal(0), Decimal(0))
"""A server on the user's own machine (Ollama, vLLM, LM Studio, llama.cpp) bills nothing."""


def _rate(value: Any) -> Decimal | None:
    """A genai-prices rate: a Decimal, None, or tiered prices whose base tier applies to
    prompts under the first threshold (200k tokens and more, far past a tiercode prompt)."""
    if value is None:
        return None
    return Decimal(getattr(value, "base", value))


def list_price(
    model: str, provider: str | None = None, base_url: str | None = None
) -> Price | None:
    """The list price genai-prices holds for `model` (at `provider`, or the provider whose
    API `base_url` is), or None when it knows no such model. Dated snapshots such as
    `gpt-4o-2024-08-06` match their family, as genai-prices matches them."""
    from genai_prices import Usage, calc_price

    try:
        usage, ref = Usage(input_tokens=1, output_tokens=1), model.strip()
        calc = (  # genai-prices takes a provider or its API's URL, never both
            calc_price(usage, ref, provider_id=provider)
            if provider
            else calc_price(usage, ref, provider_api_url=base_url or None)
        )
    except LookupError:
        if provider or base_url:  # a proxy (LiteLLM) serving a model known elsewhere
            short = model.rsplit("/", 1)[-1]
            return list_price(model) or (list_price(short) if short != model else None)
        return None
    mp = calc.model_price
    inp, out = _rate(mp.input_mtok), _rate(mp.output_mtok)
    if inp is None or out is None:
        return None
    cached = _rate(mp.cache_read_mtok)
    # Without a cached rate, bill cached tokens at the full input rate: never under-count.
    return Price(inp, inp if cached is None else cached, out)


def parse_price(text: str, source: str = "--cloud-price") -> Price:
    """`IN,OUT[,CACHED]` in USD per 1M tokens, or `0` for a free server: the one-line way
    to price a model no list knows."""
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [Decimal(p) for p in parts]
    except InvalidOperation:
        values = []
    if len(values) == 1 and values[0] == 0:
        return FREE
    if not 2 <= len(values) <= 3 or any(not v.is_finite() or v < 0 for v in values):
        raise ConfigError(
            f"{source}: expected IN,OUT[,CACHED] in USD per 1M tokens (e.g. 0.15,0.60) "
            f"or 0, got {text!r}"
        )
    return Price(values[0], values[2] if len(values) == 3 else values[0], values[1])


def _parse_override(model: str, raw: dict[str, str], base: Price | None) -> Price:
    """Turn a `[prices."MODEL"]` table into a Price; missing keys fall back to the list price."""
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
    return Price(values["input"], values.get("cached_input", values["input"]), values["output"])


def price_for(
    model: str,
    overrides: dict[str, dict[str, str]] | None = None,
    *,
    provider: str | None = None,
    base_url: str | None = None,
) -> Price:
    """The price of `model`: the user's `[prices."MODEL"]` first, then the list price.

    Raises ConfigError when no price is known: spend must never be silently zero.
    """
    name = model.strip()
    base = list_price(name, provider, base_url)
    dated = _DATED_SUFFIX.search(name)
    for candidate in [name, *([name[: dated.start()]] if dated else [])]:
        raw = (overrides or {}).get(candidate)
        if raw is not None:
            return _parse_override(candidate, raw, base)
    if base is not None:
        return base
    key = name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)
    raise ConfigError(
        f"no price for cloud model '{model}': pass --cloud-price IN,OUT (USD per 1M tokens, "
        f"e.g. 0.15,0.60) or --cloud-price 0 for a free server, or put "
        f"[prices.{key}] input/output in ~/.config/tiercode/config.toml, "
        "or set cloud_price_as to a priced model"
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
