"""The routing policy over its signal space."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from tiercode.agent.router import Signals, decide
from tiercode.tools.errors import BudgetExhausted

BASE = Signals(
    policy="auto",
    threshold=0.6,
    prompt_tokens=500,
    local_window=4096,
    reply_tokens=768,
    budget_left=Decimal("1"),
    cloud_cost_estimate=Decimal("0.001"),
)


@pytest.mark.parametrize(
    ("changes", "tier", "reason"),
    [
        ({}, "local", "auto: local first"),
        ({"policy": "cloud"}, "cloud", "policy cloud"),
        ({"policy": "local", "prompt_tokens": 9000}, "local", "policy local"),
        ({"prompt_tokens": 3500}, "cloud", "context: 3500+768"),
        ({"escalation": "tests fail"}, "cloud", "escalated: tests fail"),
        ({"forced": "cloud"}, "cloud", "forced cloud"),
        ({"forced": "local", "policy": "cloud"}, "local", "forced local"),
        (
            {"sensitive": True, "sensitive_reasons": ("secret: AWS",), "policy": "cloud"},
            "local",
            "sensitive: secret: AWS",
        ),
        ({"sensitive": True, "forced": "cloud"}, "local", "sensitive"),
        ({"sensitive": True, "redact": True, "policy": "cloud"}, "cloud", "policy cloud"),
        ({"local_only": True, "forced": "cloud", "prompt_tokens": 9000}, "local", "--local-only"),
        ({"policy": "cloud", "budget_left": Decimal("0.0005")}, "local", "budget low"),
        ({"forced": "cloud", "budget_left": Decimal("0")}, "local", "budget low"),
        ({"purpose": "check"}, "cloud", "auto: the acceptance check judges every answer"),
        ({"purpose": "check", "policy": "local"}, "local", "policy local"),
        ({"purpose": "check", "sensitive": True}, "local", "sensitive"),
        ({"purpose": "check", "budget_left": Decimal("0.0005")}, "local", "budget low"),
    ],
)
def test_decisions(changes: dict, tier: str, reason: str) -> None:
    d = decide(replace(BASE, **changes))
    assert d.tier == tier
    assert d.reason.startswith(reason), d.reason


def test_auto_local_carries_the_confidence_gate() -> None:
    assert decide(BASE).confidence_gate == 0.6
    assert decide(replace(BASE, policy="cloud")).confidence_gate is None


def test_no_budget_for_a_needed_cloud_call_raises() -> None:
    with pytest.raises(BudgetExhausted, match="needs the cloud"):
        decide(replace(BASE, prompt_tokens=5000, budget_left=Decimal("0")))
    with pytest.raises(BudgetExhausted, match="failed locally"):
        decide(replace(BASE, escalation="syntax error", budget_left=Decimal("0")))


def test_signals_serialise_for_the_ledger() -> None:
    d = BASE.to_dict()
    assert d["budget_left"] == "1" and d["prompt_tokens"] == 500


def test_a_step_forced_to_cloud_beats_policy_local_but_not_privacy() -> None:
    assert decide(replace(BASE, policy="local", forced="cloud")).tier == "cloud"
    assert decide(replace(BASE, policy="local", forced="cloud", local_only=True)).tier == "local"
    assert decide(replace(BASE, policy="local", forced="cloud", sensitive=True)).tier == "local"
