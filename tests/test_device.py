"""Device detection: the report's shape, the recommendation rules, and `doctor`."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import typer
from typer.testing import CliRunner

from tiercode.agent.llm import catalog, device
from tiercode.cli.setup import register


def app() -> typer.Typer:
    cli = typer.Typer()
    register(cli)
    return cli


def test_report_has_the_documented_shape() -> None:
    report = device.detect()
    assert report.total_ram_gb >= report.available_ram_gb > 0
    assert report.cores_logical >= report.cores_physical >= 1
    assert all(isinstance(f, str) for f in report.cpu_flags)
    assert isinstance(report.gpu_offload, bool)
    assert all(isinstance(g, str) for g in report.gpus)
    assert report.free_disk_gb > 0
    assert [m.name for m in report.models] == list(catalog.CATALOG)
    assert all(isinstance(m.fits, bool) and isinstance(m.pulled, bool) for m in report.models)
    assert report.recommended_local in device.LOCAL_CANDIDATES
    assert report.recommended_local in report.reason


def test_recommendation_is_the_largest_model_that_fits() -> None:
    assert device.recommend(16, 2, False)[0] == "qwen2.5-coder-1.5b"
    assert "slower per step on 2 physical cores" in device.recommend(16, 2, False)[1]
    assert device.recommend(16, 2, True)[0] == "qwen2.5-coder-1.5b"
    assert device.recommend(3.5, 16, True)[0] == "qwen2.5-coder-0.5b"
    assert "needs" in device.recommend(3.5, 16, True)[1]
    assert device.recommend(2.0, 2, False)[0] == "smollm2-135m"
    name, reason = device.recommend(0.5, 2, False)
    assert name == "smollm2-135m" and "free memory" in reason


def test_free_disk_uses_the_nearest_existing_parent(tmp_path: Path) -> None:
    assert device.free_disk(tmp_path / "not" / "yet" / "there") > 0


def test_doctor_json_parses_into_the_report_fields() -> None:
    result = CliRunner().invoke(app(), ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {f.name for f in fields(device.DeviceReport)}
    assert data["recommended_local"] in catalog.CATALOG
    assert {m["name"] for m in data["models"]} == set(catalog.CATALOG)


def test_doctor_text_names_the_recommendation() -> None:
    result = CliRunner().invoke(app(), ["doctor"])
    assert result.exit_code == 0, result.output
    assert "recommended local model:" in result.stdout
