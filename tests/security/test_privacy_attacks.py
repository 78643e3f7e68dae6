"""Attacks on the privacy gate (issue 12, breach 7): an untrusted repo emptying its sensitive
paths, and a value from `.env` carried to the cloud by pytest's assertion output."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAI, Reply

from tiercode.agent import config, privacy, secret_scan
from tiercode.agent.events import Event
from tiercode.agent.llm.cloud import CloudModel
from tiercode.agent.llm.models import Message, ScriptedModel
from tiercode.agent.replies import reply_from
from tiercode.agent.runner import Runner, Tiers
from tiercode.tools.errors import ExitCode

PASSWORD = "hunter2hunter2"


def commit(repo: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (repo / rel).write_text(text)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "setup"], cwd=repo, check=True)


def routed(events: list[Event]) -> list[dict[str, Any]]:
    return [e.to_dict() for e in events if e.type == "step.routed"]


@pytest.mark.parametrize("repo_globs", ["[]", '["*.secret"]', '["credentials*"]'])
def test_an_untrusted_repo_cannot_drop_default_sensitive_paths(
    git_repo: Path, repo_globs: str
) -> None:
    (git_repo / ".tiercode.toml").write_text(f"sensitive_paths = {repo_globs}\n")
    settings, notes = config.load(git_repo)
    assert ".env*" in settings.sensitive_paths and "*.pem" in settings.sensitive_paths
    assert set(json.loads(repo_globs)) <= set(settings.sensitive_paths)
    assert any("kept sensitive paths" in n and ".env*" in n for n in notes)


def test_a_trusted_repo_may_narrow_its_sensitive_paths(git_repo: Path) -> None:
    (git_repo / ".tiercode.toml").write_text('sensitive_paths = ["*.secret"]\n')
    config.trust(git_repo)
    settings, _ = config.load(git_repo)
    assert settings.sensitive_paths == ("*.secret",)


def test_an_untrusted_empty_sensitive_list_keeps_a_dotenv_step_local(git_repo: Path) -> None:
    commit(
        git_repo,
        {
            ".tiercode.toml": 'sensitive_paths = []\npolicy = "cloud"\n',
            ".env": f"DB_PASSWORD={PASSWORD}\n",
        },
    )
    plan = json.dumps({"steps": [{"goal": "add DEBUG=1 to .env", "files": [".env"]}]})
    edit = reply_from(
        [{"path": ".env", "search": "", "replace": f"DB_PASSWORD={PASSWORD}\nDEBUG=1\n"}]
    )
    local = ScriptedModel([plan, edit])
    cloud = ScriptedModel([], tier="cloud", name="cloud")  # any call fails the test
    settings, _ = config.load(git_repo)
    assert settings.base_policy == "cloud"
    events: list[Event] = []
    runner = Runner(
        settings,
        git_repo,
        emit=events.append,
        tiers=Tiers(lambda: local, lambda: cloud, "gpt-4.1-mini", simulated=True),
    )
    runner.forced[0] = "local"  # the plan stays local, so only the privacy gate is tested
    outcome = runner.start("turn on debug in .env")
    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert cloud.calls == []
    step = [r for r in routed(events) if r["step"] == 1]
    assert step and all(r["tier"] == "local" for r in step)
    assert step[0]["reason"].startswith("sensitive") and ".env" in step[0]["reason"]


READER = 'from pathlib import Path\n\n\ndef label():\n    return "ok"\n'
LEAKY = (
    "from pathlib import Path\n\n\n"
    "def label():\n"
    '    env = (Path(__file__).parent / ".env").read_text()\n'
    '    return env.split("=", 1)[1].strip()\n'
)
FIXED = READER.replace(
    '    return "ok"', '    """The label, never a value read from .env."""\n    return "ok"'
)
TEST = "from app import label\n\n\ndef test_label():\n    assert label() == 'ok'\n"


def _cloud_answer(script: list[str]):
    def answer(body: dict[str, Any]) -> Reply:
        return Reply(content=script.pop(0) if script else "")

    return answer


@pytest.mark.parametrize("privacy_mode", ["local", "redact"])
def test_a_dotenv_value_in_pytest_output_never_reaches_the_cloud(
    git_repo: Path, privacy_mode: str
) -> None:
    commit(
        git_repo,
        {
            ".env": f"DB_PASSWORD={PASSWORD}\n",
            ".gitignore": "__pycache__/\n",
            "app.py": READER,
            "test_app.py": TEST,
        },
    )
    plan = json.dumps({"steps": [{"goal": "read the label from .env", "files": ["app.py"]}]})
    leaky = reply_from([{"path": "app.py", "search": "", "replace": LEAKY}], 95)
    fixed = reply_from([{"path": "app.py", "search": "", "replace": FIXED}], 95)
    # The cloud plans, then writes code whose failing test prints the password; the retry
    # (not a resample of the first prompt) carries that output. Local or redacted, the
    # value must not be in any request.
    script = [plan, leaky, fixed, fixed, fixed]
    local = ScriptedModel([fixed, fixed, fixed])
    seen_by_local: list[list[Message]] = local.calls
    with FakeOpenAI(_cloud_answer(script)) as server:
        cloud = CloudModel(name="gpt-4.1-mini", base_url=server.base_url, api_key="test")
        settings, _ = config.load(
            git_repo,
            {"policy": "cloud", "privacy_mode": privacy_mode, "max_steps": 2, "samples": 1},
        )
        events: list[Event] = []
        tiers = Tiers(lambda: local, lambda: cloud, "gpt-4.1-mini", simulated=False)
        outcome = Runner(settings, git_repo, emit=events.append, tiers=tiers).start(
            "make label() read from .env"
        )
    sent = b"\n".join(server.raw_bodies).decode()
    assert len(server.bodies) >= 2, "the cloud must have planned and answered the first try"
    assert PASSWORD not in sent
    retries = [r for r in routed(events) if r["step"] == 1 and r["attempt"] >= 1]
    assert retries, f"the leaky answer was never retried: {outcome.message}"
    if privacy_mode == "local":
        assert retries[0]["tier"] == "local"
        assert "a value from .env" in retries[0]["reason"]
        assert any(PASSWORD in m["content"] for m in seen_by_local[0])
    else:
        assert retries[0]["tier"] == "cloud"
        assert "[REDACTED:Sensitive File Value]" in sent
    assert outcome.exit_code == ExitCode.OK, outcome.message


def test_a_pem_body_line_echoed_anywhere_is_sensitive(git_repo: Path) -> None:
    body = "MIIEpAIBAAKCAQEAx7fakebodylineQ2x"
    (git_repo / "certs").mkdir()
    (git_repo / "certs/server.pem").write_text(
        f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"
    )
    prompt = [{"role": "user", "content": f"E   AssertionError: got {body!r}"}]
    globs = config.Settings().sensitive_paths
    assert privacy.inspect(prompt, ["app.py"], globs, root=git_repo).sensitive
    clean, count = secret_scan.redact(prompt[0]["content"], privacy.known_values(git_repo, globs))
    assert body not in clean and count == 1
    assert not privacy.inspect([{"role": "user", "content": "E   got 'ok'"}], [], globs).sensitive
