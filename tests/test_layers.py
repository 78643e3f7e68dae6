"""The code's own contracts: the import layers in pyproject.toml hold (tools know nothing
of the agent, the agent nothing of the TUI, the evals or the CLI above them all), and cli/,
agent/ and tools/ type-check under `mypy --strict`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_the_layers_hold() -> None:
    result = subprocess.run(
        [str(BIN / "lint-imports")], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:]


def test_cli_agent_and_tools_type_check_strictly(tmp_path: Path) -> None:
    # The packages live in cli/, agent/, tools/, … but import as tiercode.agent, …: mypy reads
    # them through a tiercode/ folder of links.
    package = tmp_path / "tiercode"
    package.mkdir()
    for name in ("cli", "agent", "tools", "tui", "evals"):
        (package / name).symlink_to(ROOT / name)
    result = subprocess.run(
        [str(BIN / "mypy"), "--strict", "--ignore-missing-imports", "--explicit-package-bases",
         "--cache-dir", str(tmp_path / "cache"),
         "-p", "tiercode.cli", "-p", "tiercode.agent", "-p", "tiercode.tools"],
        cwd=tmp_path, env={**os.environ, "MYPYPATH": str(tmp_path)},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
