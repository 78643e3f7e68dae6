"""How to ask an OpenAI-compatible endpoint for a JSON reply, best mode first.

Endpoints differ: OpenAI takes a strict `json_schema`; some servers take only tool calls;
others only `{"type": "json_object"}`; some reject every `response_format`. A reply that
must be JSON (the plan) is asked for in the best mode the endpoint accepts, found once by
falling down `MODES` on each HTTP 400, and remembered per endpoint and model in
`endpoints.json` under tiercode's home, so later runs ask right the first time.
Every mode below `json_schema` also names the schema in the prompt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Message = dict[str, str]

MODES = ("json_schema", "tools", "json_object", "plain")
"""Best first: `plain` asks for a fenced JSON block and sends no structure at all."""
TOOL_NAME = "reply"
_UNSUPPORTED = ("minItems", "maxItems", "minLength", "maxLength", "pattern", "format")


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema as strict mode takes it: every object closed and every property required;
    the size and pattern keywords strict mode refuses are left to the prompt."""
    out = {k: v for k, v in schema.items() if k not in _UNSUPPORTED}
    if out.get("type") == "object" and "properties" in out:
        out["properties"] = {k: strict(v) for k, v in out["properties"].items()}
        out["required"] = list(out["properties"])
        out["additionalProperties"] = False
    if isinstance(out.get("items"), dict):
        out["items"] = strict(out["items"])
    return out


def with_schema_note(
    messages: list[Message], schema: dict[str, Any], fenced: bool
) -> list[Message]:
    """The messages with the schema spelled out at the end of the last one, for modes where
    the request itself cannot carry it."""
    note = "\n\nReply with one JSON object that matches this JSON Schema" + (
        ", inside a ```json fenced block" if fenced else ""
    )
    note += f":\n{json.dumps(schema, separators=(',', ':'))}"
    last = messages[-1]
    return [*messages[:-1], {**last, "content": last["content"] + note}]


def request(
    mode: str, messages: list[Message], schema: dict[str, Any]
) -> tuple[list[Message], dict[str, Any]]:
    """The messages and extra request arguments that ask for `schema` in `mode`."""
    if mode == "json_schema":
        fmt = {"name": TOOL_NAME, "strict": True, "schema": strict(schema)}
        return messages, {"response_format": {"type": "json_schema", "json_schema": fmt}}
    if mode == "tools":
        tool = {
            "type": "function",
            "function": {
                "name": TOOL_NAME,
                "description": "Give the reply as this function's arguments.",
                "parameters": schema,
            },
        }
        choice = {"type": "function", "function": {"name": TOOL_NAME}}
        return with_schema_note(messages, schema, False), {"tools": [tool], "tool_choice": choice}
    if mode == "json_object":
        note = with_schema_note(messages, schema, False)
        return note, {"response_format": {"type": "json_object"}}
    if mode == "llama_schema":  # llama.cpp's server: json_object with the schema beside it
        return messages, {"response_format": {"type": "json_object", "schema": schema}}
    return with_schema_note(messages, schema, True), {}


def next_mode(mode: str) -> str | None:
    """The mode to try after the endpoint refused `mode`, or None at the bottom."""
    if mode not in MODES or mode == MODES[-1]:
        return None
    return MODES[MODES.index(mode) + 1]


@dataclass
class EndpointMemory:
    """What one endpoint and model accepted: the JSON mode, whether it takes
    `stream_options` (some servers reject the usage request outright), the name of the
    reply-length parameter (OpenAI's reasoning models take only `max_completion_tokens`)
    and whether it takes a temperature (those models allow only the default) and a seed."""

    base_url: str
    model: str
    mode: str = MODES[0]
    stream_options: bool = True
    max_tokens_key: str = "max_tokens"
    temperature: bool = True
    seed: bool = True
    home: Path | None = None
    """tiercode's home, whose `endpoints.json` keeps this for later runs; None: kept only
    as long as this object."""

    def adapt(self, refusal: str) -> bool:
        """Change the one request parameter a refusal names; False when it names none
        this knows how to change."""
        text = refusal.lower()
        if self.stream_options and "stream_options" in text:
            self.stream_options = False
        elif self.max_tokens_key == "max_tokens" and "max_completion_tokens" in text:
            self.max_tokens_key = "max_completion_tokens"
        elif self.temperature and "temperature" in text:
            self.temperature = False
        elif self.seed and "seed" in text:
            self.seed = False
        else:
            return False
        return True

    @property
    def _key(self) -> str:
        return f"{self.base_url.rstrip('/')} {self.model}"

    @classmethod
    def load(cls, base_url: str, model: str, home: Path | None) -> EndpointMemory:
        memory = cls(base_url, model, home=home)
        saved = _read(home).get(memory._key, {}) if home else {}
        if saved.get("mode") in MODES:
            memory.mode = saved["mode"]
        memory.stream_options = bool(saved.get("stream_options", True))
        if saved.get("max_tokens_key") == "max_completion_tokens":
            memory.max_tokens_key = "max_completion_tokens"
        memory.temperature = bool(saved.get("temperature", True))
        memory.seed = bool(saved.get("seed", True))
        return memory

    def save(self) -> None:
        if self.home is None:
            return
        data = _read(self.home)
        data[self._key] = {
            "mode": self.mode,
            "stream_options": self.stream_options,
            "max_tokens_key": self.max_tokens_key,
            "temperature": self.temperature,
            "seed": self.seed,
        }
        path = self.home / "endpoints.json"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
            tmp.replace(path)
        except OSError:
            pass  # a read-only home only costs the detection again next run


def _read(home: Path) -> dict[str, Any]:
    try:
        data = json.loads((home / "endpoints.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}
