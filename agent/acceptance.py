"""An acceptance check for a repository without tests: a short script, written by a
model from the task and the changed code's signatures, that must pass before the run
may say done. It lives outside the repository and runs in the sandbox."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from tiercode.agent.state import Step
from tiercode.tools import shell
from tiercode.tools.repomap import RepoMap

TIMEOUT_S = 60.0
MAP_CHARS = 2500
_BLOCK = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)

RULES = (
    "Write a short Python script that checks whether the task above is done: import the "
    "code from the repository (it is on the import path), call it with two or three "
    "inputs taken from the task, and `assert` each result the task asks for. Use only the "
    "standard library and the repository. Reply with one ```python code block, nothing else."
)


def messages(task: str, plan: list[Step], root: Path, touched: list[str]) -> list[dict[str, str]]:
    """The task and the changed files' signatures (not their bodies, so the check is
    written from what was asked, not from what was written)."""
    signatures = RepoMap.build(root, touched).render(touched, MAP_CHARS)
    steps = "\n".join(f"{i + 1}. {s['goal']}" for i, s in enumerate(plan))
    body = f"Task: {task}\nPlan:\n{steps}\n\nChanged files:\n{signatures}\n\n{RULES}"
    return [
        {"role": "system", "content": "You write small, exact acceptance checks in Python."},
        {"role": "user", "content": body},
    ]


def extract(reply: str) -> str:
    """The check's code; ValueError when the reply holds none or it does not parse."""
    found = _BLOCK.search(reply)
    code = (found[1] if found else reply).strip()
    if "assert" not in code:
        raise ValueError("the acceptance check asserts nothing")
    try:
        compile(code, "acceptance_check.py", "exec")
    except SyntaxError as exc:
        raise ValueError(f"the acceptance check does not parse: {exc.msg}") from None
    return code + "\n"


def passes_before(root: Path, start: str, code: str) -> bool:
    """Does the check already pass on the code as the run found it (commit `start`,
    unpacked into a private folder)? Then it proves nothing about the change."""
    archive = subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", "archive", "--format=tar", start],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout
    with tempfile.TemporaryDirectory(prefix="tiercode-before-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        return run(Path(tmp), code)[0]


def run(root: Path, code: str) -> tuple[bool, str]:
    """Run the check from a private folder, with the repository on the import path."""
    with tempfile.TemporaryDirectory(prefix="tiercode-check-") as tmp:
        script = Path(tmp) / "acceptance_check.py"
        script.write_text(code)
        paths = [str(root), *([str(root / "src")] if (root / "src").is_dir() else [])]
        result = shell.run(
            [sys.executable, str(script)],
            root,
            timeout_s=TIMEOUT_S,
            env_extra={"PYTHONPATH": ":".join(paths), "PYTHONDONTWRITEBYTECODE": "1"},
        )
    return result.returncode == 0, result.output
