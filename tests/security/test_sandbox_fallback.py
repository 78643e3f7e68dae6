"""Where Landlock is missing, nothing runs unconfined without a yes for that very command:
the TUI asks before each one, a headless run refuses with one clear line, and
`--no-sandbox` is the only way to run everything unconfined without asking."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tiercode.agent import config
from tiercode.agent.llm.models import ScriptedModel
from tiercode.agent.replies import reply_from
from tiercode.agent.runner import UNCONFINED, Outcome, Runner, Tiers
from tiercode.tools import sandbox, shell
from tiercode.tools.errors import ExitCode

BUGGY = {
    "calc/__init__.py": "",
    "calc/ops.py": "def sub(a, b):\n    return a + b\n",
    "tests/test_ops.py": "from calc.ops import sub\n\n\n"
    "def test_sub():\n    assert sub(5, 3) == 2\n",
}
FIXED = "def sub(a, b):\n    return a - b\n"


@pytest.fixture
def no_landlock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "available", lambda: 0)


def buggy_repo(repo: Path) -> Path:
    for rel, text in BUGGY.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "buggy"], cwd=repo, check=True)
    return repo


def fix(repo: Path, approve: Callable[[str, str], bool]) -> tuple[Runner, Outcome]:
    model = ScriptedModel([reply_from([{"path": "calc/ops.py", "search": "", "replace": FIXED}])])
    settings, _ = config.load(repo, {"policy": "local", "samples": 1})
    runner = Runner(
        settings,
        repo,
        approve=approve,
        tiers=Tiers(lambda: model, lambda: model, "gpt-4.1-mini", simulated=True),
    )
    return runner, runner.start("the test suite fails, please fix the bug")


def test_without_landlock_every_command_is_asked_and_runs_once_approved(
    git_repo: Path, no_landlock: None
) -> None:
    asked: list[tuple[str, str]] = []

    def approve(command: str, reason: str) -> bool:
        asked.append((command, reason))
        return True

    _, outcome = fix(buggy_repo(git_repo), approve)
    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert (git_repo / "calc/ops.py").read_text() == FIXED
    # the baseline test run, the import check and the test run after the edit, each asked
    assert len(asked) >= 3 and all(reason == UNCONFINED for _, reason in asked)
    assert sum("pytest" in command for command, _ in asked) >= 2


def test_without_landlock_a_denied_command_stops_the_run_and_nothing_runs(
    git_repo: Path, no_landlock: None
) -> None:
    marker = git_repo.parent / "ran.txt"
    (git_repo / "tests").mkdir()
    (git_repo / "tests/conftest.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    buggy_repo(git_repo)
    _, outcome = fix(git_repo, lambda _c, _w: False)
    assert outcome.exit_code == ExitCode.TASK_FAILED and outcome.status == "error"
    assert "not approved; run with --no-sandbox" in outcome.message
    assert not marker.exists()
    assert (git_repo / "calc/ops.py").read_text() == BUGGY["calc/ops.py"]


def test_the_question_is_asked_only_inside_a_run(no_landlock: None, tmp_path: Path) -> None:
    with shell.asking_when_unconfined(lambda _c: True):
        assert shell.run(["true"], tmp_path, timeout_s=10).returncode == 0
    with pytest.raises(shell.SandboxUnavailable):
        shell.run(["true"], tmp_path, timeout_s=10)
