import subprocess
from pathlib import Path

from tiercode.agent import asked_names

FILES = {
    "shop/__init__.py": "from shop.money import Money\nfrom shop.number import (\n    cents,\n)\n",
    "shop/number.py": "def cents(x):\n    return x * 100\n\n\ndef shop_percent(x):\n    return x\n",
    "shop/money.py": "class Money:\n    def __init__(self, cents):\n        self.cents = cents\n",
    "tools.py": "RATE = 3\n",
}


def commit(root: Path, files: dict[str, str]) -> list[str]:
    """Write `files` and commit them; the commit's hash is `HEAD`."""
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-qm", "files"], cwd=root, check=True)
    return [*files, "README.md"]


def test_a_call_on_a_repo_module_or_class_whose_name_nothing_defines_is_missing(
    git_repo: Path,
) -> None:
    files = commit(git_repo, FILES)
    task = (
        "Add `shop.percent(value, ndigits=0)` so that `shop.percent(0.5)` is '50%'; "
        "`Money(1).add(Money(2))` should work, like `shop.number.cents(2)` and "
        "`json.dumps(x)` and `rows.append(1)` and `shop.tools.RATE` do."
    )
    assert asked_names.missing(task, git_repo, files, "HEAD") == ["Money.add", "shop.percent"]
    said = asked_names.failure(["shop.percent"])
    assert "`shop.percent`" in said and "defines `percent`" in said


def test_a_name_defined_assigned_or_imported_anywhere_is_not_missing(git_repo: Path) -> None:
    files = commit(
        git_repo,
        {
            **FILES,
            "shop/number.py": "def percent(x):\n    return x\n",
            "shop/money.py": "class Money:\n    def add(self, other):\n        return self\n",
            "shop/extra.py": "from os.path import join as total\nsplit = str.split\n",
        },
    )
    task = "`shop.percent(1)`, `Money(1).add(2)`, `shop.extra.total(1)`, `shop.extra.split('a')`"
    assert asked_names.missing(task, git_repo, files, "HEAD") == []
    # outside a code span a call is prose, not a name the task asks for
    assert asked_names.missing("call shop.nothing(1) please", git_repo, files, "HEAD") == []


def test_a_name_the_run_renamed_away_is_not_asked_for(git_repo: Path) -> None:
    files = commit(git_repo, {**FILES, "shop/number.py": "def calc_tax(x):\n    return x\n"})
    start = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=git_repo, capture_output=True, text=True
    ).stdout.strip()
    (git_repo / "shop/number.py").write_text("def compute_tax(x):\n    return x\n")
    task = "Rename `shop.number.calc_tax(x)` to `shop.number.compute_tax(x)`."
    assert asked_names.missing(task, git_repo, files, start) == []
    (git_repo / "shop/number.py").write_text("def tax(x):\n    return x\n")
    assert asked_names.missing(task, git_repo, files, start) == ["shop.number.compute_tax"]


def test_only_one_added_name_that_ends_in_the_missing_name_is_taken_for_it() -> None:
    assert asked_names.flattened(["shop.percent"], ["shop_percent", "helper"]) == (
        "shop_percent",
        "percent",
    )
    assert asked_names.flattened(["shop.percent"], ["percent_of", "percentage"]) is None
    assert asked_names.flattened(["shop.percent"], ["a_percent", "b_percent"]) is None
    assert asked_names.flattened([], ["shop_percent"]) is None


INIT = '"""The shop."""\n\nfrom .money import Money\n\n__all__ = [\n    "Money",\n    "tax",\n]\n'


def test_a_name_the_task_calls_on_a_package_is_imported_into_it_in_its_style() -> None:
    task = "Add `shop.percent(value)` and `shop.cents(x)`; `shop.tax` stays."
    text = asked_names.exported(task, INIT, "shop", "shop.number", ["percent", "cents", "tax"])
    assert text == (
        '"""The shop."""\n\nfrom .money import Money\n'
        "from .number import cents\nfrom .number import percent\n\n"
        '__all__ = [\n    "Money",\n    "cents",\n    "percent",\n    "tax",\n]\n'
    )
    assert asked_names.exported(task, text, "shop", "shop.number", ["percent", "cents"]) is None
    absolute = asked_names.exported(task, "", "shop", "shop.number", ["percent"])
    assert absolute == "from shop.number import percent\n"
    one_line = '__all__ = ["Money"]\n'  # left as written: it is not one name per line
    assert asked_names.exported(task, one_line, "shop", "shop.number", ["percent"]) == (
        'from shop.number import percent\n__all__ = ["Money"]\n'
    )
    assert asked_names.exported(task, INIT, "other", "other.number", ["percent"]) is None


def test_a_name_the_package_imports_already_is_left_alone() -> None:
    """Imported in a parenthesized import over several lines, and listed in `__all__`:
    a bug fix whose task calls it changes nothing in the package."""
    init = (
        "from .number import (\n    apnumber,\n    ordinal,\n)\n\n"
        '__all__ = [\n    "apnumber",\n    "ordinal",\n]\n'
    )
    task = "`shop.apnumber(5)` gives '5', not 'five'."
    assert asked_names.exported(task, init, "shop", "shop.number", ["apnumber"]) is None
    listed = '__all__ = [\n    "apnumber",\n]\n'  # listed but not imported: only imported
    assert asked_names.exported(task, listed, "shop", "shop.number", ["apnumber"]) == (
        "from shop.number import apnumber\n" + listed
    )
