"""Named presets for the OpenAI-compatible endpoints people use, so that `--provider groq`
(or `provider = "groq"` in a config file) is the whole set-up: the base URL, the
environment variable holding the key, a default model, and where its price comes from.

A local server (Ollama, vLLM, LM Studio, llama.cpp's server) runs on the user's machine:
its tokens cost nothing unless the user prices them.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from tiercode.tools.errors import ConfigError


@dataclass(frozen=True)
class Provider:
    name: str
    title: str
    base_url: str
    key_env: str
    """Environment variable holding the API key; empty for a local server that needs none."""
    model: str
    """The model used when the user names none."""
    prices_id: str = ""
    """genai-prices' provider id, so `qwen/qwen3-coder` is priced as OpenRouter bills it."""
    local: bool = False


PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider(
            "openai",
            "OpenAI",
            "https://api.openai.com/v1",
            "OPENAI_API_KEY",
            "gpt-4.1-mini",
            "openai",
        ),
        Provider(
            "anthropic",
            "Anthropic (OpenAI-compatible endpoint)",
            "https://api.anthropic.com/v1/",
            "ANTHROPIC_API_KEY",
            "claude-haiku-4-5",
            "anthropic",
        ),
        Provider(
            "gemini",
            "Google Gemini (OpenAI-compatible endpoint)",
            "https://generativelanguage.googleapis.com/v1beta/openai/",
            "GEMINI_API_KEY",
            "gemini-2.5-flash",
            "google",
        ),
        Provider(
            "openrouter",
            "OpenRouter",
            "https://openrouter.ai/api/v1",
            "OPENROUTER_API_KEY",
            "qwen/qwen3-coder",
            "openrouter",
        ),
        Provider(
            "groq",
            "Groq",
            "https://api.groq.com/openai/v1",
            "GROQ_API_KEY",
            "openai/gpt-oss-120b",
            "groq",
        ),
        Provider(
            "ollama",
            "Ollama (local)",
            "http://localhost:11434/v1",
            "",
            "qwen2.5-coder:1.5b",
            local=True,
        ),
        Provider(
            "vllm",
            "vLLM (local)",
            "http://localhost:8000/v1",
            "",
            "Qwen/Qwen2.5-Coder-1.5B-Instruct",
            local=True,
        ),
        Provider(
            "lmstudio",
            "LM Studio (local)",
            "http://localhost:1234/v1",
            "",
            "qwen2.5-coder-1.5b-instruct",
            local=True,
        ),
        Provider(
            "llamacpp",
            "llama.cpp server (local)",
            "http://localhost:8080/v1",
            "",
            "qwen2.5-coder-1.5b",
            local=True,
        ),
    )
}


def get(name: str, source: str = "provider") -> Provider:
    """The preset called `name`; an unknown name is one line with the closest one."""
    key = name.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    aliases = {"llama.cpp": "llamacpp", "llamacppserver": "llamacpp", "google": "gemini"}
    key = aliases.get(key, key)
    if key in PROVIDERS:
        return PROVIDERS[key]
    close = difflib.get_close_matches(key, PROVIDERS, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise ConfigError(f"{source}: unknown provider '{name}'{hint}; known: {', '.join(PROVIDERS)}")


def for_url(base_url: str) -> Provider | None:
    """The preset whose endpoint `base_url` is (`OPENAI_BASE_URL=https://openrouter.ai/api/v1`
    alone then gets OpenRouter's default model and prices; Ollama's port, a price of 0)."""
    wanted = base_url.strip().rstrip("/")
    if not wanted:
        return None
    return next((p for p in PROVIDERS.values() if p.base_url.rstrip("/") == wanted), None)
