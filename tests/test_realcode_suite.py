"""The real-code eval suite (evals/realcode/): its shape, its fixed split, and a sample of
tasks whose checks must fail on the starting repo and pass with the reference solution.
evals/realcode/build.py verifies every task the same way when it rebuilds the suite."""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import pytest

from tiercode.evals import repo
from tiercode.tools import shell

ROOT = Path(__file__).resolve().parent.parent / "evals" / "realcode"
KINDS = {"bug", "feature", "rename", "no-tests", "large-file"}


@pytest.fixture(scope="module")
def tasks() -> list[repo.RepoTask]:
    return repo.load(root=ROOT)


def _meta(task: repo.RepoTask) -> dict:
    return tomllib.loads((task.path / "task.toml").read_text())


def test_suite_shape(tasks: list[repo.RepoTask]) -> None:
    kinds = Counter(t.kind for t in tasks)
    assert len(tasks) >= 40
    assert set(kinds) == KINDS
    assert kinds["bug"] >= 24 and kinds["feature"] >= 6 and kinds["rename"] >= 4
    assert kinds["no-tests"] >= 4 and kinds["large-file"] >= 2
    projects = {_meta(t).get("project", "").split("==")[0] for t in tasks if t.kind == "bug"}
    assert 3 <= len(projects) <= 4
    for t in tasks:
        assert t.solution, t.name
        assert not list(t.path.rglob("__pycache__")), t.name
        if t.kind in ("bug", "large-file"):
            meta = _meta(t)
            assert 1 <= len(meta["FAIL_TO_PASS"]) <= 10 and meta["PASS_TO_PASS"], t.name
        if t.kind == "no-tests":
            assert shell.detect_test_command(t.path / "repo") is None, t.name
        if t.kind == "large-file":
            edited = {e["path"] for e in t.solution}
            assert any(len((t.path / "repo" / p).read_text().splitlines()) > 1000 for p in edited)


def test_split_is_fixed_and_stratified(tasks: list[repo.RepoTask]) -> None:
    by_kind: dict[str, Counter] = {}
    for t in tasks:
        split = _meta(t)["split"]
        assert split in ("dev", "heldout"), t.name
        by_kind.setdefault(t.kind, Counter())[split] += 1
    for kind, counts in by_kind.items():
        total = counts["dev"] + counts["heldout"]
        assert counts["heldout"] == round(total / 3), (kind, counts)


def test_requests_do_not_leak_the_reference_fix(tasks: list[repo.RepoTask]) -> None:
    for t in tasks:
        if t.kind in ("bug", "large-file"):
            for edit in t.solution:
                changed = edit["replace"].strip()
                assert changed not in t.request, t.name


@pytest.mark.parametrize("pick", ["notests_tempconv", "rename_calc_tax", "inflection_"])
def test_sample_checks_discriminate(tasks: list[repo.RepoTask], tmp_path: Path, pick: str) -> None:
    task = next(t for t in tasks if t.name.startswith(pick))
    before = repo.make_repo(task, tmp_path / "before")
    assert not repo.check(task, before)[0], f"{task.name}: check passes without any change"
    after = repo.make_repo(task, tmp_path / "after")
    repo.apply_solution(task, after)
    ok, output = repo.check(task, after)
    assert ok, f"{task.name}: reference solution fails its check:\n{output}"
