"""Aider on the real-code suite, served by tiercode's own cloud stand-in: a peer baseline.

tiercode's real-code results only mean something beside another agent given the same
model, the same tasks and the same grader. This script runs aider (its own venv,
`make peers`) non-interactively on each task's fresh repo against `StandInServer` on
127.0.0.1, then grades the repo with the suite's hidden check, exactly as
`tiercode.evals.repo.run_policy` grades tiercode.

What aider is given: the request as its one message (`--message-file`); the files whose
path or file name the request mentions (test files read-only, others editable); its repo
map; the repo's pytest command with `--auto-test` when the repo has tests (what tiercode
gets as `test_cmd`); aider's own Qwen2.5-Coder settings (`diff` edits, repo map) with
temperature 0 and at most `--max-tokens` per reply. Everything aider could do off the
machine is switched off (update check, analytics, URL scraping, suggested shell
commands, litellm's price-map download); HOME is a temp dir, and a dead proxy on
127.0.0.1 catches any request not bound for loopback.

    .venv/bin/python bench/peers/aider_realcode.py --split heldout --model qwen2.5-coder-1.5b
        [--task NAME ...] [--limit N] [--seed N] [--timeout 600] [--n-ctx 4096] [--threads 0]

Prints a markdown table and the pass rate; writes bench/results/aider_realcode-<UTC>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tiercode.agent.llm import catalog
from tiercode.agent.llm.standin import StandInServer
from tiercode.evals import repo as repo_suite
from tiercode.evals.realcode_suite import TASKS_DIR
from tiercode.tools import shell

ROOT = Path(__file__).resolve().parents[2]
AIDER = ROOT / ".venv-aider" / "bin" / "aider"
RESULTS = ROOT / "bench" / "results"
TEST_CMD = f"{sys.executable} -m pytest -q -p no:cacheprovider"
"""The test command tiercode's eval gives the agent (`run_policy`), also for aider."""
DEAD_PROXY = "http://127.0.0.1:9"
"""Nothing listens on the discard port: a request that is not for loopback fails at once."""


def aider_env(home: Path) -> dict[str, str]:
    """The parent's environment without model or aider settings, sealed off the network."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIDER_", "OPENAI_"))}
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        env[key] = DEAD_PROXY
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        TERM="dumb",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def aider_version(env: dict[str, str]) -> str:
    code = "import importlib.metadata as m; print(m.version('aider-chat'))"
    python = AIDER.parent / "python"
    out = subprocess.run([python, "-c", code], env=env, capture_output=True, text=True)
    return out.stdout.strip() or f"unknown ({out.stderr.strip()[-200:]})"


def mentioned_files(repo: Path, request: str) -> tuple[list[str], list[str]]:
    """Files the request names by path, or by a file name unique in the repo: (edit, read)."""
    files = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True)
    paths = files.stdout.split()
    names = [Path(p).name for p in paths]
    edit: list[str] = []
    read: list[str] = []

    def said(s: str) -> bool:
        return re.search(rf"(?<![\w./-]){re.escape(s)}(?![\w-])", request) is not None

    for path, name in zip(paths, names, strict=True):
        if said(path) or (names.count(name) == 1 and said(name)):
            is_test = name.startswith("test_") or path.startswith(("tests/", "test/"))
            (read if is_test else edit).append(path)
    return edit, read


def write_model_files(where: Path, model: str, n_ctx: int, max_tokens: int, fmt: str) -> None:
    """Aider's settings for this served name (JSON is YAML): no metadata look-up on the web."""
    settings = [
        {
            "name": model,
            "edit_format": fmt,
            "use_repo_map": True,
            "weak_model_name": model,
            "editor_model_name": model,
            "editor_edit_format": "editor-diff",
            "extra_params": {"max_tokens": max_tokens},
        }
    ]
    meta = {
        model: {
            "max_input_tokens": n_ctx,
            "max_output_tokens": max_tokens,
            "max_tokens": max_tokens,
            "input_cost_per_token": 0.0,
            "output_cost_per_token": 0.0,
            "litellm_provider": "openai",
            "mode": "chat",
        }
    }
    (where / "model-settings.yml").write_text(json.dumps(settings, indent=1))
    (where / "model-metadata.json").write_text(json.dumps(meta, indent=1))


def server_usage(log: Path | None) -> tuple[int, int, int]:
    """(chat requests, prompt tokens evaluated, tokens generated) so far in the server log."""
    text = log.read_text(errors="replace") if log and log.exists() else ""
    requests = text.count("POST /v1/chat/completions")
    prompt = sum(map(int, re.findall(r"prompt eval time =.*?/\s*(\d+) tokens", text)))
    runs = re.findall(r"^(?:llama_perf_context_print:)?\s*eval time =.*?/\s*(\d+) runs", text, re.M)
    gen = sum(map(int, runs))
    return requests, prompt, gen


def git_out(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True).stdout.strip()


def run_task(
    task: repo_suite.RepoTask, server: StandInServer, args: argparse.Namespace
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"aider-realcode-{task.name}-") as tmp:
        where = Path(tmp)
        repo = repo_suite.make_repo(task, where)
        start_commit = git_out(repo, "rev-parse", "HEAD")
        home = where / "home"
        home.mkdir()
        model = f"openai/{server.model}"
        write_model_files(where, model, args.n_ctx, args.max_tokens, args.edit_format)
        (where / "request.txt").write_text(task.request)
        edit, read = mentioned_files(repo, task.request) if args.files == "mentioned" else ([], [])
        has_tests = shell.detect_test_command(repo) is not None
        cmd = [
            str(AIDER),
            *("--model", model, "--openai-api-base", server.base_url, "--openai-api-key", "none"),
            *("--model-settings-file", str(where / "model-settings.yml")),
            *("--model-metadata-file", str(where / "model-metadata.json")),
            *("--yes-always", "--no-stream", "--no-pretty", "--no-fancy-input"),
            *("--no-check-update", "--no-analytics", "--no-show-release-notes"),
            *("--no-show-model-warnings", "--no-detect-urls", "--disable-playwright"),
            *("--no-suggest-shell-commands", "--no-gitignore", "--no-restore-chat-history"),
            *("--chat-history-file", str(where / "chat.md")),
            *("--input-history-file", str(where / "input.history")),
            *("--llm-history-file", str(where / "llm.history")),
            *("--encoding", "utf-8", "--timeout", str(args.timeout)),
            *(["--auto-lint"] if args.lint else ["--no-auto-lint"]),
            *(["--test-cmd", TEST_CMD, "--auto-test"] if has_tests else []),
            *([] if args.map_tokens is None else ["--map-tokens", str(args.map_tokens)]),
            *[a for f in read for a in ("--read", f)],
            *("--message-file", str(where / "request.txt")),
            *edit,
        ]
        before = server_usage(server.log_path)
        log = where / "aider.log"
        started = time.perf_counter()
        with log.open("wb") as out:
            proc = subprocess.Popen(
                cmd, cwd=repo, env=aider_env(home), stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
            try:
                code: int | None = proc.wait(timeout=args.timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                code = None
        seconds = time.perf_counter() - started
        after = server_usage(server.log_path)
        commits = int(git_out(repo, "rev-list", "--count", f"{start_commit}..HEAD") or 0)
        changed = git_out(repo, "diff", "--name-only", start_commit).split()
        aider_log = log.read_text(errors="replace")
        passed, check_output = repo_suite.check(task, repo)
    return {
        "task": task.name,
        "kind": task.kind,
        "passed": passed,
        "seconds": round(seconds, 1),
        "aider_exit_code": code,
        "timed_out": code is None,
        "committed": commits > 0,
        "commits": commits,
        "changed_files": changed,
        "files_given": edit,
        "files_read_only": read,
        "test_cmd": TEST_CMD if has_tests else "",
        "server_requests": after[0] - before[0],
        "prompt_tokens_evaluated": after[1] - before[1],
        "tokens_generated": after[2] - before[2],
        "aider_output_tail": aider_log[-2500:],
        "check_output_tail": check_output[-1000:],
    }


def select(args: argparse.Namespace) -> list[repo_suite.RepoTask]:
    tasks = [t for t in repo_suite.load(root=TASKS_DIR) if args.split in ("all", t.split)]
    if args.task:
        tasks = [t for t in tasks if t.name in args.task]
        if missing := set(args.task) - {t.name for t in tasks}:
            sys.exit(f"unknown task(s) for split {args.split}: {', '.join(sorted(missing))}")
    if args.seed is not None:
        random.Random(args.seed).shuffle(tasks)
    return tasks[: args.limit] if args.limit else tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--split", choices=("dev", "heldout", "all"), default="heldout")
    parser.add_argument("--model", default="qwen2.5-coder-1.5b", help="catalog name or GGUF")
    parser.add_argument("--task", action="append", help="only this task (repeatable)")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--seed", type=int, default=None, help="shuffle before --limit")
    parser.add_argument("--timeout", type=float, default=600.0, help="aider wall-clock, s")
    parser.add_argument("--n-ctx", type=int, default=4096, help="server window (tiercode's)")
    parser.add_argument("--threads", type=int, default=0, help="server threads; 0: all cores")
    parser.add_argument("--max-tokens", type=int, default=768, help="per reply (tiercode's)")
    parser.add_argument("--edit-format", default="diff")
    parser.add_argument("--map-tokens", type=int, default=None, help="default: aider's")
    parser.add_argument("--files", choices=("mentioned", "none"), default="mentioned")
    parser.add_argument("--lint", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if not AIDER.exists():
        sys.exit(f"{AIDER} is missing: run `make peers` first")
    tasks = select(args)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out = args.out or RESULTS / f"aider_realcode-{stamp}.json"
    load_start = os.getloadavg()
    if load_start[0] > 0.5:
        print(f"warning: load average {load_start[0]:.2f}; other work will slow every task")
    with tempfile.TemporaryDirectory() as home:
        version = aider_version(aider_env(Path(home)))
    gguf = catalog.resolve(args.model)
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    with StandInServer(model=args.model, n_ctx=args.n_ctx, threads=args.threads) as server:
        for i, task in enumerate(tasks, 1):
            print(f"[{i}/{len(tasks)}] {task.name} ...", flush=True)
            rows.append(run_task(task, server, args))
            print(f"    passed={rows[-1]['passed']} {rows[-1]['seconds']} s", flush=True)
    passed = sum(r["passed"] for r in rows)
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "peer": "aider",
        "aider_version": version,
        "model": args.model,
        "gguf": str(gguf),
        "gguf_sha256": catalog.CATALOG[args.model].sha256 if args.model in catalog.CATALOG else "",
        "split": args.split,
        "seed": args.seed,
        "order": [t.name for t in tasks],
        "settings": {k: v for k, v in vars(args).items() if k not in ("out", "task")}
        | {"temperature": 0.0, "served_as": f"openai/{args.model}", "test_cmd": TEST_CMD},
        "load_avg_start": load_start,
        "load_avg_end": os.getloadavg(),
        "wall_s": round(time.perf_counter() - started, 1),
        "passed": passed,
        "total": len(rows),
        "tasks": rows,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print("\n| task | kind | passed | seconds | aider exit | committed | requests |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        code = "timeout" if r["timed_out"] else r["aider_exit_code"]
        print(
            f"| {r['task']} | {r['kind']} | {'yes' if r['passed'] else 'no'} | {r['seconds']} "
            f"| {code} | {'yes' if r['committed'] else 'no'} | {r['server_requests']} |"
        )
    rate = passed / len(rows) if rows else 0.0
    print(f"\naider {version}, {args.model}, {args.split}: {passed}/{len(rows)} = {rate:.0%}")
    print(f"load average {load_start[0]:.2f} -> {os.getloadavg()[0]:.2f}; wrote {out}")


if __name__ == "__main__":
    main()
