"""The catalog in a private models directory: file checks, corrupt files, `models` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tiercode.agent.llm import catalog
from tiercode.cli.setup import register
from tiercode.tools.errors import ExitCode, ModelUnavailable


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "models"
    monkeypatch.setenv("TIERCODE_MODELS_DIR", str(path))
    return path


def invoke(*args: str) -> tuple[int, str, str]:
    cli = typer.Typer()
    register(cli)
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def assert_one_clear_line(stderr: str) -> None:
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tiercode: "), stderr


def test_check_gguf_rejects_missing_directory_and_non_gguf(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="not found"):
        catalog.check_gguf(tmp_path / "missing.gguf")
    with pytest.raises(ModelUnavailable, match="cannot read"):
        catalog.check_gguf(tmp_path)
    text = tmp_path / "notes.gguf"
    text.write_text("just some text\n")
    with pytest.raises(ModelUnavailable, match="not a GGUF"):
        catalog.check_gguf(text)


def test_resolve_of_a_corrupt_catalog_file_says_corrupt(models_dir: Path) -> None:
    models_dir.mkdir()
    (models_dir / "qwen2.5-coder-0.5b.gguf").write_bytes(b"GGUF" + b"\0garbage" * 1000)
    with pytest.raises(ModelUnavailable, match="corrupt"):
        catalog.resolve("qwen2.5-coder-0.5b")
    assert catalog.installed_path("qwen2.5-coder-0.5b") is None


def test_models_path_of_a_model_not_pulled_is_one_line(models_dir: Path) -> None:
    code, stdout, stderr = invoke("models", "path", "smollm2-135m")
    assert code == ExitCode.MODEL_UNAVAILABLE
    assert stdout == ""
    assert_one_clear_line(stderr)
    assert "not pulled" in stderr and "tiercode models pull smollm2-135m" in stderr


def test_unknown_model_name_is_a_usage_error(models_dir: Path) -> None:
    for command in ("path", "verify", "pull"):
        code, _, stderr = invoke("models", command, "no-such-model")
        assert code == ExitCode.USAGE
        assert_one_clear_line(stderr)


def test_models_verify_of_a_corrupt_file_fails_cleanly(models_dir: Path) -> None:
    models_dir.mkdir()
    (models_dir / "smollm2-135m.gguf").write_bytes(b"GGUF" + b"\1" * 4096)
    code, _, stderr = invoke("models", "verify", "smollm2-135m")
    assert code == ExitCode.MODEL_UNAVAILABLE
    assert_one_clear_line(stderr)
    assert "corrupt" in stderr


def test_models_list_json_reports_nothing_pulled_in_an_empty_dir(models_dir: Path) -> None:
    code, stdout, _ = invoke("models", "list", "--json")
    assert code == 0
    rows = json.loads(stdout)
    assert [r["name"] for r in rows] == list(catalog.CATALOG)
    assert not any(r["pulled"] for r in rows)
    assert all(Path(r["path"]).parent == models_dir for r in rows)


@pytest.mark.real
def test_pull_joins_verifies_and_is_then_found(models_dir: Path) -> None:
    messages: list[str] = []
    path = catalog.pull("smollm2-135m", messages.append)
    assert path == models_dir / "smollm2-135m.gguf"
    assert path.stat().st_size == catalog.CATALOG["smollm2-135m"].size
    assert any("verified" in m for m in messages)
    assert catalog.installed_path("smollm2-135m") == path
    assert catalog.verify("smollm2-135m") == path
    code, stdout, _ = invoke("models", "path", "smollm2-135m")
    assert code == 0 and stdout.strip() == str(path)
    assert catalog.pull("smollm2-135m", messages.append) == path
    assert messages[-1] == "smollm2-135m: already pulled and verified"
