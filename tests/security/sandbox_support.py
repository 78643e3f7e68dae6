"""Helpers shared by the attack tests (imported by name, like tests/fake_openai.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tiercode.tools.shell import sandbox_available

requires_landlock = pytest.mark.skipif(
    not sandbox_available(), reason="this kernel has no Landlock; commands cannot be confined"
)


def alive(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie waiting to be reaped counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def gone_soon(pid: int, within_s: float = 3.0) -> bool:
    """Whether `pid` ends within `within_s` (the kernel may take a moment to tear it down)."""
    deadline = time.monotonic() + within_s
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)
