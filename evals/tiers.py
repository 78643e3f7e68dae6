"""The tiers as an eval worker holds them: built once per process, models loaded on use.

A worker process (local pool or Ray actor) receives a picklable `TierSpec` and builds
its own models from it, so nothing heavy crosses a process boundary. `Workbench.tiers()`
hands the agent's `Runner` factories that return the already loaded models, so many
tasks share one GGUF load and one stand-in server.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable
from pathlib import Path

from tiercode.agent.config import Settings
from tiercode.agent.llm import catalog
from tiercode.agent.llm.cloud import CloudModel
from tiercode.agent.llm.models import ChatModel
from tiercode.agent.pricing import Price, price_for
from tiercode.agent.runner import Tiers, default_tiers
from tiercode.agent.state import Tier
from tiercode.evals import sampling

TierFactory = Callable[[Settings, contextlib.ExitStack, Path], Tiers]
"""Builds the tiers from the settings, a stack for what it starts, and tiercode's home."""


def default_factory(settings: Settings, stack: contextlib.ExitStack, home: Path) -> Tiers:
    """The configured local GGUF and cloud endpoint, or the embedded stand-in: one of its
    own for the whole eval, never the shared one, since each task's run has a home of its
    own that goes away after the task (and with it the shared stand-in's files).

    The stand-in gets `local_threads`: llama.cpp's threads spin at barriers, so on a busy
    two-core machine two threads per model can be several times slower than one.
    """
    tiers = default_tiers(settings, stack, home)
    if settings.cloud_base_url:
        return tiers

    def standin() -> ChatModel:
        from tiercode.agent.llm.standin import StandInServer

        catalog.resolve(settings.cloud_model, auto_pull=True)
        server = stack.enter_context(
            StandInServer(model=settings.cloud_model, threads=settings.local_threads)
        )
        return CloudModel(
            name=server.model, base_url=server.base_url, api_key="none",
            timeout_s=settings.cloud_timeout_s, max_retries=settings.cloud_max_retries,
            schema_in_request=True,
            fim_template=settings.cloud_fim or catalog.fim_prompt(settings.cloud_model),
        )  # fmt: skip

    return dataclasses.replace(tiers, cloud=standin)


@dataclasses.dataclass(frozen=True)
class TierSpec:
    """Everything a worker needs to build the tiers; must pickle (top-level factory)."""

    settings: Settings
    home: Path
    """tiercode's home as the eval's caller resolved it; it travels to every worker."""
    factory: TierFactory = default_factory
    sampling: str = "reference"


class Workbench:
    """One process's models. `close()` stops what the factory started (a stand-in)."""

    def __init__(self, spec: TierSpec) -> None:
        self.spec = spec
        self.settings = spec.settings
        self._stack = contextlib.ExitStack()
        self._tiers = spec.factory(spec.settings, self._stack, spec.home)
        self._models: dict[Tier, ChatModel] = {}
        self._lock = threading.Lock()

    @property
    def price_model(self) -> str:
        return self._tiers.price_model

    @property
    def simulated(self) -> bool:
        return self._tiers.simulated

    @property
    def price(self) -> Price:
        return price_for(self._tiers.price_model, self.settings.prices)

    def model(self, tier: Tier) -> ChatModel:
        with self._lock:
            if tier not in self._models:
                factory = self._tiers.local if tier == Tier.LOCAL else self._tiers.cloud
                self._models[tier] = sampling.apply(
                    factory(), self.spec.sampling, standin=self._tiers.simulated
                )
            return self._models[tier]

    def loaded(self, tier: Tier) -> bool:
        return tier in self._models

    def tiers(self) -> Tiers:
        return Tiers(
            lambda: self.model(Tier.LOCAL),
            lambda: self.model(Tier.CLOUD),
            self._tiers.price_model,
            self._tiers.simulated,
        )

    def close(self) -> None:
        self._stack.close()
        self._models.clear()
