"""Plain greedy decoding for benchmark fidelity.

The agent decodes with a mild repetition penalty (LocalModel: 1.05; llama.cpp's server
defaults to 1.1 when a request names none), which helps a small model out of loops in
JSON edits but is not how published HumanEval figures are measured: the Qwen2.5-Coder
report decodes greedily with no penalty. `reference` sampling sets the penalty to 1.0
on an already built model, so every call still goes through `LocalModel.complete` /
`CloudModel.complete` (prompt template, usage, latency, log-probabilities) unchanged.

Neither model takes the penalty as a parameter yet; these wrappers stand in for that
(see the eval report for the proposed `repeat_penalty` argument in agent/llm/models.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from tiercode.agent.llm.cloud import CloudModel
from tiercode.agent.llm.models import ChatModel, LocalModel

SAMPLING = ("reference", "agent")
REFERENCE_PENALTY = 1.0


def _forcing(fn: Callable[..., Any], **forced: Any) -> Callable[..., Any]:
    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **{**kwargs, **forced})

    return call


def apply(model: ChatModel, sampling: str, *, standin: bool) -> ChatModel:
    """Make `model` decode plainly greedily under `reference`; `agent` leaves it as is.

    Only a stand-in server is sent the llama.cpp-specific field: a real cloud endpoint
    could reject an unknown parameter, and its own default is already no penalty.
    """
    if sampling != "reference":
        return model
    if isinstance(model, LocalModel):
        llm = model.llm
        llm.create_completion = _forcing(  # type: ignore[method-assign]
            llm.create_completion, repeat_penalty=REFERENCE_PENALTY
        )
    elif isinstance(model, CloudModel) and standin:
        completions = model.client.chat.completions
        completions.create = _forcing(
            completions.create, extra_body={"repeat_penalty": REFERENCE_PENALTY}
        )
    return model
