"""Forks: a reply up to one token with the runner-up in its place, inside code only."""

from __future__ import annotations

import dataclasses
import math

from tiercode.agent.forks import forks
from tiercode.agent.llm.models import Completion
from tiercode.agent.state import Tier

PREFILL = "calc/ops.py\n```python\n"


def reply(pieces: list[str], runner_ups: dict[int, tuple[str, float]]) -> Completion:
    """A reply begun by PREFILL whose tokens are `pieces`; runner-ups by token index."""
    return Completion(
        text=PREFILL + "".join(pieces),
        model="m",
        tier=Tier.LOCAL,
        prompt_tokens=1,
        completion_tokens=len(pieces),
        latency_s=0.0,
        ttft_s=0.0,
        logprobs=[-0.1] * len(pieces),
        tokens=pieces,
        runner_ups=[runner_ups.get(i, (p, -math.inf)) for i, p in enumerate(pieces)],
    )


ECHO = [
    "def",
    " sub",
    "(a, b):\n",
    "    return",
    " a",
    " +",
    " b",
    "\n",
    "```",
    "\nConfidence",
    ": 90",
]


def test_a_fork_takes_the_runner_up_where_it_was_most_likely_first() -> None:
    got = forks(reply(ECHO, {5: (" -", math.log(0.2)), 4: (" b", math.log(0.05))}), 2)
    assert got == [
        PREFILL + "def sub(a, b):\n    return a -",
        PREFILL + "def sub(a, b):\n    return b",
    ]


def test_forks_are_capped_and_distinct() -> None:
    same = {5: (" -", math.log(0.2)), 6: (" b", math.log(0.3))}  # " b" for " b": no change
    assert forks(reply(ECHO, same), 5) == [PREFILL + "def sub(a, b):\n    return a -"]
    assert forks(reply(ECHO, {5: (" -", -1.0), 4: (" b", -2.0)}), 1) == [
        PREFILL + "def sub(a, b):\n    return a -"
    ]
    assert forks(reply(ECHO, {5: (" -", -1.0)}), 0) == []


def test_no_fork_outside_code_or_for_whitespace_or_fences() -> None:
    runner_ups = {
        7: ("\n\n", -0.1),  # whitespace alone
        8: ("``", -0.1),  # the closing fence
        9: ("\nSure", -0.1),  # after the block: prose, not code
        3: ("  return", -0.1),  # the same token but for indentation
        1: (" su", -0.1),  # a shorter token that spells the same text
        6: (" #", -0.1),  # a comment changes no behaviour
    }
    assert forks(reply(ECHO, runner_ups), 5) == []


def test_a_reply_without_runner_ups_has_no_forks() -> None:
    assert forks(dataclasses.replace(reply(ECHO, {}), runner_ups=None), 3) == []
