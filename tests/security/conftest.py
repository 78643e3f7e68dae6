"""Fixtures for the attack tests: a real directory outside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory beside the repository: an attack succeeds if anything appears in it."""
    path = tmp_path / "outside"
    path.mkdir()
    return path
