"""The real-code suite: the whole agent on snapshots of real projects with injected bugs,
features with hidden checks, multi-file renames, repos without tests and files over
1,000 lines (see evals/realcode/README.md). Same task format and grading as `repo`."""

from __future__ import annotations

from pathlib import Path

from tiercode.evals import repo
from tiercode.evals.repo import RepoTask, solve

NAME = "realcode"
SAMPLING = repo.SAMPLING
TASKS_DIR = Path(__file__).parent / "realcode"

__all__ = ["NAME", "SAMPLING", "load", "solve"]


def load(limit: int | None = None, seed: int | None = None) -> list[RepoTask]:
    return repo.load(limit, seed, TASKS_DIR)
