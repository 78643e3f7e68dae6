"""Calibration math on synthetic data, and both signals on a real local call."""

from __future__ import annotations

import math
import random

import pytest

from tiercode.agent import confidence as c


def test_logprob_confidence_ignores_json_structure() -> None:
    tokens = ['{"', "edits", '":', " [", "def", " f", "():", "}"]
    logprobs = [-9.0, -9.0, -9.0, -9.0, math.log(0.5), math.log(0.5), math.log(0.5), -9.0]
    assert c.logprob_confidence(tokens, logprobs) == pytest.approx(0.5)
    assert c.logprob_confidence([], []) is None


def test_self_confidence_and_combine() -> None:
    assert c.self_confidence(85) == 0.85 and c.self_confidence(150) == 1.0
    assert c.self_confidence("high") is None and c.self_confidence(True) is None
    assert c.combine(0.9, 0.5, "mean") == pytest.approx(0.7)
    assert c.combine(0.9, None, "logprob") == 0.9
    assert c.combine(0.9, 0.5, "self") == 0.9
    assert c.combine(0.9, 0.5, "self", 0.2) == 0.9  # only `grounded` reads the checks


def test_grounded_confidence_averages_the_token_score_with_the_checks_cleared() -> None:
    assert c.combine(0.9, 0.6, "grounded", 0.4) == pytest.approx(0.5)
    assert c.combine(0.9, None, "grounded", 1.0) == pytest.approx(0.95)  # stated, no logprobs
    assert c.combine(None, 0.6, "grounded") == 0.6  # not applied yet: the token score alone
    assert c.combine(None, None, "grounded", 0.2) == 0.2
    assert c.combine(None, None, "grounded") is None


def test_perfectly_calibrated_data_has_small_ece_and_overconfident_large() -> None:
    rng = random.Random(1)
    calibrated = [(p, rng.random() < p) for p in (rng.random() for _ in range(20000))]
    assert c.expected_calibration_error(calibrated) < 0.02
    overconfident = [(0.95, ok) for _, ok in calibrated]
    assert c.expected_calibration_error(overconfident) > 0.4
    assert c.auroc(overconfident) == pytest.approx(0.5)
    assert c.auroc(calibrated) > 0.7


def test_reliability_bins_cover_every_pair() -> None:
    pairs = [(0.05, False), (0.5, True), (0.55, False), (1.0, True)]
    table = c.reliability(pairs)
    assert sum(b.count for b in table) == 4
    assert table[-1].high == 1.0 and table[-1].success_rate == 1.0


def test_fit_threshold_meets_targets() -> None:
    pairs = [(i / 100, i >= 40) for i in range(100)]
    t = c.fit_threshold(pairs, cloud_share=0.3)
    assert sum(1 for s, _ in pairs if s < t) == 30
    t = c.fit_threshold(pairs, success_rate=1.0)
    assert t == 0.40
    with pytest.raises(ValueError):
        c.fit_threshold([], cloud_share=0.5)


@pytest.mark.real
def test_a_real_local_reply_parses_applies_and_carries_its_signals() -> None:
    from tiercode.agent import prompts, reply_parser
    from tiercode.agent.llm import catalog
    from tiercode.agent.llm.models import LocalModel
    from tiercode.tools import edits

    source = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a + b\n"
    model = LocalModel(catalog.resolve("qwen2.5-coder-0.5b"), n_ctx=2048)
    messages = prompts.act_messages(
        "sub(5, 3) returns 8 instead of 2",
        [{"goal": "fix sub in calc.py", "files": ["calc.py"]}],
        1,
        {"calc.py": source},
    )
    reply = model.complete(messages, max_tokens=200, logprobs=True)
    assert reply.logprobs and reply.tokens and len(reply.logprobs) == len(reply.tokens)
    assert all(lp <= 0 for lp in reply.logprobs)
    parsed = reply_parser.parse(reply.text, ["calc.py"])
    new = edits.new_text(parsed.edits[0], source, "calc.py")
    compile(new, "calc.py", "exec")
    self_score = c.self_confidence(parsed.confidence)
    lp_score = c.logprob_confidence(reply.tokens, reply.logprobs)
    assert "def sub(a, b):\n    return a - b\n" in new
    # The stated confidence is optional: shown files in the reply's own shape, the 0.5B
    # often answers with the block alone. The log-probability signal is always there.
    assert self_score is None or 0 <= self_score <= 1
    assert lp_score is not None and 0 < lp_score <= 1
