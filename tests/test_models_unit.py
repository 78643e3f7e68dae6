"""Per-call thread picking and the runaway cut, without a real model: the picker with
injected numbers, and `complete(max_chars=...)` on ScriptedModel and on fake streams."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from tiercode.agent.llm import device
from tiercode.agent.llm.cloud import CloudModel
from tiercode.agent.llm.models import LocalModel, ScriptedModel, clip

ASK = [{"role": "user", "content": "rewrite f"}]


# --- thread picking ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cores", "busy", "threads"),
    [
        (2, 0, 2),  # idle: every core
        (2, 1, 1),  # one other CPU-bound process: 2 threads collapse (8.3 vs 19.8 tok/s)
        (2, 2, 1),  # fully busy: still one
        (2, 7, 1),
        (8, 3, 5),
        (8, 0.4, 8),  # a light, fractional load rounds down
        (8, 2.6, 5),  # and a heavier one up
        (1, 0, 1),
        (4, -1, 4),  # never more threads than cores
    ],
)
def test_pick_threads(cores: int, busy: float, threads: int) -> None:
    assert device.pick_threads(cores, busy) == threads


def test_busy_other_tasks_takes_the_least_of_its_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    """A short-lived process seen in one sample is not a competitor; our own runnable
    threads (the reader, llama.cpp's workers) are not others."""
    samples = iter([5, 3, 4, 6])
    monkeypatch.setattr(device, "_runnable_tasks", lambda: next(samples))
    monkeypatch.setattr(device, "_own_runnable_threads", lambda: 2)
    monkeypatch.setattr(device, "_SAMPLE_GAP_S", 0.0)
    assert device.busy_other_tasks() == 1.0


def test_busy_other_tasks_never_negative(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device, "_runnable_tasks", lambda: 1)
    monkeypatch.setattr(device, "_own_runnable_threads", lambda: 3)
    monkeypatch.setattr(device, "_SAMPLE_GAP_S", 0.0)
    assert device.busy_other_tasks() == 0.0


def test_without_proc_the_load_average_less_our_own_share(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(device, "_runnable_tasks", lambda: None)
    monkeypatch.setattr(device.psutil, "getloadavg", lambda: (2.3, 1.0, 0.5))
    monkeypatch.setattr(device._SELF, "cpu_percent", lambda interval=None: 120.0)
    assert device.busy_other_tasks() == pytest.approx(1.1)
    assert device.pick_threads(2, device.busy_other_tasks()) == 1


def test_auto_threads_with_a_busy_neighbour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device, "usable_cores", lambda: 2)
    monkeypatch.setattr(device, "busy_other_tasks", lambda: 1.0)
    assert device.auto_threads() == 1


def test_own_runnable_threads_counts_a_spinning_thread() -> None:
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            pass

    before = device._own_runnable_threads()
    worker = threading.Thread(target=spin, daemon=True)
    worker.start()
    try:
        seen = max(device._own_runnable_threads() for _ in range(200))
    finally:
        stop.set()
        worker.join()
    assert before >= 1
    # the GIL lets only one of the two run Python at a time, but both stay runnable
    assert seen >= 2


def test_auto_threads_is_cheap_and_sane() -> None:
    """It runs before every local call: a few milliseconds at most."""
    times, picks = [], []
    for _ in range(10):
        start = time.perf_counter()
        picks.append(device.auto_threads())
        times.append(time.perf_counter() - start)
    assert all(1 <= p <= device.usable_cores() for p in picks)
    assert statistics.median(times) < 0.005


# --- the runaway cut --------------------------------------------------------------------


def test_clip() -> None:
    assert clip("abc", "def", None) == ("def", False)
    assert clip("abc", "def", 6) == ("def", False)
    assert clip("abc", "defg", 6) == ("def", True)
    assert clip("abcdef", "g", 6) == ("", True)


def test_scripted_model_cuts_a_runaway() -> None:
    seen: list[str] = []
    model = ScriptedModel(["x" * 50, "short"])
    cut = model.complete(ASK, max_chars=20, on_token=seen.append)
    assert cut.text == "x" * 20
    assert cut.finish_reason == "runaway"
    assert cut.incomplete
    assert seen == ["x" * 20]
    whole = model.complete(ASK, max_chars=20)
    assert (whole.text, whole.finish_reason, whole.incomplete) == ("short", "stop", False)


def test_scripted_model_without_limit_is_unchanged() -> None:
    reply = ScriptedModel(["y" * 5000]).complete(ASK)
    assert len(reply.text) == 5000
    assert reply.finish_reason == "stop"


class FakeLlama:
    """Just enough of llama_cpp.Llama for `LocalModel.complete`: a stream of pieces that
    calls the logits processors once per sampled token, as llama-cpp-python does."""

    def __init__(self, pieces: list[str]) -> None:
        self.pieces = pieces
        self.yielded = 0
        self._ctx = SimpleNamespace(ctx=object())
        self.context_params = SimpleNamespace(n_threads=2, n_threads_batch=2)
        self.n_threads = self.n_threads_batch = 2

    def tokenize(self, data: bytes, special: bool = False) -> list[int]:
        return list(range(len(data.split())))

    def create_completion(self, prompt: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        processors = kwargs["logits_processor"]
        scores = np.zeros(8, dtype=np.float32)
        for i, piece in enumerate(self.pieces):
            for p in processors:
                p(np.array([*prompt, i]), scores)
            self.yielded += 1
            yield {"choices": [{"text": piece, "finish_reason": None}]}
        for p in processors:  # the end-of-text token is sampled too, and not output
            p(np.array([*prompt, len(self.pieces)]), scores)
        yield {"choices": [{"text": "", "finish_reason": "stop"}]}


def fake_local(pieces: list[str], threads: int = 2, auto: bool = False) -> LocalModel:
    model = LocalModel.__new__(LocalModel)
    model.llm = FakeLlama(pieces)  # type: ignore[assignment]
    model.path = Path("fake.gguf")
    model.name = "fake"
    model.context_window = 4096
    model._format = lambda msgs: " ".join(m["content"] for m in msgs)
    model._lock = threading.Lock()
    model.threads = threads
    model.auto_threads = auto
    return model


def test_local_model_stops_a_runaway_at_max_chars() -> None:
    model = fake_local(["def f():\n", "    return 1\n"] * 40)
    reply = model.complete(ASK, max_chars=60)
    assert reply.finish_reason == "runaway"
    assert len(reply.text) == 60
    assert model.llm.yielded < 10  # type: ignore[attr-defined]
    assert reply.threads == 2


def test_local_model_under_the_limit_finishes_normally() -> None:
    model = fake_local(["def f():\n", "    return 2\n"])
    reply = model.complete(ASK, max_chars=200)
    assert reply.text == "def f():\n    return 2\n"
    assert reply.finish_reason == "stop"
    assert reply.completion_tokens == 2


def test_local_model_sets_threads_per_call_when_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    import llama_cpp

    set_calls: list[tuple[Any, int, int]] = []
    monkeypatch.setattr(llama_cpp, "llama_set_n_threads", lambda *a: set_calls.append(a))
    picks = iter([1, 1, 2])
    monkeypatch.setattr(device, "auto_threads", lambda: next(picks))
    model = fake_local(["a"], threads=2, auto=True)
    ctx = model.llm._ctx.ctx  # type: ignore[attr-defined]
    assert model.complete(ASK).threads == 1
    model.llm.pieces = ["b"]  # type: ignore[attr-defined]
    assert model.complete(ASK).threads == 1  # unchanged: no call into llama.cpp
    assert model.complete(ASK).threads == 2
    assert set_calls == [(ctx, 1, 1), (ctx, 2, 2)]
    assert model.llm.n_threads == model.llm.context_params.n_threads_batch == 2  # type: ignore[attr-defined]


def test_local_model_with_fixed_threads_never_repicks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device, "auto_threads", lambda: pytest.fail("picked"))
    assert fake_local(["a"], threads=2, auto=False).complete(ASK).threads == 2


def cloud_with_stream(pieces: list[str]) -> tuple[CloudModel, list[int]]:
    model = CloudModel(name="gpt-4o-mini", base_url="http://127.0.0.1:9/v1", api_key="k")
    sent = [0]

    def create(**kwargs: Any) -> Iterator[Any]:
        for piece in pieces:
            sent[0] += 1
            delta = SimpleNamespace(content=piece)
            yield SimpleNamespace(
                usage=None, choices=[SimpleNamespace(delta=delta, finish_reason=None)]
            )
        yield SimpleNamespace(
            usage=None,
            choices=[SimpleNamespace(delta=SimpleNamespace(content=""), finish_reason="stop")],
        )

    model.client = SimpleNamespace(chat=SimpleNamespace(completions=SimpleNamespace(create=create)))
    return model, sent


def test_cloud_model_stops_a_runaway_at_max_chars() -> None:
    model, sent = cloud_with_stream([f"line {i}\n" for i in range(100)])
    reply = model.complete(ASK, max_chars=35)
    assert reply.finish_reason == "runaway"
    assert reply.text == "line 0\nline 1\nline 2\nline 3\nline 4\n"
    assert sent[0] == 6  # the sixth piece crosses the limit and is dropped


def test_cloud_model_under_the_limit_finishes_normally() -> None:
    model, _ = cloud_with_stream(["ok\n"])
    reply = model.complete(ASK, max_chars=35)
    assert (reply.text, reply.finish_reason) == ("ok\n", "stop")


def test_busy_other_tasks_stops_sampling_at_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[int] = []
    monkeypatch.setattr(device, "_runnable_tasks", lambda: reads.append(1) or 1)
    monkeypatch.setattr(device, "_own_runnable_threads", lambda: 1)
    assert device.busy_other_tasks() == 0.0
    assert len(reads) == 1
