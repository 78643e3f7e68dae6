"""The three ROI axes of tiering, read from the ledger: cost per inference (cloud price,
local energy, and the model's delivery spread over the calls it served), latency, and
risk reduction (what stayed on the machine, and why).

Money stays Decimal; the counterfactual is the same tokens at the cloud price, as the
ledger records it per call. Delivery prices are assumptions the user can change: a
pulled model costs its bytes once and its disk every month it is kept.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from tiercode.agent.ledger import Ledger
from tiercode.agent.ledger_records import CallRecord
from tiercode.agent.llm import catalog
from tiercode.agent.state import Tier

_GB = Decimal(1_000_000_000)
_MONTH = timedelta(days=30.4375)
SENSITIVE_PREFIX = "sensitive:"
"""How the router words a step kept local for its content (see `router.decide`)."""
LOCAL_ONLY_PREFIX = "--local-only"


@dataclass(frozen=True)
class DeliveryPrices:
    """What moving and keeping a model costs; list prices of a typical cloud by default."""

    usd_per_gb_pulled: Decimal = Decimal("0.09")
    """Transfer, per GB downloaded (internet egress list price)."""
    usd_per_gb_month: Decimal = Decimal("0.08")
    """Disk, per GB kept for a month (block storage list price)."""


@dataclass(frozen=True)
class ModelDelivery:
    model: str
    bytes_pulled: int
    disk_bytes: int
    held_months: float
    usd: Decimal
    note: str


@dataclass(frozen=True)
class TierCost:
    """One tier's cost in the period, and per inference (call)."""

    tier: Tier
    calls: int
    cloud_usd: Decimal
    energy_usd: Decimal
    delivery_usd: Decimal

    @property
    def total_usd(self) -> Decimal:
        return self.cloud_usd + self.energy_usd + self.delivery_usd

    @property
    def per_inference_usd(self) -> Decimal:
        return self.total_usd / self.calls if self.calls else Decimal(0)


@dataclass(frozen=True)
class Latency:
    """Latency percentiles of one group: a tier, or a step kind (plan, act, check)."""

    group: str
    key: str
    calls: int
    p50_s: float
    p95_s: float
    ttft_p50_s: float | None


@dataclass(frozen=True)
class Risk:
    """What tiering kept off the network. Bytes are prompt bytes as sent; calls recorded
    before the ledger kept them are counted in `unmeasured_calls`."""

    local_calls: int
    cloud_calls: int
    sensitive_local_calls: int
    local_only_calls: int
    bytes_kept_local: int
    sensitive_bytes_kept: int
    unmeasured_calls: int
    bytes_sent: int
    redactions: int
    redacted_calls: int


@dataclass(frozen=True)
class Report:
    since: str | None
    until: str
    runs: int
    calls: int
    simulated: bool
    tiers: list[TierCost]
    counterfactual_usd: Decimal
    latency: list[Latency]
    risk: Risk
    delivery: list[ModelDelivery]
    prices: DeliveryPrices
    timeline: list[tuple[str, Decimal, Decimal]] = field(default_factory=list)
    """(time, cumulative spend, cumulative all-cloud counterfactual) after each call."""

    @property
    def actual_usd(self) -> Decimal:
        return sum((t.total_usd for t in self.tiers), Decimal(0))

    @property
    def saving_usd(self) -> Decimal:
        """All-cloud counterfactual minus what was spent, delivery included."""
        return self.counterfactual_usd - self.actual_usd

    @property
    def all_cloud_per_inference_usd(self) -> Decimal:
        return self.counterfactual_usd / self.calls if self.calls else Decimal(0)

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["tiers"] = [
            {**asdict(t), "total_usd": t.total_usd, "per_inference_usd": t.per_inference_usd}
            for t in self.tiers
        ]
        body.update(
            actual_usd=self.actual_usd,
            saving_usd=self.saving_usd,
            all_cloud_per_inference_usd=self.all_cloud_per_inference_usd,
        )
        plain: dict[str, Any] = json.loads(json.dumps(body, default=str))
        return plain


def kind(call: CallRecord) -> str:
    """The step kind a call served, the last part of its id (`run:step:attempt:kind`)."""
    return call.call_id.rsplit(":", 1)[-1]


def percentile(values: Iterable[float], p: float) -> float:
    """Nearest-rank percentile: always a latency that was really measured."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _latency(group: str, key: str, calls: list[CallRecord]) -> Latency:
    ttfts = [c.ttft_s for c in calls if c.ttft_s is not None]
    return Latency(
        group,
        key,
        len(calls),
        percentile((c.latency_s for c in calls), 50),
        percentile((c.latency_s for c in calls), 95),
        percentile(ttfts, 50) if ttfts else None,
    )


def _risk(calls: list[CallRecord], egress: list[dict[str, Any]]) -> Risk:
    local = [c for c in calls if c.tier == Tier.LOCAL]
    sensitive = [c for c in local if c.route_reason.startswith(SENSITIVE_PREFIX)]
    return Risk(
        local_calls=len(local),
        cloud_calls=len(calls) - len(local),
        sensitive_local_calls=len(sensitive),
        local_only_calls=sum(c.route_reason.startswith(LOCAL_ONLY_PREFIX) for c in local),
        bytes_kept_local=sum(c.prompt_bytes or 0 for c in local),
        sensitive_bytes_kept=sum(c.prompt_bytes or 0 for c in sensitive),
        unmeasured_calls=sum(c.prompt_bytes is None for c in calls),
        bytes_sent=sum(int(e["bytes_sent"]) for e in egress),
        redactions=sum(int(e["redactions"]) for e in egress),
        redacted_calls=sum(int(e["redactions"]) > 0 for e in egress),
    )


def _model_file(name: str) -> Path:
    if name in catalog.CATALOG:
        return catalog.models_dir() / catalog.CATALOG[name].filename
    return Path(name).expanduser()


def delivery(
    models: Iterable[str], since: datetime | None, now: datetime, prices: DeliveryPrices
) -> list[ModelDelivery]:
    """Each local model's delivery cost within the period: its download if it was pulled
    then (a catalog model's bytes), and its disk for the months of the period it was kept.
    The file's time stands for when it was pulled."""
    out = []
    for name in sorted(set(models)):
        path = _model_file(name)
        if not path.is_file():
            out.append(ModelDelivery(name, 0, 0, 0.0, Decimal(0), "not on disk here"))
            continue
        disk = path.stat().st_size
        pulled_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        held_from = max(pulled_at, since) if since else pulled_at
        months = max(0.0, (now - held_from) / _MONTH)
        in_period = since is None or pulled_at >= since
        pulled = catalog.CATALOG[name].size if name in catalog.CATALOG and in_period else 0
        usd = Decimal(pulled) / _GB * prices.usd_per_gb_pulled + Decimal(
            disk
        ) / _GB * prices.usd_per_gb_month * Decimal(str(round(months, 6)))
        note = "pulled from the catalog" if name in catalog.CATALOG else "your own file"
        out.append(ModelDelivery(name, pulled, disk, round(months, 4), usd, note))
    return out


def _local_models(ledger: Ledger, run_ids: Iterable[str]) -> list[str]:
    names = []
    for run_id in run_ids:
        row = ledger.run(run_id)
        if row:
            names.append(str(json.loads(row["settings_json"]).get("local_model", "")))
    return [n for n in names if n]


def build(
    ledger: Ledger,
    since: datetime | None = None,
    prices: DeliveryPrices | None = None,
    now: datetime | None = None,
) -> Report:
    """The report for calls at or after `since` (all of them without it)."""
    prices = prices or DeliveryPrices()
    now = now or datetime.now(UTC)
    floor = since.isoformat(timespec="milliseconds") if since else ""
    calls = [c for c in ledger.calls() if str(c.ts) >= floor]
    egress = [e for e in ledger.egress() if str(e["ts"]) >= floor]
    local = [c for c in calls if c.tier == Tier.LOCAL]
    cloud = [c for c in calls if c.tier != Tier.LOCAL]
    local_runs = dict.fromkeys(c.run_id for c in local)
    shipped = delivery(_local_models(ledger, local_runs), since, now, prices)
    tiers = [
        TierCost(
            Tier.LOCAL,
            len(local),
            Decimal(0),
            sum((c.cost_usd for c in local), Decimal(0)),
            sum((d.usd for d in shipped), Decimal(0)),
        ),
        TierCost(
            Tier.CLOUD,
            len(cloud),
            sum((c.cost_usd for c in cloud), Decimal(0)),
            Decimal(0),
            Decimal(0),
        ),
    ]
    latency = [_latency("tier", t, [c for c in calls if c.tier == t]) for t in Tier]
    kinds = dict.fromkeys(kind(c) for c in calls)
    latency += [_latency("kind", k, [c for c in calls if kind(c) == k]) for k in kinds]
    timeline, spent, counterfactual = [], Decimal(0), Decimal(0)
    for c in calls:
        spent, counterfactual = spent + c.cost_usd, counterfactual + c.counterfactual_usd
        timeline.append((str(c.ts), spent, counterfactual))
    return Report(
        since=floor or None,
        until=now.isoformat(timespec="seconds"),
        runs=len(dict.fromkeys(c.run_id for c in calls)),
        calls=len(calls),
        simulated=any(c.simulated for c in calls),
        tiers=tiers,
        counterfactual_usd=counterfactual,
        latency=[x for x in latency if x.calls],
        risk=_risk(calls, egress),
        delivery=shipped,
        prices=prices,
        timeline=timeline,
    )
