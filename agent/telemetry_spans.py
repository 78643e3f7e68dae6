"""Events in, OpenTelemetry spans and metrics out: one trace per run, a span per step
attempt inside it, a GenAI `chat` span per model call inside that.

Span names and attributes follow the OpenTelemetry GenAI semantic conventions
(`gen_ai.operation.name`, `gen_ai.request.model`, `gen_ai.usage.input_tokens`, …);
tiercode's own (tier, route reason, confidence, cost, simulated price) are under
`tiercode.*`. Times come from the events, so a span covers the call, not the moment
its event was read. Prompt and reply text is set only when the user opted in.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from tiercode.agent.events import (
    Event,
    ModelCalled,
    RunCompleted,
    RunStarted,
    StepCompleted,
    StepEscalated,
    StepRouted,
)
from tiercode.agent.state import RunStatus, Tier

_NS = 1_000_000_000
_PROVIDER: dict[str, str] = {Tier.LOCAL: "llama_cpp", Tier.CLOUD: "openai"}
"""`gen_ai.provider.name` per tier: llama.cpp in-process, or an OpenAI-compatible API."""


def _ns(seconds: float) -> int:
    return int(seconds * _NS)


def _step_name(step: int) -> str:
    return "plan" if step == 0 else f"step {step}"


class EventTracer:
    """Turns one run's events into spans and metrics. Fed by `wrap`; `close` ends what
    is still open (a run that raised) and flushes both providers."""

    def __init__(
        self,
        tracer_provider: TracerProvider,
        meter_provider: MeterProvider,
        *,
        capture_content: bool = False,
    ) -> None:
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.capture_content = capture_content
        self._tracer = tracer_provider.get_tracer("tiercode")
        meter = meter_provider.get_meter("tiercode")
        self._tokens = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}", description="Tokens per model call"
        )
        self._duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s", description="Model call latency"
        )
        self._cost = meter.create_counter(
            "tiercode.cost", unit="USD", description="Cloud price or local energy, per call"
        )
        self._counterfactual = meter.create_counter(
            "tiercode.cost.counterfactual", unit="USD", description="The same tokens all-cloud"
        )
        self._run: Span | None = None
        self._steps: dict[tuple[int, int], Span] = {}
        self._answers: dict[tuple[int, int], tuple[Span, float]] = {}
        """Each attempt's `act` call span, kept open for the confidence judged after it."""
        self._failed = False

    def wrap(self, emit: Callable[[Event], None]) -> Callable[[Event], None]:
        """`emit` that feeds telemetry first; a telemetry bug is reported once on stderr
        and never stops the run."""

        def both(event: Event) -> None:
            if not self._failed:
                try:
                    self.on_event(event)
                except Exception as exc:
                    self._failed = True
                    print(f"tiercode: telemetry stopped: {exc!r}", file=sys.stderr, flush=True)
            emit(event)

        return both

    def on_event(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._start_run(event)
        elif isinstance(event, StepRouted):
            self._start_step(event)
        elif isinstance(event, ModelCalled):
            self._model_called(event)
        elif isinstance(event, StepEscalated):
            self._escalated(event)
        elif isinstance(event, StepCompleted):
            self._end_step(event)
        elif isinstance(event, RunCompleted):
            self._end_run(event)

    def close(self, error: BaseException | None = None) -> None:
        """End every span still open (as errors when the run raised) and flush."""
        status = Status(StatusCode.ERROR, repr(error)) if error else None
        for span, end in self._answers.values():
            span.end(end_time=_ns(end))
        self._answers.clear()
        for span in self._steps.values():
            if status:
                span.set_status(status)
            span.end()
        self._steps.clear()
        if self._run is not None:
            if status:
                self._run.set_status(status)
            self._run.end()
            self._run = None
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()

    # spans

    def _start_run(self, e: RunStarted) -> None:
        attributes: dict[str, AttributeValue] = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "tiercode",
            "gen_ai.conversation.id": e.run_id,
            "tiercode.run_id": e.run_id,
            "tiercode.policy": e.policy,
            "tiercode.local_model": e.local_model,
            "tiercode.cloud_model": e.cloud_model,
            "tiercode.simulated": e.cloud_simulated,
        }
        self._run = self._tracer.start_span(
            "invoke_agent tiercode", attributes=attributes, start_time=_ns(e.ts)
        )

    def _parent(self, key: tuple[int, int] | None = None) -> Context | None:
        """The step's span as parent, else the run's; None starts a trace of its own."""
        span = (self._steps.get(key) if key else None) or self._run
        return trace.set_span_in_context(span) if span is not None else None

    def _start_step(self, e: StepRouted) -> None:
        key = (e.step, e.attempt)
        if key not in self._steps:  # steps run one after another: a new one ends any left open
            for old in list(self._steps):
                self._end_answer(old, None)
                self._steps.pop(old).end(end_time=_ns(e.ts))
            attributes: dict[str, AttributeValue] = {
                "tiercode.step": e.step,
                "tiercode.attempt": e.attempt,
                "tiercode.tier": e.tier,
                "tiercode.route_reason": e.reason,
            }
            self._steps[key] = self._tracer.start_span(
                _step_name(e.step), context=self._parent(), attributes=attributes,
                start_time=_ns(e.ts),
            )  # fmt: skip
        # A second route in the same attempt (the acceptance check) keeps the step's own:
        # its call span carries the check's tier and reason.

    def _model_called(self, e: ModelCalled) -> None:
        key = (e.step, e.attempt)
        attributes: dict[str, AttributeValue] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": _PROVIDER.get(e.tier, e.tier),
            "gen_ai.request.model": e.model,
            "gen_ai.response.model": e.model,
            "gen_ai.usage.input_tokens": e.prompt_tokens,
            "gen_ai.usage.output_tokens": e.completion_tokens,
            "gen_ai.usage.cache_read.input_tokens": e.cached_tokens,
            "gen_ai.response.finish_reasons": ["length" if e.incomplete else "stop"],
            "tiercode.purpose": e.purpose,
            "tiercode.tier": e.tier,
            "tiercode.route_reason": e.route_reason,
            "tiercode.cost_usd": float(e.cost_usd),
            "tiercode.counterfactual_usd": float(e.counterfactual_usd),
            "tiercode.simulated": e.simulated,
            "tiercode.latency_s": e.latency_s,
            "tiercode.ttft_s": e.ttft_s,
            "tiercode.prompt_bytes": e.prompt_bytes,
            "tiercode.redactions": e.redactions,
        }
        if self.capture_content and e.content:
            attributes["gen_ai.input.messages"] = json.dumps(e.content.get("input", []))
            attributes["gen_ai.output.messages"] = json.dumps(
                [{"role": "assistant", "content": e.content.get("output", "")}]
            )
        span = self._tracer.start_span(
            f"chat {e.model}",
            context=self._parent(key),
            kind=SpanKind.CLIENT,
            attributes=attributes,
            start_time=_ns(e.started),
        )
        end = e.started + e.latency_s
        if e.purpose == "act":
            self._end_answer(key, None)
            self._answers[key] = (span, end)
        else:
            span.end(end_time=_ns(end))
        self._record_metrics(e)

    def _end_answer(self, key: tuple[int, int], confidence: float | None) -> None:
        if pending := self._answers.pop(key, None):
            span, end = pending
            if confidence is not None:
                span.set_attribute("tiercode.confidence", confidence)
            span.end(end_time=_ns(end))

    def _escalated(self, e: StepEscalated) -> None:
        target = next(
            (s for (step, _), s in reversed(self._steps.items()) if step == e.step), self._run
        )
        if target is not None:
            target.add_event(
                "tiercode.escalated",
                {"tiercode.from_tier": e.from_tier, "tiercode.to_tier": e.to_tier,
                 "tiercode.reason": e.reason},
                timestamp=_ns(e.ts),
            )  # fmt: skip

    def _end_step(self, e: StepCompleted) -> None:
        key = (e.step, e.attempt)
        self._end_answer(key, e.confidence)
        span = self._steps.pop(key, None)
        if span is None:
            return
        span.set_attributes(
            {
                "tiercode.success": e.success,
                "tiercode.detail": e.detail,
                "tiercode.files": e.files,
            }
        )
        if e.confidence is not None:
            span.set_attribute("tiercode.confidence", e.confidence)
        if not e.success:
            span.set_status(Status(StatusCode.ERROR, e.detail))
        span.end(end_time=_ns(e.ts))

    def _end_run(self, e: RunCompleted) -> None:
        for key in list(self._steps):
            self._end_answer(key, None)
            self._steps.pop(key).end(end_time=_ns(e.ts))
        if self._run is None:
            return
        self._run.set_attributes(
            {
                "tiercode.status": e.status,
                "tiercode.exit_code": e.exit_code,
                "tiercode.cloud_usd": float(e.cloud_usd),
                "tiercode.local_energy_usd": float(e.local_energy_usd),
                "tiercode.counterfactual_usd": float(e.counterfactual_usd),
                "tiercode.saving_usd": float(e.saving_usd),
                "tiercode.local_calls": e.local_calls,
                "tiercode.cloud_calls": e.cloud_calls,
                "gen_ai.usage.input_tokens": e.prompt_tokens,
                "gen_ai.usage.output_tokens": e.completion_tokens,
            }
        )
        if e.status != RunStatus.DONE:
            self._run.set_status(Status(StatusCode.ERROR, e.message or e.status))
        self._run.end(end_time=_ns(e.ts))
        self._run = None

    # metrics

    def _record_metrics(self, e: ModelCalled) -> None:
        base = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": _PROVIDER.get(e.tier, e.tier),
            "gen_ai.request.model": e.model,
            "tiercode.tier": e.tier,
        }
        self._tokens.record(e.prompt_tokens, {**base, "gen_ai.token.type": "input"})
        self._tokens.record(e.completion_tokens, {**base, "gen_ai.token.type": "output"})
        self._duration.record(e.latency_s, base)
        money: dict[str, str | bool] = {**base, "tiercode.simulated": e.simulated}
        self._cost.add(float(e.cost_usd), money)
        self._counterfactual.add(float(e.counterfactual_usd), money)
