"""Repository tasks: the whole agent (plan, route, edit, test, commit) on tiny repos.

Each task under `repo_tasks/<name>/` is a small repo (`repo/`), a request in plain words
and a check command (`task.toml`), and hidden files (`hidden/`) that are copied in only
after the agent has finished, so the agent can never see or edit what grades it. Every
policy runs the agent live in its own fresh git repo, with its own ledger and
checkpoints (a tiercode home of its own), and is graded by the check's exit code.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tiercode.agent import confidence as conf
from tiercode.agent.events import Event, StepCompleted, StepEscalated
from tiercode.agent.ledger import Ledger
from tiercode.agent.ledger_records import CallRecord
from tiercode.agent.runner import Runner
from tiercode.agent.state import Tier
from tiercode.evals.policy import Policy
from tiercode.evals.records import Call, PolicyOutcome, TaskResult
from tiercode.evals.tiers import Workbench
from tiercode.tools import shell
from tiercode.tools.errors import ConfigError

NAME = "repo"
SAMPLING = "agent"
"""The agent's own decoding: this suite measures the agent as users run it."""
TASKS_DIR = Path(__file__).parent / "repo_tasks"
IGNORE = "__pycache__/\n.pytest_cache/\n*.pyc\n"


@dataclass(frozen=True)
class RepoTask:
    name: str
    request: str
    kind: str
    check: str
    path: Path
    timeout_s: float = 300.0
    solution: tuple[dict[str, str], ...] = field(default=(), repr=False)
    """Reference edits (path/search/replace): they prove the check can pass."""
    split: str = ""
    """`dev` (design and tune on these) or `heldout` (report only); empty: unsplit."""

    @property
    def task_id(self) -> str:
        return self.name


def read_task(path: Path) -> RepoTask:
    try:
        data = tomllib.loads((path / "task.toml").read_text())
    except (FileNotFoundError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"repo task {path.name}: bad task.toml ({exc})") from None
    missing = {"request", "check"} - set(data)
    if missing or not (path / "repo").is_dir():
        raise ConfigError(f"repo task {path.name}: needs request, check and a repo/ folder")
    return RepoTask(
        name=path.name,
        request=data["request"],
        kind=data.get("kind", ""),
        check=data["check"],
        path=path,
        timeout_s=float(data.get("timeout_s", 300)),
        solution=tuple(data.get("solution", ())),
        split=data.get("split", ""),
    )


def load(
    limit: int | None = None, seed: int | None = None, root: Path = TASKS_DIR
) -> list[RepoTask]:
    """Tasks in name order; with `seed`, a seeded shuffle before `limit`."""
    import random

    tasks = [read_task(p) for p in sorted(root.iterdir()) if (p / "task.toml").is_file()]
    if seed is not None:
        random.Random(seed).shuffle(tasks)
    return tasks[:limit] if limit else tasks


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def make_repo(task: RepoTask, where: Path) -> Path:
    """A fresh git repo on `main` holding the task's files in one commit."""
    repo = where / "repo"
    shutil.copytree(task.path / "repo", repo)
    (repo / ".gitignore").write_text(IGNORE)
    _git(repo, "init", "-q", "-b", "main")
    for key, value in (("user.name", "tiercode eval"), ("user.email", "eval@tiercode.invalid"),
                       ("commit.gpgsign", "false")):  # fmt: skip
        _git(repo, "config", key, value)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "task start")
    return repo


def check(task: RepoTask, repo: Path) -> tuple[bool, str]:
    """Copy the hidden files in, run the check; `python` is this interpreter."""
    hidden = task.path / "hidden"
    if hidden.is_dir():
        shutil.copytree(hidden, repo, dirs_exist_ok=True)
    words = task.check.split()
    if words and words[0] in ("python", "python3"):
        words[0] = sys.executable
    result = shell.run(words, repo, timeout_s=task.timeout_s)
    return result.returncode == 0, result.output[-1500:]


def apply_solution(task: RepoTask, repo: Path) -> None:
    """Apply the reference edits (for validating tasks, not used in runs)."""
    for edit in task.solution:
        target = repo / edit["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        old = target.read_text() if target.exists() else ""
        if edit["search"]:
            if edit["search"] not in old:
                raise ValueError(f"{task.name}: solution search text not found in {edit['path']}")
            target.write_text(old.replace(edit["search"], edit["replace"], 1))
        else:
            target.write_text((old.rstrip("\n") + "\n\n\n" if old else "") + edit["replace"] + "\n")


def solve(bench: Workbench, task: RepoTask, policies: list[Policy]) -> TaskResult:
    outcomes, detail = {}, {}
    for policy in policies:
        outcomes[policy.name], detail[policy.name] = run_policy(bench, task, policy)
    return TaskResult(task.name, outcomes, {"kind": task.kind, "runs": detail})


def run_policy(
    bench: Workbench, task: RepoTask, policy: Policy
) -> tuple[PolicyOutcome, dict[str, Any]]:
    """One live agent run of `task` under `policy`, graded by the hidden check."""
    with tempfile.TemporaryDirectory(prefix=f"tiercode-eval-{task.name}-") as tmp:
        where = Path(tmp)
        repo = make_repo(task, where)
        # Only a repo with tests gets a test command (this interpreter's pytest): an
        # empty suite would count as failing tests (pytest exits 5 on "no tests").
        has_tests = shell.detect_test_command(repo) is not None
        settings = dataclasses.replace(
            bench.settings,
            policy=policy.name,
            test_cmd=f"{sys.executable} -m pytest -q -p no:cacheprovider" if has_tests else "",
            on_dirty="refuse",
        )
        events: list[Event] = []
        home = where / "home"
        with Ledger.at(home) as ledger:
            start = time.perf_counter()
            runner = Runner(
                settings, repo, emit=events.append, tiers=bench.tiers(), ledger=ledger, home=home
            )
            outcome = runner.start(task.request)
            latency = time.perf_counter() - start
            calls = [_call(c) for c in ledger.calls(outcome.run_id)]
            pairs, signals = _confidence(ledger, outcome.run_id, settings.confidence_signal)
        passed, output = check(task, repo)
    escalations = [e for e in events if isinstance(e, StepEscalated)]
    route = [
        f"{e.step}:{e.tier}{'✓' if e.success else '✗'}"
        for e in events
        if isinstance(e, StepCompleted) and e.step
    ]
    result = PolicyOutcome(
        policy=policy.name,
        passed=passed,
        calls=calls,
        latency_s=round(latency, 3),
        escalations=sum(1 for e in escalations if e.to_tier == Tier.CLOUD),
        route=" ".join(route),
        confidence=pairs,
        signals=signals,
        claimed_done=outcome.exit_code == 0,
    )
    return result, {
        "status": outcome.status,
        "exit_code": int(outcome.exit_code),
        "message": outcome.message[:300],
        "verified": [
            e.detail for e in events if isinstance(e, StepCompleted) and e.step and e.success
        ],
        "check_output": output if not passed else output[-300:],
    }


def _call(c: CallRecord) -> Call:
    latency = round(c.latency_s, 3)
    return Call(
        c.tier, c.model, c.prompt_tokens, c.completion_tokens, latency, c.cost_usd,
        c.counterfactual_usd,
    )  # fmt: skip


def _confidence(
    ledger: Ledger, run_id: str, signal: str
) -> tuple[list[tuple[float, bool]], dict[str, list[tuple[float, bool]]]]:
    """Each local step's confidence beside whether that step succeeded."""
    pairs: list[tuple[float, bool]] = []
    signals: dict[str, list[tuple[float, bool]]] = {"logprob": [], "self": [], "checks": []}
    for o in ledger.outcomes(run_id):
        if o.tier != Tier.LOCAL:
            continue
        used = conf.combine(o.self_confidence, o.logprob_confidence, signal, o.check_share)
        if used is not None:
            pairs.append((used, o.success))
        for name, score in (
            ("logprob", o.logprob_confidence),
            ("self", o.self_confidence),
            ("checks", o.check_share),
        ):
            if score is not None:
                signals[name].append((score, o.success))
    return pairs, signals
