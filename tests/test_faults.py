"""Cloud faults from a real fault-injecting OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import re
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from fake_openai import FakeOpenAI, Reply

from tiercode.agent import calibration, config
from tiercode.agent.events import Event
from tiercode.agent.ledger import Ledger
from tiercode.agent.llm.cloud import CloudModel
from tiercode.agent.llm.models import ScriptedModel
from tiercode.agent.replies import reply_from
from tiercode.agent.runner import Runner, Tiers
from tiercode.tools.errors import CloudUnavailable, ExitCode

MESSAGES = [{"role": "user", "content": "say hi"}]
PLAN = json.dumps({"steps": [{"goal": "create util.py", "files": ["util.py"]}]})
EDIT = reply_from([{"path": "util.py", "search": "", "replace": "x = 1\n"}])


def cloud(server: FakeOpenAI, retries: int = 2, timeout: float = 10.0) -> CloudModel:
    return CloudModel(
        name="gpt-4.1-mini",
        base_url=server.base_url,
        api_key="k",
        max_retries=retries,
        timeout_s=timeout,
    )


def test_429_with_short_retry_after_is_retried_by_the_sdk_only() -> None:
    script = [Reply(status=429, headers={"Retry-After": "1"})] * 2 + [Reply(content="hi there")]
    with FakeOpenAI(script) as server:
        reply = cloud(server, retries=2).complete(MESSAGES)
    assert reply.text == "hi there"
    assert len(server.bodies) == 3  # configured retries + 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_repeated_5xx_stops_after_retries_plus_one(status: int) -> None:
    with FakeOpenAI([Reply(status=status)] * 5) as server, pytest.raises(CloudUnavailable) as err:
        cloud(server, retries=1).complete(MESSAGES)
    assert err.value.transient and len(server.bodies) == 2


def test_long_retry_after_is_not_slept_through() -> None:
    with FakeOpenAI([Reply(status=429, headers={"Retry-After": "120"})] * 3) as server:
        start = time.monotonic()
        with pytest.raises(CloudUnavailable) as err:
            cloud(server).complete(MESSAGES)
    assert time.monotonic() - start < 5 and len(server.bodies) == 1 and err.value.transient


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (400, "refused (HTTP 400)"),
        (401, "rejected the API key"),
        (403, "rejected the API key"),
        (404, "has no model"),
        (400, "prompt too long"),
    ],
)
def test_client_errors_are_not_retried_and_are_classified(status: int, text: str) -> None:
    body = "maximum context length exceeded" if text == "prompt too long" else "bad"
    server = FakeOpenAI([Reply(status=status, content=body)] * 3)
    with server, pytest.raises(CloudUnavailable, match=re.escape(text)) as err:
        cloud(server).complete(MESSAGES)
    assert not err.value.transient and len(server.bodies) == 1
    assert "\n" not in str(err.value)


def test_stream_cut_mid_reply_keeps_partial_text_marked_incomplete() -> None:
    text = "def slugify(text):\n    return text.lower().replace(' ', '-')\n"
    with FakeOpenAI([Reply(content=text, cut_after=3)]) as server:
        reply = cloud(server, retries=0).complete(MESSAGES)
    assert reply.text == text[:24] and reply.incomplete and reply.finish_reason == "stream_cut"
    assert reply.completion_tokens > 0 and reply.usage_estimated


def test_malformed_body_is_a_transient_failure() -> None:
    garbage = b"data: {not json at all\n\n"
    with FakeOpenAI([Reply(raw=garbage)] * 3) as server, pytest.raises(CloudUnavailable):
        cloud(server, retries=0).complete(MESSAGES)


def test_read_timeout_is_bounded_and_leaves_no_thread() -> None:
    release = threading.Event()

    def slow(_body: dict) -> Reply:
        release.wait(10)
        return Reply(content="late")

    before = threading.active_count()
    with FakeOpenAI(slow) as server:
        start = time.monotonic()
        with pytest.raises(CloudUnavailable, match="unreachable"):
            cloud(server, retries=0, timeout=1.0).complete(MESSAGES)
        assert time.monotonic() - start < 4
        release.set()
    time.sleep(0.2)
    assert threading.active_count() <= before


def run_with(git_repo: Path, server: FakeOpenAI, local: ScriptedModel, **flags):
    settings, _ = config.load(git_repo, {"policy": "auto", **flags})
    events: list[Event] = []
    runner = Runner(
        settings,
        git_repo,
        emit=events.append,
        tiers=Tiers(
            lambda: local, lambda: cloud(server, retries=1), "gpt-4.1-mini", simulated=False
        ),
    )
    runner.forced[1] = "cloud"
    return runner.start("create util.py"), events


@pytest.mark.parametrize(
    "fault", [Reply(status=503), Reply(status=429, headers={"Retry-After": "600"})]
)
def test_cloud_outage_falls_back_to_local_and_the_run_finishes(
    git_repo: Path, fault: Reply
) -> None:
    local = ScriptedModel([PLAN, EDIT])
    with FakeOpenAI([fault] * 4) as server:
        outcome, events = run_with(git_repo, server, local)
    assert outcome.exit_code == ExitCode.OK, outcome.message
    fallback = [e.to_dict() for e in events if e.type == "step.escalated"]
    assert fallback and fallback[0]["from_tier"] == "cloud" and fallback[0]["to_tier"] == "local"
    assert fallback[0]["reason"].startswith("cloud fallback")
    assert len(server.bodies) <= 2
    calls = Ledger().calls(outcome.run_id)
    assert [c.tier for c in calls] == ["local", "local"]
    assert "fell back" in calls[-1].route_reason
    done = [e.to_dict() for e in events if e.type == "step.completed" and e.step]
    assert [d["tier"] for d in done] == ["local"]  # the tier that answered, not the one asked
    outcomes = Ledger().outcomes(outcome.run_id)
    assert [o.tier for o in outcomes] == ["local"]
    called = [e.to_dict()["tier"] for e in events if e.type == "model.call"]
    assert called == ["local", "local"]  # what the TUI's rows and --json readers see
    assert (0.9, True) in calibration.signal_pairs(Ledger())["self"]  # calibration counts it


def test_wrong_api_key_ends_the_run_non_zero(git_repo: Path) -> None:
    local = ScriptedModel([PLAN])
    with FakeOpenAI([Reply(status=401)] * 3) as server:
        outcome, events = run_with(git_repo, server, local)
    assert outcome.exit_code == ExitCode.MODEL_UNAVAILABLE
    assert "rejected the API key" in outcome.message and len(server.bodies) == 1
    assert events[-1].to_dict()["status"] == "error"
    assert Decimal(events[-1].to_dict()["cloud_usd"]) == 0


def test_a_run_that_cannot_start_is_closed_in_the_ledger(git_repo: Path) -> None:
    from tiercode.tools.errors import ModelUnavailable

    settings, _ = config.load(git_repo, {"policy": "local", "local_model": "/nonexistent.gguf"})
    with pytest.raises(ModelUnavailable):
        Runner(settings, git_repo).start("create util.py", run_id="never-started")
    run = Ledger().run("never-started")
    assert run is not None and run["status"] == "error"
