"""Settings, layered: defaults < user TOML < trusted repo `.tiercode.toml` < env < flags.

A repo file is written by whoever wrote the repo, so until the user runs
`tiercode trust` it may only set keys that cannot send data elsewhere or widen
what the agent may run (`REPO_SAFE_KEYS`), and its `sensitive_paths` only add to
the ones in force.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal, get_args

from tiercode.agent.state import Tier
from tiercode.tools.errors import ConfigError

PrivacyMode = Literal["local", "redact"]
ConfidenceSignal = Literal["grounded", "logprob", "self", "mean"]
OnDirty = Literal["refuse", "keep"]

POLICIES = (*Tier, "auto")
"""Every call on one tier, or `auto` (local first, escalated on low confidence)."""


def _doc(text: str, default: Any = None, **kw: Any) -> Any:
    if "default_factory" in kw:
        return field(default_factory=kw["default_factory"], metadata={"help": text})
    return field(default=default, metadata={"help": text})


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know; each field's help text is its documentation."""

    policy: str = _doc("Routing policy: local, cloud, auto, or auto:THRESHOLD.", "auto")
    auto_threshold: float = _doc("Confidence below which `auto` escalates a step to cloud.", 0.6)
    local_model: str = _doc("Catalog name or path of the local GGUF.", "qwen2.5-coder-0.5b")
    local_n_ctx: int = _doc("Context window of the local model, in tokens.", 4096)
    local_threads: int = _doc(
        "Threads for the local model; 0 picks them per call from physical cores minus other "
        "busy tasks.",
        0,
    )
    provider: str = _doc(
        "A preset that sets cloud_base_url, cloud_api_key_env and cloud_model (each unless set "
        "at a higher layer): openai, anthropic, gemini, openrouter, groq, ollama, vllm, "
        "lmstudio, llamacpp. Empty: OPENAI_BASE_URL, or the embedded stand-in.",
        "",
    )
    cloud_model: str = _doc("Model name sent to the cloud endpoint.", "qwen2.5-coder-1.5b")
    cloud_price: str = _doc(
        "Price of the cloud model as IN,OUT[,CACHED] USD per 1M tokens, or 0 for a free server; "
        "empty: the list price (genai-prices), zero for a local server's preset.",
        "",
    )
    cloud_price_as: str = _doc(
        "Price cloud tokens as this model (empty: cloud_model; the stand-in uses gpt-4.1-mini).", ""
    )
    cloud_base_url: str = _doc(
        "OpenAI-compatible endpoint; empty starts the embedded stand-in on loopback.", ""
    )
    cloud_api_key_env: str = _doc(
        "Environment variable holding the cloud API key.", "OPENAI_API_KEY"
    )
    standin_idle_s: float = _doc(
        "Seconds the embedded stand-in stays warm for the next run after its last run ends; "
        "0 starts one per run and stops it with the run.",
        300.0,
    )
    cloud_fim: str = _doc(
        "The endpoint model's fill-in-the-middle prompt, {prefix} before {suffix} (Qwen2.5-Coder: "
        "<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>), sent to /v1/completions; "
        "empty: the cloud tier does not fill in lines (the stand-in uses its model's).",
        "",
    )
    cloud_timeout_s: float = _doc("Timeout for one cloud request, in seconds.", 120.0)
    cloud_max_retries: int = _doc("Retries of a failed cloud request (the openai client's).", 2)
    cloud_max_retry_wait_s: float = _doc(
        "A Retry-After longer than this is not waited for; the step falls back instead.", 5.0
    )
    confidence_signal: ConfidenceSignal = _doc(
        "Which confidence `auto` gates on: grounded (the token score averaged with the share "
        "of cheap checks the applied answer cleared), logprob, self, or mean of the two.",
        "grounded",
    )
    max_cost_usd: Decimal | None = _doc("Cap on cloud spend per run, in USD.", None)
    max_steps: int = _doc("Most plan steps a run may carry out.", 6)
    max_tokens: int = _doc("Most tokens one model reply may have.", 768)
    infill_lines: int = _doc(
        "Lines the failing tests most suspect that the model writes again, one at a time, "
        "before any whole answer (fill-in-the-middle, on a tier whose model can), each followed "
        "by its one-token changes; 0: never.",
        8,
    )
    samples: int = _doc(
        "Answers a tier may give to one prompt (after the first, the local tier's forks of it, "
        "else samples), each applied and checked, before the step is retried with the failure "
        "shown or escalated; 1 retries at once.",
        3,
    )
    local_only: bool = _doc("Never send anything off the machine.", False)
    keep_replies: bool = _doc(
        "Keep each model reply's text in the ledger (the run's log file always has it).", False
    )
    privacy_mode: PrivacyMode = _doc(
        "What a secret in a cloud-bound prompt does: local or redact.", "local"
    )
    sensitive_paths: tuple[str, ...] = _doc(
        "Glob patterns of files whose content never leaves the machine.",
        default_factory=lambda: (
            ".env*",
            "*.pem",
            "*.key",
            "*.p12",
            "id_rsa*",
            "id_ed25519*",
            "id_ecdsa*",
            "id_dsa*",
            "secrets.*",
            "credentials*",
        ),
    )
    seed: int = _doc(
        "Seed of the sampled model calls (a retry, a line written again): each is seeded by "
        "it and by which call of the run it is, so a run done again draws the same; 0: a "
        "fresh draw each time. `tiercode eval --seed` sets it.",
        0,
    )
    test_cmd: str = _doc("Command that runs the repo's tests; empty detects pytest.", "")
    acceptance_check: bool = _doc(
        "With no tests in the repo, a model writes a short check from the task that must pass "
        "before the run says done; off, compile and import checks alone may end it done.",
        True,
    )
    on_dirty: OnDirty = _doc(
        "With uncommitted user changes: refuse, or keep them and never touch those files.",
        "refuse",
    )
    shell_allow: tuple[str, ...] = _doc(
        "Commands the agent may run without approval (first word).",
        default_factory=lambda: ("pytest", "python", "python3", "ruff", "ls", "cat", "grep"),
    )
    energy_watts: float = _doc(
        "Power drawn while the local model runs, for the cost estimate.", 35.0
    )
    energy_usd_per_kwh: Decimal = _doc(
        "Electricity price for the local energy estimate.", Decimal("0.15")
    )
    prices: dict[str, dict[str, str]] = _doc(
        "Extra or overriding prices per 1M tokens: {model: {input, cached_input, output}}.",
        default_factory=dict,
    )

    @property
    def threshold(self) -> float:
        """The `auto` threshold, taken from `auto:X` when the policy names one."""
        if self.policy.startswith("auto:"):
            return float(self.policy.split(":", 1)[1])
        return self.auto_threshold

    @property
    def base_policy(self) -> str:
        return self.policy.split(":", 1)[0]


REPO_SAFE_KEYS = frozenset(
    {
        "policy",
        "auto_threshold",
        "max_steps",
        "max_tokens",
        "local_n_ctx",
        "sensitive_paths",
    }
)
_FIELDS = {f.name: f for f in fields(Settings)}


def home() -> Path:
    """tiercode's own directory (config, ledger, checkpoints, logs, trust list), as
    `TIERCODE_HOME` names it. Read once where a command starts (the CLI, a `Runner`, the
    TUI or an eval request built without one) and passed down from there."""
    env = os.environ.get("TIERCODE_HOME")
    return Path(env) if env else Path.home() / ".config" / "tiercode"


def _coerce(name: str, value: Any, source: str) -> Any:
    """Turn a TOML, env or flag value into the field's type, or fail naming key and source."""
    f = _FIELDS.get(name)
    if f is None:
        close = difflib.get_close_matches(name, _FIELDS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(f"{source}: unknown setting '{name}'{hint}")
    kind = str(f.type)
    try:
        if kind == "bool":
            if isinstance(value, str):
                if value.lower() not in ("1", "0", "true", "false", "yes", "no"):
                    raise ValueError(value)
                return value.lower() in ("1", "true", "yes")
            if not isinstance(value, bool):
                raise ValueError(value)
            return value
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if kind == "float":
            number = float(value)
            if not math.isfinite(number):
                raise ConfigError(f"{source}: '{name}' must be a finite number, got {value!r}")
            return number
        if "Decimal" in kind:
            if value in (None, ""):
                return None
            amount = Decimal(str(value))
            if not amount.is_finite():
                raise ConfigError(f"{source}: '{name}' must be a finite number, got {value!r}")
            return amount
        if kind.startswith("tuple"):
            items = value.split(",") if isinstance(value, str) else value
            if not isinstance(items, list | tuple):
                raise ValueError(value)
            return tuple(str(i).strip() for i in items if str(i).strip())
        if kind.startswith("dict"):
            parsed = json.loads(value) if isinstance(value, str) else value
            if not isinstance(parsed, dict):
                raise ValueError(value)
            return {str(k): {kk: str(vv) for kk, vv in v.items()} for k, v in parsed.items()}
        if not isinstance(value, str):
            raise ValueError(value)
        return value
    except (ValueError, TypeError, InvalidOperation, AttributeError, json.JSONDecodeError):
        raise ConfigError(f"{source}: '{name}' must be {_described(kind)}, got {value!r}") from None


def _described(kind: str) -> str:
    """A field's type in words: an error is read by users, not by Python programmers."""
    if "Decimal" in kind:
        return "an amount in USD (a number)"
    if kind.startswith("tuple"):
        return "a list of strings"
    if kind.startswith("dict"):
        return "a table of prices"
    words = {"bool": "true or false", "int": "a whole number", "float": "a number"}
    return words.get(kind, "a string")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def _validate(s: Settings, sources: dict[str, str]) -> Settings:
    """Check values that types alone cannot; the message names the key and where it was set."""

    def bad(key: str, message: str) -> ConfigError:
        return ConfigError(f"{sources.get(key, 'defaults')}: '{key}' {message}")

    if s.base_policy not in POLICIES:
        raise bad("policy", f"'{s.policy}' is not a policy (use local, cloud, auto or auto:X)")
    try:
        t = s.threshold
    except ValueError:
        raise bad("policy", f"has a bad threshold in '{s.policy}'") from None
    if not 0.0 <= t <= 1.0:
        raise bad("policy", f"threshold {t} is outside 0..1")
    if s.max_cost_usd is not None and s.max_cost_usd < 0:
        raise bad("max_cost_usd", f"must not be negative, got {s.max_cost_usd}")
    if s.cloud_price:
        from tiercode.agent.pricing import parse_price

        parse_price(s.cloud_price, sources.get("cloud_price", "cloud_price"))
    choices = {
        "privacy_mode": get_args(PrivacyMode),
        "confidence_signal": get_args(ConfidenceSignal),
        "on_dirty": get_args(OnDirty),
    }
    for key, allowed in choices.items():
        if getattr(s, key) not in allowed:
            raise bad(key, f"must be {' or '.join(allowed)}, got '{getattr(s, key)}'")
    if s.cloud_fim and not 0 <= s.cloud_fim.find("{prefix}") < s.cloud_fim.find("{suffix}"):
        raise bad("cloud_fim", "must hold {prefix} and, after it, {suffix}")
    limits = (("max_steps", 1), ("max_tokens", 16), ("samples", 1), ("local_n_ctx", 512),
              ("infill_lines", 0))  # fmt: skip
    for key, low in limits:
        if getattr(s, key) < low:
            raise bad(key, f"must be at least {low}")
    return s


def is_trusted(repo: Path, home_dir: Path) -> bool:
    trust = home_dir / "trusted.json"
    try:
        return str(repo.resolve()) in json.loads(trust.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return False


def trust(repo: Path, home_dir: Path | None = None) -> None:
    """Let this repo's `.tiercode.toml` set every key."""
    path = (home_dir or home()) / "trusted.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        repos = set(json.loads(path.read_text()))
    except (FileNotFoundError, json.JSONDecodeError):
        repos = set()
    repos.add(str(repo.resolve()))
    path.write_text(json.dumps(sorted(repos), indent=1))


def _only_added(
    values: dict[str, Any], repo_globs: tuple[str, ...], repo_file: Path, notes: list[str]
) -> tuple[tuple[str, ...], str]:
    """An untrusted repo's sensitive paths, merged so they can only add to the ones in force.

    Otherwise `sensitive_paths = []` in a cloned repo would send its `.env` to the cloud.
    """
    current: tuple[str, ...] = values.get("sensitive_paths", Settings().sensitive_paths)
    kept = [g for g in current if g not in repo_globs]
    if kept:
        notes.append(
            f"{repo_file}: kept sensitive paths {', '.join(kept)} that it leaves out, "
            "until you run `tiercode trust`"
        )
    merged = tuple(dict.fromkeys([*current, *repo_globs]))
    return merged, f"{repo_file} (added)"


def load(
    repo: Path | None = None, flags: dict[str, Any] | None = None, home_dir: Path | None = None
) -> tuple[Settings, list[str]]:
    """Build settings from every layer; also return notes on repo keys that were ignored.
    `home_dir` holds the user file and the trust list (None: `home()`)."""
    home_dir = home_dir or home()
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    notes: list[str] = []
    user_file = home_dir / "config.toml"
    for key, value in _read_toml(user_file).items():
        values[key], sources[key] = _coerce(key, value, str(user_file)), str(user_file)
    if repo is not None:
        repo_file = repo / ".tiercode.toml"
        trusted = is_trusted(repo, home_dir)
        for key, value in _read_toml(repo_file).items():
            coerced = _coerce(key, value, str(repo_file))
            if key == "sensitive_paths" and not trusted:
                values[key], sources[key] = _only_added(values, coerced, repo_file, notes)
            elif trusted or key in REPO_SAFE_KEYS:
                values[key], sources[key] = coerced, str(repo_file)
            else:
                notes.append(f"{repo_file}: ignored '{key}' until you run `tiercode trust`")
    if os.environ.get("OPENAI_BASE_URL"):  # the environment beats config files
        values["cloud_base_url"] = os.environ["OPENAI_BASE_URL"]
        sources["cloud_base_url"] = "OPENAI_BASE_URL"
    for name in _FIELDS:  # ...and TIERCODE_CLOUD_BASE_URL beats OPENAI_BASE_URL
        env = os.environ.get(f"TIERCODE_{name.upper()}")
        if env is not None:
            source = f"TIERCODE_{name.upper()}"
            values[name], sources[name] = _coerce(name, env, source), source
    for key, value in (flags or {}).items():
        if value is not None:
            source = f"--{key.replace('_', '-')}"
            values[key], sources[key] = _coerce(key, value, source), source
    if values.get("provider"):
        _apply_provider(values, sources)
    elif "cloud_model" not in sources:
        _model_for_url(values, sources)
    settings = _validate(replace(Settings(), **values), sources)
    return settings, notes


def _layer(source: str | None) -> int:
    """How high a source sits for a provider's preset: defaults < user file < repo file <
    this run's environment and flags (a `TIERCODE_CLOUD_MODEL` beside `--provider` is meant)."""
    if source is None:
        return 0
    if source.startswith("--") or source.isupper():  # a flag or an environment variable
        return 3
    return 2 if source.endswith(".tiercode.toml") else 1


def _model_for_url(values: dict[str, Any], sources: dict[str, str]) -> None:
    """An endpoint named by URL alone gets the default model of the preset it matches."""
    from tiercode.agent.llm import providers

    preset = providers.for_url(values.get("cloud_base_url", ""))
    if preset is not None:
        values["cloud_model"] = preset.model
        sources["cloud_model"] = f"{sources['cloud_base_url']} ({preset.name})"


def _apply_provider(values: dict[str, Any], sources: dict[str, str]) -> None:
    """Fill the endpoint keys from the provider's preset, each unless a layer at least as
    high as the provider's set it. OPENAI_BASE_URL yields to a provider: it is often set
    for other tools, and a provider says what this run wants."""
    from tiercode.agent.llm import providers

    preset = providers.get(values["provider"], sources["provider"])
    values["provider"] = preset.name
    level = _layer(sources["provider"])
    filled = {
        "cloud_base_url": preset.base_url,
        "cloud_api_key_env": preset.key_env,
        "cloud_model": preset.model,
    }
    for key, value in filled.items():
        source = sources.get(key)
        if _layer(source) < level or source == "OPENAI_BASE_URL":
            values[key], sources[key] = value, f"provider {preset.name}"
