"""RouteLLM's router metrics and the cross-validated threshold, on hand-computed cases."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal

import pytest

from tiercode.evals import crossval, metrics, report, routing
from tiercode.evals.records import Call, PolicyOutcome, TaskResult, task_to_dict
from tiercode.evals.routing import Case, Point


def case(local: bool, cloud: bool, score: float, name: str = "") -> Case:
    return Case(name or f"t{score}", local, cloud, score, Decimal("0.01"))


# Local passes 1 of 4, cloud 3 of 4: a gap of half the tasks. Sorted by score, the two
# tasks only the cloud solves come first, then one neither solves, then one both solve.
FOUR = [case(True, True, 0.9), case(False, True, 0.1), case(False, True, 0.2),
        case(False, False, 0.8)]  # fmt: skip


def test_pgr_of_the_strong_router_is_one_and_of_the_weak_zero() -> None:
    assert routing.pgr(0.75, 0.25, 0.75) == 1.0
    assert routing.pgr(0.25, 0.25, 0.75) == 0.0
    assert routing.pgr(0.5, 0.25, 0.75) == 0.5
    assert routing.pgr(0.5, 0.5, 0.5) is None  # no gap, nothing to recover


def test_curve_apgr_and_cpt_on_a_hand_built_case() -> None:
    points = routing.curve(FOUR)
    assert points == [Point(0.0, 0.25), Point(0.25, 0.5), Point(0.5, 0.75), Point(0.75, 0.75),
                      Point(1.0, 0.75)]  # fmt: skip
    # PGR 0, .5, 1, 1, 1: trapezoids .0625 + .1875 + .25 + .25
    assert routing.apgr(points, 0.25, 0.75) == pytest.approx(0.75)
    assert routing.cpt(points, 0.25, 0.75, 0.5) == pytest.approx(0.25)
    assert routing.cpt(points, 0.25, 0.75, 0.8) == pytest.approx(0.25 + 0.3 / 0.5 * 0.25)
    assert routing.cpt(points, 0.25, 0.75, 1.1) is None
    assert routing.apgr(points, 0.75, 0.75) is None


def test_tied_scores_move_together_and_a_constant_score_is_the_random_router() -> None:
    flat = [Case(c.task_id, c.local, c.cloud, 0.5) for c in FOUR]
    assert routing.curve(flat) == [Point(0.0, 0.25), Point(1.0, 0.75)]
    assert routing.apgr(routing.curve(flat), 0.25, 0.75) == pytest.approx(0.5)


def test_the_random_router_is_the_exact_expectation_over_every_choice() -> None:
    found = [case(True, True, 0.1), case(False, True, 0.2), case(True, False, 0.3),
             case(False, False, 0.4), case(False, True, 0.5), case(True, True, 0.6)]  # fmt: skip
    n = len(found)
    for k, point in enumerate(routing.random_curve(found)):
        outcomes = [
            sum(c.cloud if i in sent else c.local for i, c in enumerate(found)) / n
            for sent in map(set, itertools.combinations(range(n), k))
        ]
        assert point == Point(k / n, pytest.approx(sum(outcomes) / len(outcomes)))
    points, local, cloud = routing.random_curve(found), 3 / 6, 4 / 6
    assert routing.apgr(points, local, cloud) == pytest.approx(0.5)
    assert routing.cpt(points, local, cloud, 0.5) == pytest.approx(0.5)
    assert routing.cpt(points, local, cloud, 0.8) == pytest.approx(0.8)


def test_the_oracle_beats_random_and_a_backwards_score_loses_to_it() -> None:
    found = [case(False, True, 0.1 * i) for i in range(1, 4)]
    found += [case(True, True, 0.5 + 0.1 * i) for i in range(4)]
    found += [case(False, False, 0.05)]
    local, cloud = 4 / 8, 7 / 8
    best = routing.apgr(routing.curve(routing.oracle(found)), local, cloud)
    backwards = [Case(c.task_id, c.local, c.cloud, -c.score) for c in found]
    worst = routing.apgr(routing.curve(backwards), local, cloud)
    assert best is not None and worst is not None
    assert best > 0.5 > worst
    # the oracle recovers the whole gap once the three cloud-only tasks are sent: 3 of 8
    assert routing.cpt(routing.curve(routing.oracle(found)), local, cloud, 1.0) == 3 / 8
    assert best == pytest.approx(1 - 3 / 8 / 2)


def test_the_fit_rule_takes_the_cheapest_threshold_that_reaches_cloud() -> None:
    train = [case(False, True, 0.2), case(False, True, 0.4), case(True, True, 0.7),
             case(True, True, 0.9)]  # fmt: skip
    assert crossval.fit(train) == pytest.approx(0.55)
    assert crossval.fit([case(True, False, 0.3), case(True, True, 0.6)]) == -math.inf
    assert crossval.fit([case(True, True, 0.3), case(False, True, 0.6)]) == math.inf


def test_each_task_is_scored_once_by_a_threshold_fit_without_it() -> None:
    low = [case(False, True, 0.1 + 0.01 * i, f"low{i}") for i in range(10)]
    high = [case(True, True, 0.8 + 0.01 * i, f"high{i}") for i in range(10)]
    held = crossval.cross_validate(low + high, k=5, seed=3)
    assert sorted(h.case.task_id for h in held) == sorted(c.task_id for c in low + high)
    assert all(h.passed for h in held) and sum(h.to_cloud for h in held) == 10


def test_a_win_seen_once_is_not_learned_from_the_other_tasks() -> None:
    """In-sample, a threshold just above the one cloud-only task scores 100 %; held out,
    no other task shows that low scores fail, so that task stays local and fails."""
    found = [case(False, True, 0.1)] + [case(True, True, 0.1 * i) for i in range(2, 11)]
    assert max(p.pass_rate for p in routing.curve(found)) == 1.0
    summary = crossval.summary(found, k=len(found))
    assert summary is not None
    assert summary["pass_rate"].value == pytest.approx(0.9)
    assert summary["cloud_share"].value == 0.0
    assert summary["difference"].value == pytest.approx(-0.1)


def test_the_bootstrap_is_seeded_and_brackets_its_estimate() -> None:
    found = [case(i % 3 == 0, i % 2 == 0, (i * 37 % 20) / 20, f"t{i}") for i in range(30)]
    a, b = crossval.summary(found), crossval.summary(found)
    assert a == b and a is not None
    for name in crossval.STATS:
        e = a[name]
        assert e.low <= e.value <= e.high, name
    assert a["n"] == 30 and a["folds"] == 5 and a["cloud_usd"] == Decimal("0.30")
    assert crossval.summary(found[:1]) is None


def _run(n: int, policies: tuple[str, ...], status: str = "complete") -> dict[str, object]:
    """A results file of n tasks: local passes every third, cloud every other, and `auto`
    is the cascade at 0.5 over the score i/n."""

    def call(tier: str) -> Call:
        return Call(tier, tier, 10, 10, 1.0, Decimal("0.01") * (tier == "cloud"), Decimal("0.01"))

    def outcome(name: str, i: int) -> PolicyOutcome:
        local, cloud, score = i % 3 == 0, i % 2 == 0, i / n
        if name == "local":
            return PolicyOutcome(name, local, [call("local")], 1.0, confidence=[(score, local)])
        if name == "cloud":
            return PolicyOutcome(name, cloud, [call("cloud")], 1.0)
        up = score < float(name[5:])
        calls = [call("local"), *([call("cloud")] if up else [])]
        return PolicyOutcome(name, cloud if up else local, calls, 1.0, int(up),
                             confidence=[(score, local)])  # fmt: skip

    results = [TaskResult(f"t{i}", {p: outcome(p, i) for p in policies}) for i in range(n)]
    return {
        "suite": "repo", "run_id": "r", "tasks_done": n, "tasks_total": n, "status": status,
        "price_model": "gpt-4.1-mini", "simulated": True, "cascade": "",
        "policies": metrics.summarize_all(results, list(policies)),
        "tasks": [task_to_dict(r) for r in results],
    }  # fmt: skip


def test_the_verdict_uses_the_cross_validated_threshold_and_only_on_enough_tasks() -> None:
    full = report.markdown(_run(30, ("local", "cloud", "auto:0.5")))
    assert "Verdict, threshold cross-validated: auto " in full
    assert "Cheapest auto policy" not in full and "5-fold cross-validation (30 tasks)" in full
    assert "No verdict" not in full
    for small in (_run(12, ("local", "cloud", "auto:0.5")),
                  _run(30, ("local", "cloud", "auto:0.5"), status="partial")):  # fmt: skip
        text = report.markdown(small)
        assert "No verdict on auto against cloud" in text and "Verdict," not in text
        assert "cross-validation" in text  # the figures are shown, the verdict is not


def test_without_a_local_baseline_the_report_says_why_and_marks_a_pick_in_sample() -> None:
    text = report.markdown(_run(30, ("cloud", "auto:0.3", "auto:0.6")))
    assert "need the local and cloud baselines on the same tasks: this run has no local" in text
    assert "(picked among these on the same tasks: in-sample)" in text
    assert "cross-validation" not in text
    one = report.markdown(_run(30, ("cloud", "auto:0.6")))
    assert "in-sample" not in one
