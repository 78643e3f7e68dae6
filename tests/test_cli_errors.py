"""Bad input through the real `tiercode` process: one clear line, a documented exit code,
no traceback, and the user's files untouched."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tiercode.agent.events import SCHEMA_VERSION
from tiercode.agent.replies import reply_from
from tiercode.tools.errors import ExitCode

TIERCODE = str(Path(sys.executable).with_name("tiercode"))


def tiercode(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None):
    return subprocess.run(
        [TIERCODE, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def assert_one_line(result: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("tiercode: ")]
    assert errors and text in errors[-1], result.stderr


def snapshot(repo: Path) -> dict[str, bytes]:
    return {
        str(p): p.read_bytes() for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts
    }


def test_nonexistent_repo(tmp_path: Path) -> None:
    r = tiercode("run", "x", "--repo", str(tmp_path / "nope"))
    assert_one_line(r, ExitCode.REPO_STATE, "does not exist")


def test_not_a_git_repo(tmp_path: Path) -> None:
    r = tiercode("run", "x", "--repo", str(tmp_path))
    assert_one_line(r, ExitCode.REPO_STATE, "not inside a git repository")


def test_a_branch_that_exists_is_refused_before_any_work(git_repo: Path) -> None:
    subprocess.run(["git", "checkout", "-q", "--detach"], cwd=git_repo, check=True)
    r = tiercode("run", "x", "--repo", str(git_repo), "--branch", "main")
    assert_one_line(r, ExitCode.REPO_STATE, "already exists")


def test_dirty_worktree_is_refused_and_left_as_it_was(git_repo: Path) -> None:
    (git_repo / "README.md").write_text("# my unsaved edit\n")
    (git_repo / "draft.py").write_text("draft = True\n")
    before = snapshot(git_repo)
    r = tiercode("run", "edit README.md", "--repo", str(git_repo))
    assert_one_line(r, ExitCode.REPO_STATE, "uncommitted changes")
    assert snapshot(git_repo) == before


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["run", "   "], ExitCode.USAGE, "task is empty"),
        (["run", "x" * 20_001], ExitCode.USAGE, "limit is 20000"),
        (["run", "x", "--policy", "fastest"], ExitCode.USAGE, "not a policy"),
        (["run", "x", "--max-cost-usd", "-1"], ExitCode.USAGE, "must not be negative"),
        (["run", "x", "--max-cost-usd", "lots"], ExitCode.USAGE, "max_cost_usd"),
        (
            ["run", "x", "--local-model", "/no/such/model.gguf"],
            ExitCode.MODEL_UNAVAILABLE,
            "model file not found",
        ),
        (["resume", "nosuchrun"], ExitCode.USAGE, "no run 'nosuchrun'"),
    ],
)
def test_bad_arguments(git_repo: Path, args: list[str], code: int, text: str) -> None:
    argv = [*args, "--repo", str(git_repo)] if args[0] == "run" else args
    assert_one_line(tiercode(*argv), code, text)


def test_bad_toml_in_repo(git_repo: Path) -> None:
    (git_repo / ".tiercode.toml").write_text("policy = [\n")
    subprocess.run(["git", "add", "-A"], cwd=git_repo, check=True)
    subprocess.run(["git", "commit", "-qm", "cfg"], cwd=git_repo, check=True)
    r = tiercode("run", "x", "--repo", str(git_repo))
    assert_one_line(r, ExitCode.USAGE, ".tiercode.toml: not valid TOML")


@pytest.mark.real
def test_corrupt_and_truncated_gguf(git_repo: Path, tmp_path: Path) -> None:
    from tiercode.agent.llm import catalog

    garbage = tmp_path / "garbage.gguf"
    garbage.write_bytes(b"not a model at all")
    r = tiercode("run", "x", "--repo", str(git_repo), "--local-model", str(garbage))
    assert_one_line(r, ExitCode.MODEL_UNAVAILABLE, "not a GGUF file")
    truncated = tmp_path / "truncated.gguf"
    with catalog.resolve("smollm2-135m").open("rb") as src:
        truncated.write_bytes(src.read(1 << 20))
    r = tiercode(
        "run",
        "add x.py",
        "--repo",
        str(git_repo),
        "--local-model",
        str(truncated),
        "--policy",
        "local",
    )
    assert_one_line(r, ExitCode.MODEL_UNAVAILABLE, "could not load")


def test_unreachable_endpoint_fails_after_bounded_retries(git_repo: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    r = tiercode(
        "run",
        "add x.py",
        "--repo",
        str(git_repo),
        "--policy",
        "cloud",
        env={
            "OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1",
            "TIERCODE_CLOUD_MODEL": "gpt-4.1-mini",
            "TIERCODE_CLOUD_MAX_RETRIES": "1",
        },
    )
    assert_one_line(r, ExitCode.MODEL_UNAVAILABLE, "unreachable after 1 retries")


def _gguf_with_architecture(path: Path, arch: str) -> None:
    """A valid GGUF v3 header with no tensors, naming an architecture llama.cpp lacks."""
    import struct

    key, value = b"general.architecture", arch.encode()
    path.write_bytes(
        b"GGUF" + struct.pack("<IQQ", 3, 0, 1)
        + struct.pack("<Q", len(key)) + key + struct.pack("<I", 8)
        + struct.pack("<Q", len(value)) + value
    )  # fmt: skip


def test_gguf_of_an_unknown_architecture(git_repo: Path, tmp_path: Path) -> None:
    model = tmp_path / "frob.gguf"
    _gguf_with_architecture(model, "frobnicator")
    r = tiercode("run", "add x.py", "--repo", str(git_repo), "--local-model", str(model),
                 "--policy", "local")  # fmt: skip
    assert_one_line(r, ExitCode.MODEL_UNAVAILABLE, "could not load")


def test_binary_file_named_in_a_task_is_not_sent_and_not_damaged(git_repo: Path) -> None:
    import json

    from tiercode.agent import config
    from tiercode.agent.llm.models import ScriptedModel
    from tiercode.agent.runner import Runner, Tiers

    blob = bytes(range(256)) * 4
    (git_repo / "logo.png").write_bytes(blob)
    subprocess.run(["git", "add", "-A"], cwd=git_repo, check=True)
    subprocess.run(["git", "commit", "-qm", "logo"], cwd=git_repo, check=True)
    plan = json.dumps({"steps": [{"goal": "shrink logo.png", "files": ["logo.png"]}]})
    bad = reply_from([{"path": "logo.png", "search": "x", "replace": "y"}], 50)
    local = ScriptedModel([plan, *[bad] * 6])
    settings, _ = config.load(git_repo, {"policy": "local"})
    tiers = Tiers(lambda: local, lambda: local, "gpt-4.1-mini", simulated=True)
    outcome = Runner(settings, git_repo, tiers=tiers).start("shrink logo.png")
    assert outcome.exit_code == ExitCode.TASK_FAILED
    assert (git_repo / "logo.png").read_bytes() == blob
    prompt = local.calls[1][-1]["content"]
    assert "(logo.png is not shown:" in prompt and "\x00" not in prompt


def test_version_and_short_help() -> None:
    version = tiercode("--version")
    assert version.returncode == 0 and version.stdout.strip().startswith("tiercode 0.")
    short = tiercode("run", "-h")
    assert short.returncode == 0 and "--policy" in short.stdout


def test_under_json_an_error_before_the_run_is_a_json_line_on_stdout(tmp_path: Path) -> None:
    import json

    r = tiercode("run", "x", "--repo", str(tmp_path / "missing"), "--json")
    assert r.returncode == ExitCode.REPO_STATE
    line = json.loads(r.stdout.strip().splitlines()[-1])
    assert line["type"] == "error" and line["exit_code"] == ExitCode.REPO_STATE
    assert line["schema_version"] == SCHEMA_VERSION == 2
    assert "does not exist" in line["message"] and "does not exist" in r.stderr
