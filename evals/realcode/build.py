# ruff: noqa: E501
"""Build the real-code eval suite (evals/realcode/<task>/) from PyPI sdists.

    python evals/realcode/build.py            # download, snapshot, mutate, write, verify
    python evals/realcode/build.py --verify   # only verify the tasks on disk

Injected bugs follow SWE-smith: one function of a real project is mutated (a flipped
comparison, an off-by-one, a dropped branch, swapped arguments, a wrong default, a changed
operator, the wrong variable returned); the project's own tests are run, and the mutation is
kept when at least 1 and at most 10 tests fail. Those tests are FAIL_TO_PASS, the others
PASS_TO_PASS; the task's check runs them all. The reference solution reverts the mutation.
The hand-written tasks (features, renames, repositories without tests) live in handmade.py.
Everything is deterministic: same sdists, same seed, same suite.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tokenize
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import handmade  # noqa: E402

from tiercode.evals.repo import apply_solution  # noqa: E402

SEED = 20261125
CACHE = Path(tempfile.gettempdir()) / "tiercode-realcode-sdists"
PYTEST = ["-m", "pytest", "-q", "-p", "no:cacheprovider"]

# Each project: sdist, the files kept (sdist path -> snapshot path), small patches needed to
# run from a bare checkout, the test command, the mutated files and how many tasks to take.
PROJECTS = {
    "inflection": {
        "sdist": "inflection==0.5.1",
        "license": "MIT",
        "files": {
            "inflection/__init__.py": "inflection/__init__.py",
            "inflection/py.typed": "inflection/py.typed",
            "test_inflection.py": "test_inflection.py",
            "LICENSE": "LICENSE",
        },
        "patches": {},
        "tests": "test_inflection.py",
        "targets": ["inflection/__init__.py"],
        "kind": "bug",
        "count": 8,
    },
    "humanize": {
        "sdist": "humanize==4.9.0",
        "license": "MIT",
        "files": {
            "src/humanize/__init__.py": "humanize/__init__.py",
            "src/humanize/filesize.py": "humanize/filesize.py",
            "src/humanize/i18n.py": "humanize/i18n.py",
            "src/humanize/number.py": "humanize/number.py",
            "tests/__init__.py": "tests/__init__.py",
            "tests/test_filesize.py": "tests/test_filesize.py",
            "tests/test_number.py": "tests/test_number.py",
            "LICENCE": "LICENCE",
        },
        # Not installed, so no distribution metadata; the time and i18n tests need freezegun
        # and compiled catalogs, so the untested time module is left out.
        "patches": {
            "humanize/__init__.py": [
                ("__version__ = importlib.metadata.version(__name__)", '__version__ = "4.9.0"'),
                (
                    "from humanize.time import (\n    naturaldate,\n    naturalday,\n    naturaldelta,\n"
                    "    naturaltime,\n    precisedelta,\n)\n",
                    "",
                ),
                ('    "naturaldate",\n    "naturalday",\n    "naturaldelta",\n', ""),
                ('    "naturaltime",\n', ""),
                ('    "precisedelta",\n', ""),
            ]
        },
        "tests": "tests",
        "targets": ["humanize/number.py", "humanize/filesize.py"],
        "kind": "bug",
        "count": 8,
    },
    "boltons": {
        "sdist": "boltons==24.0.0",
        "license": "BSD-3-Clause",
        "files": {
            "boltons/__init__.py": "boltons/__init__.py",
            "boltons/strutils.py": "boltons/strutils.py",
            "tests/test_strutils.py": "tests/test_strutils.py",
            "LICENSE": "LICENSE",
        },
        "patches": {},
        "tests": "tests",
        "targets": ["boltons/strutils.py"],
        "kind": "bug",
        "count": 8,
    },
    "tabulate": {
        "sdist": "tabulate==0.9.0",
        "license": "MIT",
        "files": {
            "tabulate/__init__.py": "tabulate/__init__.py",
            "tabulate/version.py": "tabulate/version.py",
            "test/common.py": "test/common.py",
            "test/test_api.py": "test/test_api.py",
            "test/test_internal.py": "test/test_internal.py",
            "test/test_regression.py": "test/test_regression.py",
            "LICENSE": "LICENSE",
        },
        "patches": {},
        "tests": "test",
        "targets": ["tabulate/__init__.py"],
        "kind": "large-file",
        "count": 3,
    },
}


# ---------------------------------------------------------------- snapshots


def fetch_sdist(spec: str) -> Path:
    name, version = spec.split("==")
    CACHE.mkdir(parents=True, exist_ok=True)
    found = [p for p in CACHE.glob(f"{name}-{version}.tar.gz")]
    if not found:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--no-binary",
                ":all:",
                spec,
                "-d",
                str(CACHE),
            ],
            check=True,
        )
        found = list(CACHE.glob(f"{name}-{version}.tar.gz"))
    return found[0]


def snapshot(project: str, where: Path) -> Path:
    spec = PROJECTS[project]
    sdist = fetch_sdist(spec["sdist"])
    out = where / project
    with tarfile.open(sdist) as tar:
        top = tar.getnames()[0].split("/")[0]
        for src, dst in spec["files"].items():
            member = tar.extractfile(f"{top}/{src}")
            target = out / dst
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(member.read())
    for path, edits in spec["patches"].items():
        text = (out / path).read_text()
        for old, new in edits:
            assert old in text, (project, old)
            text = text.replace(old, new)
        (out / path).write_text(text)
    return out


# ---------------------------------------------------------------- running tests


def run_tests(repo: Path, tests: str) -> dict[str, list[str]] | None:
    """Test ids by outcome; None when collection breaks."""
    try:
        proc = subprocess.run(
            [sys.executable, *PYTEST, "-rA", "--tb=short", tests],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except subprocess.TimeoutExpired:
        return None  # e.g. a mutation that loops forever
    finally:
        clean(repo)
    out: dict[str, list[str]] = {"passed": [], "failed": [], "messages": []}
    for line in proc.stdout.splitlines():
        if line.startswith("PASSED "):
            out["passed"].append(line[7:].strip())
        elif line.startswith("FAILED "):
            test, _, msg = line[7:].partition(" - ")
            out["failed"].append(test.strip())
            out["messages"].append(msg.strip())
        elif line.startswith("ERROR "):
            return None
    if proc.returncode not in (0, 1):
        return None
    out["log"] = proc.stdout
    return out


def clean(root: Path) -> None:
    for pattern in ("__pycache__", ".pytest_cache"):
        for p in list(root.rglob(pattern)):
            shutil.rmtree(p, ignore_errors=True)


# ---------------------------------------------------------------- mutations

FLIP = {
    "<": "<=",
    "<=": "<",
    ">": ">=",
    ">=": ">",
    "==": "!=",
    "!=": "==",
    "+": "-",
    "-": "+",
    "*": "//",
    "//": "*",
    "+=": "-=",
    "-=": "+=",
}
NAMES = {"and": "or", "or": "and", "True": "False", "False": "True", "is": "is not"}


def functions(tree: ast.AST) -> list[ast.FunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def body_lines(fn: ast.FunctionDef) -> tuple[int, int]:
    first = fn.body[0]
    start = first.lineno
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and len(fn.body) > 1:
        start = fn.body[1].lineno  # skip the docstring
    return start, fn.end_lineno


def candidates(source: str) -> list[dict]:
    """Every single-site mutation of a function body: (function, operator, new source)."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    fns = [f for f in functions(tree) if not f.name.startswith("test")]
    spans = []
    for fn in fns:
        start, end = body_lines(fn)
        spans.append((start, end, fn))

    def owner(lineno: int):
        best = None
        for start, end, fn in spans:
            if start <= lineno <= end and (best is None or fn.lineno > best.lineno):
                best = fn
        return best

    def pos(row: int, col: int) -> int:
        return offsets[row - 1] + col

    out: list[dict] = []

    def add(fn, op, a, b, new):
        out.append(
            {
                "function": fn.name,
                "op": op,
                "source": source[:a] + new + source[b:],
                "start": a,
                "end": a + len(new),
            }
        )

    toks = list(tokenize.generate_tokens(io.StringIO(source).readline))
    for i, tok in enumerate(toks):
        fn = owner(tok.start[0])
        if fn is None:
            continue
        a, b = pos(*tok.start), pos(*tok.end)
        prev = toks[i - 1] if i else None
        if tok.type == tokenize.OP and tok.string in FLIP:
            if (
                tok.string in "+-"
                and prev is not None
                and (prev.type == tokenize.OP and prev.string not in ")]}")
            ):
                continue  # unary sign
            kind = "comparison" if tok.string in ("<", "<=", ">", ">=", "==", "!=") else "operator"
            add(fn, kind, a, b, FLIP[tok.string])
        elif tok.type == tokenize.NAME and tok.string in NAMES:
            add(fn, "boolean", a, b, NAMES[tok.string])
        elif tok.type == tokenize.NAME and tok.string == "not" and toks[i + 1].string != "in":
            if prev is not None and prev.string == "is":
                continue
            add(fn, "dropped-not", a, pos(*toks[i + 1].start), "")
        elif tok.type == tokenize.NUMBER and tok.string.isdigit():
            n = int(tok.string)
            add(fn, "off-by-one", a, b, str(n + 1))
            if n > 0:
                add(fn, "off-by-one", a, b, str(n - 1))

    for fn in fns:
        start, _ = body_lines(fn)
        # dropped branch: an `if` without else, not the only statement of its block
        for node in ast.walk(fn):
            for field in ("body", "orelse"):
                block = getattr(node, field, None)
                if not isinstance(block, list) or len(block) < 2:
                    continue
                for stmt in block:
                    if isinstance(stmt, ast.If) and not stmt.orelse and stmt.lineno >= start:
                        a = offsets[stmt.lineno - 1]
                        b = offsets[stmt.end_lineno]
                        add(fn, "dropped-branch", a, b, "")
        # swapped arguments: a call with two simple positional arguments on one line
        for node in ast.walk(fn):
            if isinstance(node, ast.Call) and len(node.args) == 2 and not node.keywords:
                x, y = node.args
                if (
                    all(isinstance(v, (ast.Name, ast.Constant)) for v in (x, y))
                    and x.lineno == y.lineno == y.end_lineno
                    and node.lineno >= start
                ):
                    tx = ast.get_source_segment(source, x)
                    ty = ast.get_source_segment(source, y)
                    if tx == ty:
                        continue
                    a, b = pos(x.lineno, x.col_offset), pos(y.end_lineno, y.end_col_offset)
                    middle = source[
                        pos(x.end_lineno, x.end_col_offset) : pos(y.lineno, y.col_offset)
                    ]
                    add(fn, "swapped-arguments", a, b, ty + middle + tx)
        # wrong variable returned
        local = {a.arg for a in fn.args.args} | {
            t.id
            for n in ast.walk(fn)
            if isinstance(n, ast.Assign)
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        for node in ast.walk(fn):
            if isinstance(node, ast.Return) and isinstance(node.value, ast.Name):
                others = sorted(local - {node.value.id, "self", "cls"})
                if others:
                    v = node.value
                    add(
                        fn,
                        "wrong-return",
                        pos(v.lineno, v.col_offset),
                        pos(v.end_lineno, v.end_col_offset),
                        others[0],
                    )
        # wrong default
        for d in fn.args.defaults + [k for k in fn.args.kw_defaults if k is not None]:
            if isinstance(d, ast.Constant) and d.value is not None and d.lineno == d.end_lineno:
                if isinstance(d.value, bool):
                    new = repr(not d.value)
                elif isinstance(d.value, int):
                    new = repr(d.value + 1)
                else:
                    continue
                add(
                    fn,
                    "wrong-default",
                    pos(d.lineno, d.col_offset),
                    pos(d.end_lineno, d.end_col_offset),
                    new,
                )
    return out


def revert_edit(original: str, mutated: str, path: str) -> dict:
    """The smallest unique search/replace (whole lines) turning `mutated` back into `original`."""
    a, b = original.splitlines(keepends=True), mutated.splitlines(keepends=True)
    lo = 0
    while lo < min(len(a), len(b)) and a[lo] == b[lo]:
        lo += 1
    hi_a, hi_b = len(a), len(b)
    while hi_a > lo and hi_b > lo and a[hi_a - 1] == b[hi_b - 1]:
        hi_a -= 1
        hi_b -= 1
    before = 0
    while True:
        search = "".join(b[lo - before : hi_b])
        if (
            search.strip()
            and mutated.find(search) == mutated.find(search, 0)
            and mutated.count(search) == 1
        ):
            break
        before += 1
    replace = "".join(a[lo - before : hi_a])
    assert mutated.replace(search, replace, 1) == original
    return {"path": path, "search": search, "replace": replace}


# ---------------------------------------------------------------- requests


def failure_detail(repo: Path, test: str) -> tuple[str, list[str]]:
    """The failing line of the test (its locals filled in) and the exception lines."""
    env = {**__import__("os").environ, "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, *PYTEST, "--tb=long", "-l", "-vv", test],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    clean(repo)
    lines = proc.stdout.splitlines()
    try:
        first = next(i for i, ln in enumerate(lines) if ln.startswith("____"))
    except StopIteration:
        return "", []
    section = []
    for ln in lines[first + 1 :]:
        if ln.startswith("____") or ln.startswith("====") or ln.startswith("----"):
            break
        section.append(ln)
    failing, local, errors, in_test = "", {}, [], True
    params = set()
    head = next((ln for ln in section if ln.strip()), "")
    if re.match(r"^\w+ = ", head):
        params = set(re.findall(r"(?:^|, )(\w+) = ", head))
    for ln in section:
        if in_test and ln.startswith(">") and not failing:
            failing = ln[1:].strip()
        elif in_test and failing and re.match(r"^\S+\.py:\d+: ", ln):
            in_test = False
        elif in_test and failing:
            m = re.match(r"^(\w+)\s+= (.+)$", ln)
            if m:
                local[m.group(1)] = m.group(2)
        if ln.startswith("E ") and len(errors) < 8:
            errors.append(ln[1:].strip())
    for name, value in sorted(local.items(), key=lambda kv: -len(kv[0])):
        if len(value) > 100 or name not in params:
            continue
        if value[:1] in "[(" and re.search(rf"\*{name}\b", failing):
            failing = re.sub(rf"\*{name}\b", lambda _, v=value: v[1:-1].rstrip(","), failing)
        failing = re.sub(rf"(?<![.\w]){name}\b(?!\s*=[^=])", lambda _, v=value: v, failing)
    errors = [e for e in errors if e.strip()]
    return failing, errors


def short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _literal(text: str) -> bool:
    try:
        ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        return False
    return True


def behaviour_report(project: str, failing: str, errors: list[str]) -> str:
    """A user's report of the symptom, from the failing assertion (no test named)."""
    first = errors[0] if errors else "AssertionError"
    m = re.match(r"assert (.+?) == (.+)$", failing)
    if m and "self." not in failing:
        left, right = m.group(1).strip(), m.group(2).strip()
        call_left = not _literal(left)
        call, expected = (left, right) if call_left else (right, left)
        if _literal(expected) and "(" in call:
            got = re.match(r"AssertionError: assert (.+) == (.+)$", first)
            if got:
                actual = (got.group(1) if call_left else got.group(2)).strip()
                return (
                    f"With {project}, `{call}` returns {short(actual, 160)}, but it should "
                    f"return {short(expected, 160)}. Please fix it."
                )
            if not first.startswith("AssertionError"):
                return (
                    f"With {project}, `{call}` raises `{short(first, 200)}`; it should "
                    f"return {short(expected, 160)}. Please fix it."
                )
    if failing:
        return (
            f"Since the last change, this no longer works in {project}:\n\n    {failing}\n\n"
            f"fails with `{short(first, 240)}`. Please find and fix the bug in the library."
        )
    return f"Something in {project} is broken: {short(first)}. Please find and fix the bug."


def test_report(test: str, failing: str, errors: list[str]) -> str:
    shown = "\n".join(["    " + failing] * bool(failing) + ["E   " + e for e in errors[:6]])
    return f"Running the test suite, `{test}` fails:\n\n{shown}\n\nPlease fix the bug."


# ---------------------------------------------------------------- tasks on disk


def toml_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def toml_multiline(text: str) -> str:
    if '"""' not in text and "\\" not in text and not text.endswith('"'):
        return '"""\n' + text + '"""' if text.startswith("\n") else '"""' + text + '"""'
    return toml_str(text)


def write_task(root: Path, name: str, task: dict) -> None:
    path = root / name
    if path.exists():
        shutil.rmtree(path)
    shutil.copytree(task["repo"], path / "repo") if isinstance(task["repo"], Path) else None
    if isinstance(task["repo"], dict):
        for rel, text in task["repo"].items():
            (path / "repo" / rel).parent.mkdir(parents=True, exist_ok=True)
            (path / "repo" / rel).write_text(text)
    for rel, text in task.get("hidden", {}).items():
        (path / "hidden" / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / "hidden" / rel).write_text(text)
    lines = [
        f"request = {toml_str(task['request'])}",
        f"kind = {toml_str(task['kind'])}",
        f"split = {toml_str(task['split'])}",
        f"check = {toml_str(task['check'])}",
        f"timeout_s = {task.get('timeout_s', 300)}",
    ]
    for key in ("project", "mutation", "function"):
        if key in task:
            lines.append(f"{key} = {toml_str(task[key])}")
    for key in ("FAIL_TO_PASS", "PASS_TO_PASS"):
        if key in task:
            lines.append(f"{key} = [" + ", ".join(toml_str(t) for t in task[key]) + "]")
    for edit in task["solution"]:
        lines += [
            "",
            "[[solution]]",
            f"path = {toml_str(edit['path'])}",
            f"search = {toml_multiline(edit['search'])}",
            f"replace = {toml_multiline(edit['replace'])}",
        ]
    (path / "task.toml").write_text("\n".join(lines) + "\n")


def split_of(names_by_kind: dict[str, list[str]]) -> dict[str, str]:
    """One third held out per kind, by a seeded hash of the task name."""
    split = {}
    for names in names_by_kind.values():
        ranked = sorted(names, key=lambda n: hashlib.sha256(f"{SEED}:{n}".encode()).hexdigest())
        held = round(len(names) / 3)
        for i, n in enumerate(ranked):
            split[n] = "heldout" if i < held else "dev"
    return split


def mutate_project(project: str, base: Path) -> list[dict]:
    spec = PROJECTS[project]
    baseline = run_tests(base, spec["tests"])
    assert baseline and not baseline["failed"], (project, baseline and baseline["failed"])
    rng = random.Random(f"{SEED}:{project}")
    pool = []
    for target in spec["targets"]:
        source = (base / target).read_text()
        for c in candidates(source):
            try:
                ast.parse(c["source"])
            except SyntaxError:
                continue
            c["target"] = target
            c["original"] = source
            pool.append(c)
    rng.shuffle(pool)
    kept: list[dict] = []
    used_fns: set[str] = set()
    op_count: dict[str, int] = {}
    tried = 0
    cap = max(2, spec["count"] // 3)
    seen: set[str] = set()
    # first pass: one mutation per function, few per operator; second pass: fill up
    for c in pool + [dict(c, second=True) for c in pool]:
        if len(kept) >= spec["count"] or tried >= 80:
            break
        key = f"{c['target']}:{c['function']}"
        if c.get("second"):
            if (
                any(k["source"] == c["source"] for k in kept)
                or any(f"{k['target']}:{k['function']}" == key and k["op"] == c["op"] for k in kept)
                or sum(f"{k['target']}:{k['function']}" == key for k in kept) >= 2
            ):
                continue
        elif key in used_fns or op_count.get(c["op"], 0) >= cap:
            continue
        if c["source"] in seen:
            continue
        seen.add(c["source"])
        tried += 1
        # results are cached by content, so that a rebuild only reruns what changed
        digest = hashlib.sha256(
            "\0".join(
                [spec["tests"], c["target"], c["source"]]
                + [(base / f).read_text(errors="replace") for f in sorted(spec["files"].values())]
            ).encode()
        ).hexdigest()
        cached = CACHE / "results" / f"{digest}.json"
        if cached.is_file():
            result = json.loads(cached.read_text())
        else:
            with tempfile.TemporaryDirectory() as tmp:
                repo = Path(tmp) / "repo"
                shutil.copytree(base, repo)
                (repo / c["target"]).write_text(c["source"])
                result = run_tests(repo, spec["tests"])
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_text(json.dumps(result))
        if result is None or not 1 <= len(result["failed"]) <= 10:
            continue
        if any(re.search("numpy|pandas", t) for t in result["failed"]):
            continue  # would be skipped where numpy is missing
        if set(result["passed"]) | set(result["failed"]) != set(baseline["passed"]):
            continue
        c["result"] = result
        kept.append(c)
        used_fns.add(key)
        op_count[c["op"]] = op_count.get(c["op"], 0) + 1
        print(
            f"  {project}: {c['op']} in {c['function']} -> {len(result['failed'])} failing",
            flush=True,
        )
    print(f"{project}: kept {len(kept)} of {tried} mutations tried", flush=True)
    return kept


INTEGRITY = '''"""The project's own tests must be graded as they were given."""
import hashlib
import pathlib

HASHES = {hashes}


def test_project_tests_are_unchanged():
    root = pathlib.Path(__file__).parent
    changed = [p for p, h in HASHES.items()
               if not (root / p).is_file()
               or hashlib.sha256((root / p).read_bytes()).hexdigest() != h]
    assert changed == [], "edited test files"
'''


def compact(passed: list[str], failed: list[str]) -> list[str]:
    """PASS_TO_PASS, with a parametrized test named once when all its cases pass."""
    base = lambda t: t.split("[", 1)[0]  # noqa: E731
    partly_failing = {base(t) for t in failed}
    out: list[str] = []
    for t in passed:
        b = base(t)
        item = t if b in partly_failing else b
        if item not in out:
            out.append(item)
    return out


# Where the generated report says too little for a user to act on, a hand-written one.
REQUESTS = {
    "boltons_asciify_wrong_return": "`strutils.asciify('Beyoncé')` returns False instead of the ASCII bytes b'Beyonce'. "
    "Please fix it.",
    "boltons_strip_ansi_dropped_branch": "`strutils.strip_ansi()` returns a str when I give it bytes or a bytearray (for "
    "example `strip_ansi(b'\\x1b[1mhi\\x1b[0m')` gives 'hi'); it should give back the "
    "same type it was given. Please fix it.",
    "tabulate_more_generic_off_by_one": "Numbers wrapped in ANSI colour codes are no longer aligned on the decimal point: "
    "`tabulate([[c1], [c2]], tablefmt='plain')` with c1 = '\\033[95m12.34\\033[0m' and "
    "c2 = '\\033[95m1.23456\\033[0m' prints both rows flush left, where the second row "
    "used to be indented by one space so that the points line up. Please fix it.",
}


def bug_tasks(where: Path) -> dict[str, dict]:
    tasks = {}
    for project, spec in PROJECTS.items():
        base = snapshot(project, where / "snapshots")
        for i, c in enumerate(mutate_project(project, base)):
            name = f"{project}_{c['function'].strip('_')}_{c['op'].replace('-', '_')}"
            while name in tasks:
                name += "_2"
            repo = where / "repos" / name
            shutil.copytree(base, repo)
            (repo / c["target"]).write_text(c["source"])
            r = c["result"]
            failing, errors = failure_detail(repo, r["failed"][0])
            if i % 2 == 0:
                request = test_report(r["failed"][0], failing, errors)
            else:
                request = behaviour_report(project, failing, errors)
            # A hidden check that the project's test files are unchanged, so that editing a
            # test cannot make a check pass.
            tests = {
                dst: hashlib.sha256((base / dst).read_bytes()).hexdigest()
                for dst in spec["files"].values()
                if dst.startswith("test")
            }
            request = REQUESTS.get(name, request)
            tasks[name] = {
                "repo": repo,
                "kind": spec["kind"],
                "request": request,
                "hidden": {
                    "test_hidden_integrity.py": INTEGRITY.format(hashes=json.dumps(tests, indent=4))
                },
                "check": f"python -m pytest -q -p no:cacheprovider {spec['tests']} "
                "test_hidden_integrity.py",
                "project": spec["sdist"],
                "mutation": c["op"],
                "function": f"{c['target']}:{c['function']}",
                "FAIL_TO_PASS": r["failed"],
                "PASS_TO_PASS": compact(r["passed"], r["failed"]),
                "solution": [revert_edit(c["original"], c["source"], c["target"])],
            }
    return tasks


# ---------------------------------------------------------------- verification


def load(root: Path) -> list:
    """The tasks as evals/repo.py reads them (kept here so that any Python can build)."""
    import tomllib
    from types import SimpleNamespace

    out = []
    for p in sorted(root.iterdir()):
        if (p / "task.toml").is_file():
            data = tomllib.loads((p / "task.toml").read_text())
            out.append(
                SimpleNamespace(
                    name=p.name,
                    path=p,
                    check=data["check"],
                    timeout_s=float(data.get("timeout_s", 300)),
                    solution=data.get("solution", ()),
                    data=data,
                )
            )
    return out


def verify(root: Path, names: list[str] | None = None) -> list[str]:
    """Each task: its starting repo fails the check, with the reference solution it passes."""
    problems = []
    for task in load(root=root):
        if names and task.name not in names:
            continue
        for solved in (False, True):
            with tempfile.TemporaryDirectory() as tmp:
                repo = Path(tmp) / "repo"
                shutil.copytree(task.path / "repo", repo)
                if solved:
                    apply_solution(task, repo)  # the suite's own reference edits
                if (task.path / "hidden").is_dir():
                    shutil.copytree(task.path / "hidden", repo, dirs_exist_ok=True)
                words = task.check.split()
                words[0] = sys.executable
                proc = subprocess.run(
                    words, cwd=repo, capture_output=True, text=True, timeout=task.timeout_s
                )
                if (proc.returncode == 0) != solved:
                    problems.append(
                        f"{task.name}: {'solution fails' if solved else 'start passes'}"
                        f"\n{proc.stdout[-800:]}"
                    )
        print(f"verified {task.name}", flush=True)
    clean(root)
    return problems


def main() -> int:
    if "--verify" not in sys.argv:
        with tempfile.TemporaryDirectory() as tmp:
            where = Path(tmp)
            tasks = bug_tasks(where)
            tasks.update(handmade.tasks(lambda p: snapshot(p, where / "hand")))
            by_kind: dict[str, list[str]] = {}
            for name, t in tasks.items():
                by_kind.setdefault(t["kind"], []).append(name)
            split = split_of(by_kind)
            for p in HERE.iterdir():
                if p.is_dir() and (p / "task.toml").is_file():
                    shutil.rmtree(p)
            for name, t in sorted(tasks.items()):
                t["split"] = split[name]
                write_task(HERE, name, t)
            clean(HERE)
            summary = {
                k: {s: sum(1 for n in v if split[n] == s) for s in ("dev", "heldout")}
                for k, v in sorted(by_kind.items())
            }
            print(json.dumps(summary))
    problems = verify(HERE)
    print("\n".join(problems) or "all tasks verified: start fails, solution passes")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
