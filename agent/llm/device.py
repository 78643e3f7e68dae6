"""What this machine can run: RAM, cores, CPU flags, GPU offload, free disk, and which
catalog model to use as the local tier.

`tiercode doctor` prints it, and `tiercode setup` pulls what it recommends: the largest
model that fits in RAM. The smaller one answers faster, but on real repository tasks
only the larger one fixed bugs as the local tier; a fast wrong answer saves nothing.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from tiercode.agent.llm import catalog

GB = 1024**3
HEADROOM_GB = 1.0
"""RAM left for the OS, the agent and the stand-in on top of twice the model's own."""

LOCAL_CANDIDATES = ("qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b", "smollm2-135m")
"""Catalog models usable as the local tier, largest first."""

_X86_FLAGS = {
    "avx": "avx",
    "avx1_0": "avx",
    "avx2": "avx2",
    "avx512f": "avx512f",
    "avx512bw": "avx512bw",
    "avx512vl": "avx512vl",
    "avx512_vnni": "avx512_vnni",
    "avx512_bf16": "avx512_bf16",
    "avx_vnni": "avx_vnni",
    "amx_tile": "amx_tile",
    "fma": "fma",
    "f16c": "f16c",
    "sse3": "sse3",
    "pni": "sse3",
    "ssse3": "ssse3",
    "sse4_1": "sse4_1",
    "sse4_2": "sse4_2",
}
_ARM_FLAGS = {
    "neon": "neon",
    "asimd": "neon",
    "asimdhp": "fp16",
    "fphp": "fp16",
    "asimddp": "dotprod",
    "i8mm": "i8mm",
    "sve": "sve",
    "sve2": "sve2",
}
_MAC_SYSCTL = {
    "hw.optional.neon": "neon",
    "hw.optional.AdvSIMD": "neon",
    "hw.optional.arm.FEAT_FP16": "fp16",
    "hw.optional.arm.FEAT_DotProd": "dotprod",
    "hw.optional.arm.FEAT_I8MM": "i8mm",
}


@dataclass
class ModelFit:
    name: str
    title: str
    ram_gb: float
    fits: bool
    """Available RAM covers twice the model's resident size plus headroom."""
    pulled: bool
    role: str


@dataclass
class DeviceReport:
    total_ram_gb: float
    available_ram_gb: float
    cores_physical: int
    cores_logical: int
    cpu_flags: list[str]
    gpu_offload: bool
    """llama-cpp-python was built with a GPU backend (CUDA, Metal, Vulkan...)."""
    gpus: list[str]
    free_disk_gb: float
    """Free space where models are pulled to (or its nearest existing parent)."""
    models: list[ModelFit]
    recommended_local: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def detect() -> DeviceReport:
    """Measure this machine and recommend a local model; never raises for a missing probe."""
    mem = psutil.virtual_memory()
    available = mem.available / GB
    physical = psutil.cpu_count(logical=False) or psutil.cpu_count() or 1
    offload = gpu_offload()
    fits = [
        ModelFit(
            name=m.name,
            title=m.title,
            ram_gb=m.ram_gb,
            fits=fits_in(m.ram_gb, available),
            pulled=catalog.installed_path(m.name) is not None,
            role=m.role,
        )
        for m in catalog.CATALOG.values()
    ]
    name, reason = recommend(available, physical, offload)
    return DeviceReport(
        total_ram_gb=round(mem.total / GB, 2),
        available_ram_gb=round(available, 2),
        cores_physical=physical,
        cores_logical=psutil.cpu_count() or physical,
        cpu_flags=cpu_flags(),
        gpu_offload=offload,
        gpus=gpus(),
        free_disk_gb=round(free_disk(catalog.models_dir()) / GB, 2),
        models=fits,
        recommended_local=name,
        reason=reason,
    )


def fits_in(ram_gb: float, available_gb: float) -> bool:
    return available_gb >= 2 * ram_gb + HEADROOM_GB


def recommend(available_gb: float, cores_physical: int, offload: bool) -> tuple[str, str]:
    """The local-tier model for this much RAM and compute, and why, in one sentence."""
    big, default, tiny = (catalog.CATALOG[n] for n in LOCAL_CANDIDATES)
    compute = "GPU offload" if offload else f"{cores_physical} physical cores"
    if fits_in(big.ram_gb, available_gb):
        # Measured on held-out real-code tasks: as the local tier the 1.5B fixes bugs
        # where the 0.5B fixed none, so it pays for its slower steps on any core count.
        return big.name, (
            f"{big.name} fits {available_gb:.1f} GB available RAM; on real repository tasks "
            f"it fixes bugs that {default.name} does not, slower per step on {compute}"
        )
    if fits_in(default.ram_gb, available_gb):
        return default.name, (
            f"{default.name} (the default) fits {available_gb:.1f} GB available RAM; "
            f"{big.name} needs {2 * big.ram_gb + HEADROOM_GB:.1f} GB available"
        )
    if fits_in(tiny.ram_gb, available_gb):
        return tiny.name, (
            f"only {available_gb:.1f} GB RAM available: {default.name} needs "
            f"{2 * default.ram_gb + HEADROOM_GB:.1f} GB, so the tiny {tiny.name} is used"
        )
    return tiny.name, (
        f"only {available_gb:.1f} GB RAM available, less than even {tiny.name} needs "
        f"({2 * tiny.ram_gb + HEADROOM_GB:.1f} GB): free memory or use the cloud tier"
    )


def gpu_offload() -> bool:
    try:
        import llama_cpp

        return bool(llama_cpp.llama_supports_gpu_offload())
    except (ImportError, OSError, AttributeError):
        return False


def cpu_flags() -> list[str]:
    """The SIMD features that decide llama.cpp's speed, under one name per feature."""
    system = platform.system()
    found: set[str] = set()
    if system == "Linux":
        try:
            text = Path("/proc/cpuinfo").read_text()
        except OSError:
            return []
        for line in text.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("flags", "Features"):
                for flag in value.split():
                    if mapped := _X86_FLAGS.get(flag) or _ARM_FLAGS.get(flag):
                        found.add(mapped)
                break
    elif system == "Darwin":
        if platform.machine() == "arm64":
            for key, flag in _MAC_SYSCTL.items():
                if _run(["sysctl", "-n", key]) == "1":
                    found.add(flag)
        else:
            text = _run(["sysctl", "-n", "machdep.cpu.features", "machdep.cpu.leaf7_features"])
            for flag in text.lower().replace(".", "_").split():
                if mapped := _X86_FLAGS.get(flag):
                    found.add(mapped)
    return sorted(found)


def gpus() -> list[str]:
    """GPUs llama.cpp could use: NVIDIA cards via nvidia-smi, and Metal on Apple silicon."""
    found: list[str] = []
    if shutil.which("nvidia-smi"):
        out = _run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"], timeout=5
        )
        found += [line.strip() for line in out.splitlines() if line.strip()]
    if platform.system() == "Darwin" and platform.machine() == "arm64":
        chip = _run(["sysctl", "-n", "machdep.cpu.brand_string"]) or "Apple silicon"
        found.append(f"Metal ({chip})")
    return found


def free_disk(path: Path) -> int:
    """Free bytes on the filesystem that holds `path`, or would once it is created."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return shutil.disk_usage(candidate).free
    return 0


def _run(cmd: list[str], timeout: float = 3.0) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def usable_cores() -> int:
    """Physical cores this process may run on: hyperthread siblings add little to
    llama.cpp's matrix work, and a CPU affinity mask or cpuset can allow fewer."""
    cores = psutil.cpu_count(logical=False) or psutil.cpu_count() or 1
    with contextlib.suppress(AttributeError, OSError):  # no affinity outside Linux
        cores = min(cores, len(os.sched_getaffinity(0)))
    return max(1, cores)


def pick_threads(cores: int, busy_others: float) -> int:
    """llama.cpp threads for `cores` usable cores while `busy_others` CPU-bound tasks of
    other programs want a core: one thread per free core, at least one.

    llama.cpp's threads wait for each other at every layer, so one descheduled thread
    stalls them all: on 2 cores with one other busy process, 2 threads ran at 8.3 tok/s
    and 1 thread at 19.8. Too few threads costs at most the free cores' share; too many
    costs more, so a fractional load rounds to the nearer whole task."""
    return max(1, min(cores, cores - int(busy_others + 0.5)))


def auto_threads() -> int:
    """The thread count for a llama.cpp call starting now (a few milliseconds at most)."""
    return pick_threads(usable_cores(), busy_other_tasks())


_SAMPLES = 4
_SAMPLE_GAP_S = 0.0005
_SELF = psutil.Process()


def busy_other_tasks() -> float:
    """How many tasks of other processes are running or waiting for a CPU right now.

    On Linux: the kernel's count of runnable tasks (field 4 of /proc/loadavg), less this
    process's own runnable threads, the minimum of up to four samples 0.5 ms apart (about
    2.5 ms; one sample when it shows none). A CPU-bound process is runnable in every
    sample; a short-lived one (a `git status`, a shell prompt) rarely in all of them.
    `psutil.cpu_percent` cannot answer in that time: the kernel's CPU counters tick every
    4-10 ms. The count is system-wide: in a container that does not virtualise
    /proc/loadavg it includes the host's tasks, which errs towards fewer threads.
    Elsewhere: the 1-minute load average less this process's own CPU use since the last
    call, an estimate that lags by up to a minute."""
    counts = []
    for i in range(_SAMPLES):
        running = _runnable_tasks()
        if running is None:
            break
        counts.append(max(0, running - _own_runnable_threads()))
        if counts[-1] == 0:  # cannot go lower
            break
        if i + 1 < _SAMPLES:
            time.sleep(_SAMPLE_GAP_S)
    if counts:
        return float(min(counts))
    try:
        load = float(psutil.getloadavg()[0])
    except (AttributeError, OSError):
        return 0.0
    return max(0.0, load - float(_SELF.cpu_percent(interval=None)) / 100)


def _runnable_tasks() -> int | None:
    """System-wide runnable tasks (including the one reading), or None without /proc."""
    try:
        with open("/proc/loadavg") as f:
            return int(f.read().split()[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return None


def _own_runnable_threads() -> int:
    """This process's threads in state R, at least 1: the thread that is reading."""
    n = 0
    for stat in Path("/proc/self/task").glob("*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the thread ended
            continue
        n += text[text.rindex(")") + 2 : text.rindex(")") + 3] == "R"
    return max(1, n)
