"""Scripted tiers for eval dry-runs and harness tests: `ScriptedModel`s that answer by content.

Workers may run tasks in any order, so replies cannot be a fixed sequence: each reply is
looked up by the first key found in the prompt (for HumanEval, the function's name).
`CannedTiers` is a picklable `TierFactory`, so the same doubles run in a process pool or
on Ray exactly like the real models.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from tiercode.agent.config import Settings
from tiercode.agent.llm.models import Message, ScriptedModel
from tiercode.agent.runner import Tiers
from tiercode.agent.state import Tier

_REPLIES_PER_MODEL = 10_000


@dataclass(frozen=True)
class Canned:
    """(key, reply, logprob) rows; the first row whose key is in the prompt answers."""

    rows: tuple[tuple[str, str, float], ...]
    default: str = "I cannot help with that."
    default_logprob: float = -2.0

    def lookup(self, messages: list[Message]) -> tuple[str, float]:
        text = "\n".join(m["content"] for m in messages)
        for key, reply, logprob in self.rows:
            if key in text:
                return reply, logprob
        return self.default, self.default_logprob


def canned_model(canned: Canned, tier: Tier, name: str) -> ScriptedModel:
    """A ScriptedModel whose every reply is looked up; the row's logprob becomes the
    log-probability it reports for each token of that reply."""
    model = ScriptedModel([], tier=tier, name=name)

    def reply(messages: list[Message]) -> str:
        text, model.logprob = canned.lookup(messages)
        return text

    model.replies = [reply] * _REPLIES_PER_MODEL
    return model


@dataclass(frozen=True)
class CannedTiers:
    """A `TierFactory` of canned local and cloud models, priced like the stand-in."""

    local: Canned
    cloud: Canned
    price_model: str = "gpt-4.1-mini"

    def __call__(self, settings: Settings, stack: contextlib.ExitStack, home: Path) -> Tiers:
        return Tiers(
            lambda: canned_model(self.local, Tier.LOCAL, "scripted-local"),
            lambda: canned_model(self.cloud, Tier.CLOUD, "scripted-cloud"),
            self.price_model,
            simulated=True,
        )
