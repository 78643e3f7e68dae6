"""`tiercode report` from a ledger filled by real runs (the real graph, scripted models):
its numbers agree with the ledger, and its HTML page renders every chart in a real
headless Chromium."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tiercode.agent import config, roi
from tiercode.agent.ledger import Ledger
from tiercode.agent.llm.models import Message, ScriptedModel
from tiercode.agent.replies import reply_from
from tiercode.agent.runner import Runner, Tiers
from tiercode.cli.main import app
from tiercode.tools.errors import ExitCode

KEY = "sk-proj-" + "a1B2c3D4e5F6g7H8i9J0" + "T3BlbkFJ" + "k1L2m3N4o5P6q7R8s9T0"


def _commit(repo: Path) -> None:
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "files"], cwd=repo, check=True)


def _comment(path: str):  # type: ignore[no-untyped-def]
    """A reply function: the plan (one step on `path`), then a comment added to it."""

    def reply(messages: list[Message]) -> str:
        text = messages[-1]["content"]
        if "Repository map" in text:
            return json.dumps({"steps": [{"goal": f"add a comment to {path}", "files": [path]}]})
        shown = re.search(rf"\n{re.escape(path)}\n(`{{3,}})\w*\n(.*?)\1", text, re.DOTALL)
        old = shown[2] if shown else ""
        return reply_from([{"path": path, "search": "", "replace": old + "# reviewed\n"}], 95)

    return reply


def _run(repo: Path, path: str, task: str, **flags: object) -> str:
    local = ScriptedModel([_comment(path)] * 6)
    cloud = ScriptedModel([_comment(path)] * 6, tier="cloud")
    settings, _ = config.load(repo, {"samples": 1, "policy": "cloud", **flags})
    tiers = Tiers(lambda: local, lambda: cloud, "gpt-4.1-mini", simulated=True)
    outcome = Runner(settings, repo, tiers=tiers).start(task)
    assert outcome.exit_code == ExitCode.OK, outcome.message
    return outcome.run_id


@pytest.fixture
def filled_ledger(git_repo: Path) -> Path:
    """Three real runs: all cloud; a sensitive file kept local; a secret redacted."""
    (git_repo / "app.py").write_text("def greet(name):\n    return 'hi ' + name\n")
    (git_repo / ".env").write_text("DB_PASSWORD=hunter2hunter2\n")
    (git_repo / "client.py").write_text(f'OPENAI_KEY = "{KEY}"\n')
    _commit(git_repo)
    _run(git_repo, "app.py", "add a review comment to app.py")
    _run(git_repo, ".env", "add a review comment to .env")
    _run(git_repo, "client.py", "add a review comment to client.py", privacy_mode="redact")
    return git_repo


def test_report_numbers_agree_with_the_ledger(filled_ledger: Path) -> None:
    with Ledger() as ledger:
        report = roi.build(ledger)
        calls, egress = ledger.calls(), ledger.egress()
    assert report.runs == 3 and report.calls == len(calls)
    local, cloud = report.tiers
    assert local.calls + cloud.calls == len(calls) and local.calls > 0 and cloud.calls > 0
    assert cloud.cloud_usd == sum(c.cost_usd for c in calls if c.tier == "cloud")
    assert local.energy_usd == sum(c.cost_usd for c in calls if c.tier == "local")
    assert report.counterfactual_usd == sum(c.counterfactual_usd for c in calls)
    assert report.saving_usd == report.counterfactual_usd - report.actual_usd
    risk = report.risk
    assert risk.sensitive_local_calls >= 1 and risk.unmeasured_calls == 0
    kept = [c for c in calls if c.tier == "local"]
    assert risk.bytes_kept_local == sum(c.prompt_bytes or 0 for c in kept) > 0
    assert 0 < risk.sensitive_bytes_kept <= risk.bytes_kept_local
    assert risk.bytes_sent == sum(e["bytes_sent"] for e in egress) > 0
    assert risk.redactions == sum(e["redactions"] for e in egress) > 0
    kinds = {x.key for x in report.latency if x.group == "kind"}
    assert {"plan", "act"} <= kinds
    assert all(x.p50_s <= x.p95_s for x in report.latency)
    assert report.timeline[-1][1:] == (
        sum(c.cost_usd for c in calls),
        report.counterfactual_usd,
    )
    later = roi.build(Ledger(), since=datetime.now(UTC) + timedelta(days=1))
    assert later.calls == 0 and later.runs == 0


def test_delivery_is_bytes_pulled_and_disk_held(tmp_path: Path) -> None:
    model = tmp_path / "own.gguf"
    model.write_bytes(b"GGUF" + bytes(1_000_000))
    now = datetime.fromtimestamp(model.stat().st_mtime, UTC) + timedelta(days=30.4375)
    prices = roi.DeliveryPrices(Decimal("0.09"), Decimal("0.10"))
    (d,) = roi.delivery([str(model)], None, now, prices)
    assert d.bytes_pulled == 0 and d.disk_bytes == 1_000_004  # the user's own file: disk only
    assert d.held_months == pytest.approx(1.0)
    assert d.usd == pytest.approx(Decimal("0.0001000004"), rel=Decimal("1e-6"))
    (missing,) = roi.delivery([str(tmp_path / "gone.gguf")], None, now, prices)
    assert missing.usd == 0 and missing.note == "not on disk here"


def test_percentile_is_a_measured_value() -> None:
    values = [0.1 * i for i in range(1, 21)]
    assert roi.percentile(values, 50) == values[9]
    assert roi.percentile(values, 95) == values[18]
    assert roi.percentile([], 50) == 0.0


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    pytest.skip("no chromium on PATH: `make test` installs it (apt-get install chromium)")


_PROBE = """<script>
window.addEventListener('load', () => {
  const seen = [...document.images].map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight]);
  document.body.setAttribute('data-probe', JSON.stringify(seen));
});
</script>"""


def rendered_images(page: Path, tmp_path: Path) -> list[list[object]]:
    """Open the page in headless Chromium; each <img> as [alt, complete, width, height]
    as the browser decoded it. The probe runs on a copy, so the report has no script."""
    probed = tmp_path / "probed.html"
    probed.write_text(page.read_text().replace("</body>", _PROBE + "</body>"))
    out = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000",
         "--dump-dom", probed.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    found = re.search(r'data-probe="([^"]*)"', out.stdout)
    assert found, f"the page did not load in chromium: {out.stderr[-2000:]}"
    images: list[list[object]] = json.loads(html.unescape(found[1]))
    return images


def test_report_page_renders_every_chart_in_a_headless_browser(
    filled_ledger: Path, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", "--html", str(page)])
    assert result.exit_code == 0, result.output
    assert "risk reduction" in result.output and "saving against all-cloud" in result.output
    text = page.read_text()
    assert "<script" not in text and "http://" not in text and "https://" not in text
    images = rendered_images(page, tmp_path)
    assert len(images) == 4
    for alt, complete, width, height in images:
        assert complete and isinstance(width, int) and width > 0 and height, alt

    # The check can fail: a chart whose data does not decode is caught.
    broken = tmp_path / "broken.html"
    broken.write_text(re.sub(r"base64,[^\"]+", "base64,AAAA", text, count=1))
    widths = [w for _, _, w, _ in rendered_images(broken, tmp_path)]
    assert widths[0] == 0 and all(isinstance(w, int) and w > 0 for w in widths[1:])


def test_report_json_and_since(filled_ledger: Path) -> None:
    result = CliRunner().invoke(app, ["report", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["calls"] > 0 and Decimal(body["saving_usd"]) == Decimal(
        body["counterfactual_usd"]
    ) - Decimal(body["actual_usd"])
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    result = CliRunner().invoke(app, ["report", "--since", tomorrow, "--json"])
    assert json.loads(result.output)["calls"] == 0
    bad = CliRunner().invoke(app, ["report", "--since", "last tuesday"])
    assert bad.exit_code == 2 and "ISO date" in bad.output


def test_an_older_ledger_migrates_and_its_calls_count_as_unmeasured(tmp_path: Path) -> None:
    import sqlite3

    from tiercode.agent import ledger as ledger_module

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # the schema as it was before prompt sizes
        conn.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
        for name, sql in ledger_module.MIGRATIONS[:2]:
            conn.executescript(sql)
            conn.execute("INSERT INTO _migrations VALUES (?, 'then')", (name,))
        conn.execute(
            "INSERT INTO calls VALUES ('r:1:0:act', 'r', 1, 0, '2026-01-01T00:00:00.000+00:00', "
            "'local', 'm', 'energy', 10, 0, 5, 0.5, 0.1, NULL, 'policy local', '0.000001', 0, 0, "
            "'0.00002')"
        )
    with Ledger(path) as ledger:
        (call,) = ledger.calls()
        report = roi.build(ledger)
    assert call.prompt_bytes is None
    assert report.risk.unmeasured_calls == 1 and report.risk.bytes_kept_local == 0


def test_an_empty_ledger_gives_a_page_without_charts(tmp_path: Path) -> None:
    page = tmp_path / "empty.html"
    result = CliRunner().invoke(app, ["report", "--html", str(page)])
    assert result.exit_code == 0, result.output
    text = page.read_text()
    assert "No model calls recorded in this period." in text and "<img" not in text
