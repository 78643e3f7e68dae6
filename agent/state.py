"""The typed graph state. It is checkpointed after every node, so it holds only plain
data; models, tools and the ledger live in the run context instead.

`Tier` and `RunStatus` are the words the state, the ledger and the events share. They
are StrEnums, so JSON and SQLite see the same strings as ever; the state itself holds
their `.value`, because LangGraph's checkpoint serializer would store a member as a
typed extension instead of the plain string (and a test checks it never does).
"""

from __future__ import annotations

import operator
from enum import StrEnum
from typing import Annotated, Any, TypedDict


class Tier(StrEnum):
    """Where a model call runs: the in-process GGUF or the OpenAI-compatible endpoint."""

    LOCAL = "local"
    CLOUD = "cloud"


class RunStatus(StrEnum):
    """How a run stands: `running`, then `done` or `failed` (the graph's own ends), or an
    end from outside the graph (`Runner`): budget, cancelled, interrupted or error."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    BUDGET = "budget"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    ERROR = "error"


class Step(TypedDict):
    goal: str
    files: list[str]


class StepRecord(TypedDict):
    """What happened to one attempt at one step; accumulated by a reducer."""

    step: int
    attempt: int
    tier: str
    """A `Tier`'s value."""
    success: bool
    detail: str
    confidence: float | None
    files: list[str]


class Route(TypedDict):
    """A routing decision as checkpointed state (`router.Decision.to_state`)."""

    tier: str
    """A `Tier`'s value."""
    reason: str
    gate: float | None


class AgentState(TypedDict, total=False):
    run_id: str
    task: str
    user_dirty: list[str]
    """Paths the user had changed before the run; never touched, kept across a resume."""
    plan: list[Step]
    step: int
    """The number of the step being worked on, counted from 1 as in every record and
    event; 0 while planning (`current_step` gives the step itself)."""
    attempt: int
    """0 for the first try at a step; each retry or escalation adds one."""
    sample: int
    """0 for a round's first answer; each answer sampled again from the same prompt adds one."""
    messages: list[dict[str, str]]
    """The act prompt of this round: every sample reads the same prompt, so a model reuses
    its cached prefix and pays only for the new answer. Empty: build it afresh."""
    forks: list[str]
    """Beginnings for this round's next samples: its first local answer with one token
    taken otherwise (`forks.forks`); empty when that answer had no runner-ups."""
    decision: Route
    """The tier that takes the current attempt (the one that answered, after a fallback)."""
    action: dict[str, Any]
    """The parsed reply of the last act: edits, command, confidence."""
    feedback: str
    """Why the last attempt failed, shown to the model on the retry."""
    escalation: str
    """Set when the next attempt must go one tier up."""
    test_output: str
    """The last test run's output, when a step failed on it."""
    baseline: dict[str, Any] | None
    """The tests as they ran before any change (a `TestRun`), or None: no tests."""
    candidates: list[str]
    """Files ranked against the task by the repo map, failing-test frames first."""
    suspects: list[str]
    """`path:line:function` frames of code under test in the failing tests' tracebacks."""
    under_test: list[str]
    """Non-test files the failing tests reach (traceback frames, then what they call)."""
    fault_lines: list[str]
    """`path:line` of the code lines the failing tests run, most suspect first
    (`faultloc.rank`): where `infill` writes a line again."""
    setup_lines: list[str]
    """`path:line` of the lines in functions that ran only outside the tests (at import):
    no spectrum ranks them, so `infill` tries them last."""
    infilled: int
    """The last step `infill` has tried (it tries each step once)."""
    acceptance: dict[str, Any] | None
    """The acceptance check written for this run (`verification.AcceptanceCheck`), once."""
    reproduced: bool
    """Set once `reproduction` has run: whether its check showed the reported failure."""
    start_head: str
    """HEAD when the run began: a failed run puts the branch back here."""
    evidence: Annotated[list[str], operator.add]
    """What was verified, step by step; a run is done only with some."""
    records: Annotated[list[StepRecord], operator.add]
    commits: Annotated[list[str], operator.add]
    status: str
    """A `RunStatus`'s value: running, done or failed."""
    message: str


def current_step(state: AgentState) -> Step:
    """The plan step being worked on: the one place a step number becomes a list index."""
    return state["plan"][state["step"] - 1]


def is_last_step(state: AgentState) -> bool:
    return state["step"] == len(state["plan"])


def step_name(step: int) -> str:
    """How logs and progress lines name a step: 0 is the plan call."""
    return "plan" if step == 0 else f"step {step}"
