"""The privacy gate: secrets made up at test time are found, redacted and never leak."""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import string
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tiercode.agent.config import Settings
from tiercode.agent.privacy import egress_record, inspect, sensitive_path
from tiercode.agent.secret_scan import redact, scan_text

ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits


def rand(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def sha1(value: str) -> str:
    return hashlib.sha1(value.encode()).hexdigest()


def aws() -> tuple[str, list[str]]:
    key_id, secret = "AKIA" + rand(UPPER_DIGITS, 16), rand(ALNUM + "/+", 40)
    text = f'aws_access_key_id = "{key_id}"\naws_secret_access_key = "{secret}"\n'
    return text, [key_id, secret]


def openai_classic() -> tuple[str, list[str]]:
    key = "sk-" + rand(ALNUM, 20) + "T3BlbkFJ" + rand(ALNUM, 20)
    return f"client = OpenAI(api_key='{key}')\n", [key]


def openai_project() -> tuple[str, list[str]]:
    key = "sk-proj-" + rand(ALNUM, 48)
    return f"OPENAI_API_KEY={key}\n", [key]


def github() -> tuple[str, list[str]]:
    token = "ghp_" + rand(ALNUM, 36)
    return f"git clone https://{token}@github.com/acme/app.git\n", [token]


def pem() -> tuple[str, list[str]]:
    body = base64.b64encode(secrets.token_bytes(192)).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    block = "\n".join(["-----BEGIN RSA PRIVATE KEY-----", *lines, "-----END RSA PRIVATE KEY-----"])
    return f"key file:\n{block}\nthat was it\n", lines


def env_password() -> tuple[str, list[str]]:
    password = "hunter2-" + rand(ALNUM + "!@%^", 10)
    return f"DEBUG=1\nDB_HOST=localhost\nDB_PASSWORD={password}\n", [password]


def jwt() -> tuple[str, list[str]]:
    def part(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    token = ".".join(
        [
            part(b'{"alg":"HS256","typ":"JWT"}'),
            part(b'{"sub":"1234"}'),
            part(secrets.token_bytes(32)),
        ]
    )
    return f"Authorization: Bearer {token}\n", [token]


def slack() -> tuple[str, list[str]]:
    token = f"xoxb-{rand(string.digits, 12)}-{rand(string.digits, 12)}-{rand(ALNUM, 24)}"
    return f"SLACK = '{token}'\n", [token]


def stripe() -> tuple[str, list[str]]:
    key = "sk_live_" + rand(ALNUM, 24)
    return f"stripe.api_key = '{key}'\n", [key]


MAKERS: list[Callable[[], tuple[str, list[str]]]] = [
    aws, openai_classic, openai_project, github, pem, env_password, jwt, slack, stripe
]  # fmt: skip


@pytest.mark.parametrize("make", MAKERS, ids=lambda m: m.__name__)
def test_each_secret_is_found_and_redacted(make: Callable[[], tuple[str, list[str]]]) -> None:
    text, values = make()
    assert scan_text(text), text
    clean, count = redact(text)
    assert count >= 1
    assert "[REDACTED:" in clean
    for value in values:
        assert value not in clean
    assert scan_text(clean) == []


def test_findings_name_the_kind_and_line_but_keep_no_value() -> None:
    text, [key_id, _] = aws()
    findings = scan_text("first line\n" + text)
    kinds = {(f.kind, f.line_no) for f in findings}
    assert ("AWS Access Key", 2) in kinds
    assert sha1(key_id) in {f.secret_hash for f in findings}
    assert key_id not in repr(findings)


def test_redaction_names_the_kind() -> None:
    text, _ = github()
    clean, count = redact(text)
    assert count == 1
    assert clean == "git clone https://[REDACTED:GitHub Token]@github.com/acme/app.git\n"


def test_all_secrets_together() -> None:
    texts, values = zip(*(make() for make in MAKERS), strict=True)
    clean, count = redact("\n".join(texts))
    assert count >= len(MAKERS)
    assert not [v for group in values for v in group if v in clean]
    assert scan_text(clean) == []


@pytest.mark.parametrize(
    "text",
    [
        "commit 1d9614638d18024d0fbb36575a15f1302a3adf04\nAuthor: A <a@example.com>",
        "def add(a: int, b: int) -> int:\n    return a + b\n",
        'password = request.form["password"]\ntoken = os.environ.get("TOKEN")',
        "api_key: ${OPENAI_API_KEY}\nmax_tokens: 768\n",
        "        token = floor_token\n        key = self.api_key\n",  # humanize's clamp
        "The quick brown fox jumps over the lazy dog.",
    ],
)
def test_ordinary_text_is_not_a_secret(text: str) -> None:
    assert scan_text(text) == []
    assert redact(text) == (text, 0)


def test_scanning_never_touches_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the privacy gate tried to open a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for make in MAKERS:
        text, _ = make()
        assert scan_text(text)
        redact(text)


FILLER = st.text(alphabet=string.ascii_letters + string.digits + " .,:;=_-\n\"'", max_size=80)
SECRET = st.text(alphabet=ALNUM + "+/-_!@%", min_size=8, max_size=60)
TEMPLATES = [
    "{pre}\nAPI_TOKEN={secret}\n{post}",
    '{pre}\npassword = "{secret}"\n{post}',
    "{pre} {secret} {post}",
    "{pre}{secret}{post}",
    "{pre}\nurl = 'https://admin:{secret}@db.internal/x'\n{post}",
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FILLER, SECRET, FILLER, st.sampled_from(TEMPLATES))
def test_whatever_scan_finds_redact_removes(pre: str, secret: str, post: str, tpl: str) -> None:
    text = tpl.format(pre=pre, secret=secret, post=post)
    found = {f.secret_hash for f in scan_text(text)}
    clean, _ = redact(text)
    if sha1(secret) in found:
        assert secret not in clean
    assert not found & {f.secret_hash for f in scan_text(clean)}


GLOBS = Settings().sensitive_paths


@pytest.mark.parametrize(
    "path",
    [".env", ".env.local", "config/id_rsa", "certs/server.pem", "secrets.yaml", "./app/.ENV"],
)
def test_sensitive_paths(path: str) -> None:
    assert sensitive_path(path, GLOBS)


@pytest.mark.parametrize("path", ["environment.py", "src/env.py", "docs/secrets-howto.md"])
def test_ordinary_paths(path: str) -> None:
    assert not sensitive_path(path, GLOBS)


def test_globs_can_name_a_directory() -> None:
    assert sensitive_path("home/me/.ssh/config", [".ssh/*"])
    assert not sensitive_path("home/me/ssh/config", [".ssh/*"])


def test_inspect_clean_prompt() -> None:
    messages = [{"role": "user", "content": "Rename foo to bar in src/app.py"}]
    verdict = inspect(messages, ["src/app.py"], GLOBS)
    assert not verdict.sensitive
    assert verdict.reasons == verdict.findings == verdict.paths == []


def test_inspect_flags_secrets_and_paths() -> None:
    text, _ = github()
    messages = [
        {"role": "system", "content": "You edit code."},
        {"role": "user", "content": [{"type": "text", "text": "Fix the clone:\n" + text}]},
    ]
    verdict = inspect(messages, ["src/app.py", "deploy/.env.production"], GLOBS)
    assert verdict.sensitive
    assert verdict.paths == ["deploy/.env.production"]
    assert [f.kind for f in verdict.findings] == ["GitHub Token"]
    assert "GitHub Token in message 2, line 2" in verdict.reasons
    assert "sensitive path deploy/.env.production" in verdict.reasons


def test_egress_record() -> None:
    messages = [{"role": "system", "content": "hi"}, {"role": "user", "content": "héllo"}]
    record = egress_record(messages)
    assert record == egress_record([dict(m) for m in messages])
    assert record["bytes_sent"] == len('{"content":"hi","role":"system"}') + len(
        '{"content":"héllo","role":"user"}'.encode()
    )
    assert [len(h) for h in record["message_hashes"]] == [64, 64]
    changed = egress_record([messages[0], {"role": "user", "content": "hello"}])
    assert changed["message_hashes"][0] == record["message_hashes"][0]
    assert changed["message_hashes"][1] != record["message_hashes"][1]
