"""A repository without tests: the run is done only when a written acceptance check passes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scripted_agent import run_agent

from tiercode.agent import acceptance, config
from tiercode.agent.events import Event
from tiercode.agent.llm.models import ScriptedModel
from tiercode.agent.replies import reply_from
from tiercode.agent.runner import Runner, Tiers
from tiercode.tools.errors import ExitCode
from tiercode.tools.git import GitRepo

PLAN = json.dumps({"steps": [{"goal": "add slugify", "files": ["textutils.py"]}]})
CHECK = (
    "```python\nfrom textutils import slugify\n\n"
    "assert slugify('Hello World') == 'hello-world'\nassert slugify('a') == 'a'\n```\n"
)
WRONG = "def slugify(text):\n    return text.lower()\n"
SIDES_WITH_CHECK = "```python\ndef slugify(s):\n    return '-'.join(s.lower().split())\n```\n"
"""A reference implementation written from the task: its value is the check's."""
FIRST = CHECK
"""The check written before any change (`reproduction`): dropped, slugify does not exist yet."""
RIGHT = "def slugify(text):\n    return '-'.join(text.lower().split())\n"
WORDS_TEST = (
    "from textutils import words\n\n\ndef test_words():\n    assert words('a b') == ['a', 'b']\n"
)


TASK = "add a function slugify to textutils.py that joins the lowercased words with -"


def run(
    repo: Path, replies: list[str], task: str = TASK
) -> tuple[object, list[Event], ScriptedModel]:
    (repo / "textutils.py").write_text("def words(text):\n    return text.split()\n")
    GitRepo.open(repo).repo.git.execute(["git", "add", "-A"])
    GitRepo.open(repo).repo.git.execute(["git", "commit", "-qm", "textutils"])
    model = ScriptedModel(replies)
    outcome, events = run_agent(repo, model, task, acceptance_check=True)
    return outcome, events, model


def test_a_wrong_answer_fails_the_check_and_the_retry_passes_the_same_one(git_repo: Path) -> None:
    code = lambda text: reply_from([{"path": "textutils.py", "search": "", "replace": text}])  # noqa: E731
    outcome, events, model = run(
        git_repo, [PLAN, FIRST, code(WRONG), CHECK, SIDES_WITH_CHECK, code(RIGHT)]
    )
    assert outcome.exit_code == ExitCode.OK, outcome.message  # type: ignore[attr-defined]
    assert len(model.calls) == 6, "the check is written once and judges both answers"
    details = [e.to_dict()["detail"] for e in events if e.type == "step.completed" and e.step]
    assert details[0].startswith("the acceptance check fails:")
    assert "AssertionError" in details[0]
    done = next(e.to_dict() for e in events if e.type == "run.completed")
    assert "acceptance check (2 assert(s), written by the local tier)" in done["verified"]
    check_prompt = model.calls[3][-1]["content"]
    assert "def slugify(text)" in check_prompt and "text.lower()" not in check_prompt


def test_a_reference_that_imports_the_repository_is_no_second_prediction(
    git_repo: Path,
) -> None:
    """A reference that calls the repository's own code would side with the answer it
    judges: it gives no value, so the wrong answer is not let through."""
    code = lambda text: reply_from([{"path": "textutils.py", "search": "", "replace": text}])  # noqa: E731
    borrowed = "```python\nfrom textutils import slugify\n```\n"
    outcome, _, model = run(git_repo, [PLAN, FIRST, code(WRONG), CHECK, borrowed, code(RIGHT)])
    assert outcome.exit_code == ExitCode.OK, outcome.message  # type: ignore[attr-defined]
    assert len(model.calls) == 6, "the wrong answer was not let through"


def test_an_answer_that_misnames_the_function_the_task_calls_is_told_before_any_check(
    git_repo: Path,
) -> None:
    code = lambda text: reply_from([{"path": "textutils.py", "search": "", "replace": text}])  # noqa: E731
    misnamed = RIGHT.replace("def slugify", "def make_slug")
    task = "add `textutils.slugify(text)` that joins the lowercased words with -"
    outcome, events, model = run(git_repo, [PLAN, FIRST, code(misnamed), code(RIGHT), CHECK], task)
    assert outcome.exit_code == ExitCode.OK, outcome.message  # type: ignore[attr-defined]
    details = [e.to_dict()["detail"] for e in events if e.type == "step.completed" and e.step]
    assert details[0] == (
        "the task calls `textutils.slugify`, but no file in the repository defines "
        "`slugify`: define it with exactly that name, where the task imports it from"
    )
    assert len(model.calls) == 5, "no check is written for the misnamed answer"
    assert details[0] in model.calls[3][1]["content"]


def test_a_new_function_named_after_the_module_gets_the_name_the_task_calls(
    git_repo: Path,
) -> None:
    """The 1.5B wrote `humanize_percent` for `humanize.percent` in six answers of six,
    told the name each time: it is renamed, its callers too, and the first answer passes."""
    flat = RIGHT.replace("slugify", "textutils_slugify") + (
        "\n\ndef slugs(texts):\n    return [textutils_slugify(t) for t in texts]\n"
    )
    task = "add `textutils.slugify(text)` that joins the lowercased words with -"
    reply = reply_from([{"path": "textutils.py", "search": "", "replace": flat}])
    outcome, _, model = run(git_repo, [PLAN, FIRST, reply, CHECK], task)
    assert outcome.exit_code == ExitCode.OK, outcome.message  # type: ignore[attr-defined]
    source = (git_repo / "textutils.py").read_text()
    assert "def slugify(text)" in source and "[slugify(t) for t in texts]" in source
    assert "textutils_slugify" not in source
    assert len(model.calls) == 4


def test_a_function_the_task_calls_on_a_package_is_exported_from_it(git_repo: Path) -> None:
    (git_repo / "text").mkdir()
    (git_repo / "text" / "__init__.py").write_text(
        'from text.words import words\n\n__all__ = [\n    "words",\n]\n'
    )
    (git_repo / "text" / "words.py").write_text("def words(text):\n    return text.split()\n")
    GitRepo.open(git_repo).repo.git.execute(["git", "add", "-A"])
    GitRepo.open(git_repo).repo.git.execute(["git", "commit", "-qm", "text"])
    plan = json.dumps({"steps": [{"goal": "add slugify", "files": ["text/words.py"]}]})
    reply = reply_from([{"path": "text/words.py", "search": "", "replace": RIGHT}])
    check = "```python\nimport text\n\nassert text.slugify('Hello World') == 'hello-world'\n```\n"
    task = "add `text.slugify(s)` that joins the lowercased words with -, importable from text"
    model = ScriptedModel([plan, check, reply, check])
    outcome, _ = run_agent(git_repo, model, task, acceptance_check=True)
    assert outcome.exit_code == ExitCode.OK, outcome.message
    init = (git_repo / "text" / "__init__.py").read_text()
    assert init == (
        "from text.words import words\nfrom text.words import slugify\n\n"
        '__all__ = [\n    "slugify",\n    "words",\n]\n'
    )
    committed = GitRepo.open(git_repo).repo.git.execute(["git", "show", "--stat", "HEAD"])
    assert "text/__init__.py" in committed and "text/words.py" in committed


def test_under_auto_the_cloud_writes_the_check_that_judges_local_answers(git_repo: Path) -> None:
    """A 0.5B check once asserted that "Hello world this is a test" has 4 words and threw
    a right local answer away: the check judges every answer, so the stronger tier writes it."""
    (git_repo / "textutils.py").write_text("def words(text):\n    return text.split()\n")
    GitRepo.open(git_repo).repo.git.execute(["git", "add", "-A"])
    GitRepo.open(git_repo).repo.git.execute(["git", "commit", "-qm", "textutils"])
    code = reply_from([{"path": "textutils.py", "search": "", "replace": RIGHT}], confidence=90)
    local, cloud = ScriptedModel([PLAN, code]), ScriptedModel([FIRST, CHECK], tier="cloud")
    settings, _ = config.load(git_repo, {"policy": "auto", "acceptance_check": True})
    events: list[Event] = []
    tiers = Tiers(lambda: local, lambda: cloud, "gpt-4.1-mini", simulated=True)
    outcome = Runner(settings, git_repo, emit=events.append, tiers=tiers).start(
        "add a function slugify to textutils.py that joins the lowercased words with -"
    )
    assert outcome.exit_code == ExitCode.OK, outcome.message
    assert (len(local.calls), len(cloud.calls)) == (2, 2)
    done = next(e.to_dict() for e in events if e.type == "run.completed")
    assert "acceptance check (2 assert(s), written by the cloud tier)" in done["verified"]


def test_a_check_that_asserts_nothing_is_no_evidence(git_repo: Path) -> None:
    code = reply_from([{"path": "textutils.py", "search": "", "replace": RIGHT}])
    nothing = "```python\nimport textutils\nprint('ok')\n```\n"
    outcome, events, _ = run(git_repo, [PLAN, FIRST, *[code, nothing] * 2])
    assert outcome.exit_code == ExitCode.TASK_FAILED  # type: ignore[attr-defined]
    details = [e.to_dict()["detail"] for e in events if e.type == "step.completed" and e.step]
    assert details == ["no usable acceptance check: the acceptance check asserts nothing"] * 2
    assert GitRepo.open(git_repo).agent_commits() == []


def test_the_check_runs_outside_the_repo_in_the_sandbox(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text("X = 2\n")
    result = acceptance.run(tmp_path, "import mod\nassert mod.X == 2\n")
    assert result.passed and sorted(p.name for p in tmp_path.iterdir()) == ["mod.py"]
    result = acceptance.run(tmp_path, "open('/tmp/../tmp/escaped-by-check', 'w')\n")
    assert not result.passed and "Permission denied" in result.output


@pytest.mark.parametrize(
    ("reply", "error"),
    [("no code here", "asserts nothing"), ("```python\nassert (\n```", "does not parse")],
)
def test_unusable_checks_are_refused(reply: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        acceptance.extract(reply)


def test_a_check_cut_by_the_token_limit_keeps_its_whole_statements() -> None:
    kept = "import m\n\nassert m.f(1) == 2\nif m.f(2):\n    assert m.f(2) == 4\n"
    reply = f"```python\n{kept}assert m.f('ab"
    with pytest.raises(ValueError, match="does not parse"):
        acceptance.extract(reply)  # a reply that was not cut is not second-guessed
    assert acceptance.extract(reply, cut=True) == kept
    with pytest.raises(ValueError, match="asserts nothing"):
        acceptance.extract("```python\nimport m\nassert m.f('ab", cut=True)


def test_a_cut_check_drops_the_statement_it_was_cut_in_even_when_that_parses() -> None:
    whole = "import m\n\nassert m.f(1) == 2\n"
    assert acceptance.extract(f"```python\n{whole}assert m.f(2)", cut=True) == whole
    closed = f"```python\n{whole}assert m.f(2) == 4\n```\nThis checks"
    assert acceptance.extract(closed, cut=True) == f"{whole}assert m.f(2) == 4\n"


def test_a_check_that_passes_before_the_change_proves_nothing(git_repo: Path) -> None:
    code = reply_from([{"path": "textutils.py", "search": "", "replace": RIGHT}])
    weak = "```python\nfrom textutils import words\n\nassert words('a b') == ['a', 'b']\n```\n"
    outcome, events, _ = run(git_repo, [PLAN, FIRST, *[code, weak] * 2])
    assert outcome.exit_code == ExitCode.TASK_FAILED  # type: ignore[attr-defined]
    details = [e.to_dict()["detail"] for e in events if e.type == "step.completed" and e.step]
    assert details[0] == (
        "the acceptance check passes on the code from before the change too: no evidence"
    )
    assert GitRepo.open(git_repo).agent_commits() == []


def test_tests_that_passed_before_and_after_do_not_show_a_feature_is_done(git_repo: Path) -> None:
    (git_repo / "test_words.py").write_text(
        "from textutils import words\n\n\n"
        "def test_words():\n    assert words('a b') == ['a', 'b']\n"
    )
    code = lambda text: reply_from([{"path": "textutils.py", "search": "", "replace": text}])  # noqa: E731
    outcome, events, _ = run(git_repo, [PLAN, code(WRONG), CHECK, SIDES_WITH_CHECK, code(RIGHT)])
    assert outcome.exit_code == ExitCode.OK, outcome.message  # type: ignore[attr-defined]
    details = [e.to_dict()["detail"] for e in events if e.type == "step.completed" and e.step]
    assert details[0].startswith("the acceptance check fails:")
    done = next(e.to_dict() for e in events if e.type == "run.completed")
    assert any(v.startswith("tests: 1 passed") for v in done["verified"])
    assert "acceptance check (2 assert(s), written by the local tier)" in done["verified"]


def test_an_edited_test_file_that_adds_no_passing_test_still_needs_the_check(
    git_repo: Path,
) -> None:
    """A held-out run ended "done" on a feature whose hidden tests failed: the model had
    rewritten the test file, which counted as tests showing the change, though no more
    tests passed than before. Now only added tests that pass count."""
    test_file = WORDS_TEST
    (git_repo / "test_words.py").write_text(test_file)
    plan = json.dumps(
        {"steps": [{"goal": "add slugify", "files": ["textutils.py", "test_words.py"]}]}
    )
    same_tests = reply_from(
        [
            {"path": "textutils.py", "search": "", "replace": WRONG},
            {"path": "test_words.py", "search": "", "replace": test_file + "# slugify\n"},
        ]
    )
    outcome, events, model = run(git_repo, [plan, same_tests, CHECK, SIDES_WITH_CHECK, same_tests])
    assert outcome.exit_code == ExitCode.TASK_FAILED  # type: ignore[attr-defined]
    details = [e.to_dict()["detail"] for e in events if e.type == "step.completed" and e.step]
    assert details and all(d.startswith("the acceptance check fails:") for d in details)
    assert len(model.calls) == 5, "the same disputed call is not worked out twice"
    assert GitRepo.open(git_repo).agent_commits() == []


def test_added_tests_that_pass_show_the_change_without_a_check(git_repo: Path) -> None:
    old_test = WORDS_TEST
    (git_repo / "test_words.py").write_text(old_test)
    plan = json.dumps(
        {"steps": [{"goal": "add slugify", "files": ["textutils.py", "test_words.py"]}]}
    )
    with_test = reply_from(
        [
            {"path": "textutils.py", "search": "", "replace": RIGHT},
            {
                "path": "test_words.py",
                "search": "",
                "replace": old_test.replace("import words", "import slugify, words")
                + "\n\ndef test_slug():\n    assert slugify('A b') == 'a-b'\n",
            },
        ]
    )
    outcome, events, model = run(git_repo, [plan, with_test])
    assert outcome.exit_code == ExitCode.OK, outcome.message  # type: ignore[attr-defined]
    done = next(e.to_dict() for e in events if e.type == "run.completed")
    assert any(v.startswith("tests: 2 passed") for v in done["verified"])
    assert len(model.calls) == 2  # the plan and the answer: no check was needed


def test_a_rename_carried_into_the_tests_needs_no_check(git_repo: Path) -> None:
    """The tests now call the new name and pass: that shows the rename (a model-written
    check once failed a correct rename in a held-out run by inventing a tax rate)."""
    (git_repo / "shop").mkdir()
    (git_repo / "shop/__init__.py").write_text("")
    (git_repo / "shop/pricing.py").write_text("def calc_tax(x):\n    return x * 0.2\n")
    (git_repo / "tests").mkdir()
    (git_repo / "tests/test_shop.py").write_text(
        "from shop.pricing import calc_tax\n\n\ndef test_tax():\n    assert calc_tax(10) == 2\n"
    )
    GitRepo.open(git_repo).repo.git.execute(["git", "add", "-A"])
    GitRepo.open(git_repo).repo.git.execute(["git", "commit", "-qm", "shop"])
    plan = json.dumps({"steps": [{"goal": "rename calc_tax", "files": ["shop/pricing.py"]}]})
    renamed = reply_from(
        [
            {
                "path": "shop/pricing.py",
                "search": "",
                "replace": "def compute_tax(x):\n    return x * 0.2\n",
            }
        ]
    )
    model = ScriptedModel([plan, renamed])
    task = "Rename the function calc_tax to compute_tax everywhere, tests included"
    outcome, _ = run_agent(git_repo, model, task, acceptance_check=True)
    assert outcome.exit_code == ExitCode.OK, outcome.message  # type: ignore[attr-defined]
    assert "compute_tax" in (git_repo / "tests/test_shop.py").read_text()
    assert len(model.calls) == 2  # the plan and the answer: no check was asked for


def test_asserts_on_code_the_run_did_not_change_are_left_out(git_repo: Path) -> None:
    """A 1.5B check asserted `shout("Hello, World!") == "HELLO-WORLD!"` about a function
    the task never touched, and failed a right answer with it."""
    code = reply_from([{"path": "textutils.py", "search": "", "replace": RIGHT}])
    check = (
        "```python\nimport textutils\n\n"
        "assert textutils.words('a b') == ['nonsense']\n"
        "assert textutils.slugify('Hello World') == 'hello-world'\n```\n"
    )
    outcome, events, _ = run(git_repo, [PLAN, FIRST, code, check])
    assert outcome.exit_code == ExitCode.OK, outcome.message  # type: ignore[attr-defined]
    done = next(e.to_dict() for e in events if e.type == "run.completed")
    assert "acceptance check (1 assert(s), written by the local tier)" in done["verified"]


def test_a_value_the_check_got_wrong_is_overruled_only_by_a_second_prediction(
    git_repo: Path,
) -> None:
    """A check predicted a wrong value for a right answer: a reference implementation
    written from the task alone gives the code's value, so the answer stands; the evidence
    says so."""
    code = reply_from([{"path": "textutils.py", "search": "", "replace": RIGHT}])
    wrong_check = (
        "```python\nfrom textutils import slugify\n\n"
        "assert slugify('Hello World') == 'hello-world'\n"
        "assert slugify('Big Red Dog') == 'big-red'\n```\n"
    )
    worked = "```python\ndef slugify(text):\n    return '-'.join(text.lower().split())\n```\n"
    outcome, events, model = run(git_repo, [PLAN, FIRST, code, wrong_check, worked])
    assert outcome.exit_code == ExitCode.OK, outcome.message  # type: ignore[attr-defined]
    done = next(e.to_dict() for e in events if e.type == "run.completed")
    assert any("slugify('Big Red Dog') == 'big-red-dog'" in v for v in done["verified"])
    judge_prompt = model.calls[4][-1]["content"]
    assert "function `slugify`" in judge_prompt
    assert "Big Red" not in judge_prompt and "big-red" not in judge_prompt  # blind to both
    purposes = [e.to_dict()["purpose"] for e in events if e.type == "model.call"]
    assert purposes == ["plan", "check", "act", "check", "judge"]


def test_the_harness_runs_every_assert_and_reports_what_a_failed_call_gave(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(
        "def double(x):\n    return x * 2\n\n\nclass Box:\n    def size(self):\n        return 1\n"
    )
    script = (
        "from mod import Box, double\n"
        "assert double(2) == 5\n"
        "assert 3 == double(1)\n"
        "assert double(1) == 2\n"
        "n = 4\n"
        "assert double(n) == 9\n"  # not a call on literals: not predicted again
        "assert Box().size() == 2\n"
    )
    result = acceptance.run(tmp_path, script)
    assert not result.passed and [a["passed"] for a in result.asserts] == [
        False,
        False,
        True,
        False,
        False,
    ]
    assert (result.asserts[0]["call"], result.asserts[0]["got"]) == ("double(2)", "4")
    assert result.asserts[0]["reference_call"] == "double(2)"
    assert result.asserts[4]["got"] == "1"  # a method: no reference can be written for it
    assert "reference_call" not in result.asserts[4]
    assert result.asserts[1]["expected"] == "3"
    assert "got" not in result.asserts[3] and result.disputed == []
    assert "AssertionError" in result.output and "@@tiercode" not in result.output
    assert "  where double(2) is 4\n" in result.output  # what the code gave, as pytest shows it
    assert "  where double(n) is 8" in result.output


def test_a_check_shows_its_traceback_without_the_harness_or_temporary_paths(
    tmp_path: Path,
) -> None:
    """The next answer reads this output: every path in it is one it may name."""
    (tmp_path / "words.py").write_text("def count(text):\n    return text.split()[5]\n")
    result = acceptance.run(tmp_path, "import words\nn = words.count('a b')\nassert n == 2\n")
    assert not result.passed
    assert 'File "acceptance_check.py", line 2, in <module>' in result.output
    assert 'File "words.py", line 2, in count' in result.output
    assert "harness" not in result.output and str(tmp_path) not in result.output
    assert "tiercode-check-" not in result.output


def test_relevance_follows_values_through_variables() -> None:
    script = (
        "import m\nr = m.new(1)\nold = m.old(1)\n"
        "assert r == 2\nassert old == 3\nassert m.old(2) == 1\n"
    )
    kept = acceptance.relevant(script, {"new"}, {"old"})
    assert "assert r == 2" in kept and "assert old" not in kept and "m.old(2)" not in kept
    missing = acceptance.relevant(script, set(), {"other"})  # m.new is gone: the assert stays
    assert "assert r == 2" in missing
    with pytest.raises(ValueError, match="tests only old, which the change left as it was"):
        acceptance.relevant("import m\nv = m.old(1)\nassert v == 2\n", {"new"}, {"old"})


def test_asserts_inside_functions_and_loops_are_kept_whole() -> None:
    """A check whose asserts all sit in a function or a loop was once refused as testing
    "only , which the change left as it was" (seen on a held-out task with no tests)."""
    script = (
        "import m\n\ndef check():\n    assert m.new(1) == 2\n\ncheck()\n"
        "for x in (1, 2):\n    assert m.old(x) > 0\n"
    )
    assert acceptance.relevant(script, {"new"}, {"old"}) == script
    dropped = acceptance.relevant(script + "assert m.old(3) == 1\n", {"new"}, {"old"})
    assert dropped == script  # the top-level assert on unchanged code still goes


def test_a_definition_that_calls_changed_code_counts_as_changed(git_repo: Path) -> None:
    """`convert` calls the fixed `to_c`, so a check of `convert` is about the change (a dev
    no-tests task refused a right fix as "tests only convert, to_fahrenheit")."""
    source = (
        "def to_f(c):\n    return c * 9 / 5 + 32\n\n\n"
        "def to_c(f):\n    return f - 32 * 5 / 9\n\n\n"
        "def convert(v, unit):\n    return to_c(v) if unit == 'F' else to_f(v)\n\n\n"
        "def main():\n    print(convert(1, 'F'))\n"
    )
    (git_repo / "conv.py").write_text(source)
    GitRepo.open(git_repo).repo.git.execute(["git", "add", "-A"])
    GitRepo.open(git_repo).repo.git.execute(["git", "commit", "-qm", "conv"])
    (git_repo / "conv.py").write_text(source.replace("f - 32 * 5", "(f - 32) * 5"))
    changed, same = acceptance.symbol_changes(git_repo, "HEAD", ["conv.py"])
    assert (changed, same) == ({"to_c", "convert", "main"}, {"to_f"})


@pytest.mark.parametrize(
    ("reply", "overruled"),
    [
        (
            "```python\ndef f(s):\n    return s.lower().replace(' ', '-')\n\ng = lambda: 3\n```",
            True,
        ),
        ("```python\ndef f(s):\n    return s.lower().replace(' ', '-')\n```", False),  # no g
        ("```python\ndef f(s):\n    return s.lower()\n\ndef g():\n    return 3\n```", False),
        ("```python\nimport textutils\n\ndef f(s):\n    return 'a-b'\n```", False),
        ("```python\ndef f(s):\n    while True:\n        pass\n```", False),
        ("def f(s):\n    return 'a-b'\n", False),  # no code block
    ],
)
def test_a_reference_must_give_every_disputed_value(reply: str, overruled: bool) -> None:
    disputed: list[dict[str, object]] = [
        {"call": "m.f('A B')", "got": "'a-b'", "reference_call": "f('A B')"},
        {"call": "m.g()", "got": "3", "reference_call": "g()"},
    ]
    answers = acceptance.worked_answers(reply, disputed)
    assert acceptance.overruled(answers, disputed) is overruled


def test_what_is_left_of_a_check_must_still_fail_before_the_change(git_repo: Path) -> None:
    """Left out, a wrong assert on untouched code can no longer be what made the check
    fail before the change: the asserts that are left must show the change themselves."""
    (git_repo / "textutils.py").write_text(
        "def words(text):\n    return text.split()\n\n\ndef shout(text):\n    return text.upper()\n"
    )
    GitRepo.open(git_repo).repo.git.execute(["git", "add", "-A"])
    GitRepo.open(git_repo).repo.git.execute(["git", "commit", "-qm", "textutils"])
    same_behaviour = "def words(text):\n    '''The words.'''\n    return text.split()\n"
    code = reply_from([{"path": "textutils.py", "search": "", "replace": same_behaviour}])
    check = (
        "```python\nimport textutils\n\nassert textutils.shout('a') == 'wrong'\n"
        "assert textutils.words('a b') == ['a', 'b']\n```\n"
    )
    first_judge = "```python\ndef shout(text):\n    return text.upper()\n```\n"  # the code's
    model = ScriptedModel([PLAN, check, first_judge, code, check, code])
    outcome, events = run_agent(git_repo, model, "document words", acceptance_check=True)
    assert outcome.exit_code == ExitCode.TASK_FAILED
    details = [e.to_dict()["detail"] for e in events if e.type == "step.completed" and e.step]
    assert details == ["the acceptance check's asserts on the changed code pass before it too"] * 2


def test_a_check_whose_set_up_fails_fails_whole_with_its_traceback(tmp_path: Path) -> None:
    result = acceptance.run(tmp_path, "from missing_module import f\nassert f(1) == 2\n")
    assert not result.passed and result.asserts == [] and result.disputed == []
    assert "ModuleNotFoundError: No module named 'missing_module'" in result.output


def test_a_name_the_package_lacks_shows_the_retry_its_init(git_repo: Path) -> None:
    """The answer defined slugify in pkg/text.py, but the check imports it from pkg: the
    failure names module 'pkg', so the retry is shown pkg/__init__.py and may edit it."""
    init = "from pkg.text import words\n"
    (git_repo / "pkg").mkdir()
    (git_repo / "pkg/__init__.py").write_text(init)
    (git_repo / "pkg/text.py").write_text("def words(text):\n    return text.split()\n")
    GitRepo.open(git_repo).repo.git.execute(["git", "add", "-A"])
    GitRepo.open(git_repo).repo.git.execute(["git", "commit", "-qm", "pkg"])
    plan = json.dumps({"steps": [{"goal": "add slugify", "files": ["pkg/text.py"]}]})
    check = "```python\nimport pkg\n\nassert pkg.slugify('Hello World') == 'hello-world'\n```\n"
    only_text = reply_from([{"path": "pkg/text.py", "search": "", "replace": RIGHT}])
    both = reply_from(
        [
            {"path": "pkg/text.py", "search": "", "replace": RIGHT},
            {"path": "pkg/__init__.py", "search": init, "replace": init[:-1] + ", slugify\n"},
        ]
    )
    model = ScriptedModel([plan, check, only_text, check, both])
    task = "add slugify(text) to pkg, joining the lowercased words with -"
    outcome, events = run_agent(git_repo, model, task, acceptance_check=True)
    assert outcome.exit_code == ExitCode.OK, outcome.message
    details = [e.to_dict()["detail"] for e in events if e.type == "step.completed" and e.step]
    assert "module 'pkg' has no attribute 'slugify'" in details[0]
    assert "pkg/__init__.py" not in model.calls[2][-1]["content"]
    assert "pkg/__init__.py\n```python\nfrom pkg.text import words" in model.calls[4][-1]["content"]
