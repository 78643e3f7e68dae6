"""Secrets in a text: finding them with detect-secrets, and redacting them.

Detection is detect-secrets' plugins with verification off, so a scan never touches
the network. Its ad-hoc line scan reports entropy candidates without applying the
entropy limit, so the limit is applied here; an extra rule catches unquoted
`KEY=value` secrets in .env and YAML files, which its keyword plugin skips. What a
prompt may send is decided by the gate in `agent/privacy.py`, which calls this.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.core.potential_secret import PotentialSecret
from detect_secrets.core.scan import scan_line
from detect_secrets.settings import get_plugins, transient_settings

_ENTROPY_LIMITS = {"Base64HighEntropyString": 4.5, "HexHighEntropyString": 3.0}
_PLUGINS = [
    *(
        {"name": name}
        for name in (
            "AWSKeyDetector", "ArtifactoryDetector", "AzureStorageKeyDetector",
            "BasicAuthDetector", "DiscordBotTokenDetector", "GitHubTokenDetector",
            "GitLabTokenDetector", "JwtTokenDetector", "KeywordDetector", "MailchimpDetector",
            "NpmDetector", "OpenAIDetector", "PrivateKeyDetector", "PypiTokenDetector",
            "SendGridDetector", "SlackDetector", "SquareOAuthDetector", "StripeDetector",
            "TelegramBotTokenDetector", "TwilioKeyDetector",
        )
    ),
    *({"name": name, "limit": limit} for name, limit in _ENTROPY_LIMITS.items()),
]  # fmt: skip
# No verification filter: with it, detect-secrets would call the services to check keys.
_FILTERS = [
    {"path": f"detect_secrets.filters.{name}"}
    for name in (
        "allowlist.is_line_allowlisted",
        "heuristic.is_sequential_string",
        "heuristic.is_potential_uuid",
        "heuristic.is_likely_id_string",
        "heuristic.is_templated_secret",
        "heuristic.is_prefixed_with_dollar_sign",
        "heuristic.is_indirect_reference",
        "heuristic.is_not_alphanumeric_string",
    )
]
# detect-secrets settings are process-global; scans from worker threads take turns.
_SETTINGS_LOCK = threading.Lock()

KEYWORD_KIND = "Secret Keyword"
FILE_VALUE_KIND = "Sensitive File Value"
_GENERIC = {KEYWORD_KIND, "Base64 High Entropy String", "Hex High Entropy String"}
# Only markers naming a known kind count as placeholders, so brackets cannot hide a secret.
_PLACEHOLDER = re.compile(
    r"\[REDACTED:(?:"
    + "|".join(
        re.escape(kind)
        for kind in sorted([*get_mapping_from_secret_type_to_class(), FILE_VALUE_KIND])
    )
    + r")\]"
)
# A whole key block; a block cut off before its END line runs on while lines look like PEM.
_PEM_BLOCK = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
    r"(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
    r"|[^\n]*(?:\n[A-Za-z0-9+/=:, \t-]*(?=\n|\Z))*)",
    re.DOTALL,
)
_ASSIGNMENT = re.compile(
    r"""^\s*(?:export\s+)?["']?(?P<key>[A-Za-z_][\w.-]*)["']?\s*(?:=|:)\s*"""
    r"""(?P<q>["']?)(?P<value>[^\s"']+)"""
)
_SECRET_KEY = re.compile(
    r"(^|_)(password|passwd|pwd|passphrase|secret|token|api_?key|private_?key|access_?key|"
    r"credentials?)(_|$)|password|passwd|secret|apikey"
)
_NOT_A_VALUE = re.compile(r"^[$!{<%|>&*]|[()\[\]]|^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")


@dataclass(frozen=True)
class Finding:
    """A secret seen in text; only a hash of the value is kept, never the value."""

    kind: str
    line_no: int
    secret_hash: str


def _widened(plugin: Any, value: str, line: str) -> str:
    """The whole token when a detector's group captured only its label.

    GitHubTokenDetector's `(ghp|gho|...)_[A-Za-z0-9_]{36}` reports just "ghp"; redacting
    that would leave the token itself in the prompt.
    """
    for regex in getattr(plugin, "denylist", ()):
        for match in regex.finditer(line):
            for group in range(1, (match.lastindex or 0) + 1):
                if match.group(group) == value and match.start(group) == match.start():
                    return str(match.group(0))
    return value


def _checked_value(secret: PotentialSecret, line: str, plugins: list[Any]) -> str | None:
    """The secret's value, or None when it fails the entropy limit the ad-hoc scan skips.

    An unquoted base64 candidate may have swallowed its key (`API_TOKEN=abc...`), so it
    is cut at the `=`; unquoted hex must be an assigned value, or every git SHA in a
    log or diff would count as a secret.
    """
    value = str(secret.secret_value or "")
    plugin: Any = next((p for p in plugins if p.secret_type == secret.type), None)
    name = type(plugin).__name__
    if name not in _ENTROPY_LIMITS:
        return (_widened(plugin, value, line) if plugin else value) or None
    head, sep, _ = value.rstrip("=").rpartition("=")
    if sep:
        value = value[len(head) + 1 :]
    if not value or plugin.calculate_shannon_entropy(value) <= _ENTROPY_LIMITS[name]:
        return None
    if name == "HexHighEntropyString":
        quoted = f'"{value}"' in line or f"'{value}'" in line
        match = _ASSIGNMENT.match(line)
        if not (quoted or (match and match.group("value") == value)):
            return None
    return value


_CODE_REFERENCE = re.compile(r"^(?=[^\d]*$)[A-Za-z_]\w*(?:[._]\w+)+$")
"""`token = floor_token`, `key = self.api_key`: a name in code, not a secret's value.
(Letters joined by `_` or `.`, no digit: real secrets carry digits or mixed symbols.)"""


def _assigned_secret(line: str) -> str | None:
    """The value of an unquoted `DB_PASSWORD=...` / `api_key: ...` line, if it looks real."""
    match = _ASSIGNMENT.match(line)
    if not match:
        return None
    key = match.group("key").lower().replace("-", "_").replace(".", "_")
    value = match.group("value")
    if not _SECRET_KEY.search(key) or len(value) < 6 or _NOT_A_VALUE.search(value):
        return None
    if value.lower() in {"true", "false", "null", "none"} or _CODE_REFERENCE.match(value):
        return None
    return value


_LINE_CACHE: dict[str, list[tuple[str, str]]] = {}
_LINE_CACHE_SIZE = 100_000
"""Findings per distinct line. A run rescans the same files at every route and before every
cloud call; the plugins are fixed, so a line's findings never change."""


def _scan_line(line: str, plugins: list[Any]) -> list[tuple[str, str]]:
    found = [
        (secret.type, value)
        for secret in scan_line(line)
        if (value := _checked_value(secret, line, plugins))
    ]
    assigned = _assigned_secret(line)
    if assigned:
        found.append((KEYWORD_KIND, assigned))
    # A generic match wrapping a named one (`//ghp_...` in a URL) only repeats it.
    named = [v for k, v in found if k not in _GENERIC]
    return [(k, v) for k, v in found if k not in _GENERIC or not any(n in v for n in named)]


def _raw_findings(text: str) -> Iterator[tuple[int, str, str]]:
    """Yield (line_no, kind, value) for every secret; earlier placeholders are not rescanned."""
    masked = _PLACEHOLDER.sub(lambda m: " " * len(m.group(0)), text)
    seen: set[tuple[int, str, str]] = set()
    with _SETTINGS_LOCK, transient_settings({"plugins_used": _PLUGINS, "filters_used": _FILTERS}):
        plugins = list(get_plugins())
        for line_no, line in enumerate(masked.splitlines(), start=1):
            if not line.strip():
                continue
            found = _LINE_CACHE.get(line)
            if found is None:
                found = _scan_line(line, plugins)
                if len(_LINE_CACHE) >= _LINE_CACHE_SIZE:
                    _LINE_CACHE.clear()
                _LINE_CACHE[line] = found
            for kind, value in found:
                if (line_no, kind, value) not in seen:
                    seen.add((line_no, kind, value))
                    yield line_no, kind, value


def scan_text(text: str) -> list[Finding]:
    """Every secret detect-secrets (plus the .env rule) finds, by 1-based line number."""
    return [
        Finding(kind, line_no, PotentialSecret.hash_secret(value))
        for line_no, kind, value in _raw_findings(text)
    ]


def secret_hash(value: str) -> str:
    """A value's hash as a `Finding` keeps it: the value itself is never stored."""
    return str(PotentialSecret.hash_secret(value))


def _replace_outside_placeholders(text: str, value: str, marker: str) -> tuple[str, int]:
    count = 0

    def swap(match: re.Match[str]) -> str:
        nonlocal count
        if match.group(0) != value:
            return match.group(0)
        count += 1
        return marker

    pattern = f"{_PLACEHOLDER.pattern}|{re.escape(value)}"
    return re.sub(pattern, swap, text), count


def redact(text: str, known: Iterable[str] = ()) -> tuple[str, int]:
    """Replace each secret with `[REDACTED:<kind>]`; return the text and how many were replaced.

    A whole PEM private key block goes, not just its header line; so does each `known`
    value (from `privacy.known_values`). Rescans until nothing is left, since removing one
    secret can change what the entropy rules see.
    """
    count = 0
    for value in sorted(set(known), key=lambda v: (-len(v), v)):
        text, n = _replace_outside_placeholders(text, value, f"[REDACTED:{FILE_VALUE_KIND}]")
        count += n

    def pem(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return "[REDACTED:Private Key]"

    text = _PEM_BLOCK.sub(pem, text)
    for _ in range(10):
        found = {(value, kind) for _, kind, value in _raw_findings(text)}
        replaced = 0
        # Longest first, so a value inside another goes with it; named kinds before generic.
        for value, kind in sorted(found, key=lambda vk: (-len(vk[0]), vk[1] in _GENERIC, vk)):
            text, n = _replace_outside_placeholders(text, value, f"[REDACTED:{kind}]")
            replaced += n
        count += replaced
        if not replaced:
            break
    return text, count
