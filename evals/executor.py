"""Where tasks run: in this process, in a local process pool, or on a Ray cluster.

Each worker builds its own `Workbench` (its own models) from the picklable `TierSpec`
once, then solves tasks one at a time. All three executors return the same
`TaskResult`s, handed to `on_result` as they finish so a long run keeps what it has.
A task that fails for a reason of its own is recorded as failed; a setup problem that
would fail every task (a missing model, bad config) ends the run with its message.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import re
import socket
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing import util as mp_util
from pathlib import Path
from typing import Any

from tiercode.evals.policy import Policy
from tiercode.evals.records import PolicyOutcome, TaskResult
from tiercode.evals.tiers import TierSpec, Workbench
from tiercode.tools.errors import ConfigError, ModelUnavailable, TiercodeError

EXECUTORS = ("local", "ray")
OnResult = Callable[[TaskResult], None]
FATAL = (ConfigError, ModelUnavailable)


def suite_module(name: str) -> Any:
    """The suite's module: `load(limit, seed)`, `solve(bench, task, policies)`, `NAME`."""
    modules = {
        "humaneval": "tiercode.evals.humaneval",
        "repo": "tiercode.evals.repo",
        "realcode": "tiercode.evals.realcode_suite",
    }
    if name not in modules:
        raise ConfigError(f"--suite: unknown suite '{name}' (use {', '.join(modules)})")
    return importlib.import_module(modules[name])


def task_id(task: Any) -> str:
    return str(getattr(task, "task_id", getattr(task, "name", task)))


def solve_one(bench: Workbench, suite: str, task: Any, policies: Sequence[Policy]) -> TaskResult:
    """Solve one task; anything but a setup failure becomes a failed, explained result."""
    try:
        result: TaskResult = suite_module(suite).solve(bench, task, list(policies))
        return result
    except FATAL:
        raise
    except Exception as exc:  # a bug or a crash in one task must not lose the whole run
        detail = "".join(traceback.format_exception_only(exc)).strip()
        outcomes = {p.name: PolicyOutcome(p.name, False, [], 0.0) for p in policies}
        return TaskResult(task_id(task), outcomes, {"traceback": traceback.format_exc()[-2000:]},
                          error=detail)  # fmt: skip


def run_inline(
    spec: TierSpec, suite: str, tasks: Sequence[Any], policies: Sequence[Policy],
    on_result: OnResult,
) -> None:  # fmt: skip
    bench = Workbench(spec)
    try:
        for task in tasks:
            on_result(solve_one(bench, suite, task, policies))
    finally:
        bench.close()


_BENCH: Workbench | None = None


def _init_worker(spec: TierSpec) -> None:
    global _BENCH
    _BENCH = Workbench(spec)
    # Pool workers leave through multiprocessing's exit path, which runs these
    # finalizers (not atexit): the worker's stand-in server is stopped with it.
    mp_util.Finalize(None, _BENCH.close, exitpriority=10)


def _work(suite: str, task: Any, policies: Sequence[Policy]) -> TaskResult:
    assert _BENCH is not None, "worker not initialised"
    return solve_one(_BENCH, suite, task, policies)


def run_pool(
    spec: TierSpec, suite: str, tasks: Sequence[Any], policies: Sequence[Policy],
    on_result: OnResult, workers: int,
) -> None:  # fmt: skip
    """A spawn-started pool: workers never inherit llama.cpp threads from this process."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                             initargs=(spec,)) as pool:  # fmt: skip
        pending: set[Future[TaskResult]] = {
            pool.submit(_work, suite, t, list(policies)) for t in tasks
        }
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    on_result(future.result())
        except BaseException:
            for future in pending:
                future.cancel()
            raise


SHIPPED = ("agent", "evals", "tools")
"""What a Ray worker imports: the evals and the layers under them (pyproject.toml's import
contract), never the CLI or the TUI."""
SHIP_EXCLUDES = ["__pycache__", "*.pyc", "evals/results"]
DEATH_GRACE_S = 1.0
"""Ray forwards worker output every 0.1 s or so: time for a dead worker's last lines."""


class WorkerFailed(TiercodeError):
    """A Ray worker failed outside any one task: it could not start, or it died."""


@contextlib.contextmanager
def shipped_tree() -> Iterator[dict[str, Any]]:
    """A `runtime_env` that ships this tree's code to the workers of a cluster joined by
    address, so they run what this process runs, uncommitted edits included.

    The packages import as `tiercode.agent`, … but live in agent/, …, so a `working_dir`
    of the repository would not make them importable (it has no tiercode/ folder): they
    go as one `py_modules` entry, a tiercode/ folder of links to them, which the workers
    import ahead of any tiercode installed there. Ray zips it within `ray.init`; the
    links go after. Each node still needs tiercode's dependencies, the models (`tiercode
    models pull`) and any cloud key in its own environment: none of those is shipped.
    """
    source = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix="tiercode-ray-") as tmp:
        package = Path(tmp, "tiercode")
        package.mkdir()
        for name in SHIPPED:
            (package / name).symlink_to(source / name, target_is_directory=True)
        yield {"py_modules": [str(package)], "excludes": SHIP_EXCLUDES}


def worker_failure(exc: Exception, died: bool = False) -> TiercodeError:
    """One line for a Ray worker's failure in place of Ray's message (a traceback, or a
    paragraph of possible causes). A tiercode error raised in the worker comes back as
    itself, with the line and exit code it has in this process; anything else as the
    worker's last error line and where the worker ran. A worker that `died` (killed,
    crashed) may have said why on its stderr, which Ray forwards to this terminal."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, TiercodeError):
        return cause
    text = str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    last = (lines[-1] if lines else type(exc).__name__).split(" Some common causes")[0]
    pid, ip = re.search(r"\bpid[=:] ?(\d+)", text), re.search(r"\bip[=:] ?([^\s,)]+)", text)
    where = f" (pid {pid[1]}{f' on {ip[1]}' if ip else ''})" if pid else ""
    note = " (its output, if any, is above, marked with its pid)" if died else ""
    return WorkerFailed(f"a Ray worker{where} failed: {last}{note}")


def run_ray(
    spec: TierSpec, suite: str, tasks: Sequence[Any], policies: Sequence[Policy],
    on_result: OnResult, workers: int, address: str | None = None,
) -> None:  # fmt: skip
    """One Ray actor per worker, each holding its own models. Joins `address`, shipping
    this tree to it (`shipped_tree`), or starts a local cluster, whose workers start from
    this interpreter and venv and so import this tree already: nothing is shipped there.
    A Ray session this process already has is used as it is. Stops only a cluster it
    started. Workers' output reaches this terminal marked with their pid (a healthy run
    prints none); a failed worker ends the run with one line (`worker_failure`)."""
    try:
        import ray
        from ray.util import ActorPool
    except ImportError:
        raise ConfigError("--executor ray needs Ray: pip install 'tiercode[ray]'") from None
    started = not ray.is_initialized()
    if started and address:
        check_reachable(address)
    if started:
        with shipped_tree() if address else contextlib.nullcontext() as runtime_env:
            ray.init(
                address=address, num_cpus=None if address else max(workers, 1),
                include_dashboard=False, log_to_driver=True, runtime_env=runtime_env,
            )  # fmt: skip
    actor_cls: Any = ray.remote(num_cpus=1)(_RayWorker)
    actors: list[Any] = [actor_cls.remote(spec) for _ in range(max(workers, 1))]
    try:
        pool = ActorPool(actors)
        for result in pool.map_unordered(
            lambda a, t: a.solve.remote(suite, t, list(policies)), list(tasks)
        ):
            on_result(result)
    except ray.exceptions.RayError as exc:
        died = isinstance(exc, ray.exceptions.RayActorError) and not exc.actor_init_failed
        if died:
            time.sleep(DEATH_GRACE_S)
        raise worker_failure(exc, died) from None
    finally:
        with contextlib.suppress(Exception):  # an actor that died has nothing left to stop
            ray.get([a.close.remote() for a in actors])
        for a in actors:
            ray.kill(a)
        if started:
            ray.shutdown()


REACH_TIMEOUT_S = 5.0


def check_reachable(address: str) -> None:
    """A cluster address that nothing answers at is one line now: `ray.init` would retry
    it for minutes and then die with its own traceback. `local` and `auto` are Ray's own
    lookups and are left to it."""
    if address in ("local", "auto"):
        return
    where = re.fullmatch(r"(?:ray://)?\[?([^\]\s]+?)\]?:(\d+)", address)
    if not where:
        raise ConfigError(f"--ray-address: '{address}' is not host:port or ray://host:port")
    try:
        socket.create_connection((where[1], int(where[2])), timeout=REACH_TIMEOUT_S).close()
    except OSError as exc:
        raise ConfigError(
            f"--ray-address: nothing answers at {address} ({exc.strerror or exc}); start the "
            "cluster (`ray start --head`) or leave the option out to run a local one"
        ) from None


class _RayWorker:
    """Made a Ray actor at run time, so importing this module never needs Ray. Its models
    are built by the first task, so a setup error (a missing model) reaches the driver
    as a task's error, which keeps its type, not as an actor that died."""

    def __init__(self, spec: TierSpec) -> None:
        self.spec = spec
        self.bench: Workbench | None = None

    def solve(self, suite: str, task: Any, policies: list[Policy]) -> TaskResult:
        if self.bench is None:
            self.bench = Workbench(self.spec)
        return solve_one(self.bench, suite, task, policies)

    def close(self) -> None:
        if self.bench is not None:
            self.bench.close()


def run(
    executor: str, spec: TierSpec, suite: str, tasks: Sequence[Any],
    policies: Sequence[Policy], on_result: OnResult, workers: int = 1,
    ray_address: str | None = None,
) -> None:  # fmt: skip
    if executor == "ray":
        run_ray(spec, suite, tasks, policies, on_result, workers, ray_address)
    elif executor != "local":
        raise ConfigError(f"--executor: unknown executor '{executor}' (use local or ray)")
    elif workers <= 1:
        run_inline(spec, suite, tasks, policies, on_result)
    else:
        run_pool(spec, suite, tasks, policies, on_result, workers)
