"""Routing policies under evaluation: `local`, `cloud`, `auto` and `auto:THRESHOLD`.

Like RouteLLM's routers, `auto` is one score (the local confidence) and one threshold,
compared against the always-local and always-cloud baselines. A sweep adds one `auto`
policy per threshold so the cost/quality frontier can be drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

from tiercode.agent.config import POLICIES
from tiercode.agent.state import Tier
from tiercode.tools.errors import ConfigError

DEFAULT_SWEEP = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass(frozen=True)
class Policy:
    base: str
    threshold: float = 0.0

    @property
    def name(self) -> str:
        return f"auto:{self.threshold:g}" if self.base == "auto" else self.base

    @property
    def uses_local(self) -> bool:
        return self.base != Tier.CLOUD

    @property
    def uses_cloud(self) -> bool:
        return self.base != Tier.LOCAL


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
) -> list[Policy]:
    """`local,cloud,auto,auto:0.7` into policies, in order, without repeats.

    `sweep` adds `auto:T` for each threshold (`thresholds` as "0.3,0.5" or the default
    0.3..0.9). Raises ConfigError naming the bad part.
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
    unique = list(dict.fromkeys(found))
    # baselines first, then the auto thresholds in order: the table reads as a curve
    unique = [p for p in unique if p.base != "auto"] + sorted(
        (p for p in unique if p.base == "auto"), key=lambda p: p.threshold
    )
    if not unique:
        raise ConfigError("--policy: name at least one policy (local, cloud, auto or auto:X)")
    return unique
