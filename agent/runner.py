"""Start, resume and finish a run: checks the repo, builds the tiers, drives the graph,
and turns every way a run can end into a `RunCompleted` event and an exit code."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver

from tiercode.agent import config, graph, telemetry
from tiercode.agent.config import Settings
from tiercode.agent.context import ModelFactory, RunContext
from tiercode.agent.events import Event, RunCompleted, RunStarted
from tiercode.agent.ledger import Ledger
from tiercode.agent.llm import catalog, providers
from tiercode.agent.llm.cloud import CloudModel
from tiercode.agent.llm.models import ChatModel, LocalModel
from tiercode.agent.llm.standin import StandInServer, standin_price_model
from tiercode.agent.llm.standin_shared import SharedStandIn
from tiercode.agent.pricing import FREE, Price, parse_price, price_for
from tiercode.agent.runlog import RunLog
from tiercode.agent.state import RunStatus, Tier
from tiercode.tools import shell
from tiercode.tools.errors import Cancelled, ConfigError, ExitCode, RepoError, TiercodeError
from tiercode.tools.git import GitRepo

MAX_TASK_CHARS = 20_000
UNCONFINED = "this system has no Landlock sandbox: approving runs it unconfined"


@dataclasses.dataclass
class Tiers:
    """How to build each tier, and what cloud tokens are priced as."""

    local: ModelFactory
    cloud: ModelFactory
    price_model: str
    simulated: bool


def default_tiers(settings: Settings, stack: contextlib.ExitStack, home: Path) -> Tiers:
    """The configured local GGUF, and the configured endpoint or the embedded stand-in;
    `home` is tiercode's, where endpoint quirks and the shared stand-in's files live."""

    # Resolve now, not at the first call: a missing or corrupt model fails before any work.
    local_path = catalog.resolve(settings.local_model, auto_pull=True, progress=_progress)

    def local() -> ChatModel:
        # one name everywhere: the catalog's, not the GGUF's own ("Qwen2.5 Coder 0.5B
        # Instruct AWQ"); a path keeps the GGUF's name
        name = settings.local_model if settings.local_model in catalog.CATALOG else ""
        return LocalModel(
            local_path, n_ctx=settings.local_n_ctx, threads=settings.local_threads, name=name
        )

    if settings.cloud_base_url:

        def cloud() -> ChatModel:
            return CloudModel(
                name=settings.cloud_model,
                base_url=settings.cloud_base_url,
                api_key=os.environ.get(settings.cloud_api_key_env, ""),
                timeout_s=settings.cloud_timeout_s,
                max_retries=settings.cloud_max_retries,
                max_retry_wait_s=settings.cloud_max_retry_wait_s,
                home=home,
                fim_template=settings.cloud_fim,
            )

        return Tiers(local, cloud, price_model(settings), False)

    def standin() -> ChatModel:
        catalog.resolve(settings.cloud_model, auto_pull=True, progress=_progress)
        server: StandInServer | SharedStandIn
        if settings.standin_idle_s > 0:
            server = SharedStandIn(settings.cloud_model, home=home, idle_s=settings.standin_idle_s)
            _progress(f"joining the shared stand-in cloud ({settings.cloud_model}) on 127.0.0.1")
        else:
            server = StandInServer(model=settings.cloud_model)
            _progress(f"starting the stand-in cloud ({settings.cloud_model}) on 127.0.0.1")
        stack.enter_context(server)
        return CloudModel(
            name=server.model,
            base_url=server.base_url,
            api_key="none",
            timeout_s=settings.cloud_timeout_s,
            max_retries=settings.cloud_max_retries,
            schema_in_request=True,
            fim_template=settings.cloud_fim or catalog.fim_prompt(settings.cloud_model),
        )

    return Tiers(local, standin, price_model(settings), True)


def price_model(settings: Settings) -> str:
    """The model whose list price cloud tokens are charged at."""
    if settings.cloud_price_as:
        return settings.cloud_price_as
    return settings.cloud_model if settings.cloud_base_url else standin_price_model()


def cloud_price(settings: Settings, model: str | None = None) -> tuple[str, Price]:
    """The price model and its price: `cloud_price` when set, zero for a local server's
    preset, else the user's `[prices]` or the list price. A `--local-only` run never calls
    the cloud: when its model has no price, its all-cloud counterfactual is priced as the
    stand-in's."""
    model = model or price_model(settings)
    preset = providers.PROVIDERS.get(settings.provider) or providers.for_url(
        settings.cloud_base_url
    )
    if settings.cloud_price:
        return model, parse_price(settings.cloud_price, "cloud_price")
    if preset and preset.local and not settings.cloud_price_as and model not in settings.prices:
        return model, FREE
    try:
        return model, price_for(
            model,
            settings.prices,
            provider=preset.prices_id if preset else None,
            base_url=settings.cloud_base_url or None,
        )
    except ConfigError:
        if settings.local_only:
            return standin_price_model(), price_for(standin_price_model(), settings.prices)
        if settings.cloud_base_url and model == Settings().cloud_model:
            raise ConfigError(
                f"cloud endpoint {settings.cloud_base_url} is set but cloud_model is still the "
                f"stand-in's '{model}': set TIERCODE_CLOUD_MODEL to the model it serves, "
                "or pick a --provider"
            ) from None
        raise


def _progress(message: str) -> None:
    import sys

    print(f"tiercode: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def checkpointer(home: Path) -> Iterator[SqliteSaver]:
    """LangGraph's SQLite checkpointer, next to the ledger, so a run that dies can resume."""
    path = home / "checkpoints.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False)
    try:
        yield SqliteSaver(conn)
    finally:
        conn.close()


def settings_to_json(settings: Settings) -> str:
    return json.dumps(dataclasses.asdict(settings), default=str)


def settings_from_json(text: str) -> Settings:
    data = json.loads(text)
    return Settings(**{k: config._coerce(k, v, "stored run") for k, v in data.items()})


@dataclasses.dataclass
class Outcome:
    run_id: str
    exit_code: ExitCode
    status: RunStatus
    message: str


class Runner:
    """One run of the agent. `tiers` may be injected (scripted models in tests). `home` is
    tiercode's directory for the run's checkpoints, log and (unless given) ledger; None:
    the one `TIERCODE_HOME` names, read here once."""

    def __init__(
        self,
        settings: Settings,
        repo: Path,
        *,
        emit: Callable[[Event], None] = lambda _e: None,
        approve: Callable[[str, str], bool] = lambda _c, _w: False,
        tiers: Tiers | None = None,
        ledger: Ledger | None = None,
        echo: Callable[[str], None] | None = None,
        home: Path | None = None,
    ) -> None:
        """`echo` also gets every prompt and reply the run log records (`--verbose`)."""
        self.settings = settings
        self.repo = repo
        self.emit = emit
        self.approve = approve
        self.tiers = tiers
        self.home = home or config.home()
        self.ledger = ledger or Ledger.at(self.home)
        self.forced: dict[int, Tier] = {}
        self.cancel = threading.Event()
        self.echo = echo

    @functools.cached_property
    def root(self) -> Path:
        """The repository's top level, whichever folder inside it `repo` names.

        Git names every path from the top level, so the file tools must too: a run started
        in `sub/` once edited the user's uncommitted `sub/` file that git called by another
        name. Raises RepoError (via `GitRepo.open`) when `repo` is not in a usable repo.
        """
        return GitRepo.open(self.repo).root.resolve()

    def start(self, task: str, run_id: str | None = None, branch: str = "") -> Outcome:
        """Run `task`; with `branch`, first create that branch at HEAD and work on it (a CI
        job on a detached HEAD names the branch its commits go to)."""
        task = task.strip()
        if not task:
            raise ConfigError("the task is empty: say what to change")
        if len(task) > MAX_TASK_CHARS:
            raise ConfigError(f"the task is {len(task)} characters; the limit is {MAX_TASK_CHARS}")
        git = GitRepo.open(self.root)
        dirty = sorted(git.dirty_paths())
        if dirty and self.settings.on_dirty == "refuse":
            shown = ", ".join(dirty[:5]) + (" …" if len(dirty) > 5 else "")
            raise RepoError(
                f"uncommitted changes in {shown}: commit or stash them, or use --on-dirty keep"
            )
        if branch:
            git.branch(branch)
        run_id = run_id or uuid.uuid4().hex[:12]
        initial = {
            "run_id": run_id,
            "task": task,
            "user_dirty": dirty,
            "records": [],
            "commits": [],
        }
        self.ledger.start_run(
            run_id,
            task,
            str(self.root),
            self.settings.policy,
            settings_to_json(self.settings),
            _model_hashes(self.settings),
        )
        return self._drive(run_id, initial, dirty)

    def resume(self, run_id: str) -> Outcome:
        with checkpointer(self.home) as saver:
            state = graph.build(saver).get_state(_config(run_id)).values
        if not state:
            raise ConfigError(f"no checkpoint for run '{run_id}'")
        if state.get("plan") and not state.get("step"):
            raise ConfigError(
                f"run '{run_id}' was checkpointed by an older tiercode (steps counted from 0); "
                "start the task again"
            )
        if state.get("status") in (RunStatus.DONE, RunStatus.FAILED):
            status = RunStatus(state["status"])
            return Outcome(run_id, _exit_for(status), status, state["message"])
        return self._drive(run_id, None, state.get("user_dirty", []))

    def _drive(self, run_id: str, initial: dict[str, Any] | None, dirty: list[str]) -> Outcome:
        """Run the graph; however it ends (no price, no model, Ctrl-C, a bug), the run gets
        a final status in the ledger instead of staying `running` forever. With `OTEL_*`
        set, the events also become the run's trace and metrics (see `telemetry`)."""
        try:
            with (
                telemetry.traced(self.emit) as emit,
                shell.asking_when_unconfined(lambda cmd: self.approve(cmd, UNCONFINED)),
            ):
                return self._run(run_id, initial, dirty, emit)
        except BaseException as exc:
            status = RunStatus.ERROR if isinstance(exc, TiercodeError) else RunStatus.FAILED
            if isinstance(exc, Cancelled | KeyboardInterrupt):
                status = (
                    RunStatus.CANCELLED if isinstance(exc, Cancelled) else RunStatus.INTERRUPTED
                )
            self.ledger.finish_run(run_id, status, if_running=True)
            raise

    def _run(
        self,
        run_id: str,
        initial: dict[str, Any] | None,
        dirty: list[str],
        emit: Callable[[Event], None],
    ) -> Outcome:
        s = self.settings
        status, message, code = RunStatus.FAILED, "", ExitCode.TASK_FAILED
        verified: list[str] = []
        # Priced before any model is pulled or started: a missing price is a config error.
        price_model, price = cloud_price(s, self.tiers.price_model if self.tiers else None)
        with contextlib.ExitStack() as stack:
            tiers = self.tiers or default_tiers(s, stack, self.home)
            log = RunLog(run_id, self.home, self.echo)
            stack.callback(log.close)
            ctx = RunContext(
                settings=s,
                root=self.root,
                ledger=self.ledger,
                cloud_price=price,
                price_model=price_model,
                simulated=tiers.simulated,
                local_factory=tiers.local,
                cloud_factory=tiers.cloud,
                emit=emit,
                approve=self.approve,
                forced=self.forced,
                cancel=self.cancel,
                user_dirty=frozenset(dirty),
                capture_content=telemetry.capture_content(),
                log=log,
            )
            emit(
                RunStarted(
                    run_id=run_id,
                    task=initial["task"] if initial else "",
                    repo=str(ctx.root),
                    policy=s.policy,
                    local_model=s.local_model,
                    cloud_model=s.cloud_model,
                    cloud_simulated=tiers.simulated,
                )
            )
            saver = stack.enter_context(checkpointer(self.home))
            try:
                final = graph.build(saver).invoke(initial, _config(run_id), context=ctx)
                status, message = RunStatus(final["status"]), final["message"]
                verified = list(dict.fromkeys(final.get("evidence", [])))
                code = _exit_for(status)
            except TiercodeError as exc:
                code = exc.exit_code
                status = {
                    ExitCode.BUDGET_EXHAUSTED: RunStatus.BUDGET,
                    ExitCode.INTERRUPTED: RunStatus.CANCELLED,
                }.get(code, RunStatus.ERROR)
                message = str(exc)
            except KeyboardInterrupt:
                status, message, code = RunStatus.INTERRUPTED, "interrupted", ExitCode.INTERRUPTED
            commits = list(ctx.git.agent_commits(run_id))
        self.ledger.finish_run(run_id, status)
        t = self.ledger.run_totals(run_id)
        emit(
            RunCompleted(
                run_id=run_id,
                status=status,
                exit_code=int(code),
                message=message,
                commits=commits,
                cloud_usd=t.cloud_usd,
                local_energy_usd=t.local_usd,
                counterfactual_usd=t.counterfactual_usd,
                saving_usd=t.saving_usd,
                prompt_tokens=t.prompt_tokens,
                completion_tokens=t.completion_tokens,
                local_calls=t.local_calls,
                cloud_calls=t.cloud_calls,
                simulated=t.simulated,
                verified=verified,
                total_cost_usd=t.cloud_usd + t.local_usd,
                cached_tokens=t.cached_tokens,
            )
        )
        return Outcome(run_id, code, status, message)


def _config(run_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": run_id}, "recursion_limit": 200}


def _exit_for(status: RunStatus) -> ExitCode:
    return ExitCode.OK if status == RunStatus.DONE else ExitCode.TASK_FAILED


def _model_hashes(settings: Settings) -> dict[str, str]:
    return {
        name: catalog.CATALOG[name].sha256
        for name in (settings.local_model, settings.cloud_model)
        if name in catalog.CATALOG
    }
