"""CLI polish: help stays fast because the CLI imports no heavy library at start; errors
speak in words, not Python types; a misspelt model name gets the closest; the budget
estimate assumes a realistic reply; a budget that overrides the tier asked for says so."""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from test_agent_flow import BUGGY, FIXED_SUB, code, commit, of_type, plan, run
from test_cli_errors import tiercode

from tiercode.agent import config
from tiercode.agent.events import StepRouted
from tiercode.agent.llm import catalog
from tiercode.agent.pricing import cloud_cost, price_for
from tiercode.cli.output import describe
from tiercode.tools.errors import ConfigError, ModelUnavailable

HEAVY = ("llama_cpp", "openai", "langgraph", "textual", "genai_prices", "matplotlib")


def test_the_cli_module_imports_nothing_heavy() -> None:
    probe = "import sys, tiercode.cli.main; print(' '.join(sorted(sys.modules)))"
    loaded = set(subprocess.check_output([sys.executable, "-c", probe], text=True).split())
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}


def test_help_shows_choices_and_completion() -> None:
    top = tiercode("--help").stdout
    assert "--install-completion" in top and "--version" in top
    run_help = tiercode("run", "-h", env={"COLUMNS": "200"}).stdout
    assert "[local|cloud|auto|auto:X]" in run_help and "[refuse|keep]" in run_help
    assert "openrouter" in run_help


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("max_steps", "many", "a whole number"),
        ("local_only", "perhaps", "true or false"),
        ("max_cost_usd", "lots", "an amount in USD"),
        ("auto_threshold", "high", "a number"),
    ],
)
def test_config_errors_speak_in_words(key: str, value: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        config.load(None, {key: value})
    message = str(err.value)
    assert words in message
    assert not any(t in message for t in (" int", "bool", "Decimal", "float", "tuple["))


def test_a_misspelt_model_name_gets_the_closest() -> None:
    with pytest.raises(ModelUnavailable, match=re.escape("did you mean 'qwen2.5-coder-0.5b'")):
        catalog.resolve("qwen2.5-coder-05b")
    with pytest.raises(ModelUnavailable, match="did you mean 'smollm2-135m'"):
        catalog.pull("smollm2-135")


def test_the_budget_estimate_assumes_a_realistic_reply(git_repo: Path) -> None:
    commit(git_repo, BUGGY)
    _, events, _ = run(
        git_repo,
        "fix the failing test in calc/ops.py or calc/__init__.py",
        [plan(("fix sub", ["calc/ops.py"])), code("calc/ops.py", FIXED_SUB)],
    )
    routed = of_type(events, "step.routed")
    price = price_for("gpt-4.1-mini")
    first = routed[0]["signals"]
    # before any call: a third of max_tokens, not all 768 of them
    expected = cloud_cost(price, first["prompt_tokens"], 768 // 3)
    assert Decimal(first["cloud_cost_estimate"]) == expected
    # after the plan call: as long as replies have been
    second = routed[1]["signals"]
    plan_reply = of_type(events, "model.call")[0]["completion_tokens"]
    assert Decimal(second["cloud_cost_estimate"]) == cloud_cost(
        price, second["prompt_tokens"], plan_reply
    )


def test_a_budget_that_overrides_the_tier_asked_for_is_a_notice(tiercode_home: Path) -> None:
    event = StepRouted(
        run_id="r",
        step=1,
        attempt=0,
        purpose="act",
        tier="local",
        reason="budget low: cloud call ~$0.0010 > $0.0005 left, kept local",
        signals={"policy": "cloud", "forced": None},
    )
    line = describe(event, tiercode_home) or ""
    assert line.startswith("NOTICE: step 1 runs LOCAL") and "--max-cost-usd" in line
    plain = StepRouted(
        run_id="r",
        step=1,
        attempt=0,
        purpose="act",
        tier="local",
        reason="policy local",
        signals={"policy": "local", "forced": None},
    )
    assert not (describe(plain, tiercode_home) or "").startswith("NOTICE")
