"""One-token changes of a line (tools/mutants.py)."""

from __future__ import annotations

import ast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tiercode.tools.mutants import changes


def changed(line: str) -> list[str]:
    """The changes of a file's only line."""
    return changes(line, 1)


def test_a_comparison_becomes_its_neighbours_then_its_opposite() -> None:
    source = "def f(prev_end, start):\n    if prev_end < start:\n        return 1\n"
    assert changes(source, 2) == [
        "    if prev_end <= start:\n",
        "    if prev_end > start:\n",
        "    if not (prev_end < start):\n",
    ]


def test_a_number_moves_by_one_and_a_trailing_one_goes() -> None:
    assert changed("x = x[:n - 1]\r\n") == [
        "x = x[:n + 1]\r\n",
        "x = x[:n - 2]\r\n",
        "x = x[:n]\r\n",
    ]
    assert changed("count = 0\n") == ["count = 1\n"]


def test_a_sign_is_not_an_operator() -> None:
    assert changed("y = -1\n") == ["y = -2\n", "y = 0\n"]
    assert changed("f(-x)\n") == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("if x is not None: pass", "if x is None: pass"),
        ("if x is None: pass", "if x is not None: pass"),
        ("ok = key in seen", "ok = key not in seen"),
        ("ok = key not in seen", "ok = key in seen"),
        ("while not done: pass", "while done: pass"),
        ("ok = a and b", "ok = a or b"),
        ("strict = True", "strict = False"),
        ("total = a + b", "total = a - b"),
    ],
)
def test_one_token_each(line: str, expected: str) -> None:
    assert expected in changed(line)


def test_a_condition_is_negated_with_brackets_only_where_it_needs_them() -> None:
    source = "if ready:\n    go()\nelif queue.empty():\n    wait()\n"
    assert changes(source, 1)[-1] == "if not ready:\n"
    assert changes(source, 3)[-1] == "elif not queue.empty():\n"
    assert changes("while a or b:\n    pass\n", 1)[-1] == "while not (a or b):\n"


def test_neighbouring_arguments_swap() -> None:
    assert changed("out = pad(text, width, fill)\n") == [
        "out = pad(width, text, fill)\n",
        "out = pad(text, fill, width)\n",
    ]


def test_arguments_after_non_ascii_text_keep_their_columns() -> None:
    assert "x = f('é', b, a)\n" in changed("x = f('é', a, b)\n")


def test_a_line_inside_a_longer_statement_changes_too() -> None:
    source = "lines = [(margin - line if key(line) else line)\n         for line in text]\n"
    assert changes(source, 1)[0] == "lines = [(margin + line if key(line) else line)\n"
    assert changes(source, 2) == []  # a `for` and an `in` of a comprehension stay


def test_a_file_that_does_not_parse_has_none() -> None:
    assert changes("if x < 1:\n", 1) == []
    assert changes("x = 1\n", 2) == []


SOURCE = (
    "def f(parts, flag, items, limit, n):\n"
    "    if len(parts) >= 2 and parts[0] != '' or flag is not True:\n"
    "        return sorted(items, key=len)[: limit + 1]\n"
    "    try:\n"
    "        sep = 'é' if n else ' '  # ünïcode\n"
    "    except (KeyError, IndexError):\n"
    "        return [i for i in range(1, n)]\n"
    "    else:\n"
    "        return -n\n"
)


@given(st.integers(min_value=1, max_value=SOURCE.count("\n")))
def test_every_change_is_one_line_that_differs_and_parses(number: int) -> None:
    lines = SOURCE.splitlines(keepends=True)
    found = changes(SOURCE, number)
    assert len(found) == len(set(found)) and lines[number - 1] not in found
    for text in found:
        assert text.count("\n") == 1 and text.endswith("\n")
        ast.parse("".join([*lines[: number - 1], text, *lines[number:]]))
