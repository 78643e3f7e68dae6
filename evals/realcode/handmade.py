# ruff: noqa: E501, W293
"""The hand-written tasks of the real-code suite: features with hidden checks, multi-file
renames, and repositories without tests. Three features build on the real-project snapshots;
the rest are small repositories written for the suite."""

from __future__ import annotations

PYTEST = "python -m pytest -q -p no:cacheprovider"


def _new(path: str, text: str) -> dict:
    return {"path": path, "search": "", "replace": text.rstrip("\n")}


def _sub(path: str, search: str, replace: str) -> dict:
    return {"path": path, "search": search, "replace": replace}


# ---------------------------------------------------------------- features

KEBAB_TEST = """\
import inflection


def test_kebab_case_from_camel():
    assert inflection.kebab_case("DeviceType") == "device-type"
    assert inflection.kebab_case("HTTPServerError") == "http-server-error"


def test_kebab_case_from_snake_and_module_path():
    assert inflection.kebab_case("device_type") == "device-type"
    assert inflection.kebab_case("admin_users") == "admin-users"
"""

PERCENT_TEST = """\
import humanize


def test_percent_rounds_to_whole_percent():
    assert humanize.percent(0.256) == "26%"
    assert humanize.percent(1) == "100%"
    assert humanize.percent(0) == "0%"


def test_percent_digits():
    assert humanize.percent(0.25678, 1) == "25.7%"
    assert humanize.percent(0.5, 2) == "50.00%"


def test_percent_leaves_non_numbers_alone():
    assert humanize.percent("abc") == "abc"
    assert humanize.percent(None) == "None"
"""

PERCENT_FN = '''

def percent(value: NumberOrString, ndigits: int = 0) -> str:
    """Formats a fraction as a percentage: 0.256 -> '26%', with `ndigits` decimals.

    Values that are not numbers are returned unchanged, as strings.
    """
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return _format_not_finite(number)
    return f"{number * 100:.{ndigits}f}%"
'''

TRUNCATE_TEST = """\
from boltons import strutils


def test_truncate_short_text_unchanged():
    assert strutils.truncate("hello", 10) == "hello"
    assert strutils.truncate("hello", 5) == "hello"


def test_truncate_long_text_fits_width():
    out = strutils.truncate("hello world", 8)
    assert out == "hello..."
    assert len(out) == 8


def test_truncate_custom_placeholder():
    assert strutils.truncate("abcdefghij", 5, placeholder="~") == "abcd~"
"""

TRUNCATE_FN = '''

def truncate(text, width, placeholder='...'):
    """Shorten *text* to at most *width* characters, ending in *placeholder*
    when something was cut.

    >>> truncate('hello world', 8)
    'hello...'
    """
    if len(text) <= width:
        return text
    return text[:max(width - len(placeholder), 0)] + placeholder
'''

TODO_PY = '''\
"""A tiny to-do list kept in a JSON file."""

import argparse
import json
import sys
from pathlib import Path


def load(path):
    path = Path(path)
    if not path.exists():
        return []
    return json.loads(path.read_text())


def save(path, items):
    Path(path).write_text(json.dumps(items, indent=2))


def add(items, text):
    items.append({"text": text, "done": False})
    return items


def complete(items, number):
    items[number - 1]["done"] = True
    return items


def render(items):
    lines = []
    for i, item in enumerate(items, 1):
        mark = "x" if item["done"] else " "
        lines.append(f"{i}. [{mark}] {item['text']}")
    return "\\n".join(lines)


def main(argv=None, out=sys.stdout):
    parser = argparse.ArgumentParser(prog="todo")
    parser.add_argument("--file", default="todo.json")
    sub = parser.add_subparsers(dest="command", required=True)
    p_add = sub.add_parser("add")
    p_add.add_argument("text")
    p_done = sub.add_parser("done")
    p_done.add_argument("number", type=int)
    sub.add_parser("list")
    args = parser.parse_args(argv)

    items = load(args.file)
    if args.command == "add":
        save(args.file, add(items, args.text))
    elif args.command == "done":
        save(args.file, complete(items, args.number))
    elif args.command == "list":
        print(render(items), file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''

TODO_TEST = """\
import io

import todo


def test_add_and_list(tmp_path):
    f = str(tmp_path / "t.json")
    todo.main(["--file", f, "add", "milk"])
    todo.main(["--file", f, "add", "bread"])
    todo.main(["--file", f, "done", "2"])
    out = io.StringIO()
    todo.main(["--file", f, "list"], out=out)
    assert out.getvalue() == "1. [ ] milk\\n2. [x] bread\\n"
"""

TODO_HIDDEN = """\
import io

import pytest

import todo


def _setup(tmp_path):
    f = str(tmp_path / "t.json")
    for text in ("milk", "bread", "eggs"):
        todo.main(["--file", f, "add", text])
    todo.main(["--file", f, "done", "2"])
    return f


def _list(f, *flags):
    out = io.StringIO()
    todo.main(["--file", f, "list", *flags], out=out)
    return out.getvalue()


def test_list_pending_only(tmp_path):
    f = _setup(tmp_path)
    assert _list(f, "--pending") == "1. [ ] milk\\n3. [ ] eggs\\n"


def test_list_without_flag_shows_all(tmp_path):
    f = _setup(tmp_path)
    assert _list(f) == "1. [ ] milk\\n2. [x] bread\\n3. [ ] eggs\\n"
"""

MONEY_PY = '''\
"""Amounts of money, kept in whole cents."""


class Money:
    def __init__(self, cents, currency="EUR"):
        self.cents = int(cents)
        self.currency = currency

    @classmethod
    def parse(cls, text):
        """'12.50 EUR' -> Money(1250, 'EUR')."""
        amount, _, currency = text.strip().partition(" ")
        units, _, frac = amount.partition(".")
        cents = int(units) * 100 + int((frac + "00")[:2])
        return cls(cents, currency or "EUR")

    def __str__(self):
        return f"{self.cents // 100}.{self.cents % 100:02d} {self.currency}"
'''

MONEY_TEST = """\
from money import Money


def test_parse_and_str():
    assert str(Money.parse("12.5 EUR")) == "12.50 EUR"
    assert str(Money(7, "USD")) == "0.07 USD"
"""

MONEY_HIDDEN = """\
import pytest

from money import Money


def test_equality():
    assert Money(150, "EUR") == Money(150, "EUR")
    assert Money(150, "EUR") != Money(150, "USD")
    assert Money(150, "EUR") != Money(151, "EUR")
    assert Money(1, "EUR") != "1"


def test_addition_same_currency():
    total = Money(150, "EUR") + Money(275, "EUR")
    assert total == Money(425, "EUR")
    assert str(total) == "4.25 EUR"


def test_addition_other_currency_is_an_error():
    with pytest.raises(ValueError):
        Money(1, "EUR") + Money(1, "USD")


def test_sum_of_amounts():
    assert sum([Money(1), Money(2), Money(3)], Money(0)) == Money(6)


def test_hashable():
    assert len({Money(5), Money(5), Money(6)}) == 2
"""

MONEY_DUNDERS = """

    def __eq__(self, other):
        if not isinstance(other, Money):
            return NotImplemented
        return (self.cents, self.currency) == (other.cents, other.currency)

    def __hash__(self):
        return hash((self.cents, self.currency))

    def __add__(self, other):
        if not isinstance(other, Money):
            return NotImplemented
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money(self.cents + other.cents, self.currency)
"""

SIGNUP_PY = '''\
"""Sign-up records for the club's mailing list."""

from dataclasses import dataclass


@dataclass
class Member:
    name: str
    email: str
    age: int


def register(name, email, age):
    """Create a member from the sign-up form's fields (all strings)."""
    return Member(name=name.strip(), email=email.strip().lower(), age=int(age))


def register_all(rows):
    return [register(*row) for row in rows]
'''

SIGNUP_TEST = """\
from signup import register


def test_register_normalises():
    m = register("  Ada ", "ADA@Example.org ", "36")
    assert (m.name, m.email, m.age) == ("Ada", "ada@example.org", 36)
"""

SIGNUP_HIDDEN = """\
import pytest

from signup import register, register_all


@pytest.mark.parametrize("row", [
    ("", "a@b.org", "30"),
    ("   ", "a@b.org", "30"),
    ("Ann", "not-an-email", "30"),
    ("Ann", "a@", "30"),
    ("Ann", "a@b.org", "-1"),
    ("Ann", "a@b.org", "151"),
    ("Ann", "a@b.org", "thirty"),
])
def test_bad_rows_are_rejected(row):
    with pytest.raises(ValueError):
        register(*row)


def test_good_rows_still_work():
    members = register_all([("Ann", "ann@b.org", "0"), ("Bo", " BO@c.io", "150")])
    assert [m.age for m in members] == [0, 150]
    assert members[1].email == "bo@c.io"
"""

SIGNUP_SOLUTION = '''def register(name, email, age):
    """Create a member from the sign-up form's fields (all strings)."""
    name, email = name.strip(), email.strip().lower()
    if not name:
        raise ValueError("name is empty")
    local, _, domain = email.partition("@")
    if not local or "." not in domain:
        raise ValueError(f"not an email address: {email!r}")
    try:
        years = int(age)
    except (TypeError, ValueError):
        raise ValueError(f"age is not a number: {age!r}") from None
    if not 0 <= years <= 150:
        raise ValueError(f"age out of range: {years}")
    return Member(name=name, email=email, age=years)'''


def features(snapshot) -> dict[str, dict]:
    inflection, humanize, boltons = (snapshot(p) for p in ("inflection", "humanize", "boltons"))
    return {
        "feature_inflection_kebab_case": {
            "repo": inflection,
            "kind": "feature",
            "request": "I need a kebab-case helper in inflection, next to underscore and "
            'dasherize: `inflection.kebab_case("DeviceType")` should give '
            '"device-type", and it should also accept snake_case input.',
            "check": f"{PYTEST} test_inflection.py test_hidden_kebab.py",
            "hidden": {"test_hidden_kebab.py": KEBAB_TEST},
            "solution": [
                _sub(
                    "inflection/__init__.py",
                    "\ndef humanize(",
                    "\ndef kebab_case(word: str) -> str:\n"
                    "    return dasherize(underscore(word))\n\n\ndef humanize(",
                )
            ],
        },
        "feature_humanize_percent": {
            "repo": humanize,
            "kind": "feature",
            "request": "Please add `humanize.percent(value, ndigits=0)` that formats a fraction "
            'as a percentage (0.256 becomes "26%"; with ndigits=1, 0.25678 becomes '
            '"25.7%"). Like the other number helpers, anything that isn\'t a number '
            "should come back unchanged as a string. It must be importable from the "
            "top-level package.",
            "check": f"{PYTEST} tests test_hidden_percent.py",
            "hidden": {"test_hidden_percent.py": PERCENT_TEST},
            "solution": [
                _new("humanize/number.py", PERCENT_FN),
                _sub(
                    "humanize/__init__.py",
                    "    ordinal,\n    scientific,\n)",
                    "    ordinal,\n    percent,\n    scientific,\n)",
                ),
            ],
        },
        "feature_strutils_truncate": {
            "repo": boltons,
            "kind": "feature",
            "request": "boltons.strutils has no way to shorten a long string for display. Add "
            "`strutils.truncate(text, width, placeholder='...')`: text that fits is "
            "returned as is, longer text is cut so that the result, placeholder "
            "included, is exactly `width` characters long.",
            "check": f"{PYTEST} tests test_hidden_truncate.py",
            "hidden": {"test_hidden_truncate.py": TRUNCATE_TEST},
            "solution": [_new("boltons/strutils.py", TRUNCATE_FN)],
        },
        "feature_todo_pending_flag": {
            "repo": {"todo.py": TODO_PY, "tests/test_todo.py": TODO_TEST},
            "kind": "feature",
            "request": "`todo list` shows every item, done or not. I'd like `todo list --pending` "
            "to show only the items that are not done yet, keeping their original "
            "numbers so that `todo done N` still works. Plain `todo list` stays as it is.",
            "check": f"{PYTEST} tests test_hidden_todo.py",
            "hidden": {"test_hidden_todo.py": TODO_HIDDEN},
            "solution": [
                _sub(
                    "todo.py",
                    "def render(items):\n    lines = []\n    for i, item in enumerate(items, 1):\n",
                    "def render(items, pending=False):\n    lines = []\n    for i, item in enumerate(items, 1):\n"
                    '        if pending and item["done"]:\n            continue\n',
                ),
                _sub(
                    "todo.py",
                    '    sub.add_parser("list")\n',
                    '    p_list = sub.add_parser("list")\n    p_list.add_argument("--pending", action="store_true")\n',
                ),
                _sub(
                    "todo.py",
                    "print(render(items), file=out)",
                    "print(render(items, args.pending), file=out)",
                ),
            ],
        },
        "feature_money_arithmetic": {
            "repo": {"money.py": MONEY_PY, "tests/test_money.py": MONEY_TEST},
            "kind": "feature",
            "request": "Money objects can't be compared or added: `Money(150) == Money(150)` is "
            "False and `Money(1) + Money(2)` raises TypeError, so I can't `sum()` a list "
            "of prices or put them in a set. Make equal amounts in the same currency "
            "compare equal (and hash alike), and let amounts in the same currency be "
            "added; adding different currencies should raise ValueError.",
            "check": f"{PYTEST} tests test_hidden_money.py",
            "hidden": {"test_hidden_money.py": MONEY_HIDDEN},
            "solution": [
                _sub(
                    "money.py",
                    '        return f"{self.cents // 100}.{self.cents % 100:02d} {self.currency}"\n',
                    '        return f"{self.cents // 100}.{self.cents % 100:02d} {self.currency}"\n'
                    + MONEY_DUNDERS,
                )
            ],
        },
        "feature_signup_validation": {
            "repo": {"signup.py": SIGNUP_PY, "tests/test_signup.py": SIGNUP_TEST},
            "kind": "feature",
            "request": "The sign-up import accepts garbage: empty names, e-mail addresses without "
            "an @ or a domain, ages like -1 or 200, and it crashes with a bare int() "
            "error on 'thirty'. `register` should reject all of these with a ValueError "
            "saying what is wrong; ages from 0 to 150 are fine.",
            "check": f"{PYTEST} tests test_hidden_signup.py",
            "hidden": {"test_hidden_signup.py": SIGNUP_HIDDEN},
            "solution": [
                _sub(
                    "signup.py",
                    SIGNUP_PY[
                        SIGNUP_PY.index("def register(") : SIGNUP_PY.index("\n\n\ndef register_all")
                    ],
                    SIGNUP_SOLUTION,
                )
            ],
        },
    }


# ---------------------------------------------------------------- renames

RENAME_TEST = """\
import importlib
import pathlib
import re

OLD, NEW, MODULE = {old!r}, {new!r}, {module!r}


def test_old_name_is_gone():
    here = pathlib.Path(__file__)
    hits = [str(p.relative_to(here.parent)) for p in here.parent.rglob("*.py")
            if p != here and re.search(rf"\\b{{OLD}}\\b", p.read_text())]
    assert hits == []


def test_new_name_is_defined():
    module = importlib.import_module(MODULE)
    assert callable(getattr(module, NEW))
    assert not hasattr(module, OLD)
"""

RENAMES = {
    "rename_calc_tax": {
        "old": "calc_tax",
        "new": "compute_tax",
        "module": "shop.pricing",
        "request": "Please rename the function `calc_tax` to `compute_tax` across the whole "
        "project, tests included. Behaviour must not change.",
        "files": {
            "shop/__init__.py": '"""A toy shop."""\n',
            "shop/pricing.py": '''\
TAX_RATES = {"standard": 0.20, "reduced": 0.05, "zero": 0.0}


def calc_tax(amount, category="standard"):
    """The tax on a net amount, rounded to cents."""
    return round(amount * TAX_RATES[category], 2)


def gross(amount, category="standard"):
    return round(amount + calc_tax(amount, category), 2)
''',
            "shop/cart.py": """\
from shop.pricing import calc_tax, gross


class Cart:
    def __init__(self):
        self.lines = []

    def add(self, name, price, qty=1, category="standard"):
        self.lines.append((name, price * qty, category))

    def tax(self):
        return round(sum(calc_tax(net, cat) for _, net, cat in self.lines), 2)

    def total(self):
        return round(sum(gross(net, cat) for _, net, cat in self.lines), 2)
""",
            "shop/invoice.py": """\
from shop import pricing


def invoice_lines(cart):
    out = []
    for name, net, category in cart.lines:
        tax = pricing.calc_tax(net, category)
        out.append(f"{name:<12}{net:>8.2f}{tax:>8.2f}")
    return out
""",
            "tests/test_shop.py": """\
from shop.cart import Cart
from shop.invoice import invoice_lines
from shop.pricing import calc_tax


def test_tax():
    assert calc_tax(100) == 20.0
    assert calc_tax(100, "reduced") == 5.0


def test_cart_and_invoice():
    cart = Cart()
    cart.add("book", 10, 2, "reduced")
    cart.add("pen", 2.5)
    assert cart.tax() == 1.5
    assert cart.total() == 24.0
    assert invoice_lines(cart)[0].split() == ["book", "20.00", "1.00"]
""",
        },
    },
    "rename_load_cfg": {
        "old": "load_cfg",
        "new": "load_config",
        "module": "app.config",
        "request": "`load_cfg` is an ugly name. Rename it to `load_config` everywhere it is "
        "defined, imported or called, including the tests.",
        "files": {
            "app/__init__.py": "",
            "app/config.py": '''\
import json
from pathlib import Path

DEFAULTS = {"host": "127.0.0.1", "port": 8000, "debug": False}


def load_cfg(path=None, **overrides):
    """Defaults, then the JSON file at `path` if given, then keyword overrides."""
    config = dict(DEFAULTS)
    if path is not None and Path(path).exists():
        config.update(json.loads(Path(path).read_text()))
    config.update({k: v for k, v in overrides.items() if v is not None})
    return config
''',
            "app/server.py": """\
from app.config import load_cfg


def address(path=None):
    cfg = load_cfg(path)
    return f"http://{cfg['host']}:{cfg['port']}/"
""",
            "app/cli.py": """\
import argparse

from app import config


def parse(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    parser.add_argument("--port", type=int)
    args = parser.parse_args(argv)
    return config.load_cfg(args.config, port=args.port)
""",
            "tests/test_config.py": """\
import json

from app.cli import parse
from app.config import load_cfg
from app.server import address


def test_defaults():
    assert load_cfg()["port"] == 8000


def test_file_and_overrides(tmp_path):
    f = tmp_path / "c.json"
    f.write_text(json.dumps({"host": "example.org", "port": 9000}))
    assert address(f) == "http://example.org:9000/"
    assert parse(["--config", str(f), "--port", "1"])["port"] == 1
""",
        },
    },
    "rename_parse_row": {
        "old": "parse_row",
        "new": "parse_record",
        "module": "sales.parsing",
        "request": "We call them records, not rows. Rename `parse_row` to `parse_record` in "
        "every module that defines, imports or uses it (tests too), without changing "
        "what it does.",
        "files": {
            "sales/__init__.py": "",
            "sales/parsing.py": '''\
import csv
import io
from datetime import date


def parse_row(row):
    """One CSV row (a dict of strings) as typed values."""
    return {
        "day": date.fromisoformat(row["day"]),
        "region": row["region"].strip(),
        "amount": float(row["amount"]),
    }


def read(text):
    return [parse_row(r) for r in csv.DictReader(io.StringIO(text))]
''',
            "sales/summary.py": """\
from collections import defaultdict

from sales.parsing import parse_row


def by_region(rows):
    totals = defaultdict(float)
    for row in rows:
        record = parse_row(row)
        totals[record["region"]] += record["amount"]
    return dict(totals)
""",
            "sales/export.py": """\
import json

from sales import parsing


def to_json(rows):
    records = [parsing.parse_row(r) for r in rows]
    return json.dumps([{**r, "day": r["day"].isoformat()} for r in records])
""",
            "tests/test_sales.py": """\
import json

from sales.export import to_json
from sales.parsing import parse_row, read
from sales.summary import by_region

ROWS = [{"day": "2024-01-02", "region": "north ", "amount": "10.5"},
        {"day": "2024-01-03", "region": "north", "amount": "2"},
        {"day": "2024-01-03", "region": "south", "amount": "4"}]


def test_parse_row():
    assert parse_row(ROWS[0])["region"] == "north"


def test_summary_and_export():
    assert by_region(ROWS) == {"north": 12.5, "south": 4.0}
    assert json.loads(to_json(ROWS))[2]["amount"] == 4.0
    assert len(read("day,region,amount\\n2024-01-01,x,1\\n")) == 1
""",
        },
    },
    "rename_fmt_duration": {
        "old": "fmt_duration",
        "new": "format_duration",
        "module": "timer.formatting",
        "request": "Please rename `fmt_duration` to `format_duration`. It is re-exported by the "
        "package and used by the stopwatch and the report; nothing should refer to "
        "the old name afterwards.",
        "files": {
            "timer/__init__.py": """\
from timer.formatting import fmt_duration
from timer.stopwatch import Stopwatch

__all__ = ["Stopwatch", "fmt_duration"]
""",
            "timer/formatting.py": '''\
def fmt_duration(seconds):
    """12345 -> '3h 25m 45s'; under a minute, just seconds."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h"] if hours else []
    if hours or minutes:
        parts.append(f"{minutes}m")
    parts.append(f"{secs}s")
    return " ".join(parts)
''',
            "timer/stopwatch.py": """\
import time

from timer.formatting import fmt_duration


class Stopwatch:
    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.laps = []
        self.start = clock()

    def lap(self):
        now = self.clock()
        self.laps.append(now - self.start)
        self.start = now
        return fmt_duration(self.laps[-1])
""",
            "timer/report.py": """\
from timer import formatting


def report(stopwatch):
    lines = [f"lap {i}: {formatting.fmt_duration(t)}" for i, t in enumerate(stopwatch.laps, 1)]
    lines.append(f"total: {formatting.fmt_duration(sum(stopwatch.laps))}")
    return "\\n".join(lines)
""",
            "tests/test_timer.py": """\
import timer
from timer.report import report


def test_fmt_duration():
    assert timer.fmt_duration(12345) == "3h 25m 45s"
    assert timer.fmt_duration(59.6) == "1m 0s"


def test_stopwatch_report():
    ticks = iter([0, 30, 100])
    sw = timer.Stopwatch(clock=lambda: next(ticks))
    sw.lap()
    sw.lap()
    assert report(sw) == "lap 1: 30s\\nlap 2: 1m 10s\\ntotal: 1m 40s"
""",
        },
    },
}


def renames() -> dict[str, dict]:
    import re

    out = {}
    for name, r in RENAMES.items():
        pattern = re.compile(rf"\b{r['old']}\b")
        solution = [
            _sub(path, text, pattern.sub(r["new"], text))
            for path, text in r["files"].items()
            if pattern.search(text)
        ]
        out[name] = {
            "repo": r["files"],
            "kind": "rename",
            "request": r["request"],
            "check": f"{PYTEST} tests test_hidden_rename.py",
            "hidden": {"test_hidden_rename.py": RENAME_TEST.format(**r)},
            "solution": solution,
        }
    return out


# ---------------------------------------------------------------- no tests

WORDFREQ = '''\
#!/usr/bin/env python3
"""Print the most frequent words of a text file: python wordfreq.py FILE [N]"""

import sys
from collections import Counter


def count_words(text):
    return Counter(text.split())


def main(argv):
    path = argv[1]
    top = int(argv[2]) if len(argv) > 2 else 10
    with open(path, encoding="utf-8") as f:
        counts = count_words(f.read())
    for word, n in counts.most_common(top):
        print(f"{word}: {n}")


if __name__ == "__main__":
    main(sys.argv)
'''

WORDFREQ_HIDDEN = """\
import subprocess
import sys


def run(tmp_path, text, *args):
    f = tmp_path / "in.txt"
    f.write_text(text, encoding="utf-8")
    proc = subprocess.run([sys.executable, "wordfreq.py", str(f), *args],
                          capture_output=True, text=True, check=True)
    return dict(line.rsplit(": ", 1) for line in proc.stdout.splitlines())


def test_case_and_punctuation_are_ignored(tmp_path):
    counts = run(tmp_path, "The cat sat. The CAT! the end, \\"cat\\"")
    assert counts["the"] == "3"
    assert counts["cat"] == "3"
    assert counts["end"] == "1"
    assert not any(k != k.lower() or not k.isalpha() for k in counts)


def test_top_n(tmp_path):
    assert list(run(tmp_path, "b a b c b a", "2")) == ["b", "a"]
"""

CSVSUM = '''\
#!/usr/bin/env python3
"""Sum the amount column of a CSV file: python csvsum.py FILE"""

import csv
import sys


def total(path):
    with open(path, newline="") as f:
        return sum(float(row["amount"]) for row in csv.DictReader(f) if row["amount"])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: csvsum.py FILE", file=sys.stderr)
        return 2
    print(f"{total(argv[0]):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''

CSVSUM_HIDDEN = """\
import subprocess
import sys

DATA = "item,amount,price\\npen,2,1.50\\nbook,1,12.25\\nbag,,30\\n"


def run(tmp_path, *args):
    f = tmp_path / "d.csv"
    f.write_text(DATA)
    return subprocess.run([sys.executable, "csvsum.py", str(f), *args],
                          capture_output=True, text=True)


def test_default_column_is_amount(tmp_path):
    assert run(tmp_path).stdout.strip() == "3.00"


def test_column_option(tmp_path):
    proc = run(tmp_path, "--column", "price")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "43.75"


def test_unknown_column_is_an_error(tmp_path):
    proc = run(tmp_path, "--column", "nope")
    assert proc.returncode != 0
    assert "nope" in proc.stderr
    assert "Traceback" not in proc.stderr
"""

CSVSUM_SOLUTION = """def total(path, column="amount"):
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if column not in (reader.fieldnames or []):
            raise KeyError(column)
        return sum(float(row[column]) for row in reader if row[column])


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(prog="csvsum.py")
    parser.add_argument("file")
    parser.add_argument("--column", default="amount")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        value = total(args.file, args.column)
    except KeyError:
        print(f"csvsum.py: no column named {args.column!r}", file=sys.stderr)
        return 2
    print(f"{value:.2f}")
    return 0"""

TEMPCONV = '''\
#!/usr/bin/env python3
"""Convert temperatures: python tempconv.py 21.5 C  ->  70.7 F"""

import sys


def to_fahrenheit(celsius):
    return celsius * 9 / 5 + 32


def to_celsius(fahrenheit):
    return fahrenheit - 32 * 5 / 9


def convert(value, unit):
    unit = unit.upper()
    if unit == "C":
        return to_fahrenheit(value), "F"
    if unit == "F":
        return to_celsius(value), "C"
    raise ValueError(f"unknown unit {unit!r}")


def main(argv):
    value, unit = float(argv[1]), argv[2]
    result, other = convert(value, unit)
    print(f"{result:.1f} {other}")


if __name__ == "__main__":
    main(sys.argv)
'''

TEMPCONV_HIDDEN = """\
import subprocess
import sys

import pytest


@pytest.mark.parametrize("args, expected", [
    (["212", "F"], "100.0 C"), (["32", "f"], "0.0 C"), (["-40", "F"], "-40.0 C"),
    (["100", "C"], "212.0 F"), (["21.5", "C"], "70.7 F"), (["98.6", "F"], "37.0 C"),
])
def test_conversions(args, expected):
    out = subprocess.run([sys.executable, "tempconv.py", *args], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == expected
"""

LOGSTATS = '''\
#!/usr/bin/env python3
"""Count log lines per level: python logstats.py app.log

Lines look like: 2024-05-01 12:00:03 WARNING disk almost full
"""

import sys
from collections import Counter


def level_counts(lines):
    counts = Counter()
    for line in lines:
        level = line.split()[2]
        counts[level] += 1
    return counts


def main(argv):
    with open(argv[1], encoding="utf-8") as f:
        counts = level_counts(f)
    for level in ("DEBUG", "INFO", "WARNING", "ERROR"):
        print(f"{level:<8}{counts.get(level, 0):>6}")


if __name__ == "__main__":
    main(sys.argv)
'''

LOGSTATS_HIDDEN = '''\
import subprocess
import sys

LOG = """2024-05-01 12:00:01 INFO started

2024-05-01 12:00:02 error disk failure
2024-05-01 12:00:03 WARNING disk almost full
   
2024-05-01 12:00:04 INFO stopped
2024-05-01 12:00:05 Error again
"""


def test_blank_lines_and_level_case(tmp_path):
    f = tmp_path / "app.log"
    f.write_text(LOG)
    proc = subprocess.run([sys.executable, "logstats.py", str(f)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    rows = dict(line.split() for line in proc.stdout.splitlines())
    assert rows == {"DEBUG": "0", "INFO": "2", "WARNING": "1", "ERROR": "2"}
'''


def no_tests() -> dict[str, dict]:
    check = PYTEST
    return {
        "notests_wordfreq_case": {
            "repo": {"wordfreq.py": WORDFREQ},
            "kind": "no-tests",
            "request": 'wordfreq.py counts "The" and "the" as different words, and "cat." '
            'or "cat!" are counted separately from "cat". Words should be counted '
            "case-insensitively, without the punctuation around them, and printed in "
            "lower case.",
            "check": f"{check} test_hidden_wordfreq.py",
            "hidden": {"test_hidden_wordfreq.py": WORDFREQ_HIDDEN},
            "solution": [
                _sub(
                    "wordfreq.py",
                    "def count_words(text):\n    return Counter(text.split())",
                    "def count_words(text):\n    import re\n\n"
                    '    return Counter(re.findall(r"[a-z]+", text.lower()))',
                )
            ],
        },
        "notests_csvsum_column": {
            "repo": {"csvsum.py": CSVSUM, "data.csv": "item,amount\napple,1.25\npear,2\n"},
            "kind": "no-tests",
            "request": "csvsum.py can only add up the `amount` column. Add a `--column NAME` "
            "option to pick another column (amount stays the default). If the column "
            "doesn't exist it should print an error naming it and exit non-zero, not "
            "crash with a traceback.",
            "check": f"{check} test_hidden_csvsum.py",
            "hidden": {"test_hidden_csvsum.py": CSVSUM_HIDDEN},
            "solution": [
                _sub(
                    "csvsum.py",
                    CSVSUM[CSVSUM.index("def total(") : CSVSUM.index("\n\n\nif __name__")],
                    CSVSUM_SOLUTION,
                )
            ],
        },
        "notests_tempconv_fahrenheit": {
            "repo": {"tempconv.py": TEMPCONV},
            "kind": "no-tests",
            "request": '`python tempconv.py 212 F` prints "194.2 C", but water boils at 100 C. '
            "Celsius to Fahrenheit looks right.",
            "check": f"{check} test_hidden_tempconv.py",
            "hidden": {"test_hidden_tempconv.py": TEMPCONV_HIDDEN},
            "solution": [
                _sub(
                    "tempconv.py",
                    "return fahrenheit - 32 * 5 / 9",
                    "return (fahrenheit - 32) * 5 / 9",
                )
            ],
        },
        "notests_logstats_blank_lines": {
            "repo": {"logstats.py": LOGSTATS},
            "kind": "no-tests",
            "request": "logstats.py crashes with `IndexError: list index out of range` on our "
            "production log, which has empty lines in it. Also, some services write "
            'the level as "error" or "Error", and those lines aren\'t counted as '
            "ERROR.",
            "check": f"{check} test_hidden_logstats.py",
            "hidden": {"test_hidden_logstats.py": LOGSTATS_HIDDEN},
            "solution": [
                _sub(
                    "logstats.py",
                    "        level = line.split()[2]\n        counts[level] += 1",
                    "        words = line.split()\n        if len(words) < 3:\n"
                    "            continue\n        counts[words[2].upper()] += 1",
                )
            ],
        },
    }


def tasks(snapshot) -> dict[str, dict]:
    return {**features(snapshot), **renames(), **no_tests()}
