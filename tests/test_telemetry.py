"""OpenTelemetry from real runs: the real graph with scripted models, read back through
the SDK's in-memory exporter, and through a loopback OTLP/HTTP receiver that decodes
the protobuf it is sent."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from tiercode.agent import config, telemetry
from tiercode.agent.events import Event
from tiercode.agent.ledger import Ledger
from tiercode.agent.llm.models import ScriptedModel
from tiercode.agent.replies import reply_from
from tiercode.agent.runner import Outcome, Runner, Tiers
from tiercode.agent.telemetry_spans import EventTracer
from tiercode.tools.errors import ConfigError, ExitCode

SECRET_TASK_WORD = "create util"


def _plan() -> str:
    return json.dumps({"steps": [{"goal": SECRET_TASK_WORD, "files": ["util.py"]}]})


def _edit(search: str, replace: str) -> str:
    return reply_from([{"path": "util.py", "search": search, "replace": replace}], 90)


def escalating_run(repo: Path, emit: Any = None) -> tuple[Outcome, list[Event]]:
    """Plan locally, fail the step locally, pass it on the (simulated) cloud."""
    local = ScriptedModel([_plan(), _edit("nope", "x")])
    cloud = ScriptedModel([_edit("", "def f():\n    return 1\n")], tier="cloud")
    settings, _ = config.load(repo, {"samples": 1, "policy": "auto"})
    events: list[Event] = []

    def sink(event: Event) -> None:
        events.append(event)

    tiers = Tiers(lambda: local, lambda: cloud, "gpt-4.1-mini", simulated=True)
    runner = Runner(settings, repo, emit=emit(sink) if emit else sink, tiers=tiers)
    outcome = runner.start("create util.py with f")
    assert outcome.exit_code == ExitCode.OK, outcome.message
    return outcome, events


def test_a_run_is_one_trace_of_nested_genai_spans_with_metrics(git_repo: Path) -> None:
    spans_out, metrics_in = InMemorySpanExporter(), InMemoryMetricReader()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans_out))
    tracer = EventTracer(provider, MeterProvider(metric_readers=[metrics_in]))
    outcome, _ = escalating_run(git_repo, tracer.wrap)
    metrics = metrics_in.get_metrics_data()  # read before close() shuts the reader down
    tracer.close()
    spans = list(spans_out.get_finished_spans())

    assert len({s.context.trace_id for s in spans}) == 1
    (run,) = [s for s in spans if s.parent is None]
    assert run.name == "invoke_agent tiercode"
    assert run.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert run.attributes["tiercode.run_id"] == outcome.run_id
    assert run.attributes["tiercode.status"] == "done"
    steps = [s for s in spans if s.parent and s.parent.span_id == run.context.span_id]
    shape = [
        (s.name, s.attributes["tiercode.attempt"], s.attributes["tiercode.tier"]) for s in steps
    ]
    assert shape == [("plan", 0, "local"), ("step 1", 0, "local"), ("step 1", 1, "cloud")]
    assert steps[1].status.status_code == StatusCode.ERROR
    assert steps[2].attributes["tiercode.route_reason"].startswith("escalated")
    assert [e.name for e in steps[2].events] == ["tiercode.escalated"]

    chats = [s for s in spans if s.name.startswith("chat ")]
    assert len(chats) == 3
    for chat, step in zip(chats, steps, strict=True):
        assert chat.parent is not None and chat.parent.span_id == step.context.span_id
        assert step.start_time <= chat.start_time <= chat.end_time <= step.end_time
        a = chat.attributes
        assert a["gen_ai.operation.name"] == "chat"
        assert a["gen_ai.request.model"] and a["gen_ai.usage.input_tokens"] > 0
        assert a["gen_ai.usage.output_tokens"] > 0
        assert a["tiercode.tier"] == step.attributes["tiercode.tier"]
        assert a["tiercode.route_reason"] == step.attributes["tiercode.route_reason"]
        assert "gen_ai.input.messages" not in a and "gen_ai.output.messages" not in a
    assert chats[2].attributes["tiercode.simulated"] is True
    assert chats[2].attributes["gen_ai.provider.name"] == "openai"
    # The failed local answer parsed but its search was not in the file: 1 of 5 cheap
    # checks, averaged with a token score near 0.95.
    assert chats[1].attributes["tiercode.confidence"] == pytest.approx(0.575, abs=0.01)

    calls = Ledger().calls(outcome.run_id)
    assert sum(c.attributes["gen_ai.usage.input_tokens"] for c in chats) == sum(
        c.prompt_tokens for c in calls
    )
    assert sum(c.attributes["tiercode.cost_usd"] for c in chats) == pytest.approx(
        float(sum(c.cost_usd for c in calls))
    )

    assert metrics is not None
    points = {
        m.name: m.data.data_points
        for rm in metrics.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }
    tokens = points["gen_ai.client.token.usage"]
    by_tier = {(p.attributes["tiercode.tier"], p.attributes["gen_ai.token.type"]) for p in tokens}
    assert by_tier == {(t, k) for t in ("local", "cloud") for k in ("input", "output")}
    assert sum(p.count for p in points["gen_ai.client.operation.duration"]) == 3
    cost = sum(p.value for p in points["tiercode.cost"])
    assert cost == pytest.approx(float(sum(c.cost_usd for c in calls)))


class _Receiver(BaseHTTPRequestHandler):
    """A tiny OTLP/HTTP collector: decodes each export and keeps it."""

    traces: list[ExportTraceServiceRequest]
    metrics: list[ExportMetricsServiceRequest]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        assert self.headers["Content-Type"] == "application/x-protobuf"
        if self.path == "/v1/traces":
            self.traces.append(ExportTraceServiceRequest.FromString(body))
        elif self.path == "/v1/metrics":
            self.metrics.append(ExportMetricsServiceRequest.FromString(body))
        self.send_response(200 if self.path in ("/v1/traces", "/v1/metrics") else 404)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_Receiver]]:
    handler = type("Handler", (_Receiver,), {"traces": [], "metrics": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "tiercode-test")
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def _spans(requests: list[ExportTraceServiceRequest]) -> list[tuple[Any, dict[str, Any], str]]:
    out = []
    for request in requests:
        for rs in request.resource_spans:
            service = {a.key: _value(a.value) for a in rs.resource.attributes}["service.name"]
            for ss in rs.scope_spans:
                for span in ss.spans:
                    out.append((span, {a.key: _value(a.value) for a in span.attributes}, service))
    return out


def test_otlp_endpoint_gets_one_trace_per_run_with_nested_genai_spans(
    git_repo: Path, receiver: type[_Receiver]
) -> None:
    outcome, _ = escalating_run(git_repo)
    spans = _spans(receiver.traces)
    assert {service for _, _, service in spans} == {"tiercode-test"}
    assert len({s.trace_id for s, _, _ in spans}) == 1
    subprocess.run(["git", "reset", "-q", "--hard", "HEAD~1"], cwd=git_repo, check=True)
    escalating_run(git_repo)  # a second run is a second trace, with a root of its own
    again = _spans(receiver.traces)[len(spans) :]
    assert len({s.trace_id for s, _, _ in again}) == 1
    assert {s.trace_id for s, _, _ in again}.isdisjoint(s.trace_id for s, _, _ in spans)
    assert sum(not s.parent_span_id for s, _, _ in again) == 1
    by_id = {s.span_id: (s, a) for s, a, _ in spans}
    (run,) = [(s, a) for s, a, _ in spans if not s.parent_span_id]
    assert run[1]["tiercode.run_id"] == outcome.run_id
    chats = [(s, a) for s, a, _ in spans if a.get("gen_ai.operation.name") == "chat"]
    assert len(chats) == 3
    for chat, attrs in chats:
        step, step_attrs = by_id[chat.parent_span_id]
        assert step.parent_span_id == run[0].span_id
        assert step.name in ("plan", "step 1")
        assert attrs["tiercode.tier"] == step_attrs["tiercode.tier"]
        assert attrs["gen_ai.usage.input_tokens"] > 0 and attrs["gen_ai.request.model"]
        assert "gen_ai.input.messages" not in attrs
    names = {m.name for r in receiver.metrics for rm in r.resource_metrics
             for sm in rm.scope_metrics for m in sm.metrics}  # fmt: skip
    assert {"gen_ai.client.token.usage", "gen_ai.client.operation.duration"} <= names
    assert "tiercode.cost" in names


def test_prompts_reach_spans_only_when_the_user_opts_in(
    git_repo: Path, receiver: type[_Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(telemetry.CAPTURE_CONTENT_ENV, "true")
    _, events = escalating_run(git_repo)
    chats = [a for _, a, _ in _spans(receiver.traces) if a.get("gen_ai.operation.name") == "chat"]
    assert SECRET_TASK_WORD in chats[0]["gen_ai.output.messages"]  # the plan's reply
    assert all("gen_ai.input.messages" in a for a in chats)
    # The JSON lines never carry prompt or reply text, opted in or not.
    calls = [e.to_dict() for e in events if e.type == "model.call"]
    assert len(calls) == 3 and all("content" not in c for c in calls)


@pytest.mark.parametrize(
    ("env", "traces", "metrics"),
    [
        ({}, (), ()),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, ("otlp",), ("otlp",)),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://h:4318/v1/traces"}, ("otlp",), ()),
        ({"OTEL_TRACES_EXPORTER": "console"}, ("console",), ()),
        ({"OTEL_TRACES_EXPORTER": "console,otlp", "OTEL_METRICS_EXPORTER": "none"},
         ("console", "otlp"), ()),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://h:4318", "OTEL_SDK_DISABLED": "true"}, (), ()),
    ],
)  # fmt: skip
def test_exporters_follow_the_standard_variables(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], traces: tuple[str], metrics: tuple[str]
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert telemetry.configured() == telemetry.Exporters(traces, metrics)


@pytest.mark.parametrize(
    "env",
    [
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://h:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
        {"OTEL_TRACES_EXPORTER": "zipkin"},
    ],
)
def test_an_exporter_tiercode_cannot_serve_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError):
        telemetry.configured()


def test_without_otel_variables_nothing_of_telemetry_is_loaded() -> None:
    code = (
        "import sys\n"
        "from tiercode.agent import runner, telemetry\n"
        "with telemetry.traced(print) as emit: assert emit is print\n"
        "loaded = [m for m in sys.modules if m.startswith(('opentelemetry.exporter', "
        "'tiercode.agent.telemetry_spans'))]\n"
        "print(loaded)\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("OTEL_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def _finished(spans: list[ReadableSpan]) -> list[str]:
    return sorted(s.name for s in spans)


def test_a_run_that_raises_still_ends_its_spans() -> None:
    from tiercode.agent.events import RunStarted, StepRouted

    spans_out = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans_out))
    tracer = EventTracer(provider, MeterProvider())
    emit = tracer.wrap(lambda _e: None)
    emit(
        RunStarted(
            run_id="r1",
            task="t",
            repo="/repo",
            policy="auto",
            local_model="local",
            cloud_model="cloud",
            cloud_simulated=True,
        )
    )
    emit(
        StepRouted(
            run_id="r1", step=0, attempt=0, purpose="plan", tier="local", reason="auto", signals={}
        )
    )
    tracer.close(KeyboardInterrupt())
    spans = list(spans_out.get_finished_spans())
    assert _finished(spans) == ["invoke_agent tiercode", "plan"]
    assert all(s.status.status_code == StatusCode.ERROR for s in spans)


def test_an_unreachable_collector_never_fails_the_run(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")  # discard: refused
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    outcome, events = escalating_run(git_repo)
    assert events[-1].type == "run.completed" and outcome.status == "done"


def test_an_unsupported_protocol_stops_the_run_before_any_call(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    with pytest.raises(ConfigError, match="http/protobuf"):
        escalating_run(git_repo)
    ledger = Ledger()
    assert ledger.calls() == []
    (run,) = ledger._rows("SELECT status FROM runs")
    assert run["status"] == "error"


def test_console_exporter_prints_spans_to_stderr_not_stdout(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    escalating_run(git_repo)
    out, err = capsys.readouterr()
    assert '"name": "invoke_agent tiercode"' in err and '"gen_ai.usage.input_tokens"' in err
    assert "invoke_agent" not in out
