"""Opt-in OpenTelemetry: which exporters the standard `OTEL_*` variables ask for, and a
run's telemetry from its first event to the flush after its last.

Off unless an OTLP endpoint or an exporter is named, so a run without `OTEL_*`
variables never imports the SDK. Spans and metrics are made from the event stream
(`telemetry_spans`), the one stream the TUI, `--json` and evals read too. Only
OTLP over HTTP (`http/protobuf`) and the console exporter are supported; the console
exporter writes to stderr, so `--json` lines on stdout stay clean.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tiercode.agent.events import Event
from tiercode.tools.errors import ConfigError

if TYPE_CHECKING:
    from tiercode.agent.telemetry_spans import EventTracer

CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
"""The GenAI instrumentations' switch: prompts and replies go into spans only when true."""

_EXPORTERS = ("otlp", "console")
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Exporters:
    """What the environment asks for, per signal: a subset of `otlp` and `console`."""

    traces: tuple[str, ...]
    metrics: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.traces or self.metrics)


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def _exporters(signal: str) -> tuple[str, ...]:
    """`OTEL_<SIGNAL>_EXPORTER`, or OTLP when only an endpoint is set (the spec's default
    exporter, made opt-in by requiring an endpoint)."""
    named = _env(f"OTEL_{signal}_EXPORTER")
    if not named:
        endpoint = _env("OTEL_EXPORTER_OTLP_ENDPOINT") or _env(
            f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"
        )
        return ("otlp",) if endpoint else ()
    chosen = tuple(dict.fromkeys(n.strip().lower() for n in named.split(",") if n.strip()))
    unknown = [n for n in chosen if n not in (*_EXPORTERS, "none")]
    if unknown:
        raise ConfigError(
            f"OTEL_{signal}_EXPORTER={named}: tiercode exports with otlp or console, "
            f"not {', '.join(unknown)}"
        )
    return tuple(n for n in chosen if n != "none")


def _check_protocol(signal: str) -> None:
    protocol = _env(f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL") or _env("OTEL_EXPORTER_OTLP_PROTOCOL")
    if protocol and protocol != "http/protobuf":
        raise ConfigError(
            f"OTLP protocol {protocol!r} is not supported: tiercode sends OTLP over HTTP; "
            "set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf and an HTTP endpoint (port 4318)"
        )


def configured() -> Exporters:
    """The exporters the `OTEL_*` variables ask for; empty when telemetry is off.

    Raises ConfigError for an exporter or protocol tiercode cannot serve, rather than
    dropping telemetry the user asked for without a word."""
    if _env("OTEL_SDK_DISABLED").lower() in _TRUE:
        return Exporters((), ())
    wanted = Exporters(_exporters("TRACES"), _exporters("METRICS"))
    for signal, names in (("TRACES", wanted.traces), ("METRICS", wanted.metrics)):
        if "otlp" in names:
            _check_protocol(signal)
    return wanted


def capture_content() -> bool:
    """Whether the user opted in to prompts and replies in spans (off by default)."""
    return bool(configured()) and _env(CAPTURE_CONTENT_ENV).lower() in _TRUE


def _version() -> str:
    try:
        return importlib.metadata.version("tiercode")
    except importlib.metadata.PackageNotFoundError:
        return "0"


def from_env(wanted: Exporters) -> EventTracer:
    """Providers with the exporters asked for; the OTLP exporters read their endpoint,
    headers and timeout from the `OTEL_EXPORTER_OTLP_*` variables themselves."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        ConsoleMetricExporter,
        MetricExporter,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SpanExporter,
    )

    from tiercode.agent.telemetry_spans import EventTracer

    resource = Resource.create({"service.version": _version()})
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: "tiercode"}))
    tracer_provider = TracerProvider(resource=resource)
    for name in wanted.traces:
        span_exporter: SpanExporter
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            span_exporter = OTLPSpanExporter()
        else:
            span_exporter = ConsoleSpanExporter(out=sys.stderr)
        tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter))
    readers = []
    for name in wanted.metrics:
        metric_exporter: MetricExporter
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
                OTLPMetricExporter,
            )

            metric_exporter = OTLPMetricExporter()
        else:
            metric_exporter = ConsoleMetricExporter(out=sys.stderr)
        readers.append(PeriodicExportingMetricReader(metric_exporter))
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    return EventTracer(tracer_provider, meter_provider, capture_content=capture_content())


@contextlib.contextmanager
def traced(emit: Callable[[Event], None]) -> Iterator[Callable[[Event], None]]:
    """`emit`, also feeding a run's telemetry when `OTEL_*` asks for it; `emit` itself
    otherwise. On the way out every open span is ended and everything is flushed, so a
    short CLI run loses nothing."""
    wanted = configured()
    if not wanted:
        yield emit
        return
    tracer = from_env(wanted)
    error: BaseException | None = None
    try:
        yield tracer.wrap(emit)
    except BaseException as exc:
        error = exc
        raise
    finally:
        tracer.close(error)
