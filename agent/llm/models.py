"""The two tiers behind one `ChatModel` protocol, plus the scripted double used by tests.

`LocalModel` runs a GGUF in-process with llama-cpp-python; `CloudModel` (agent/llm/cloud.py)
speaks to any OpenAI-compatible endpoint through the `openai` client. Both return a
`Completion` with exact usage, latency, time to first token and (local) token
log-probabilities.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tiercode.agent.state import Tier
from tiercode.tools.errors import ModelUnavailable

LINE_END = ("\n",)
"""`infill`'s default stop: one line."""

Message = dict[str, str]
OnToken = Callable[[str], None]


@dataclass
class Completion:
    """One model reply and what it took to get it."""

    text: str
    model: str
    tier: Tier
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    ttft_s: float
    finish_reason: str = "stop"
    cached_tokens: int = 0
    logprobs: list[float] | None = None
    tokens: list[str] | None = None
    """Text of each generated token, aligned with `logprobs`."""
    runner_ups: list[tuple[str, float]] | None = None
    """At each of `tokens`, the most likely token not chosen and its log-probability:
    where the reply could have gone otherwise (local tier only)."""
    usage_estimated: bool = False
    threads: int = 0
    """llama.cpp threads used for this call (local tier; 0 elsewhere)."""

    @property
    def incomplete(self) -> bool:
        """Cut by the token limit, a repetition, a runaway, or a broken stream."""
        return self.finish_reason not in ("stop", "eos")


class ChatModel(Protocol):
    """What the agent needs of a tier.

    `complete(max_chars=N)` stops a reply as soon as it grows past N characters, keeping
    its first N, with finish_reason "runaway": a caller that knows the size an edit needs
    passes about twice that, so a small model that rewrites more than it was asked to is
    cut then rather than at `max_tokens`. None (the default) sets no limit. A reply that
    repeats itself is cut with finish_reason "repetition" either way. `temperature` 0 is
    greedy; the agent samples only when a tier retries a step it already answered and has
    no fork of its first answer to continue (`forks`), since a greedy retry of the same
    prompt would repeat the same answer, and when it writes a line again (`infill`). A
    `seed` fixes a sampled reply's draws, whatever the model drew before (None: a fresh
    draw).
    """

    tier: Tier
    name: str
    context_window: int

    def complete(
        self,
        messages: list[Message],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 512,
        logprobs: bool = False,
        on_token: OnToken | None = None,
        max_chars: int | None = None,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> Completion: ...

    def count_tokens(self, messages: list[Message]) -> int: ...

    @property
    def can_infill(self) -> bool:
        """Whether `infill` works: the model was trained to fill in a middle (FIM)."""
        ...

    def infill(
        self,
        prefix: str,
        suffix: str,
        *,
        max_tokens: int = 64,
        temperature: float = 0.0,
        stop: tuple[str, ...] = LINE_END,
        seed: int | None = None,
    ) -> Completion:
        """The text between `prefix` and `suffix`, up to the first of `stop` (by default
        the end of its line)."""
        ...


def split_prefill(messages: list[Message]) -> tuple[list[Message], str]:
    """The messages before a trailing assistant message, and its text: the start of the
    reply, written for the model to continue (a prefill). A backend that cannot continue
    a reply (an OpenAI-compatible endpoint, the scripted double) drops it; the local
    model continues it and returns it as the start of its text."""
    if messages and messages[-1]["role"] == "assistant":
        return messages[:-1], messages[-1]["content"]
    return messages, ""


def with_prefill(messages: list[Message], start: str) -> list[Message]:
    """The messages with the reply begun as `start`, in place of any prefill they had."""
    asked, _ = split_prefill(messages)
    return [*asked, {"role": "assistant", "content": start}]


def is_repeating(text: str, min_period: int = 6, span: int = 160) -> bool:
    """True when the text ends in one chunk repeated over `span` characters: a small model
    stuck in a loop. Chunks of fewer than 3 distinct characters (a `# -----` ruler, a run
    of spaces) are ordinary code, not a loop."""
    tail = text[-400:]
    for period in range(min_period, len(tail) // 4 + 1):
        chunk = tail[-period:]
        repeats = max(4, span // period)
        if len(set(chunk)) >= 3 and tail.endswith(chunk * repeats):
            return True
    return False


def clip(text: str, piece: str, max_chars: int | None) -> tuple[str, bool]:
    """The part of a streamed `piece` that fits `max_chars` after `text`, and whether the
    reply ran past it. Streaming models cut a runaway at the piece that crosses the limit."""
    if max_chars is None or len(text) + len(piece) <= max_chars:
        return piece, False
    return piece[: max(0, max_chars - len(text))], True


class _LogprobRecorder:
    """A llama.cpp logits processor that records the log-probability of each sampled token.

    llama-cpp-python only returns log-probabilities with `logits_all=True`, which keeps an
    n_ctx x vocabulary array (gigabytes for Qwen's 152k vocabulary). Reading the logits of
    each step as they pass costs one log-sum-exp per token instead.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.calls = 0
        self.logprobs: list[float] = []
        self.token_ids: list[int] = []
        self.runner_ups: list[tuple[int, float]] = []
        self._last: Any = None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self.enabled and self._last is not None:
            self._record(int(input_ids[-1]))
        self.calls += 1
        if self.enabled:
            self._last = scores.copy()
        return scores

    def _record(self, token: int) -> None:
        import numpy as np

        scores = self._last
        top = float(np.max(scores))
        log_total = top + math.log(float(np.sum(np.exp(scores - top))))
        # argpartition puts the largest last and the second largest just before it
        second, first = (int(t) for t in np.argpartition(scores, -2)[-2:])
        runner = second if token == first else first
        self.token_ids.append(token)
        self.logprobs.append(float(scores[token]) - log_total)
        self.runner_ups.append((runner, float(scores[runner]) - log_total))


class LocalModel:
    """A quantized GGUF loaded in-process. One instance keeps its KV cache, so calls that
    share a prompt prefix (the system prompt and the plan) skip re-reading it."""

    tier = Tier.LOCAL

    def __init__(self, path: Path, *, n_ctx: int = 4096, threads: int = 0, name: str = "") -> None:
        """`threads=0` (auto) picks llama.cpp's thread count again before every call, from
        physical cores and what else is running then (`device.auto_threads`)."""
        from tiercode.agent.llm.catalog import check_gguf
        from tiercode.agent.llm.device import auto_threads

        check_gguf(path)
        try:
            from llama_cpp import Llama
        except ImportError as exc:  # pragma: no cover - dependency is required
            raise ModelUnavailable(f"llama-cpp-python is not installed: {exc}") from None
        self.auto_threads = threads <= 0
        n_threads = auto_threads() if self.auto_threads else threads
        try:
            self.llm = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                n_batch=512,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelUnavailable(f"{path}: llama.cpp could not load this GGUF ({exc})") from None
        self.path = path
        self.name = name or str(self.llm.metadata.get("general.name", path.stem))
        self.context_window = n_ctx
        self._format = _chat_formatter(self.llm)
        self._lock = threading.Lock()
        self.threads = n_threads

    def set_threads(self, n: int) -> None:
        """Use `n` threads for both prompt reading and generation from the next decode on."""
        import llama_cpp

        if n == self.threads:
            return
        llama_cpp.llama_set_n_threads(self.llm._ctx.ctx, n, n)
        self.llm.n_threads = self.llm.n_threads_batch = n
        self.llm.context_params.n_threads = self.llm.context_params.n_threads_batch = n
        self.threads = n

    def prompt_text(self, messages: list[Message]) -> str:
        asked, prefill = split_prefill(messages)
        return self._format(asked) + prefill

    def count_tokens(self, messages: list[Message]) -> int:
        return len(self.llm.tokenize(self.prompt_text(messages).encode(), special=True))

    def complete(
        self,
        messages: list[Message],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 512,
        logprobs: bool = False,
        on_token: OnToken | None = None,
        max_chars: int | None = None,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> Completion:
        from llama_cpp import LogitsProcessorList
        from llama_cpp.llama_grammar import LlamaGrammar

        prompt = self.prompt_text(messages)
        prompt_tokens = self.llm.tokenize(prompt.encode(), special=True)
        room = self._room(prompt_tokens)
        grammar = (
            LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False) if schema else None
        )
        recorder = _LogprobRecorder(logprobs)
        prefill = split_prefill(messages)[1]
        text, finish, ttft = prefill, "stop", 0.0
        if prefill and on_token:
            on_token(prefill)
        with self._lock:
            start = time.perf_counter()
            self._fit_threads()
            stream = self.llm.create_completion(
                prompt_tokens,
                max_tokens=min(max_tokens, room),
                temperature=temperature,
                seed=seed,
                repeat_penalty=1.05,
                grammar=grammar,
                logits_processor=LogitsProcessorList([recorder]),
                stream=True,
            )
            for chunk in stream:
                choice: Any = chunk["choices"][0]  # type: ignore[index]
                piece, runaway = clip(text, choice["text"], max_chars)
                if piece and not ttft:
                    ttft = time.perf_counter() - start
                text += piece
                if piece and on_token:
                    on_token(piece)
                if runaway:
                    finish = "runaway"
                    break
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
                if recorder.calls % 16 == 0 and is_repeating(text):
                    finish = "repetition"
                    break
            latency = time.perf_counter() - start
        return Completion(
            text=text,
            model=self.name,
            tier=self.tier,
            prompt_tokens=len(prompt_tokens),
            # every sampled token passes the recorder; a final end-of-text is not output
            completion_tokens=recorder.calls - (1 if finish == "stop" else 0),
            latency_s=latency,
            ttft_s=ttft or latency,
            finish_reason=finish,
            logprobs=recorder.logprobs if logprobs else None,
            tokens=[self._piece(t) for t in recorder.token_ids] if logprobs else None,
            runner_ups=[(self._piece(t), lp) for t, lp in recorder.runner_ups]
            if logprobs
            else None,
            threads=self.threads,
        )

    @property
    def can_infill(self) -> bool:
        vocab = self.llm._model
        return min(vocab.token_prefix(), vocab.token_suffix(), vocab.token_middle()) >= 0

    def infill(
        self,
        prefix: str,
        suffix: str,
        *,
        max_tokens: int = 64,
        temperature: float = 0.0,
        stop: tuple[str, ...] = LINE_END,
        seed: int | None = None,
    ) -> Completion:
        """Through the GGUF's own fill-in-the-middle tokens, whatever their spelling."""
        if not self.can_infill:
            raise ModelUnavailable(f"{self.name} has no fill-in-the-middle tokens")
        vocab = self.llm._model

        def tokens(text: str) -> list[int]:
            return self.llm.tokenize(text.encode(), add_bos=False, special=False)

        prompt = [
            vocab.token_prefix(), *tokens(prefix), vocab.token_suffix(), *tokens(suffix),
            vocab.token_middle(),
        ]  # fmt: skip
        room = self._room(prompt)
        with self._lock:
            start = time.perf_counter()
            self._fit_threads()
            out: Any = self.llm.create_completion(
                prompt,
                max_tokens=min(max_tokens, room),
                temperature=temperature,
                seed=seed,
                stop=list(stop),
            )
            latency = time.perf_counter() - start
        choice, usage = out["choices"][0], out["usage"]
        return Completion(
            text=choice["text"],
            model=self.name,
            tier=self.tier,
            prompt_tokens=usage["prompt_tokens"],
            completion_tokens=usage["completion_tokens"],
            latency_s=latency,
            ttft_s=latency,
            finish_reason=choice["finish_reason"] or "stop",
            threads=self.threads,
        )

    def _room(self, prompt: list[int]) -> int:
        """Tokens left for the reply; ModelUnavailable when the prompt leaves too few."""
        room = self.context_window - len(prompt)
        if room < 16:
            raise ModelUnavailable(
                f"prompt of {len(prompt)} tokens does not fit the local context "
                f"of {self.context_window}"
            )
        return room

    def _fit_threads(self) -> None:
        """Under `threads=0`, pick the thread count again for this call (see __init__)."""
        if self.auto_threads:
            from tiercode.agent.llm.device import auto_threads

            self.set_threads(auto_threads())

    def _piece(self, token: int) -> str:
        return self.llm.detokenize([token]).decode("utf-8", errors="replace")


def _chat_formatter(llm: Any) -> Callable[[list[Message]], str]:
    """Format messages with the GGUF's own chat template, as llama.cpp's server would."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        raise ModelUnavailable("the GGUF has no chat template; tiercode needs an instruct model")
    vocab = llm._model
    formatter = Jinja2ChatFormatter(
        template=template,
        eos_token=vocab.token_get_text(llm.token_eos()),
        bos_token=vocab.token_get_text(llm.token_bos()),
    )

    def fmt(messages: list[Message]) -> str:
        return formatter(messages=messages).prompt  # type: ignore[arg-type]

    return fmt


@dataclass
class ScriptedModel:
    """Plays back replies in order: the deterministic model for tests, eval dry-runs and
    TUI snapshots. A reply may be a callable of the messages, to answer by content."""

    replies: list[str | Callable[[list[Message]], str]]
    tier: Tier = Tier.LOCAL
    name: str = "scripted"
    context_window: int = 4096
    logprob: float = -0.05
    delay_s: float = 0.0
    calls: list[list[Message]] = field(default_factory=list)
    temperatures: list[float] = field(default_factory=list)
    """The temperature each call asked for, in order."""
    seeds: list[int | None] = field(default_factory=list)
    """The seed each call asked for, in order."""
    prefills: list[str] = field(default_factory=list)
    """The prefill each call came with ("" for none), dropped from `calls`: a script is a
    whole reply."""
    runner_ups: dict[str, tuple[str, float]] = field(default_factory=dict)
    """Word -> the runner-up this double reports at that word of a reply (a fork point)."""
    can_infill: bool = False
    """Whether `infill` answers (from the same `replies`), as a FIM-trained model would."""

    def __post_init__(self) -> None:
        self.tier = Tier(self.tier)  # a test may name it as a plain string

    def count_tokens(self, messages: list[Message]) -> int:
        return sum(len(m["content"].split()) + 4 for m in messages)

    def complete(
        self,
        messages: list[Message],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 512,
        logprobs: bool = False,
        on_token: OnToken | None = None,
        max_chars: int | None = None,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> Completion:
        if not self.replies:
            raise AssertionError(f"ScriptedModel '{self.name}' ran out of replies")
        messages, prefill = split_prefill(messages)
        self.calls.append(messages)
        self.prefills.append(prefill)
        self.temperatures.append(temperature)
        self.seeds.append(seed)
        start = time.perf_counter()
        reply = self.replies.pop(0)
        text = reply(messages) if callable(reply) else reply
        text, runaway = clip("", text, max_chars)
        if self.delay_s:
            time.sleep(self.delay_s)
        if on_token:
            on_token(text)
        pieces = re.findall(r"\s*\S+\s*$|\s*\S+", text) or [text]
        n = max(1, len(text.split()))
        return Completion(
            text=text,
            model=self.name,
            tier=self.tier,
            prompt_tokens=self.count_tokens(messages),
            completion_tokens=n,
            latency_s=time.perf_counter() - start,
            ttft_s=0.0,
            finish_reason="runaway" if runaway else "stop",
            logprobs=[self.logprob] * len(pieces) if logprobs else None,
            tokens=pieces if logprobs else None,
            runner_ups=[self.runner_ups.get(p.strip(), (p, -math.inf)) for p in pieces]
            if logprobs
            else None,
        )

    def infill(
        self,
        prefix: str,
        suffix: str,
        *,
        max_tokens: int = 64,
        temperature: float = 0.0,
        stop: tuple[str, ...] = LINE_END,
        seed: int | None = None,
    ) -> Completion:
        """The next reply up to the first of `stop`, recorded as a call of two messages
        (the prefix and the suffix); refused unless `can_infill`."""
        if not self.can_infill:
            raise ModelUnavailable(f"{self.name} has no fill-in-the-middle tokens")
        reply = self.complete(
            [{"role": "user", "content": prefix}, {"role": "user", "content": suffix}],
            temperature=temperature,
            seed=seed,
        )
        for end in stop:
            reply.text = reply.text.split(end, 1)[0]
        return reply
