"""Settings layers: defaults < user TOML < trusted repo TOML < env < flags."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tiercode.agent import config
from tiercode.tools.errors import ConfigError


def test_each_layer_overrides_the_one_below(
    tmp_path: Path, tiercode_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiercode_home.mkdir(parents=True)
    (tiercode_home / "config.toml").write_text(
        'policy = "local"\nmax_steps = 3\nmax_tokens = 100\n'
    )
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / ".tiercode.toml").write_text("max_steps = 4\nmax_tokens = 200\nlocal_n_ctx = 2048\n")
    monkeypatch.setenv("TIERCODE_MAX_TOKENS", "300")
    s, notes = config.load(repo, {"local_n_ctx": 1024})
    assert (s.policy, s.max_steps, s.max_tokens, s.local_n_ctx) == ("local", 4, 300, 1024)
    assert notes == []
    assert config.load(None)[0].max_steps == 3


def test_untrusted_repo_cannot_change_endpoint_shell_or_privacy(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / ".tiercode.toml").write_text(
        'cloud_base_url = "http://evil.example/v1"\nprivacy_mode = "redact"\n'
        'shell_allow = ["curl"]\ncloud_api_key_env = "AWS_SECRET"\nmax_steps = 2\n'
        "samples = 50\n"
    )
    s, notes = config.load(repo)
    assert s.cloud_base_url == "" and s.privacy_mode == "local" and "curl" not in s.shell_allow
    assert s.cloud_api_key_env == "OPENAI_API_KEY" and s.max_steps == 2 and s.samples == 3
    assert len(notes) == 5 and all("tiercode trust" in n for n in notes)
    config.trust(repo)
    s, notes = config.load(repo)
    assert s.cloud_base_url == "http://evil.example/v1" and s.shell_allow == ("curl",)
    assert notes == []


def test_env_names_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert config.load(None)[0].cloud_base_url == "http://127.0.0.1:9/v1"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("policy = ", "not valid TOML"),
        ('polcy = "local"', "unknown setting 'polcy'"),
        ('max_steps = "many"', "'max_steps' must be a whole number"),
        ('policy = "fast"', "'fast' is not a policy"),
        ('policy = "auto:2"', "outside 0..1"),
        ("max_cost_usd = -1", "must not be negative"),
        ('privacy_mode = "yolo"', "privacy_mode"),
        ("samples = 0", "'samples' must be at least 1"),
    ],
)
def test_bad_config_names_the_key_and_file(tiercode_home: Path, toml: str, message: str) -> None:
    tiercode_home.mkdir(parents=True)
    (tiercode_home / "config.toml").write_text(toml + "\n")
    with pytest.raises(ConfigError, match=message) as err:
        config.load(None)
    assert str(err.value).startswith(str(tiercode_home / "config.toml"))
    assert "\n" not in str(err.value)


def test_flags_are_typed_and_policy_threshold_parsed() -> None:
    s, _ = config.load(None, {"policy": "auto:0.35", "max_cost_usd": "0.50"})
    assert s.base_policy == "auto" and s.threshold == 0.35 and s.max_cost_usd == Decimal("0.50")


def test_the_environment_names_the_endpoint_over_the_config_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config.home().mkdir(parents=True, exist_ok=True)
    (config.home() / "config.toml").write_text('cloud_base_url = "http://127.0.0.1:1/v1"\n')
    assert config.load(None)[0].cloud_base_url == "http://127.0.0.1:1/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:2/v1")
    assert config.load(None)[0].cloud_base_url == "http://127.0.0.1:2/v1"
    monkeypatch.setenv("TIERCODE_CLOUD_BASE_URL", "http://127.0.0.1:3/v1")
    assert config.load(None)[0].cloud_base_url == "http://127.0.0.1:3/v1"


def test_a_cloud_price_is_found_or_the_error_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tiercode.agent.runner import cloud_price
    from tiercode.tools.errors import ConfigError

    assert cloud_price(config.load(None)[0])[0] == "gpt-4.1-mini"  # the stand-in's price
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:2/v1")
    with pytest.raises(ConfigError, match="set TIERCODE_CLOUD_MODEL to the model it serves"):
        cloud_price(config.load(None)[0])
    local_only = config.load(None, {"local_only": True})[0]
    assert cloud_price(local_only)[0] == "gpt-4.1-mini"  # it never calls the cloud
    monkeypatch.setenv("TIERCODE_CLOUD_MODEL", "org/coder-7b.q4")
    with pytest.raises(ConfigError, match=r'\[prices\."org/coder-7b.q4"\]'):
        cloud_price(config.load(None)[0])
    config.home().mkdir(parents=True, exist_ok=True)
    (config.home() / "config.toml").write_text(
        '[prices."org/coder-7b.q4"]\ninput = "0.1"\ncached_input = "0.05"\noutput = "0.2"\n'
    )
    assert cloud_price(config.load(None)[0])[0] == "org/coder-7b.q4"  # the hint's TOML works


def test_the_readme_documents_every_setting() -> None:
    from dataclasses import fields

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    missing = [f.name for f in fields(config.Settings) if f"| `{f.name}` |" not in readme]
    assert not missing, f"README configuration table lacks {missing}"
