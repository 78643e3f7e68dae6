"""A real OpenAI-compatible HTTP server on 127.0.0.1 that records every request body and
answers from a script: replies, or faults (status codes, Retry-After, cut streams)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer. `status` != 200 sends an error; `cut_after` stops the stream
    after that many content chunks without finishing it."""

    content: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    cut_after: int | None = None
    raw: bytes | None = None
    tool_call: bool = False
    """Stream the content as the arguments of a call to the tool `reply`."""
    usage: bool = True
    """Send a usage chunk at the end (some servers never do)."""
    cached_tokens: int = 0
    """Prompt tokens the usage chunk reports as served from the provider's cache."""


class FakeOpenAI:
    def __init__(self, answer: Callable[[dict[str, Any]], Reply] | list[Reply]) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.raw_bodies: list[bytes] = []
        script = list(answer) if isinstance(answer, list) else None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fake.raw_bodies.append(raw)
                body = json.loads(raw or b"{}")
                fake.bodies.append(body)
                if script is not None:
                    reply = script.pop(0) if script else Reply(status=500)
                else:
                    reply = answer(body)  # type: ignore[operator]
                self._send(reply, body)

            def _send(self, reply: Reply, body: dict[str, Any]) -> None:
                if reply.status != 200:
                    payload = json.dumps(
                        {"error": {"message": reply.content or "fault", "type": "fault"}}
                    ).encode()
                    self.send_response(reply.status)
                    for k, v in {"Content-Type": "application/json", **reply.headers}.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if reply.raw is not None:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    self.wfile.write(reply.raw)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                words = [reply.content[i : i + 8] for i in range(0, len(reply.content), 8)]
                for n, piece in enumerate(words):
                    if reply.cut_after is not None and n >= reply.cut_after:
                        self.wfile.flush()
                        self.connection.shutdown(2)
                        return
                    delta: dict[str, Any] = {"content": piece}
                    if reply.tool_call:
                        call = {"index": 0, "function": {"arguments": piece}}
                        if n == 0:
                            call.update(id="call_1", type="function")
                            call["function"]["name"] = "reply"  # type: ignore[index]
                        delta = {"tool_calls": [call]}
                    self._event({"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
                finish = "tool_calls" if reply.tool_call else "stop"
                self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
                prompt = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
                if reply.usage:
                    self._event(
                        {
                            "choices": [],
                            "usage": {
                                "prompt_tokens": prompt,
                                "completion_tokens": len(words),
                                "total_tokens": prompt + len(words),
                                "prompt_tokens_details": {"cached_tokens": reply.cached_tokens},
                            },
                        }
                    )
                self.wfile.write(b"data: [DONE]\n\n")

            def _event(self, data: dict[str, Any]) -> None:
                chunk = {
                    "id": "x",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": "fake",
                    **data,
                }
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
