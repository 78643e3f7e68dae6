"""Prices are exact Decimals from genai-prices' bundled data, unknown models fail closed
with a one-line fix, and overrides win."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tiercode.agent.pricing import (
    FREE,
    Price,
    cloud_cost,
    energy_cost,
    parse_price,
    price_for,
    usd,
)
from tiercode.tools.errors import ConfigError

D = Decimal


LISTED = {
    "gpt-4o": ("2.50", "1.25", "10.00"),
    "gpt-4o-mini": ("0.15", "0.075", "0.60"),
    "gpt-4.1": ("2.00", "0.50", "8.00"),
    "gpt-4.1-mini": ("0.40", "0.10", "1.60"),
    "gpt-4.1-nano": ("0.10", "0.025", "0.40"),
    "gpt-5": ("1.25", "0.125", "10.00"),
    "gpt-5-mini": ("0.25", "0.025", "2.00"),
    "o4-mini": ("1.10", "0.275", "4.40"),
}
PRICES = {k: Price(*map(D, v)) for k, v in LISTED.items()}


def test_list_prices_are_the_published_ones() -> None:
    assert {k: price_for(k) for k in LISTED} == PRICES


def test_prices_come_from_the_bundled_list_without_the_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket

    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("a price lookup opened a socket")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    # providers' own names: Anthropic, Gemini, OpenRouter, Groq
    assert price_for("claude-haiku-4-5", provider="anthropic").output == D(5)
    assert price_for("gemini-2.5-flash", provider="google").input == D("0.3")
    assert price_for("qwen/qwen3-coder", provider="openrouter").input > 0
    groq = price_for("llama-3.3-70b-versatile", base_url="https://api.groq.com/openai/v1")
    assert groq.cached_input == groq.input  # no cached rate: billed at the full input rate
    # a proxy on loopback serving a known model under a routed name
    assert (
        price_for("openai/gpt-4.1-mini", base_url="http://127.0.0.1:4000/v1")
        == PRICES["gpt-4.1-mini"]
    )


def test_a_price_flag_is_in_out_and_optionally_cached() -> None:
    assert parse_price("0.15,0.60") == Price(D("0.15"), D("0.15"), D("0.60"))
    assert parse_price("0.15, 0.60, 0.03") == Price(D("0.15"), D("0.03"), D("0.60"))
    assert parse_price("0") == FREE
    for bad in ("cheap", "1", "1,2,3,4", "-1,2"):
        with pytest.raises(ConfigError, match="IN,OUT"):
            parse_price(bad)


def test_cost_is_exact_to_the_cent() -> None:
    cost = cloud_cost(price_for("gpt-4.1-mini", {}), 1_234_567, 89_012)
    # 1,234,567 x $0.40/M + 89,012 x $1.60/M = 0.4938268 + 0.1424192
    assert cost == D("0.636246")
    assert cost.quantize(D("0.01")) == D("0.64")
    assert usd(cost) == "$0.64"


def test_cached_tokens_are_part_of_the_prompt_at_the_cached_rate() -> None:
    cost = cloud_cost(price_for("gpt-4o"), 1_000_000, 0, cached_tokens=400_000)
    assert cost == D("1.50") + D("0.50")


def test_bad_token_counts_are_refused() -> None:
    price = price_for("gpt-4o")
    with pytest.raises(ValueError):
        cloud_cost(price, 10, 0, cached_tokens=11)
    with pytest.raises(ValueError):
        cloud_cost(price, -1, 0)


@given(
    st.lists(st.tuples(st.integers(0, 10**7), st.integers(0, 10**6)), min_size=1, max_size=30),
    st.sampled_from(sorted(PRICES)),
)
def test_costs_of_parts_sum_exactly_to_the_cost_of_the_whole(
    calls: list[tuple[int, int]], model: str
) -> None:
    price = PRICES[model]
    parts = sum((cloud_cost(price, p, c) for p, c in calls), D(0))
    whole = cloud_cost(price, sum(p for p, _ in calls), sum(c for _, c in calls))
    assert parts == whole


def test_unknown_model_fails_closed_with_a_fix() -> None:
    with pytest.raises(ConfigError) as err:
        price_for("my-private-model", {})
    message = str(err.value)
    assert "my-private-model" in message and "\n" not in message
    assert "--cloud-price IN,OUT" in message and "[prices.my-private-model]" in message


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
        ("o4-mini-2025-04-16", "o4-mini"),
    ],
)
def test_dated_snapshot_uses_its_family_price(model: str, family: str) -> None:
    assert price_for(model, {}) == PRICES[family]


def test_a_variant_is_priced_as_itself_not_its_family() -> None:
    # gpt-4o-realtime-preview has its own, higher price: gpt-4o's would under-count.
    assert price_for("gpt-4o-realtime-preview", {}).input > PRICES["gpt-4o"].input


def test_overrides_win_and_add_models() -> None:
    overrides = {
        "gpt-4o": {"input": "1", "cached_input": "0.5", "output": "2"},
        "house-model": {"input": "0.3", "output": "0.9"},
    }
    assert price_for("gpt-4o", overrides) == Price(D(1), D("0.5"), D(2))
    assert price_for("gpt-4o-2024-08-06", overrides) == Price(D(1), D("0.5"), D(2))
    # No cached rate given: cached tokens are billed at the full input rate.
    assert price_for("house-model", overrides) == Price(D("0.3"), D("0.3"), D("0.9"))


def test_partial_override_keeps_the_rest_of_the_list_price() -> None:
    price = price_for("gpt-4.1", {"gpt-4.1": {"output": "7.00"}})
    assert price == Price(D("2.00"), D("0.50"), D("7.00"))


@pytest.mark.parametrize(
    "raw",
    [{"input": "cheap", "output": "1"}, {"input": "-1", "output": "1"}, {"input": "1"}],
)
def test_bad_overrides_are_config_errors(raw: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        price_for("house-model", {"house-model": raw})


def test_energy_cost() -> None:
    assert energy_cost(3600, 1000, D("0.15")) == D("0.15")
    # 2.5 s at 35 W = 87.5 J = 0.0000243055... kWh, at $0.15/kWh
    assert energy_cost(2.5, 35, D("0.15")) == D("0.000003645833")
    assert energy_cost(0, 35, D("0.15")) == 0


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        ("0", "$0.00"),
        ("0.000123", "$0.000123"),
        ("0.0012345", "$0.00123"),
        ("0.5", "$0.50"),
        ("12.345", "$12.35"),
        ("1234.5", "$1,234.50"),
        ("-0.25", "-$0.25"),
    ],
)
def test_usd_display(amount: str, shown: str) -> None:
    assert usd(D(amount)) == shown
