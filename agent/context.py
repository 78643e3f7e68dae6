"""Run-scoped dependencies handed to every graph node: models, tools, ledger, events.

Nothing here is checkpointed. `call_model` is the one door every model call goes
through, so the privacy gate, the egress record, pricing and the ledger row can never
be skipped.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from tiercode.agent import privacy, secret_scan
from tiercode.agent.config import Settings
from tiercode.agent.events import Event, ModelCalled, StepEscalated, StepRouted, TokenStreamed
from tiercode.agent.ledger import Ledger
from tiercode.agent.ledger_records import CallRecord
from tiercode.agent.llm.models import LINE_END, ChatModel, Completion, Message, OnToken
from tiercode.agent.pricing import Price, cloud_cost, energy_cost
from tiercode.agent.router import Decision, Signals, decide
from tiercode.agent.runlog import RunLog
from tiercode.agent.state import AgentState, Tier, step_name
from tiercode.tools.errors import Cancelled, CloudUnavailable, TiercodeError
from tiercode.tools.files import RepoFiles
from tiercode.tools.git import GitRepo

ModelFactory = Callable[[], ChatModel]


@dataclass(frozen=True)
class CallKey:
    """Which model call this is: a run's step (0: the plan), attempt and purpose. One
    value, so the ledger rows, events and log lines of a call always agree."""

    run_id: str
    step: int
    attempt: int = 0
    purpose: str = "act"
    number: int = 0
    """Which of several calls of one purpose (`infill` makes dozens); 0 for a lone one."""

    @classmethod
    def of(cls, state: AgentState, purpose: str = "act", number: int = 0) -> CallKey:
        """The call the current step and attempt make."""
        return cls(state["run_id"], state["step"], state.get("attempt", 0), purpose, number)

    @property
    def call_id(self) -> str:
        return f"{self.run_id}:{self.step}:{self.attempt}:{self.purpose}" + self._nth(":")

    @property
    def label(self) -> str:
        return f"{step_name(self.step)} attempt {self.attempt} {self.purpose}" + self._nth(" ")

    def _nth(self, sep: str) -> str:
        return f"{sep}{self.number}" if self.number else ""


class PrivacyViolation(TiercodeError):
    """A cloud-bound prompt held a secret the router should have kept local (a bug)."""


@dataclass
class RunContext:
    settings: Settings
    root: Path
    ledger: Ledger
    cloud_price: Price
    price_model: str
    simulated: bool
    local_factory: ModelFactory
    cloud_factory: ModelFactory
    emit: Callable[[Event], None] = lambda _e: None
    approve: Callable[[str, str], bool] = lambda _cmd, _why: False
    """Asked when a command needs approval; headless runs deny."""
    forced: dict[int, Tier] = field(default_factory=dict)
    """Tiers the user forced for upcoming steps (the TUI writes here)."""
    user_dirty: frozenset[str] = frozenset()
    """Paths with the user's uncommitted changes; the agent never touches them."""
    cancel: threading.Event = field(default_factory=threading.Event)
    """Set from another thread (the TUI's quit) to stop at the next token or node."""
    capture_content: bool = False
    """Put prompt and reply on each `ModelCalled` event, for telemetry the user opted in to."""
    log: RunLog | None = None
    """Where each call's prompt and reply are written (the run's log file, --verbose)."""
    files: RepoFiles = field(init=False)
    git: GitRepo = field(init=False)
    _models: dict[Tier, ChatModel] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.files = RepoFiles(self.root)
        self.git = GitRepo.open(self.root)

    def model(self, tier: Tier) -> ChatModel:
        """Load a tier on first use: a run that stays local never starts the cloud."""
        with self._lock:
            if tier not in self._models:
                factory = self.cloud_factory if tier == Tier.CLOUD else self.local_factory
                self._models[tier] = factory()
            return self._models[tier]

    def check_cancelled(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("cancelled by the user")

    def count_tokens(self, messages: list[Message]) -> int:
        """Exact, with the local model's own tokenizer (the window being checked)."""
        return self.model(Tier.LOCAL).count_tokens(messages)

    def spent(self, run_id: str) -> Decimal:
        return self.ledger.run_totals(run_id).cloud_usd

    def route(
        self,
        key: CallKey,
        messages: list[Message],
        paths: list[str],
        *,
        escalation: str | None = None,
        confidence: float | None = None,
    ) -> Decision:
        """Gather the signals for one call, decide, record and announce the decision."""
        run_id, step, attempt = key.run_id, key.step, key.attempt
        self.check_cancelled()
        s = self.settings
        verdict = privacy.inspect(messages, paths, s.sensitive_paths, root=self.root)
        tokens = self.count_tokens(messages)
        budget_left = None if s.max_cost_usd is None else s.max_cost_usd - self.spent(run_id)
        # the estimate: this prompt, and a reply as long as replies have been
        reply = min(s.max_tokens, self.ledger.typical_reply_tokens(s.max_tokens // 3))
        signals = Signals(
            policy=s.base_policy,
            threshold=s.threshold,
            prompt_tokens=tokens,
            local_window=s.local_n_ctx,
            reply_tokens=s.max_tokens,
            sensitive=verdict.sensitive,
            sensitive_reasons=tuple(verdict.reasons),
            redact=s.privacy_mode == "redact",
            local_only=s.local_only,
            forced=self.forced.get(step),
            budget_left=budget_left,
            cloud_cost_estimate=cloud_cost(self.cloud_price, tokens, reply),
            escalation=escalation,
            confidence=confidence,
            purpose=key.purpose,
        )
        decision = decide(signals)
        self.ledger.record_decision(
            run_id, step, attempt, decision.tier, decision.reason, signals.to_dict()
        )
        self.emit(
            StepRouted(
                run_id=run_id,
                step=step,
                attempt=attempt,
                purpose=key.purpose,
                tier=decision.tier,
                reason=decision.reason,
                signals=signals.to_dict(),
            )
        )
        return decision

    def call_model(
        self,
        key: CallKey,
        decision: Decision,
        messages: list[Message],
        schema: dict[str, Any] | None,
        paths: list[str],
        max_chars: int | None = None,
        temperature: float = 0.0,
    ) -> Completion:
        """Send one routed call, record it in the ledger and emit its `ModelCalled`;
        returns the reply. `max_chars` cuts a runaway reply (see `ChatModel.complete`)."""
        s = self.settings

        def send(
            model: ChatModel, sent: list[Message], on_token: OnToken, logprobs: bool
        ) -> Completion:
            return model.complete(
                sent,
                schema=schema,
                max_tokens=s.max_tokens,
                logprobs=logprobs,
                on_token=on_token,
                max_chars=max_chars,
                temperature=temperature,
                seed=self._seed(key, temperature),
            )

        return self._call(key, decision, messages, paths, send)

    def call_infill(
        self,
        key: CallKey,
        decision: Decision,
        prefix: str,
        suffix: str,
        paths: list[str],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: tuple[str, ...] = LINE_END,
    ) -> Completion:
        """One fill-in-the-middle call (`ChatModel.infill`) through the same door. The
        prefix and the suffix travel as two messages, so the privacy gate, the egress
        record and the log see them as they see a prompt."""

        def send(
            model: ChatModel, sent: list[Message], _on_token: OnToken, _logprobs: bool
        ) -> Completion:
            before, after = (m["content"] for m in sent)
            return model.infill(
                before, after, max_tokens=max_tokens, temperature=temperature, stop=stop,
                seed=self._seed(key, temperature),
            )  # fmt: skip

        pieces = [{"role": "user", "content": prefix}, {"role": "user", "content": suffix}]
        return self._call(key, decision, pieces, paths, send)

    def _seed(self, key: CallKey, temperature: float) -> int | None:
        """A sampled call's seed, from the `seed` setting and which call of the run it is
        (not the run's id): a run done again with the same seed makes the same draws,
        whatever the model drew before. None when greedy or unset."""
        if not temperature or not self.settings.seed:
            return None
        which = f"{self.settings.seed}:{key.step}:{key.attempt}:{key.purpose}:{key.number}"
        return zlib.crc32(which.encode())

    def _call(
        self,
        key: CallKey,
        decision: Decision,
        messages: list[Message],
        paths: list[str],
        send: Callable[[ChatModel, list[Message], OnToken, bool], Completion],
    ) -> Completion:
        s, run_id, step, attempt = self.settings, key.run_id, key.step, key.attempt
        tier, redactions = decision.tier, 0
        if tier == Tier.CLOUD:
            messages, redactions = self._gate(key, messages, paths)
        model = self.model(tier)

        streamed: list[str] = []

        def on_token(text: str) -> None:
            streamed.append(text)
            self.check_cancelled()
            self.emit(TokenStreamed(run_id=run_id, step=step, text=text))

        started = time.time()
        try:
            reply = send(model, messages, on_token, tier != Tier.CLOUD)
        except (Cancelled, KeyboardInterrupt):
            self._record_stopped(key, decision, model, messages, streamed, started)
            raise
        except CloudUnavailable as exc:
            if not exc.transient or s.base_policy == Tier.CLOUD:
                raise
            self.emit(
                StepEscalated(
                    run_id=run_id,
                    step=step,
                    from_tier=Tier.CLOUD,
                    to_tier=Tier.LOCAL,
                    reason=f"cloud fallback: {exc}",
                )
            )
            tier, decision = (
                Tier.LOCAL,
                Decision(Tier.LOCAL, f"cloud unavailable, fell back: {exc}"),
            )
            reply = send(self.model(Tier.LOCAL), messages, on_token, True)
        call_id = key.call_id
        if self.log is not None:
            self.log.call(key.label, tier, reply.model, messages, reply.text, reply.finish_reason)
        if s.keep_replies:
            self.ledger.record_reply(call_id, run_id, reply.text)
        counterfactual = cloud_cost(
            self.cloud_price, reply.prompt_tokens, reply.completion_tokens, reply.cached_tokens
        )
        if tier == Tier.CLOUD:
            cost = counterfactual
        else:
            cost = energy_cost(reply.latency_s, s.energy_watts, s.energy_usd_per_kwh)
        self.ledger.record_call(
            CallRecord(
                call_id=call_id,
                run_id=run_id,
                step=step,
                attempt=attempt,
                ts=started,
                tier=tier,
                model=reply.model,
                price_model=self.price_model if tier == Tier.CLOUD else "energy",
                prompt_tokens=reply.prompt_tokens,
                cached_tokens=reply.cached_tokens,
                completion_tokens=reply.completion_tokens,
                latency_s=reply.latency_s,
                ttft_s=reply.ttft_s,
                confidence=None,
                route_reason=decision.reason,
                cost_usd=cost,
                simulated=self.simulated and tier == Tier.CLOUD,
                incomplete=reply.incomplete,
                counterfactual_usd=counterfactual,
                prompt_bytes=_size(messages),
            )
        )
        self.emit(
            ModelCalled(
                run_id=run_id,
                step=step,
                attempt=attempt,
                purpose=key.purpose,
                tier=tier,
                model=reply.model,
                route_reason=decision.reason,
                started=started,
                prompt_tokens=reply.prompt_tokens,
                cached_tokens=reply.cached_tokens,
                completion_tokens=reply.completion_tokens,
                latency_s=reply.latency_s,
                ttft_s=reply.ttft_s,
                cost_usd=cost,
                counterfactual_usd=counterfactual,
                simulated=self.simulated and tier == Tier.CLOUD,
                incomplete=reply.incomplete,
                prompt_bytes=_size(messages),
                redactions=redactions,
                content={"input": messages, "output": reply.text} if self.capture_content else None,
            )
        )
        return reply

    def _record_stopped(
        self,
        key: CallKey,
        decision: Decision,
        model: ChatModel,
        messages: list[Message],
        streamed: list[str],
        started: float,
    ) -> None:
        """Record a call the user stopped mid-reply: its prompt, the pieces streamed so far
        (one token each) and its time were spent, so the ledger counts them."""
        s = self.settings
        elapsed = max(0.0, time.time() - started)
        if self.log is not None:
            streamed_text = "".join(streamed)
            self.log.call(key.label, decision.tier, model.name, messages, streamed_text, "stopped")
        prompt_tokens = model.count_tokens(messages)
        counterfactual = cloud_cost(self.cloud_price, prompt_tokens, len(streamed))
        cloud = decision.tier == Tier.CLOUD
        if cloud:
            cost = counterfactual
        else:
            cost = energy_cost(elapsed, s.energy_watts, s.energy_usd_per_kwh)
        self.ledger.record_call(
            CallRecord(
                call_id=f"{key.call_id}:stopped",
                run_id=key.run_id,
                step=key.step,
                attempt=key.attempt,
                ts=started,
                tier=decision.tier,
                model=model.name,
                price_model=self.price_model if cloud else "energy",
                prompt_tokens=prompt_tokens,
                cached_tokens=0,
                completion_tokens=len(streamed),
                latency_s=elapsed,
                ttft_s=elapsed,
                confidence=None,
                route_reason=decision.reason,
                cost_usd=cost,
                simulated=self.simulated and cloud,
                incomplete=True,
                counterfactual_usd=counterfactual,
                prompt_bytes=_size(messages),
            )
        )

    def _gate(
        self, key: CallKey, messages: list[Message], paths: list[str]
    ) -> tuple[list[Message], int]:
        """Last check before anything leaves the machine; records what leaves. Returns the
        messages to send and how many values were redacted from them.

        Values from the repo's sensitive files count wherever they appear (test output
        too)."""
        s = self.settings
        if s.local_only:
            raise PrivacyViolation("refusing a cloud call under --local-only")
        verdict = privacy.inspect(messages, paths, s.sensitive_paths, root=self.root)
        redactions = 0
        if verdict.sensitive:
            if s.privacy_mode != "redact" or verdict.paths:
                raise PrivacyViolation("refusing to send a sensitive prompt to the cloud")
            known = privacy.known_values(self.root, s.sensitive_paths)
            redacted = []
            for m in messages:
                text, n = secret_scan.redact(m["content"], known)
                redactions += n
                redacted.append({**m, "content": text})
            messages = redacted
        record = privacy.egress_record(messages)
        self.ledger.record_egress(
            key.run_id,
            key.step,
            key.attempt,
            self.settings.cloud_model,
            self.settings.cloud_base_url or "embedded stand-in",
            record["bytes_sent"],
            record["message_hashes"],
            redactions,
        )
        return messages, redactions


def _size(messages: list[Message]) -> int:
    """UTF-8 bytes of the messages' text: what a call sent, or kept on the machine."""
    return sum(len(m["content"].encode("utf-8")) for m in messages)
