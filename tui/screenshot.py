"""Save an SVG of the TUI after a real run, for the README.

    python -m tiercode.tui.screenshot docs/tui.svg [--policy auto] [--task TEXT]

The run happens in a throwaway git repo holding a small `textutils.py`, with a
throwaway tiercode home (its own config, ledger and checkpoints), so neither the user's
repos nor their usage history see the demo. It uses the tiers the environment
configures, by default the embedded models.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path

from tiercode.agent import config
from tiercode.agent.events import RunCompleted
from tiercode.agent.state import RunStatus

DEMO_FILE = '''"""Small text helpers."""


def shout(text):
    return text.upper() + "!"
'''
DEMO_TASK = (
    "add a function word_count(text) to textutils.py that returns how many words the text "
    "has, where words are separated by any whitespace"
)
SIZE = (120, 40)
DEMO_CHECK = (
    "from textutils import word_count\n"
    "assert word_count('Hello world this is a test') == 6\n"
    "assert word_count('  tiered\\tinference\\n') == 2\n"
    "assert word_count('') == 0\n"
)
"""What the demo task must really do: a screenshot of a run marked done whose result is
wrong (the README once showed a `slugify` returning `text.lower() + "!"` under "done")
is not kept."""


def demo_repo(root: Path) -> Path:
    repo = root / "demo"
    repo.mkdir()
    (repo / "textutils.py").write_text(DEMO_FILE)
    for args in (
        ["init", "-q", "-b", "main"],
        ["config", "user.name", "tiercode demo"],
        ["config", "user.email", "demo@example.com"],
        ["config", "commit.gpgsign", "false"],
        ["add", "textutils.py"],
        ["commit", "-q", "-m", "textutils"],
    ):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    return repo


async def _shoot(repo: Path, home: Path, out: Path, task: str, flags: dict[str, object]) -> str:
    from tiercode.tui.app import make_app

    settings, _ = config.load(repo, flags, home)
    app = make_app(repo, settings, home=home)
    async with app.run_test(size=SIZE) as pilot:
        app.task_input.value = task
        app.task_input.focus()
        await pilot.press("enter")
        while not app.active and not app.events:
            await pilot.pause(0.1)
        while app.active:
            await pilot.pause(0.5)
        app.w.table.focus()
        app.clear_notifications()
        await pilot.pause(0.5)
        app.save_screenshot(out.name, path=str(out.parent.resolve()))
        status = next((e.status for e in app.events if isinstance(e, RunCompleted)), "")
    return status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="where to write the SVG")
    parser.add_argument("--policy", default="auto", help="local, cloud, auto or auto:X")
    parser.add_argument("--task", default=DEMO_TASK)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tiercode-shot-") as tmp:
        repo, home = demo_repo(Path(tmp)), Path(tmp) / "home"
        shot = Path(tmp) / args.out.name
        status = asyncio.run(_shoot(repo, home, shot, args.task, {"policy": args.policy}))
        problem = _judge(repo, status) if args.task == DEMO_TASK else ""
        if problem:
            raise SystemExit(f"{args.out} not written: {problem}")
        shot.replace(args.out)
    print(f"{args.out}: screenshot after a run that ended {status or 'without finishing'}")


def _judge(repo: Path, status: str) -> str:
    """Why the demo run may not be shown, or "" when it is done and word_count works."""
    if status != RunStatus.DONE:
        return f"the run ended {status or 'without finishing'}"
    check = subprocess.run(
        [sys.executable, "-c", DEMO_CHECK], cwd=repo, capture_output=True, text=True, timeout=30
    )
    if check.returncode != 0:
        last = (check.stderr.strip().splitlines() or ["failed"])[-1]
        return f"the run said done but its word_count is wrong ({last})"
    return ""


if __name__ == "__main__":
    main()
