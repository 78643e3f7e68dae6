"""The top lines: what this machine is, and which model stands behind each tier.

The device profile explains the latency a user will see (on two cores the local model
reads prompts slowly); the tier line says what a cloud dollar buys and whether the
price is a simulated one.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from tiercode.agent.llm.device import DeviceReport
from tiercode.agent.state import Tier
from tiercode.tui.format import TIER_STYLES

SIMD_ORDER = (
    "amx_tile",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "avx_vnni",
    "avx2",
    "avx",
    "fma",
    "f16c",
    "sve2",
    "sve",
    "i8mm",
    "dotprod",
    "fp16",
    "neon",
)
"""The flags that decide llama.cpp's speed, most telling first."""
SIMD_SHOWN = 4


def simd_summary(flags: list[str]) -> str:
    """A few telling SIMD flags and how many more there are, e.g. `avx512f avx2 fma +7`."""
    known = [f for f in SIMD_ORDER if f in flags]
    shown = known[:SIMD_SHOWN]
    rest = len(flags) - len(shown)
    return " ".join(shown) + (f" +{rest}" if rest > 0 else "") if flags else "no SIMD flags seen"


@dataclass
class TierLabels:
    """What the header says about the tiers; the run's first event makes it exact."""

    local_model: str
    cloud_model: str
    price_model: str
    simulated: bool
    policy: str
    budget: str


class DeviceHeader(Static):
    DEFAULT_CSS = """
    DeviceHeader { height: auto; padding: 0 1; background: $panel; }
    """

    def __init__(self, device: DeviceReport, tiers: TierLabels, repo_name: str) -> None:
        super().__init__(id="device")
        self.device = device
        self.tiers = tiers
        self.repo_name = repo_name

    def on_mount(self) -> None:
        self.update(self.render_text())

    def set_tiers(self, local_model: str, cloud_model: str, simulated: bool) -> None:
        self.tiers.local_model, self.tiers.cloud_model = local_model, cloud_model
        self.tiers.simulated = simulated
        self.update(self.render_text())

    def render_text(self) -> Text:
        d, t = self.device, self.tiers
        gpu = ", ".join(d.gpus) if d.gpus else ("GPU offload" if d.gpu_offload else "CPU only")
        text = Text.assemble(
            (f"{self.repo_name} ", "bold"),
            f"· {d.cores_physical} cores ({d.cores_logical} threads) "
            f"· {d.total_ram_gb:.1f} GB RAM ({d.available_ram_gb:.1f} free) "
            f"· {simd_summary(d.cpu_flags)} · {gpu}\n",
            ("local ", TIER_STYLES[Tier.LOCAL]),
            t.local_model,
            ("   cloud ", TIER_STYLES[Tier.CLOUD]),
            t.cloud_model,
        )
        if t.simulated:
            text.append(f" (simulated price: {t.price_model})", style="yellow")
        elif t.price_model and t.price_model != t.cloud_model:
            text.append(f" (priced as {t.price_model})", style="dim")
        text.append(f"   policy {t.policy} · budget {t.budget}", style="dim")
        return text
