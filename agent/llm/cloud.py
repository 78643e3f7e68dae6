"""The cloud tier: any OpenAI-compatible endpoint, through the `openai` client.

Retries and timeouts are set here, once: the openai client retries; nothing above it
does. Endpoints differ in what they accept, so the first refusal of a request's shape
(HTTP 400 on `stream_options`, `max_tokens`, `temperature` or a JSON mode) is answered
by asking again without it (`structured`), and what worked is remembered for the next
run. Usage comes from the provider whenever it sends it (cached tokens included), else
from tiktoken.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tiercode.agent.llm import structured
from tiercode.agent.llm.models import (
    LINE_END,
    Completion,
    Message,
    OnToken,
    clip,
    is_repeating,
    split_prefill,
)
from tiercode.agent.state import Tier
from tiercode.tools.errors import CloudUnavailable, ModelUnavailable


def _tiktoken_counter(model: str) -> tuple[Callable[[str], int], bool]:
    """tiktoken for the model, loaded only from tiktoken's own cache so that nothing is
    fetched; otherwise a count of its pre-tokenizer's pieces, a close estimate for code.
    Returns (count, exact)."""
    import regex
    import tiktoken
    from tiktoken_ext import openai_public

    try:
        enc_name = tiktoken.encoding_name_for_model(model)
    except KeyError:
        enc_name = "o200k_base"
    cache_dir = os.environ.get("TIKTOKEN_CACHE_DIR") or os.path.join(
        tempfile.gettempdir(), "data-gym-cache"
    )
    url = f"https://openaipublic.blob.core.windows.net/encodings/{enc_name}.tiktoken"
    if os.path.exists(os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest())):
        enc = tiktoken.get_encoding(enc_name)
        return (lambda text: len(enc.encode(text, disallowed_special=()))), True
    pattern = regex.compile(openai_public.r50k_pat_str)
    return (lambda text: sum(1 for _ in pattern.finditer(text))), False


def _bounded_client(max_retry_wait_s: float, **kwargs: Any) -> Any:
    """The openai client with its own retries, except that a Retry-After longer than
    `max_retry_wait_s` is not slept through: the step falls back to local instead of
    blocking the run for a minute."""
    import openai

    class BoundedRetryOpenAI(openai.OpenAI):
        def _should_retry(self, response: Any) -> bool:
            wait = self._parse_retry_after_header(response.headers)
            if wait is not None and wait > max_retry_wait_s:
                return False
            return super()._should_retry(response)

    return BoundedRetryOpenAI(**kwargs)


class _Refused(Exception):
    """The endpoint refused the request's shape (HTTP 400/422), not its content."""

    def __init__(self, error: Any) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class CloudModel:
    """Any OpenAI-compatible endpoint. `schema_in_request` sends the JSON schema the way
    llama.cpp's server takes it (the embedded stand-in), with no mode detection."""

    name: str
    base_url: str
    api_key: str
    context_window: int = 32768
    timeout_s: float = 120.0
    max_retries: int = 2
    max_retry_wait_s: float = 5.0
    schema_in_request: bool = False
    home: Path | None = None
    """tiercode's home, where what the endpoint accepts is remembered for the next run
    (`structured.EndpointMemory`); None: found again by each model."""
    fim_template: str = ""
    """The served model's fill-in-the-middle prompt, `{prefix}` then `{suffix}` in it
    (`config.cloud_fim`); empty: `infill` is refused."""
    tier: Tier = field(default=Tier.CLOUD, init=False)

    def __post_init__(self) -> None:
        import openai

        self.client = _bounded_client(
            self.max_retry_wait_s,
            base_url=self.base_url,
            api_key=self.api_key or "none",
            timeout=openai.Timeout(self.timeout_s, connect=min(10.0, self.timeout_s)),
            max_retries=self.max_retries,
        )
        self._count, self.exact_counts = _tiktoken_counter(self.name)
        self.memory = structured.EndpointMemory.load(self.base_url, self.name, self.home)

    def count_tokens(self, messages: list[Message]) -> int:
        return sum(self._count(m["content"]) + 4 for m in messages) + 3

    @property
    def can_infill(self) -> bool:
        return bool(self.fim_template)

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
        """Through `/v1/completions` with the FIM prompt written out, the one shape every
        OpenAI-compatible server takes (llama-cpp-python's server builds a `suffix` field's
        prompt with token id 0 for all three FIM tokens)."""
        import openai

        if not self.can_infill:
            raise ModelUnavailable(f"no fill-in-the-middle prompt is configured for {self.name}")
        head, _, rest = self.fim_template.partition("{prefix}")
        middle, _, tail = rest.partition("{suffix}")
        start = time.perf_counter()
        try:
            out = self.client.completions.create(
                model=self.name,
                prompt=head + prefix + middle + suffix + tail,
                max_tokens=max_tokens,
                temperature=temperature,
                stop=list(stop) or None,
                **({"seed": seed} if seed is not None and self.memory.seed else {}),
            )
        except openai.APIStatusError as exc:
            raise _classify_status(exc, self.name, self.base_url) from None
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            raise self._unreachable(exc) from None
        latency = time.perf_counter() - start
        choice, usage = out.choices[0], out.usage
        text = choice.text or ""
        return Completion(
            text=text,
            model=self.name,
            tier=self.tier,
            prompt_tokens=usage.prompt_tokens if usage else self._count(prefix + suffix),
            completion_tokens=usage.completion_tokens if usage else self._count(text),
            latency_s=latency,
            ttft_s=latency,
            finish_reason=choice.finish_reason or "stop",
            usage_estimated=usage is None or not self.exact_counts,
        )

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
        """One reply; a request shape the endpoint refuses is asked again with the one
        parameter it named changed (`stream_options`, `max_tokens`, `temperature`, `seed`),
        or one JSON mode down, and what worked is kept for the next run. A prefill is dropped:
        chat endpoints answer a trailing assistant message anew rather than continue it."""
        messages = split_prefill(messages)[0]
        mode = None
        if schema is not None:
            mode = "llama_schema" if self.schema_in_request else self.memory.mode
        before = dataclasses.replace(self.memory)
        while True:
            sent, extra = (
                (messages, {}) if mode is None else structured.request(mode, messages, schema or {})
            )
            try:
                reply = self._stream(
                    sent, extra, max_tokens, on_token, max_chars, temperature, seed
                )
            except _Refused as refused:
                text = str(refused).lower()
                if self.memory.adapt(text):
                    continue
                lower = structured.next_mode(mode) if mode and "context" not in text else None
                if lower is None:
                    raise _classify_status(refused.error, self.name, self.base_url) from None
                mode = lower
                continue
            if mode in structured.MODES:
                self.memory.mode = mode
            if self.memory != before:
                self.memory.save()
            return reply

    def _stream(
        self,
        messages: list[Message],
        extra: dict[str, Any],
        max_tokens: int,
        on_token: OnToken | None,
        max_chars: int | None,
        temperature: float,
        seed: int | None,
    ) -> Completion:
        import openai

        text, finish, ttft, usage = "", "", 0.0, None
        memory = self.memory
        extra = {**extra, memory.max_tokens_key: max_tokens}
        if memory.stream_options:
            extra["stream_options"] = {"include_usage": True}
        if memory.temperature:
            extra["temperature"] = temperature
        if memory.seed and seed is not None:
            extra["seed"] = seed
        start = time.perf_counter()
        try:
            stream = self.client.chat.completions.create(
                model=self.name, messages=messages, stream=True, **extra
            )
            for chunk in stream:
                if getattr(chunk, "usage", None):
                    usage = chunk.usage
                if not chunk.choices:
                    continue
                delta = chunk.choices[0].delta
                content = delta.content or ""
                for call in getattr(delta, "tool_calls", None) or ():  # a tool mode's reply
                    if call.function and call.function.arguments:
                        content += call.function.arguments
                piece, runaway = clip(text, content, max_chars)
                if piece and not text:
                    ttft = time.perf_counter() - start
                text += piece
                if piece and on_token:
                    on_token(piece)
                if runaway:
                    finish = "runaway"
                    break
                if chunk.choices[0].finish_reason:
                    finish = chunk.choices[0].finish_reason
                if is_repeating(text):
                    finish = "repetition"
                    break
        except openai.APIStatusError as exc:
            if exc.status_code in (400, 422) and not text:
                raise _Refused(exc) from None
            raise _classify_status(exc, self.name, self.base_url) from None
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            if text:
                finish = "stream_cut"
            else:
                raise self._unreachable(exc) from None
        except (json.JSONDecodeError, openai.APIResponseValidationError) as exc:
            raise CloudUnavailable(
                f"cloud endpoint sent a malformed response ({exc})", transient=True
            ) from None
        latency = time.perf_counter() - start
        if finish == "tool_calls":
            finish = "stop"
        finish = finish or "stream_cut"  # the stream ended without saying why
        estimated = usage is None or not usage.prompt_tokens
        if usage is None or estimated:
            prompt_tokens, completion_tokens = self.count_tokens(messages), self._count(text)
        else:
            prompt_tokens, completion_tokens = usage.prompt_tokens, usage.completion_tokens
        details = getattr(usage, "prompt_tokens_details", None)
        return Completion(
            text=text,
            model=self.name,
            tier=self.tier,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cached_tokens=(getattr(details, "cached_tokens", 0) or 0) if details else 0,
            latency_s=latency,
            ttft_s=ttft or latency,
            finish_reason=finish,
            usage_estimated=estimated or not self.exact_counts,
        )

    def _unreachable(self, exc: Exception) -> CloudUnavailable:
        """The error for an endpoint that did not answer, after the client's own retries."""
        import openai

        why = "timed out" if isinstance(exc, openai.APITimeoutError) else "no connection"
        return CloudUnavailable(
            f"cloud endpoint {self.base_url} unreachable after {self.max_retries} retries ({why})",
            transient=True,
        )


def _classify_status(exc: Any, model: str, base_url: str) -> CloudUnavailable:
    """One clear line per kind of HTTP failure; only rate limits and 5xx are transient."""
    status = exc.status_code
    body = str(exc.message)[:160]
    if status in (401, 403):
        return CloudUnavailable(
            f"cloud endpoint {base_url} rejected the API key (HTTP {status})", transient=False
        )
    if status == 404:
        return CloudUnavailable(
            f"cloud endpoint {base_url} has no model '{model}' (HTTP 404)", transient=False
        )
    if status == 429 or status >= 500:
        return CloudUnavailable(
            f"cloud endpoint {base_url} unavailable (HTTP {status}): {body}", transient=True
        )
    if "context" in body.lower():
        return CloudUnavailable(f"prompt too long for '{model}' (HTTP {status})", transient=False)
    return CloudUnavailable(f"cloud request refused (HTTP {status}): {body}", transient=False)
