"""End to end: secrets in a repo never reach a real loopback OpenAI-compatible server."""

from __future__ import annotations

import json
import re
import secrets
import socket
import string
import subprocess
from pathlib import Path

from fake_openai import FakeOpenAI, Reply

from tiercode.agent import config
from tiercode.agent.events import Event
from tiercode.agent.ledger import Ledger
from tiercode.agent.llm.cloud import CloudModel
from tiercode.agent.llm.models import Message, ScriptedModel
from tiercode.agent.replies import reply_from
from tiercode.agent.runner import Runner, Tiers
from tiercode.tools.errors import ExitCode

FILES = ["app.py", "client.py", "deploy.sh", ".env", "certs/server.pem", "settings.py"]


def _rand(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def make_secrets() -> dict[str, str]:
    up, alnum = string.ascii_uppercase + string.digits, string.ascii_letters + string.digits
    return {
        "aws": "AKIA" + _rand(up, 16),
        "aws_secret": _rand(alnum + "/+", 40),
        "openai": "sk-proj-" + _rand(alnum, 20) + "T3BlbkFJ" + _rand(alnum, 20),
        "github": "ghp_" + _rand(alnum, 36),
        "pem_body": _rand(alnum + "/+", 64),
        "password": _rand(alnum, 10) + "!" + _rand(alnum, 6),
    }


def secret_repo(repo: Path, s: dict[str, str]) -> None:
    (repo / "certs").mkdir()
    (repo / "app.py").write_text("def greet(name):\n    return 'hi ' + name\n")
    (repo / "client.py").write_text(f'OPENAI_KEY = "{s["openai"]}"\nTIMEOUT = 5\n')
    (repo / "deploy.sh").write_text(
        f'#!/bin/sh\nexport GITHUB_TOKEN="{s["github"]}"\necho deploy\n'
    )
    (repo / ".env").write_text(f"DB_PASSWORD={s['password']}\nDEBUG=1\n")
    (repo / "certs/server.pem").write_text(
        f"-----BEGIN RSA PRIVATE KEY-----\n{s['pem_body']}\n-----END RSA PRIVATE KEY-----\n"
    )
    (repo / "settings.py").write_text(
        f'AWS_ACCESS_KEY_ID = "{s["aws"]}"\nAWS_SECRET_ACCESS_KEY = "{s["aws_secret"]}"\n'
    )
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "secrets"], cwd=repo, check=True)


def plan_all() -> str:
    return json.dumps({"steps": [{"goal": f"add a comment to {f}", "files": [f]} for f in FILES]})


def comment_edit(messages: list[Message]) -> str:
    """Answer a step by appending a comment line to the step's file."""
    text = messages[-1]["content"]
    if "Repository map" in text:
        return plan_all()
    current = text.split("Current step")[-1]
    path = next(f for f in FILES if f"add a comment to {f}" in current)
    shown = re.search(rf"\n{re.escape(path)}\n(`{{3,}})\w*\n(.*?)\1", text, re.DOTALL)
    old = shown[2] if shown else ""
    return reply_from([{"path": path, "search": "", "replace": old + "# reviewed\n"}], 95)


def answer(body: dict) -> Reply:
    return Reply(content=comment_edit(body["messages"]))


def run(repo: Path, tiers: Tiers, **flags) -> tuple[object, list[Event]]:
    settings, _ = config.load(repo, {"max_steps": 6, **flags})
    events: list[Event] = []
    outcome = Runner(settings, repo, emit=events.append, tiers=tiers).start(
        "add a review comment to every file"
    )
    return outcome, events


def test_no_secret_reaches_the_cloud_and_their_steps_stay_local(git_repo: Path) -> None:
    s = make_secrets()
    secret_repo(git_repo, s)
    local = ScriptedModel([comment_edit] * 20)
    with FakeOpenAI(answer) as server:
        cloud = CloudModel(name="gpt-4.1-mini", base_url=server.base_url, api_key="test")
        tiers = Tiers(lambda: local, lambda: cloud, "gpt-4.1-mini", simulated=False)
        outcome, events = run(git_repo, tiers, policy="cloud")
    assert outcome.exit_code == ExitCode.OK, outcome.message
    sent = b"\n".join(server.raw_bodies).decode()
    assert server.bodies, "the cloud was never called: the test would prove nothing"
    for name, value in s.items():
        assert value not in sent, f"{name} secret left the machine"
    routed = {e.step: e for e in events if e.type == "step.routed"}  # type: ignore[attr-defined]
    tiers_by_file = {FILES[step - 1]: r.tier for step, r in routed.items() if step > 0}
    assert tiers_by_file["app.py"] == "cloud"
    for f in FILES[1:]:
        assert tiers_by_file[f] == "local", f
        assert routed[FILES.index(f) + 1].reason.startswith("sensitive")
    egress = Ledger().egress(outcome.run_id)
    assert len(egress) == len(server.bodies)
    assert all(e["bytes_sent"] > 0 and e["message_hashes"] for e in egress)


def test_local_only_completes_with_the_cloud_unreachable(git_repo: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    local = ScriptedModel([comment_edit] * 20)

    def cloud() -> CloudModel:
        raise AssertionError("--local-only must never build the cloud tier")

    (git_repo / "app.py").write_text("x = 1\n")
    subprocess.run(["git", "add", "-A"], cwd=git_repo, check=True)
    subprocess.run(["git", "commit", "-qm", "app"], cwd=git_repo, check=True)
    tiers = Tiers(lambda: local, cloud, "gpt-4.1-mini", simulated=False)
    settings, _ = config.load(
        git_repo, {"local_only": True, "cloud_base_url": f"http://127.0.0.1:{closed}/v1"}
    )
    local.replies = [
        json.dumps({"steps": [{"goal": "comment app.py", "files": ["app.py"]}]}),
        reply_from([{"path": "app.py", "search": "", "replace": "# ok\nx = 1\n"}]),
    ]
    outcome = Runner(settings, git_repo, tiers=tiers).start("comment app.py")
    assert outcome.exit_code == ExitCode.OK
    assert Ledger().egress() == []
