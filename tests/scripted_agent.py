"""Run the agent in-process on a repository with one scripted model for both tiers: the
graph tests' common set-up (local policy, one sample unless a test says otherwise)."""

from __future__ import annotations

from pathlib import Path

from tiercode.agent import config
from tiercode.agent.events import Event
from tiercode.agent.llm.models import ScriptedModel
from tiercode.agent.runner import Outcome, Runner, Tiers


def run_agent(
    repo: Path, model: ScriptedModel, task: str, **flags: object
) -> tuple[Outcome, list[Event]]:
    """The run's outcome and every event it emitted."""
    settings, _ = config.load(repo, {"policy": "local", "samples": 1, **flags})
    events: list[Event] = []
    tiers = Tiers(lambda: model, lambda: model, "gpt-4.1-mini", simulated=True)
    return Runner(settings, repo, emit=events.append, tiers=tiers).start(task), events
