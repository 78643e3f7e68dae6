"""Real endpoints differ; a run completes against each kind. Loopback servers that speak
the OpenAI chat-completions API (streaming) behave like: one that takes only
`json_object`, one that takes only tool calls, one that refuses `stream_options`, one
that sends no usage. The agent's whole graph runs against each through the real openai
client, and the mode that worked is remembered for the next run."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAI, Reply
from test_agent_flow import BUGGY, FIXED_SUB, commit

from tiercode.agent import config
from tiercode.agent.events import Event
from tiercode.agent.llm import providers, structured
from tiercode.agent.llm.cloud import CloudModel
from tiercode.agent.llm.models import ScriptedModel
from tiercode.agent.pricing import FREE
from tiercode.agent.replies import reply_from
from tiercode.agent.runner import Runner, Tiers, cloud_price
from tiercode.tools.errors import ConfigError, ExitCode

PLAN = {"steps": [{"goal": "fix sub in calc/ops.py", "files": ["calc/ops.py"]}]}
FIX = reply_from([{"path": "calc/ops.py", "search": "", "replace": FIXED_SUB}], 90)


def refuse(message: str) -> Reply:
    return Reply(content=message, status=400)


def wants_json(body: dict[str, Any]) -> bool:
    return '"steps"' in body["messages"][-1]["content"]


def only_json_object(body: dict[str, Any]) -> Reply:
    fmt = body.get("response_format")
    if "tools" in body or (fmt and fmt.get("type") != "json_object"):
        return refuse(f"response_format {fmt and fmt.get('type')} / tools are not supported")
    if wants_json(body):
        assert fmt == {"type": "json_object"}
        assert '"steps"' in body["messages"][-1]["content"]  # the schema is in the prompt
        return Reply(json.dumps(PLAN))
    return Reply(FIX)


def only_tools(body: dict[str, Any]) -> Reply:
    if "response_format" in body:
        return refuse("response_format is not supported")
    if wants_json(body):
        assert body["tools"][0]["function"]["name"] == "reply"
        return Reply(json.dumps(PLAN), tool_call=True)
    return Reply(FIX)


def no_stream_options(body: dict[str, Any]) -> Reply:
    if "stream_options" in body:
        return refuse("Unrecognized request argument supplied: stream_options")
    return Reply(json.dumps(PLAN) if wants_json(body) else FIX, usage=False)


def reasoning_model(body: dict[str, Any]) -> Reply:
    """Like OpenAI's gpt-5 and o-series: no `max_tokens`, no temperature but the default."""
    if "max_tokens" in body:
        return refuse(
            "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead."
        )
    if body.get("temperature", 1) != 1:
        return refuse(
            "Unsupported value: 'temperature' does not support 0 with this model. "
            "Only the default (1) value is supported."
        )
    return openai_like(body)


def openai_like(body: dict[str, Any]) -> Reply:
    fmt = body.get("response_format")
    if wants_json(body):
        assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
        return Reply(json.dumps(PLAN), cached_tokens=3)
    return Reply(FIX, cached_tokens=3)


def no_usage_plain(body: dict[str, Any]) -> Reply:
    if "response_format" in body or "tools" in body:
        return refuse("unsupported parameter")
    if wants_json(body):
        return Reply("Here is the plan:\n```json\n" + json.dumps(PLAN) + "\n```\n", usage=False)
    return Reply(FIX, usage=False)


def run_against(
    git_repo: Path, answer: Callable[[dict[str, Any]], Reply]
) -> tuple[Any, list[Event], FakeOpenAI]:
    commit(git_repo, BUGGY)
    local = ScriptedModel([])
    # whole answers only: infill's one-token changes would fix these bugs first
    settings, _ = config.load(git_repo, {"policy": "cloud", "samples": 1, "infill_lines": 0})
    events: list[Event] = []
    with FakeOpenAI(answer) as server:
        cloud = CloudModel(
            name="coder-7b", base_url=server.base_url, api_key="k", max_retries=0,
            home=config.home(),
        )  # fmt: skip
        tiers = Tiers(lambda: local, lambda: cloud, "gpt-4.1-mini", simulated=False)
        outcome = Runner(settings, git_repo, emit=events.append, tiers=tiers).start(
            # naming a second file makes the plan a model call, where the mode is chosen
            "the test suite fails, please fix the bug in calc/ops.py or calc/__init__.py"
        )
    return outcome, events, server


@pytest.mark.parametrize(
    ("answer", "mode"),
    [
        (openai_like, "json_schema"),
        (only_json_object, "json_object"),
        (only_tools, "tools"),
        (no_stream_options, "json_schema"),
        (no_usage_plain, "plain"),
        (reasoning_model, "json_schema"),
    ],
)
def test_a_run_completes_against_each_kind_of_endpoint(
    git_repo: Path, tiercode_home: Path, answer: Callable[[dict[str, Any]], Reply], mode: str
) -> None:
    outcome, events, server = run_against(git_repo, answer)
    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert (git_repo / "calc/ops.py").read_text().endswith(FIXED_SUB)
    done = [e.to_dict() for e in events if e.type == "step.completed"]
    assert done[0]["step"] == 0 and done[0]["success"], done[0]  # the plan was understood
    assert all(d["tier"] == "cloud" for d in done)
    memory = structured.EndpointMemory.load(server.base_url, "coder-7b", tiercode_home)
    assert memory.mode == mode
    assert memory.stream_options == (answer is not no_stream_options)
    reasoning = answer is reasoning_model
    assert memory.max_tokens_key == ("max_completion_tokens" if reasoning else "max_tokens")
    assert memory.temperature is not reasoning


def test_the_remembered_mode_is_used_first(tiercode_home: Path) -> None:
    with FakeOpenAI(only_tools) as again:
        structured.EndpointMemory(again.base_url, "coder-7b", "tools", home=tiercode_home).save()
        model = CloudModel(
            name="coder-7b", base_url=again.base_url, api_key="k", max_retries=0,
            home=tiercode_home,
        )  # fmt: skip
        reply = model.complete([{"role": "user", "content": 'give "steps"'}], schema={})
    assert json.loads(reply.text) == PLAN and len(again.bodies) == 1


def test_a_seed_goes_with_a_sampled_call_unless_the_endpoint_refuses_it(
    tiercode_home: Path,
) -> None:
    def no_seed(body: dict[str, Any]) -> Reply:
        if "seed" in body:
            return refuse("Unrecognized request argument supplied: seed")
        return Reply("sampled")

    ask = [{"role": "user", "content": "hello"}]
    with FakeOpenAI(openai_like) as server:
        model = CloudModel(name="m", base_url=server.base_url, api_key="k", max_retries=0)
        model.complete(ask, temperature=0.8, seed=5)
        model.complete(ask)
    assert server.bodies[0]["seed"] == 5 and "seed" not in server.bodies[1]
    with FakeOpenAI(no_seed) as server:
        model = CloudModel(
            name="m", base_url=server.base_url, api_key="k", max_retries=0, home=tiercode_home
        )
        assert model.complete(ask, temperature=0.8, seed=5).text == "sampled"
        model.complete(ask, temperature=0.8, seed=6)
    # refused once, then sent without; remembered for the next run
    assert ["seed" in b for b in server.bodies] == [True, False, False]
    assert not structured.EndpointMemory.load(server.base_url, "m", tiercode_home).seed


def test_provider_usage_and_cached_tokens_are_taken_as_sent() -> None:
    with FakeOpenAI([Reply("hello world", cached_tokens=2)]) as server:
        model = CloudModel(name="gpt-4.1-mini", base_url=server.base_url, api_key="k")
        reply = model.complete([{"role": "user", "content": "one two three four"}])
    assert (reply.prompt_tokens, reply.cached_tokens, reply.completion_tokens) == (4, 2, 2)


def test_an_endpoint_gets_no_prefill_and_answers_afresh() -> None:
    """Chat endpoints answer a trailing assistant message as a finished turn, so the
    reply's prefilled start (for the local model) is not sent."""
    asked = [
        {"role": "user", "content": "add word_count"},
        {"role": "assistant", "content": "textutils.py\n```python\n"},
    ]
    with FakeOpenAI([Reply("textutils.py\n```python\npass\n```")]) as server:
        model = CloudModel(name="gpt-4.1-mini", base_url=server.base_url, api_key="k")
        reply = model.complete(asked)
    assert server.bodies[0]["messages"] == asked[:1]
    assert reply.text == "textutils.py\n```python\npass\n```"


def test_a_refusal_of_the_content_is_not_taken_for_a_mode() -> None:
    with FakeOpenAI(lambda _b: refuse("maximum context length exceeded")) as server:
        model = CloudModel(name="m", base_url=server.base_url, api_key="k", max_retries=0)
        with pytest.raises(Exception, match="prompt too long"):
            model.complete([{"role": "user", "content": "x"}], schema={"type": "object"})
        assert len(server.bodies) == 1


def test_strict_schema_closes_objects_and_drops_what_strict_mode_refuses() -> None:
    from tiercode.agent.prompts import PLAN_SCHEMA

    s = structured.strict(PLAN_SCHEMA)
    assert s["additionalProperties"] is False and "maxItems" not in s["properties"]["steps"]
    assert s["properties"]["steps"]["items"]["additionalProperties"] is False


# --- presets and prices, from the environment alone ---------------------------------


def test_the_environment_alone_configures_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "https://api.openai.com/v1")
    monkeypatch.setenv("TIERCODE_CLOUD_MODEL", "gpt-4.1-mini")
    s = config.load(None)[0]
    assert (s.cloud_base_url, s.cloud_model) == ("https://api.openai.com/v1", "gpt-4.1-mini")
    assert cloud_price(s)[1].output == Decimal("1.6")


@pytest.mark.parametrize("name", sorted(providers.PROVIDERS))
def test_each_preset_fills_the_endpoint_and_is_priced(name: str) -> None:
    s = config.load(None, {"provider": name})[0]
    p = providers.PROVIDERS[name]
    assert (s.cloud_base_url, s.cloud_model, s.cloud_api_key_env) == (
        p.base_url,
        p.model,
        p.key_env,
    )
    price = cloud_price(s)[1]
    assert (price == FREE) == p.local  # local servers cost nothing; listed models have a price
    assert p.local or price.output > 0


def test_a_known_endpoint_url_alone_gets_its_default_model_and_price(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:11434/v1/")
    s = config.load(None)[0]
    assert s.cloud_model == "qwen2.5-coder:1.5b" and cloud_price(s)[1] == FREE
    monkeypatch.setenv("OPENAI_BASE_URL", "https://openrouter.ai/api/v1")
    s = config.load(None)[0]
    assert s.cloud_model == "qwen/qwen3-coder" and cloud_price(s)[1].output > 0
    monkeypatch.setenv("TIERCODE_CLOUD_MODEL", "openai/gpt-4.1-mini")
    assert config.load(None)[0].cloud_model == "openai/gpt-4.1-mini"


def test_a_preset_yields_to_a_key_set_above_it_and_wins_over_openai_base_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("TIERCODE_CLOUD_MODEL", "llama-3.1-8b-instant")
    s = config.load(None, {"provider": "groq"})[0]
    assert s.cloud_base_url == "https://api.groq.com/openai/v1"
    assert s.cloud_model == "llama-3.1-8b-instant"  # set explicitly, in the environment


def test_an_unknown_provider_says_the_closest(tiercode_home: Path) -> None:
    with pytest.raises(ConfigError, match="did you mean 'openrouter'"):
        config.load(None, {"provider": "openruter"})


def test_an_unknown_model_is_a_one_line_choice_and_the_choice_works(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("TIERCODE_CLOUD_MODEL", "org/coder-7b.q4")
    with pytest.raises(ConfigError, match="--cloud-price IN,OUT") as err:
        cloud_price(config.load(None)[0])
    assert "\n" not in str(err.value)
    assert cloud_price(config.load(None, {"cloud_price": "0.1,0.2"})[0])[1].output == Decimal("0.2")
    monkeypatch.setenv("TIERCODE_CLOUD_PRICE", "0")
    assert cloud_price(config.load(None)[0])[1] == FREE
    with pytest.raises(ConfigError, match="IN,OUT"):
        config.load(None, {"cloud_price": "cheap"})


def test_local_only_never_needs_a_cloud_price(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert cloud_price(config.load(None, {"local_only": True})[0])[0] == "gpt-4.1-mini"


def test_a_misspelt_config_key_says_the_closest(tiercode_home: Path) -> None:
    tiercode_home.mkdir(parents=True, exist_ok=True)
    (tiercode_home / "config.toml").write_text('cloud_modle = "x"\n')
    with pytest.raises(ConfigError, match="did you mean 'cloud_model'"):
        config.load(None)


@pytest.mark.real
def test_the_cli_from_the_environment_alone_against_a_tools_only_server(git_repo: Path) -> None:
    """As a user would: three environment variables, `--cloud-price`, and a server that
    takes only tool calls; the local tier (the 135M) only counts tokens under `cloud`."""
    from test_cli_errors import tiercode

    commit(git_repo, BUGGY)
    with FakeOpenAI(only_tools) as server:
        env = {
            "OPENAI_BASE_URL": server.base_url,
            "OPENAI_API_KEY": "sk-test",
            "TIERCODE_CLOUD_MODEL": "coder-7b",
            "TIERCODE_SAMPLES": "1",
            "TIERCODE_INFILL_LINES": "0",  # an answer, not a one-token change, fixes it
        }
        r = tiercode(
            "run", "the test suite fails, please fix the bug", "--repo", str(git_repo),
            "--policy", "cloud", "--cloud-price", "0.1,0.2", "--local-model", "smollm2-135m",
            "--output-format", "json",
            env=env,
        )  # fmt: skip
    final = json.loads(r.stdout.strip().splitlines()[-1])
    assert r.returncode == 0, (r.stderr[-2000:], final)
    assert final["status"] == "done" and not final["is_error"] and final["total_cost_usd"] > 0
    assert (git_repo / "calc/ops.py").read_text().endswith(FIXED_SUB)
