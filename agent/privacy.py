"""The gate before any cloud call: find secrets and sensitive paths, redact, audit egress.

Secrets in the text are found (and redacted) by `agent/secret_scan.py`; this module adds
what is sensitive about the repo itself: paths that match the sensitive globs, and the
values in those files.

A value read from the repo's own sensitive files counts as a secret wherever it shows
up, so one echoed by a test's assertion output cannot leave in a retry prompt.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tiercode.agent.secret_scan import FILE_VALUE_KIND, Finding, scan_text, secret_hash


@dataclass
class Verdict:
    """Whether a prompt may leave the machine as it is, and why not."""

    sensitive: bool
    reasons: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


def sensitive_path(path: str, globs: Iterable[str]) -> bool:
    """True when the path, its basename or any trailing part matches a glob (case-insensitive).

    Matching trailing parts lets `id_*` catch `config/id_rsa` and `.ssh/*` catch
    `home/u/.ssh/config`; ignoring case fails closed on case-insensitive filesystems.
    """
    parts = [p for p in path.replace("\\", "/").lower().split("/") if p not in ("", ".")]
    tails = ["/".join(parts[i:]) for i in range(len(parts))]
    patterns = [g.lower() for g in globs]
    return any(fnmatch.fnmatchcase(tail, pat) for tail in tails for pat in patterns)


def _text_of(message: dict[str, Any]) -> str:
    """The text of an OpenAI-style message, whose content may be a string or a list of parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text", "")) if isinstance(part, dict) else str(part) for part in content
        )
    return "" if content is None else str(content)


def inspect(
    messages: list[dict[str, Any]],
    paths: Iterable[str],
    globs: Iterable[str],
    root: Path | None = None,
) -> Verdict:
    """Judge a cloud-bound prompt: a secret in any message or any sensitive path makes it so,
    and so does any value from the sensitive files of `root`."""
    globs = list(globs)
    reasons: list[str] = []
    findings: list[Finding] = []
    known = known_values(root, globs)
    for index, message in enumerate(messages, start=1):
        text = _text_of(message)
        for finding in scan_text(text):
            findings.append(finding)
            reasons.append(f"{finding.kind} in message {index}, line {finding.line_no}")
        for value, source in known.items():
            if value in text:
                line_no = text.count("\n", 0, text.index(value)) + 1
                findings.append(Finding(FILE_VALUE_KIND, line_no, secret_hash(value)))
                reasons.append(f"a value from {source} in message {index}, line {line_no}")
    hits = [p for p in paths if sensitive_path(p, globs)]
    reasons += [f"sensitive path {p}" for p in hits]
    return Verdict(sensitive=bool(findings or hits), reasons=reasons, findings=findings, paths=hits)


_MIN_VALUE_CHARS = 6
_MAX_SENSITIVE_FILE_BYTES = 1_000_000
_SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".nox",
     ".mypy_cache", ".pytest_cache", ".ruff_cache"}
)  # fmt: skip
# Common settings that are no secret: matching them would keep ordinary prompts local.
_NOT_SECRET = frozenset(
    {"true", "false", "null", "none", "production", "development", "staging", "localhost",
     "127.0.0.1", "0.0.0.0"}
)  # fmt: skip
_LINE_VALUE = re.compile(
    r"""^\s*(?:export\s+)?["']?[A-Za-z_][\w.-]*["']?\s*[=:]\s*(?P<value>.+?)\s*,?\s*$"""
)
_PEM_EDGE = re.compile(r"^-----(BEGIN|END) [A-Z0-9 ]+-----$")
_FILE_VALUES: dict[Path, tuple[int, int, frozenset[str]]] = {}
"""Values per sensitive file, keyed by path and kept while its mtime and size hold."""


def values_in(text: str) -> frozenset[str]:
    """The secret-looking values of one sensitive file: each `KEY=value` / `key: value`
    right-hand side and each body line of a PEM block, of at least six characters."""
    found: set[str] = set()
    in_pem = False
    for raw in text.splitlines():
        line = raw.strip()
        if _PEM_EDGE.match(line):
            in_pem = line.startswith("-----BEGIN")
            continue
        if in_pem:
            value = line
        elif match := _LINE_VALUE.match(raw):
            value = match.group("value")
            if value[:1] in "\"'" and value[-1:] == value[:1]:
                value = value[1:-1]
            elif " #" in value:
                value = value.split(" #", 1)[0].rstrip()
        else:
            continue
        if len(value) >= _MIN_VALUE_CHARS and value.lower() not in _NOT_SECRET:
            found.add(value)
    return frozenset(found)


def _file_values(path: Path) -> frozenset[str]:
    try:
        st = path.stat()
    except OSError:
        return frozenset()
    if not path.is_file() or st.st_size > _MAX_SENSITIVE_FILE_BYTES:
        return frozenset()
    cached = _FILE_VALUES.get(path)
    if cached and cached[:2] == (st.st_mtime_ns, st.st_size):
        return cached[2]
    try:
        values = values_in(path.read_bytes().decode("utf-8", "replace"))
    except OSError:
        return frozenset()
    _FILE_VALUES[path] = (st.st_mtime_ns, st.st_size, values)
    return values


def sensitive_values(root: Path, globs: Iterable[str]) -> dict[str, str]:
    """Every value in the repo's sensitive files, mapped to the file it came from.

    The tree is walked on every call (skipping VCS, virtualenv and cache folders) so a
    file that appears mid-run counts; each file is re-read only when its mtime or size
    changes.
    """
    globs = list(globs)
    found: dict[str, str] = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS]
        for name in names:
            rel = os.path.relpath(os.path.join(folder, name), root)
            if sensitive_path(rel, globs):
                for value in _file_values(Path(folder, name)):
                    found.setdefault(value, rel)
    return found


def known_values(root: Path | None, globs: Iterable[str]) -> dict[str, str]:
    """Sensitive values of `root` (with `globs`), each mapped to the file it came from."""
    return sensitive_values(root, globs) if root is not None else {}


def egress_record(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """What a cloud call sends, for the audit: total bytes and one SHA-256 per message.

    Each message is hashed as canonical JSON (sorted keys, UTF-8), so the same prompt
    always gives the same hashes and nothing of its content is stored.
    """
    encoded = [
        json.dumps(m, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
        for m in messages
    ]
    return {
        "bytes_sent": sum(len(e) for e in encoded),
        "message_hashes": [hashlib.sha256(e).hexdigest() for e in encoded],
    }
