"""An acceptance check for a repository without tests: a short script, written by a
model from the task and the changed code's signatures, that must pass before the run
may say done. It lives outside the repository and runs in the sandbox.

Small models predict values badly (a 0.5B check asserted that "Hello world this is a
test" has 4 words), so a check is held to what it is about: asserts that touch none of
the changed code are dropped, and an assert whose expected value the code contradicts
can be overruled, but only when a second prediction, a reference implementation written
from the task alone and run on the same inputs, gives the code's value.
"""

from __future__ import annotations

import ast
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from tiercode.agent.state import Step
from tiercode.tools import shell
from tiercode.tools.repomap import RepoMap, symbols

HARNESS = Path(__file__).with_name("check_harness.py")
MARK = "@@tiercode-asserts@@"

TIMEOUT_S = 60.0
MAP_CHARS = 2500
_HARNESS_FRAME = re.compile(r'^  File "harness\.py", line \d+, in .*\n(?:    .*\n)*', re.MULTILINE)
"""A traceback frame of the harness, with its source and marker lines."""
_BLOCK = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)

RULES = (
    "Write a short Python script that checks whether the task above is done: import the "
    "code from the repository (it is on the import path), call it with two or three "
    "inputs taken from the task, and `assert` each result the task asks for. Check only "
    "what the task asks for, with short inputs whose results you are sure of. Use only the "
    "standard library and the repository. Reply with one ```python code block, nothing else."
)


def messages(task: str, plan: list[Step], root: Path, touched: list[str]) -> list[dict[str, str]]:
    """The task and the changed files' signatures (not their bodies, so the check is
    written from what was asked, not from what was written)."""
    signatures = RepoMap.build(root, touched).render(touched, MAP_CHARS)
    steps = "\n".join(f"{i + 1}. {s['goal']}" for i, s in enumerate(plan))
    body = f"Task: {task}\nPlan:\n{steps}\n\nChanged files:\n{signatures}\n\n{RULES}"
    return [
        {"role": "system", "content": "You write small, exact acceptance checks in Python."},
        {"role": "user", "content": body},
    ]


def extract(reply: str, cut: bool = False) -> str:
    """The check's code; ValueError when the reply holds none or it does not parse. A
    reply `cut` by the token limit inside its block loses the top-level statement the cut
    fell in and keeps the ones before (a 1.5B wrote 40 lines of asserts and was cut inside
    a string in the last); the last is dropped even when it parses, since `assert f(x)`
    may be what is left of `assert f(x) == 3`."""
    found = _BLOCK.search(reply)
    code = (found[1] if found else reply).strip()
    if cut and not (found and found[0].endswith("```")):
        code = _before_last_statement(code)
    if "assert" not in code:
        raise ValueError("the acceptance check asserts nothing")
    try:
        compile(code, "acceptance_check.py", "exec")
    except SyntaxError as exc:
        raise ValueError(f"the acceptance check does not parse: {exc.msg}") from None
    return code + "\n"


def _before_last_statement(code: str) -> str:
    """The longest run of leading lines that parses and ends before the last top-level
    statement begins."""
    lines = code.splitlines()
    starts = [i for i, line in enumerate(lines) if line[:1].strip() and i > 0]
    for end in reversed(starts):
        head = "\n".join(lines[:end]).rstrip()
        try:
            compile(head, "acceptance_check.py", "exec")
        except SyntaxError:
            continue
        return head
    return ""


def symbol_changes(root: Path, start: str, paths: list[str]) -> tuple[set[str], set[str]]:
    """Names (the last part, for methods) of the definitions in the changed Python files
    that are new or differ from commit `start`, or call one that does (`convert` calling a
    fixed `to_celsius` behaves differently too), and of those that are the same as then."""
    changed: set[str] = set()
    same: dict[str, set[str]] = {}  # unchanged definition -> the names its code uses
    for rel in paths:
        now = (root / rel).read_text(encoding="utf-8", errors="replace")
        shown = subprocess.run(
            ["git", "-c", "core.hooksPath=/dev/null", "show", f"{start}:{rel}"],
            cwd=root,
            capture_output=True,
            text=True,
        )
        before = _sources(rel, shown.stdout)
        for name, text in _sources(rel, now).items():
            short = name.rsplit(".", 1)[-1]
            if before.get(name) == text:
                same.setdefault(short, set()).update(_used_names(text))
            else:
                changed.add(short)
    while callers := {name for name, used in same.items() if used & changed} - changed:
        changed |= callers
    return changed, same.keys() - changed


def _used_names(text: str) -> set[str]:
    """The names and attributes a definition's code uses (its words, if it does not parse
    on its own)."""
    try:
        tree = ast.parse(textwrap.dedent(text))
    except SyntaxError:
        return set(re.findall(r"\w+", text))
    return _names_in(tree)


def _names_in(node: ast.AST) -> set[str]:
    """The names and attribute names that `node`'s code mentions."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


def _sources(rel: str, source: str) -> dict[str, str]:
    lines = source.splitlines()
    return {s.name: "\n".join(lines[s.start - 1 : s.end]) for s in symbols(rel, source)}


def relevant(code: str, changed: set[str], unchanged: set[str]) -> str:
    """The check without its top-level asserts that reach code the run left as it was and
    none that it changed (directly or through a variable set from it): they say nothing
    about the change, and when they fail, the check is wrong. An assert on a name that
    does not exist stays, and fails. ValueError when no assert is left."""
    tree = ast.parse(code)
    new, lines = set(changed), code.splitlines(keepends=True)
    old = {name: {name} for name in unchanged}  # name -> the unchanged definitions it reaches
    kept, untouched = 0, set()
    for node in tree.body:
        used = _names_in(node)
        reached = set().union(*(old[name] for name in used & old.keys()))
        if isinstance(node, ast.Assert):
            if reached and not used & new:
                untouched |= reached
                for i in range(node.lineno - 1, node.end_lineno or node.lineno):
                    lines[i] = ""
            else:
                kept += 1
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            if used & new:
                new |= names
            elif reached:
                old.update((name, reached) for name in names)
    nested = any(
        isinstance(n, ast.Assert)
        for node in tree.body
        if not isinstance(node, ast.Assert)
        for n in ast.walk(node)
    )
    if not kept and not nested:
        # Asserts inside a function or a loop are not filtered; only a check with none
        # left (every one reached unchanged code) says nothing about the change.
        raise ValueError(
            f"the acceptance check tests only {', '.join(sorted(untouched))}, "
            "which the change left as it was"
        )
    return "".join(lines)


def passes_before(root: Path, start: str, code: str) -> bool:
    """Does the check already pass on the code as the run found it (commit `start`,
    unpacked into a private folder)? Then it proves nothing about the change."""
    archive = subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", "archive", "--format=tar", start],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout
    with tempfile.TemporaryDirectory(prefix="tiercode-before-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        return run(Path(tmp), code).passed


@dataclass
class CheckRun:
    """How a check went: its output, and each top-level assert's result."""

    passed: bool
    output: str
    asserts: list[dict[str, object]] = field(default_factory=list)
    """`line`, `source`, `passed`; for a failed `call == literal`: `call`, `got`, `expected`."""

    @property
    def disputed(self) -> list[dict[str, object]]:
        """The failed asserts, when every one is a value the code contradicts (and the
        check's set-up ran): the only failures a second prediction may overrule."""
        failed = [a for a in self.asserts if not a["passed"]]
        return failed if self.asserts and all("got" in a for a in failed) else []


def run(root: Path, code: str, trace: Path | None = None) -> CheckRun:
    """Run the check from a private folder, with the repository on the import path; with
    `trace`, under coverage.py, which records the lines it ran in that file."""
    with tempfile.TemporaryDirectory(prefix="tiercode-check-") as tmp:
        script = Path(tmp) / "acceptance_check.py"
        script.write_text(code)
        shutil.copy(HARNESS, Path(tmp) / "harness.py")
        paths = [str(root), *([str(root / "src")] if (root / "src").is_dir() else [])]
        python = [sys.executable]
        if trace is not None:
            python += ["-m", "coverage", "run", f"--data-file={trace}"]
        result = shell.run(
            [*python, str(Path(tmp) / "harness.py"), str(script)],
            root,
            timeout_s=TIMEOUT_S,
            env_extra={"PYTHONPATH": ":".join(paths), "PYTHONDONTWRITEBYTECODE": "1"},
            writable=[trace.parent] if trace is not None else (),
        )
    asserts: list[dict[str, object]] = []
    shown = []
    for line in result.output.splitlines():
        if line.startswith(MARK):
            asserts = json.loads(line[len(MARK) :])
        else:
            shown.append(line)
    return CheckRun(result.returncode == 0, readable("\n".join(shown), Path(tmp), root), asserts)


def readable(output: str, folder: Path, root: Path) -> str:
    """The check's output as the next answer should read it: paths relative to the
    repository and the check's folder, without the harness's own frames: a small model
    copies the paths it is shown, and a temporary folder's is no file it may edit."""
    output = output.replace(f"{folder}/", "").replace(f"{root}/", "")
    return _HARNESS_FRAME.sub("", output)


WORKED_CHARS = 1500
"""Room for each reference function: the 1.5B wrote one in 300 to 900 characters."""
WORKED_RULES = (
    "Write, from the task's words alone, {what} what the task asks, using only the "
    "standard library. Reply with one ```python code block, nothing else."
)
REFERENCE_HARNESS = Path(__file__).with_name("reference_harness.py")
VALUES_MARK = "@@tiercode-values@@"
REFERENCE_TIMEOUT_S = 10.0


def reference_names(disputed: list[dict[str, object]]) -> list[str]:
    """The plain functions the disputed calls call, by name (a method is not asked for:
    its value depends on an instance the reference would not have)."""
    calls = (str(d.get("reference_call", "")) for d in disputed)
    return sorted({call.partition("(")[0] for call in calls if call})


def worked_messages(names: list[str], task: str) -> list[dict[str, str]]:
    """Ask for a second prediction as code: a reference implementation written from the
    task alone, blind to the check and to the answer. On the dev tasks' hidden calls the
    1.5B's reference gave the right value for 10 of 14, its values worked out in prose
    for 4 (`bench/second_prediction.py`; in prose it said `percent(0.256)` gives "26.0%"
    where the task says 0.256 becomes "26%")."""
    shown = ", ".join(f"`{name}`" for name in names)
    what = (
        f"a standalone Python function {shown} that does"
        if len(names) == 1
        else f"standalone Python functions {shown} that do"
    )
    rules = WORKED_RULES.format(what=what)
    return [
        {"role": "system", "content": "You write small, exact Python functions."},
        {"role": "user", "content": f"Task: {task}\n\n{rules}"},
    ]


def worked_answers(reply: str, disputed: list[dict[str, object]]) -> dict[str, str]:
    """Each disputed call's value from the reference code in the reply, run in the
    sandbox away from the repository ("" when it gives none: no such function, an error,
    an import from outside the standard library, which may be the repository's own code)."""
    answers = {str(d["call"]): "" for d in disputed}
    found = _BLOCK.search(reply)
    bare = {str(d["call"]): str(d["reference_call"]) for d in disputed if d.get("reference_call")}
    if not found or not bare or not _standard_library_only(found[1]):
        return answers
    with tempfile.TemporaryDirectory(prefix="tiercode-reference-") as tmp:
        (Path(tmp) / "reference.py").write_text(found[1])
        shutil.copy(REFERENCE_HARNESS, Path(tmp) / "harness.py")
        result = shell.run(
            [sys.executable, "harness.py", "reference.py", json.dumps(sorted(set(bare.values())))],
            Path(tmp),
            timeout_s=REFERENCE_TIMEOUT_S,
            env_extra={"PYTHONDONTWRITEBYTECODE": "1"},
        )
    for line in result.output.splitlines():
        if line.startswith(VALUES_MARK):
            values = json.loads(line[len(VALUES_MARK) :])
            return {call: str(values.get(bare.get(call, ""), "")) for call in answers}
    return answers


def _standard_library_only(code: str) -> bool:
    """Whether the code parses and imports nothing but the standard library."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [""] if node.level else [node.module or ""]  # relative: not stdlib
        else:
            continue
        if any(m.partition(".")[0] not in sys.stdlib_module_names for m in modules):
            return False
    return True


def overruled(answers: dict[str, str], disputed: list[dict[str, object]]) -> bool:
    """Whether the second prediction's answers give the code's value for every disputed call."""
    return all(same_value(answers.get(str(d["call"]), ""), str(d["got"])) for d in disputed)


def reproducing(
    code: str, disputed: list[dict[str, object]], answers: dict[str, str]
) -> tuple[str, list[dict[str, object]]]:
    """The check as a reproduction of a reported bug, and the disputed calls it keeps
    (expecting the reference's values). A disputed assert stays only where the reference's
    value is not the code's (two predictions agree the code is wrong there), and then
    expects the reference's value, computed by running code, where the check's was
    guessed (a check asserted `to_celsius(100) == 100` where the reference computed 37.8);
    an assert the reference gives the code's value or none for is taken out. No script
    when no disputed assert is left."""
    lines = code.splitlines(keepends=True)
    at = {int(str(d["line"])): d for d in disputed}
    kept = []
    for node in ast.parse(code).body:
        if not isinstance(node, ast.Assert) or node.lineno not in at:
            continue
        found, first, last = at[node.lineno], node.lineno - 1, node.end_lineno or node.lineno
        call = str(found["call"])
        answer = answers.get(call, "")
        expected = "" if same_value(answer, str(found["got"])) else _expectation(call, answer)
        if expected:
            kept.append({**found, "expected": answer})
        pad = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
        lines[first:last] = [pad + expected + "\n" if expected else "", *[""] * (last - first - 1)]
    return ("".join(lines) if kept else ""), kept


def _expectation(call: str, answer: str) -> str:
    """`assert call == answer`; a float compared to 9 decimals, as another spelling of the
    same formula may differ in the last digit. "" when the answer is no whole literal."""
    try:
        value = ast.literal_eval(answer)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return ""
    if isinstance(value, float):
        return f"assert round({call}, 9) == {round(value, 9)!r}"
    return f"assert {call} == {answer}"


def same_value(answer: str, got: str) -> bool:
    """Whether two values written as Python literals are equal (as text when either is
    no literal); an empty answer is no value."""
    if not answer:
        return False
    try:
        return bool(ast.literal_eval(answer) == ast.literal_eval(got))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return answer == got
