"""Both tiers against real models: the default GGUF in-process, and a real `llama_cpp.server`
on loopback through the `openai` client. They check structure, not model cleverness."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tiercode.agent.forks import forks
from tiercode.agent.llm import catalog
from tiercode.agent.llm.cloud import CloudModel
from tiercode.agent.llm.models import LocalModel, with_prefill
from tiercode.agent.llm.standin import StandInServer, free_port
from tiercode.tools.errors import CloudUnavailable, ModelUnavailable

pytestmark = pytest.mark.real

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "function": {"type": "string"},
        "arguments": {"type": "integer"},
    },
    "required": ["function", "arguments"],
}
ASK = [
    {"role": "system", "content": "You answer with JSON only."},
    {
        "role": "user",
        "content": "In `def add(a, b): return a + b`, what is the function's name and how "
        'many arguments does it take? Answer as {"function": ..., "arguments": ...}.',
    },
]


def matches_schema(text: str) -> dict[str, Any]:
    data = json.loads(text)
    assert isinstance(data, dict) and set(data) == {"function", "arguments"}
    assert isinstance(data["function"], str) and isinstance(data["arguments"], int)
    return data


@pytest.fixture(scope="module")
def local() -> LocalModel:
    path = catalog.resolve("qwen2.5-coder-0.5b")
    return LocalModel(path, n_ctx=1024, threads=os.cpu_count() or 1)


@pytest.fixture(scope="module")
def server() -> Iterator[StandInServer]:
    with StandInServer(model="smollm2-135m", n_ctx=1024) as srv:
        yield srv


def test_local_schema_reply_with_exact_usage_and_logprobs(local: LocalModel) -> None:
    reply = local.complete(ASK, schema=SCHEMA, max_tokens=48, logprobs=True)
    assert reply.finish_reason == "stop", reply
    matches_schema(reply.text)
    own = len(local.llm.tokenize(reply.text.encode(), add_bos=False, special=True))
    assert reply.completion_tokens in (own, own + 1)
    assert reply.prompt_tokens == local.count_tokens(ASK)
    assert reply.logprobs is not None and len(reply.logprobs) == reply.completion_tokens
    assert all(lp <= 0.0 for lp in reply.logprobs)
    assert reply.tier == "local" and 0 < reply.ttft_s <= reply.latency_s


def test_the_local_model_continues_a_prefilled_reply(local: LocalModel) -> None:
    start = "mathutils.py\n```python\n"
    asked = [
        {"role": "user", "content": "Write a Python function add(a, b) returning a + b."},
        {"role": "assistant", "content": start},
    ]
    assert local.prompt_text(asked) == local.prompt_text(asked[:1]) + start
    seen: list[str] = []
    reply = local.complete(asked, max_tokens=40, on_token=seen.append)
    assert reply.text.startswith(start) and "def add(a, b)" in reply.text
    assert "".join(seen) == reply.text
    assert reply.prompt_tokens == local.count_tokens(asked)


def test_a_fork_of_a_greedy_local_reply_is_continued_from_its_runner_up(
    local: LocalModel,
) -> None:
    start = "mathutils.py\n```python\n"
    asked = [
        {"role": "user", "content": "Write a Python function add(a, b) returning a + b."},
        {"role": "assistant", "content": start},
    ]
    reply = local.complete(asked, max_tokens=40, logprobs=True)
    assert reply.tokens and reply.runner_ups and len(reply.runner_ups) == len(reply.tokens)
    assert reply.text == start + "".join(reply.tokens)
    assert all(lp <= 0.0 for _, lp in reply.runner_ups)
    (first,) = forks(reply, 1)
    assert first.startswith(start) and first != reply.text[: len(first)]
    forked = local.complete(with_prefill(asked, first), max_tokens=40)
    assert forked.text.startswith(first) and len(forked.text) > len(first)


def test_stand_in_answers_a_schema_request_through_the_openai_client(
    server: StandInServer,
) -> None:
    cloud = CloudModel(
        name=server.model,
        base_url=server.base_url,
        api_key="none",
        schema_in_request=True,
        max_retries=0,
        timeout_s=60,
    )
    reply = cloud.complete(ASK, schema=SCHEMA, max_tokens=48)
    assert reply.tier == "cloud" and reply.model == "smollm2-135m"
    matches_schema(reply.text)
    assert reply.prompt_tokens > 0 and reply.completion_tokens > 0
    assert 0 < reply.ttft_s <= reply.latency_s


BEFORE = "def area(width, height):\n    "
AFTER = "\n\n\nprint(area(2, 3))\n"


def test_the_local_model_fills_in_one_line_through_its_own_fim_tokens(local: LocalModel) -> None:
    assert local.can_infill
    reply = local.infill(BEFORE, AFTER, max_tokens=24)
    assert reply.text.strip() and "\n" not in reply.text and "<|" not in reply.text
    assert reply.completion_tokens > 0 and reply.finish_reason in ("stop", "length")
    # a seeded sample comes back the same, whatever was sampled in between
    seeded = [
        local.infill(BEFORE, AFTER, max_tokens=24, temperature=1.5, seed=s) for s in (3, 4, 3)
    ]
    assert seeded[0].text == seeded[2].text


def test_the_local_model_fills_an_empty_place_up_to_the_line_after_it(
    local: LocalModel,
) -> None:
    before = "def sign(x):\n    if x < 0:\n        return -1\n    "
    reply = local.infill(before, "return 1\n", max_tokens=48, stop=("return 1",))
    assert "return 1" not in reply.text and "<|" not in reply.text
    assert reply.finish_reason in ("stop", "length")


def test_the_stand_in_fills_in_the_same_prompt_through_its_fim_template(
    local: LocalModel,
) -> None:
    """The endpoint's written-out template must read as the very token ids the local
    model builds: the same prompt, token for token in length."""
    with StandInServer(model="qwen2.5-coder-0.5b", n_ctx=1024) as server:
        cloud = CloudModel(
            name=server.model,
            base_url=server.base_url,
            api_key="none",
            max_retries=0,
            timeout_s=60,
            fim_template=catalog.fim_prompt("qwen2.5-coder-0.5b"),
        )
        remote = cloud.infill(BEFORE, AFTER, max_tokens=24)
        # the server's one model samples for every client: a seed makes a sample repeatable
        seeded = [
            cloud.infill(BEFORE, AFTER, max_tokens=24, temperature=1.5, seed=s) for s in (3, 4, 3)
        ]
        assert seeded[0].text == seeded[2].text
    here = local.infill(BEFORE, AFTER, max_tokens=24)
    assert remote.prompt_tokens == here.prompt_tokens
    assert remote.text.strip() and "\n" not in remote.text and "<|" not in remote.text
    without = CloudModel(name="m", base_url=server.base_url, api_key="none", max_retries=0)
    assert not without.can_infill
    with pytest.raises(ModelUnavailable):
        without.infill(BEFORE, AFTER)


def test_truncated_gguf_is_model_unavailable_not_a_crash(tmp_path: Path) -> None:
    broken = tmp_path / "truncated.gguf"
    with catalog.resolve("smollm2-135m").open("rb") as src:
        broken.write_bytes(src.read(1 << 20))
    with pytest.raises(ModelUnavailable, match="could not load"):
        LocalModel(broken, n_ctx=256, threads=1)


def test_closed_port_is_cloud_unavailable_after_bounded_retries() -> None:
    cloud = CloudModel(
        name="gpt-4.1-mini",
        base_url=f"http://127.0.0.1:{free_port()}/v1",
        api_key="none",
        max_retries=1,
        timeout_s=2,
    )
    start = time.monotonic()
    with pytest.raises(CloudUnavailable) as info:
        cloud.complete([{"role": "user", "content": "hi"}], max_tokens=4)
    assert info.value.transient
    assert time.monotonic() - start < 10
