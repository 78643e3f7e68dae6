"""Routing policies under evaluation: `local`, `cloud`, `auto` and `auto:THRESHOLD`.

Like RouteLLM's routers, `auto` is one score (the local confidence) and one threshold,
compared against the always-local and always-cloud baselines. A sweep adds one `auto`
policy per threshold so the cost/quality frontier can be drawn. `--live` (HumanEval) adds
a twin `auto:T live` per `auto` policy, run with its own model calls rather than derived
from the shared recorded answers, to check that the derivation holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from tiercode.agent.config import POLICIES
from tiercode.agent.state import Tier
from tiercode.tools.errors import ConfigError

DEFAULT_SWEEP = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
LIVE = " live"
"""The suffix of a live twin's name: results files know policies by name only."""


@dataclass(frozen=True)
class Policy:
    base: str
    threshold: float = 0.0
    live: bool = False
    """Run for real with its own model calls, beside the replayed policy of the same name."""

    @property
    def name(self) -> str:
        name = f"auto:{self.threshold:g}" if self.base == "auto" else self.base
        return name + LIVE if self.live else name

    @property
    def uses_local(self) -> bool:
        return self.base != Tier.CLOUD

    @property
    def uses_cloud(self) -> bool:
        return self.base != Tier.LOCAL


def is_live(name: str) -> bool:
    return name.endswith(LIVE)


def replayed(name: str) -> str:
    """The replayed twin of a live policy's name (a replayed name is its own)."""
    return name.removesuffix(LIVE)


def order(names: list[str]) -> list[str]:
    """Baselines first, then `auto:T` by threshold, each live twin after its replayed one:
    the table reads as a curve."""
    baselines = [n for n in names if not n.startswith("auto")]
    autos = [n for n in names if n.startswith("auto")]
    return baselines + sorted(autos, key=lambda n: (float(replayed(n)[5:]), is_live(n)))


def _threshold(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{where}: '{text}' is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{where}: threshold {value} is outside 0..1")
    return value


def parse(
    text: str,
    *,
    default_threshold: float,
    sweep: bool = False,
    thresholds: str = "",
    live: bool = False,
) -> list[Policy]:
    """`local,cloud,auto,auto:0.7` into policies, in order, without repeats.

    `sweep` adds `auto:T` for each threshold (`thresholds` as "0.3,0.5" or the default
    0.3..0.9); `live` adds each `auto` policy's live twin. Raises ConfigError naming the
    bad part.
    """
    found: list[Policy] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        base, _, value = part.partition(":")
        if base not in POLICIES or (value and base != "auto"):
            raise ConfigError(f"--policy: unknown policy '{part}' (use local, cloud, auto, auto:X)")
        threshold = _threshold(value, "--policy") if value else default_threshold
        found.append(Policy(base, threshold if base == "auto" else 0.0))
    if sweep:
        values = (
            [_threshold(t.strip(), "--thresholds") for t in thresholds.split(",") if t.strip()]
            if thresholds
            else list(DEFAULT_SWEEP)
        )
        found.extend(Policy("auto", t) for t in values)
    if live:
        found += [Policy("auto", p.threshold, live=True) for p in found if p.base == "auto"]
    unique: dict[str, Policy] = {}
    for p in found:
        unique.setdefault(p.name, p)
    if not unique:
        raise ConfigError("--policy: name at least one policy (local, cloud, auto or auto:X)")
    if live and not any(p.live for p in unique.values()):
        raise ConfigError("--live: name an auto policy to run live (auto or auto:X)")
    return [unique[n] for n in order(list(unique))]
