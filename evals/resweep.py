"""More `auto` thresholds for a finished HumanEval run, without asking any model again.

A run with both baselines (`local` and `cloud`) holds, per problem, each tier's answer,
its call and (local) its confidence. Under greedy decoding those do not depend on the
threshold, so any `auto:T` outcome follows from them through the same router as a live
run: the cascade simulation `humaneval.solve` does, replayed from the results file.
Thresholds chosen after seeing the results are tuned on the test set; reports say so.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from tiercode.agent.pricing import price_for
from tiercode.agent.runner import settings_from_json
from tiercode.agent.state import Tier
from tiercode.evals import humaneval, metrics
from tiercode.evals.policy import Policy, order
from tiercode.evals.records import PolicyOutcome, task_from_dict, task_to_dict
from tiercode.tools.errors import ConfigError


def resweep(data: dict[str, Any], thresholds: list[float]) -> dict[str, Any]:
    """A copy of `data` with `auto:T` added for each threshold, under run id `<id>-resweep`."""
    if data.get("suite") != "humaneval" or not set(Tier) <= set(data["policies"]):
        raise ConfigError("resweep needs a humaneval run with both the local and cloud policies")
    settings = settings_from_json(json.dumps(data["pins"]["settings"]))
    price = price_for(data["price_model"], settings.prices)
    added = [Policy("auto", t) for t in thresholds]
    out = copy.deepcopy(data)
    results = [task_from_dict(t) for t in data["tasks"]]
    for result in results:
        answers = {
            tier: humaneval.answer_from_dict(raw, _only_call(result.outcomes[tier]))
            for tier, raw in result.detail["answers"].items()
        }
        for policy in added:
            result.outcomes[policy.name] = humaneval.outcome(
                settings, price, policy, result.detail["prompt_tokens"], answers.__getitem__
            )
    names = order(list(dict.fromkeys([*data["policies"], *(p.name for p in added)])))
    out["run_id"] = f"{data['run_id']}-resweep"
    out["resweep_of"] = data["run_id"]
    out["config"]["policies"] = names
    out["cascade"] = (
        f"{data.get('cascade', '')} Thresholds {', '.join(f'{t:g}' for t in thresholds)} were "
        f"added afterwards from the recorded answers (tuned on these problems)."
    )
    out["policies"] = metrics.summarize_all(results, names)
    out["tasks"] = [task_to_dict(r) for r in results]
    return out


def _only_call(outcome: PolicyOutcome) -> Any:
    """The single call a baseline policy made (None if that tier failed to answer)."""
    return outcome.calls[0] if outcome.calls else None
