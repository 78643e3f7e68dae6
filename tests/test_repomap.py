"""Repo map (symbols, ranking, render, outline, references) and traceback localization."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tiercode.tools.outline import (
    DOCSTRING_MARK,
    callees,
    excerpt,
    focus_symbols,
    literal_sites,
    outline,
    restore_docstrings,
)
from tiercode.tools.repomap import RepoMap, Symbol, is_test_file, symbols
from tiercode.tools.splice import splice
from tiercode.tools.tracebacks import Frame, digest, failing_tests, frames, suspects

SAMPLE = textwrap.dedent(
    '''\
    import functools


    @functools.lru_cache(maxsize=None)
    def slugify(text: str, sep: str = "-") -> str:
        return sep.join(text.split())


    async def fetch(url, *, timeout=10, **kw):
        return url


    class Outer(Base, metaclass=Meta):
        """Doc."""

        x = 1

        @property
        def name(self) -> str:
            return "o"

        async def run(self, /, a, *args):
            pass

        class Inner:
            def deep(self):
                pass
    '''
)


def test_symbols_cover_decorators_async_and_nested_classes() -> None:
    assert symbols("m.py", SAMPLE) == [
        Symbol(
            "m.py", "slugify", "function", 4, 6, "def slugify(text: str, sep: str = '-') -> str"
        ),
        Symbol("m.py", "fetch", "function", 9, 10, "async def fetch(url, *, timeout=10, **kw)"),
        Symbol("m.py", "Outer", "class", 13, 27, "class Outer(Base, metaclass=Meta)"),
        Symbol("m.py", "Outer.name", "method", 18, 20, "def name(self) -> str"),
        Symbol("m.py", "Outer.run", "method", 22, 23, "async def run(self, /, a, *args)"),
        Symbol("m.py", "Outer.Inner", "class", 25, 27, "class Inner"),
    ]


def test_symbols_of_a_broken_file_are_empty() -> None:
    assert symbols("bad.py", "def broken(:\n    pass\n") == []


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests/test_a.py", True),
        ("pkg/tests/helpers.py", True),
        ("test_a.py", True),
        ("pkg/a_test.py", True),
        ("pkg/testing.py", False),
        ("pkg/contest.py", False),
        ("test_data.json", False),
    ],
)
def test_is_test_file(path: str, expected: bool) -> None:
    assert is_test_file(path) is expected


def _write(root: Path, files: dict[str, str]) -> list[str]:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text))
    return list(files)


REPO = {
    "text/slug.py": """\
        import re


        def slugify(text: str, sep: str = "-") -> str:
            return re.sub(r"\\W+", sep, text).strip(sep).lower()


        def title_case(text):
            return text.title()
        """,
    "app/views.py": """\
        from text.slug import slugify


        def article_url(article):
            return "/a/" + slugify(article.title)
        """,
    "tests/test_slug.py": """\
        from text.slug import slugify


        def test_slugify_spaces():
            assert slugify("a b") == "a-b"


        def test_slugify_unicode():
            assert slugify("Zoë") == "zoë"
        """,
    "utils/dates.py": """\
        import datetime


        def parse_date(value):
            return datetime.date.fromisoformat(value)
        """,
    "README.md": "# demo\n\nA blog engine with pretty dates.\n",
}


@pytest.fixture
def mapped(tmp_path: Path) -> RepoMap:
    files = _write(tmp_path, REPO)
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x00\x00binary")
    (tmp_path / "huge.py").write_text("x = 1\n" * 200_000)
    return RepoMap.build(tmp_path, [*files, "logo.png", "huge.py", "missing.py"])


def test_build_skips_binary_large_and_missing_files(mapped: RepoMap) -> None:
    assert mapped.paths == list(REPO)


def test_rank_puts_the_defining_file_first_and_tests_below_code(mapped: RepoMap) -> None:
    assert mapped.rank("slugify is too slow") == [
        "text/slug.py",
        "app/views.py",
        "tests/test_slug.py",
    ]


def test_rank_defining_file_beats_a_test_named_after_the_task(mapped: RepoMap) -> None:
    """The test `test_slugify_unicode` matches more words, but the fix belongs in the code."""
    assert mapped.rank("slugify drops unicode characters") == [
        "text/slug.py",
        "tests/test_slug.py",
        "app/views.py",
    ]


def test_rank_splits_snake_case_and_camel_case(mapped: RepoMap) -> None:
    assert mapped.rank("the ParseDate helper crashes", limit=1) == ["utils/dates.py"]
    assert mapped.rank("wrong title case", limit=1) == ["text/slug.py"]


def test_rank_keeps_tests_up_when_the_task_is_about_tests(mapped: RepoMap) -> None:
    assert mapped.rank("add tests for slugify unicode", limit=3)[0] == "tests/test_slug.py"


def test_rank_equal_scores_put_code_before_tests(tmp_path: Path) -> None:
    body = "def merge_rows(a, b):\n    return a + b\n"
    files = _write(tmp_path, {"tests/test_merge.py": body, "zz/merge.py": body})
    assert RepoMap.build(tmp_path, files).rank("merge_rows") == [
        "zz/merge.py",
        "tests/test_merge.py",
    ]


def test_rank_boost_comes_first(mapped: RepoMap) -> None:
    ranked = mapped.rank("slugify", limit=2, boost=["utils/dates.py", "not/mapped.py"])
    assert ranked == ["utils/dates.py", "text/slug.py"]


def test_render_lists_signatures_with_line_ranges(mapped: RepoMap) -> None:
    assert mapped.render(["text/slug.py", "README.md"]) == (
        "text/slug.py\n"
        "  4-5 def slugify(text: str, sep: str = '-') -> str\n"
        "  8-9 def title_case(text)\n"
        "README.md"
    )


def test_render_stays_within_max_chars_and_counts_what_it_left_out(mapped: RepoMap) -> None:
    paths = ["text/slug.py", "app/views.py", "tests/test_slug.py", "utils/dates.py"]
    full = mapped.render(paths)
    limit = len(mapped.render(paths[:2])) + 30
    short = mapped.render(paths, max_chars=limit)
    assert len(short) <= limit < len(full)
    assert short == mapped.render(paths[:2]) + "\n... 2 more files not shown"


def test_render_shows_part_of_one_file_too_big_for_the_budget(tmp_path: Path) -> None:
    source = "".join(f"def f{i}():\n    pass\n" for i in range(100))
    files = _write(tmp_path, {"big.py": source, "b.py": "x = 1\n"})
    text = RepoMap.build(tmp_path, files).render(files, max_chars=200)
    assert len(text) <= 200
    assert text.startswith("big.py\n  1-2 def f0()\n")
    assert text.endswith("more symbols\n... 1 more file not shown")


def test_find_matches_qualified_and_bare_names(tmp_path: Path) -> None:
    files = _write(tmp_path, {"m.py": SAMPLE})
    mapped = RepoMap.build(tmp_path, files)
    assert [s.name for s in mapped.find("run")] == ["Outer.run"]
    assert [s.name for s in mapped.find("Outer.Inner")] == ["Outer.Inner"]
    assert mapped.find("deep") == []


def test_references_find_callers_in_other_files_but_not_the_definition(mapped: RepoMap) -> None:
    assert mapped.references("slugify") == [
        ("app/views.py", 1, "from text.slug import slugify"),
        ("app/views.py", 5, 'return "/a/" + slugify(article.title)'),
        ("tests/test_slug.py", 1, "from text.slug import slugify"),
        ("tests/test_slug.py", 5, 'assert slugify("a b") == "a-b"'),
        ("tests/test_slug.py", 9, 'assert slugify("Zoë") == "zoë"'),
    ]
    assert mapped.references("slug") == [
        ("app/views.py", 1, "from text.slug import slugify"),
        ("tests/test_slug.py", 1, "from text.slug import slugify"),
    ]


def _generated_module() -> str:
    """About 1,500 lines: imports, 150 small functions, one long one in the middle."""
    parts = ['"""Generated."""', "import os", "import sys", "", "LIMIT = 10", ""]
    for i in range(150):
        size = 40 if i == 75 else 5
        parts.append(f"def func_{i:03d}(value: int, scale: int = {i}) -> int:")
        parts.append(f'    """Function number {i}."""')
        parts += [
            f"    value = value * scale + {j}  # step {j} of func_{i:03d}" for j in range(size)
        ]
        parts += ["    return value", "", ""]
    return "\n".join(parts) + "\n"


def test_outline_keeps_the_focused_body_whole_with_true_line_numbers() -> None:
    source = _generated_module()
    lines = source.splitlines()
    assert 1_450 <= len(lines) <= 1_600
    start = lines.index("def func_075(value: int, scale: int = 75) -> int:") + 1
    end = start + 42
    assert lines[end - 1] == "    return value"

    text = outline("gen.py", source, focus=["func_075"], max_chars=6000)

    assert len(text) <= 6000
    for n in range(start, end + 1):
        assert f"{n:>4}| {lines[n - 1]}" in text.splitlines()
    middle = start + 20
    assert f"{middle:>4}|     value = value * scale + 18  # step 18 of func_075" in text
    _assert_only_whole_lines_or_markers(text, lines)


def test_outline_with_room_shows_every_signature_and_elides_other_bodies() -> None:
    source = _generated_module()
    lines = source.splitlines()
    text = outline("gen.py", source, focus=["func_075"], max_chars=20_000)
    assert len(text) <= 20_000
    shown = text.splitlines()
    for n, line in enumerate(lines, start=1):
        if line.startswith("def func_"):
            assert f"{n:>4}| {line}" in shown
    assert '   1| """Generated."""' in shown
    assert "   2| import os" in shown
    body = lines.index("def func_000(value: int, scale: int = 0) -> int:") + 2
    assert f"      ...  (lines {body}-{body + 6}: body of func_000)" in shown
    _assert_only_whole_lines_or_markers(text, lines)


def _assert_only_whole_lines_or_markers(text: str, lines: list[str]) -> None:
    """Every line is an exact numbered source line or a marker naming a body/symbols."""
    for row in text.splitlines():
        numbered = re.fullmatch(r" *(\d+)\| (.*)", row)
        if numbered:
            assert lines[int(numbered.group(1)) - 1] == numbered.group(2)
        else:
            assert re.fullmatch(r" +\.\.\.  \(lines \d+-\d+: .+\)", row), row
            assert "omitted" not in row


def test_outline_returns_a_small_file_whole_and_numbered() -> None:
    assert outline("m.py", "a = 1\nb = 2\n") == "   1| a = 1\n   2| b = 2"


def test_outline_focuses_a_method_by_bare_name() -> None:
    source = SAMPLE + "".join(f"\n\ndef filler_{i}():\n    return {i}\n" for i in range(40))
    text = outline("m.py", source, focus=["run"], max_chars=600)
    assert len(text) <= 600
    assert "  22|     async def run(self, /, a, *args):\n  23|         pass" in text
    assert "  13| class Outer(Base, metaclass=Meta):" in text
    assert '  20|         return "o"' not in text


def test_outline_of_a_large_text_file_keeps_head_and_tail_and_says_what_is_omitted() -> None:
    source = "".join(f"line {i}\n" for i in range(1, 2001))
    text = outline("notes.txt", source, max_chars=1000)
    assert len(text) <= 1000
    rows = text.splitlines()
    assert rows[0] == "   1| line 1"
    assert rows[-1] == "2000| line 2000"
    marker = [r for r in rows if "omitted" in r]
    assert len(marker) == 1
    first, last = map(int, re.search(r"lines (\d+)-(\d+) omitted", marker[0]).groups())
    assert rows[rows.index(marker[0]) - 1] == f"{first - 1:>4}| line {first - 1}"
    assert rows[rows.index(marker[0]) + 1] == f"{last + 1:>4}| line {last + 1}"


def test_excerpt_shows_focused_definitions_verbatim_and_splices_back_byte_identical() -> None:
    source = _generated_module()
    part = excerpt("gen.py", source, ["func_075", "func_010"], max_chars=6000)
    assert part is not None and part.shown == ["func_010", "func_075"]
    assert "|" not in part.code and part.code.startswith("def func_010(")
    start = source.index("def func_075(")
    end = source.index("\n\n\ndef func_076(")
    assert source[start:end] in part.code
    assert "func_000" in part.others and "func_075" not in part.others
    assert splice(source, part.code) == source
    changed = part.code.replace("# step 3 of func_075", "# step three of func_075")
    assert splice(source, changed) == source.replace("step 3 of func_075", "step three of func_075")


def test_excerpt_puts_a_method_inside_its_class_header_and_keeps_to_the_budget() -> None:
    part = excerpt("m.py", SAMPLE, ["Outer.run", "Outer.name", "slugify"], max_chars=10_000)
    assert part is not None
    assert "class Outer(Base, metaclass=Meta):\n    @property\n    def name(" in part.code
    assert "    async def run(self, /, a, *args):\n        pass" in part.code
    assert part.code.count("class Outer") == 1 and "x = 1" not in part.code
    assert splice(SAMPLE, part.code) == SAMPLE
    small = excerpt("m.py", SAMPLE, ["Outer.run", "slugify"], max_chars=10)
    assert small is not None and small.shown == ["Outer.run"]  # the first always, then what fits
    assert excerpt("m.py", SAMPLE, []) is None and excerpt("m.txt", SAMPLE, ["slugify"]) is None


def test_a_long_docstring_is_shown_short_and_restored_byte_for_byte() -> None:
    doc = '    """Sum it.\n\n    Longer words\n\n    ```\n    >>> f(1)\n    ```\n    """\n'
    source = f"import os\n\n\ndef f(x):\n{doc}    return x + 1\n\n\n"
    source += f"class C:\n    def g(self):\n    {doc}        return 2\n"
    part = excerpt("m.py", source, ["f", "C.g"])
    assert part is not None and "Longer words" not in part.code
    assert f'    """Sum it. {DOCSTRING_MARK}"""\n    return x + 1' in part.code
    assert splice(source, restore_docstrings(part.code, source)) == source
    fixed = part.code.replace("return x + 1", "return x + 2")
    assert splice(source, restore_docstrings(fixed, source)) == source.replace("x + 1", "x + 2")
    moved = f'def f(x):\n  """Sum it. {DOCSTRING_MARK}"""\n  return x\n'
    assert restore_docstrings(moved, source).startswith(
        'def f(x):\n  """Sum it.\n\n  Longer words\n'
    )


def test_callees_are_the_files_functions_and_methods_a_symbol_calls_in_order() -> None:
    source = textwrap.dedent(
        """\
        class Box:
            def put(self, v):
                return self._check(clean(v)) or Box.make() or len(v)

            def _check(self, v):
                return v

            @classmethod
            def make(cls):
                return cls()


        def clean(v):
            return split(v)


        def split(v):
            return v.split()
        """
    )
    assert callees("b.py", source, ["Box.put"]) == ["Box._check", "clean"]
    assert callees("b.py", source, ["clean", "split"]) == []
    assert callees("b.py", source, ["Box.put", "clean"]) == ["Box._check", "split"]
    shared = source + "\n\ndef both(v):\n    return split(v)\n"
    assert callees("b.py", shared, ["Box.put", "clean", "both"]) == ["split", "Box._check"]
    assert callees("b.py", "def f(:\n", ["f"]) == []


def test_literal_sites_are_where_a_quoted_value_is_made_or_registered() -> None:
    source = textwrap.dedent(
        """\
        RULES = {}


        def _irregular(singular, plural):
            RULES[singular] = plural


        def describe(x):
            return "+Inf" if x > 0 else "other"


        _irregular('cow', 'kine')
        """
    )
    task = "pluralize('cow') returns 'cine' but should give \"kine\"; describe() gives '+Inf'"
    assert literal_sites("r.py", source, task) == ["describe", "_irregular"]
    assert literal_sites("r.py", source, "nothing quoted here") == []
    assert literal_sites("r.py", "def f(:\n", "'cow'") == []


def test_focus_symbols_most_specific_first() -> None:
    source = textwrap.dedent(
        """\
        class Parser:
            def parse(self, text):
                return tokenize(text)


        def tokenize(text):
            return text.split()


        def parse_all(texts):
            return texts
        """
    )
    task = "Parser.parse fails on empty input; see tokenize"
    assert focus_symbols("p.py", source, task) == ["Parser.parse", "tokenize"]
    assert focus_symbols("p.py", source, "Parser is slow") == ["Parser"]
    assert focus_symbols("p.py", source, "parse breaks") == ["Parser.parse"]


# --- tracebacks ------------------------------------------------------------------------------

PACKAGE = {
    "shop/__init__.py": "",
    "shop/cart.py": """\
        from shop.pricing import price_of


        def total(items):
            return sum(price_of(item) for item in items)


        def checked_quantity(n):
            assert n > 0, "quantity must be positive"
            return n
        """,
    "shop/pricing.py": """\
        PRICES = {"apple": 3}


        def price_of(item):
            return _lookup(item)


        def _lookup(item):
            raise KeyError(f"no price for {item}")
        """,
    "tests/test_cart.py": """\
        from shop.cart import checked_quantity, total


        def test_total():
            assert total(["pear"]) == 0


        def test_quantity():
            assert checked_quantity(-1) == 1


        def test_fine():
            assert total([]) == 0
        """,
}


def _run_pytest(root: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=root,
        env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def failing_project(tmp_path: Path) -> Path:
    _write(tmp_path, PACKAGE)
    return tmp_path


EXPECTED_SUSPECTS = [
    Frame("shop/pricing.py", 9, "_lookup"),
    Frame("shop/pricing.py", 5, "price_of"),
    Frame("shop/cart.py", 5, "<genexpr>"),
    Frame("shop/cart.py", 5, "total"),
    Frame("shop/cart.py", 9, "checked_quantity"),
]


def test_real_pytest_output_default_traceback(failing_project: Path) -> None:
    output = _run_pytest(failing_project)
    assert failing_tests(output) == [
        "tests/test_cart.py::test_total",
        "tests/test_cart.py::test_quantity",
    ]
    assert frames(output, failing_project)[0] == Frame("tests/test_cart.py", 5, "test_total")
    assert suspects(output, failing_project) == EXPECTED_SUSPECTS


def test_real_pytest_output_short_traceback(failing_project: Path) -> None:
    output = _run_pytest(failing_project, "--tb=short")
    assert suspects(output, failing_project) == EXPECTED_SUSPECTS
    assert Frame("tests/test_cart.py", 9, "test_quantity") in frames(output, failing_project)


def test_plain_python_traceback_with_absolute_paths(failing_project: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from shop.cart import total; total(['kiwi'])"],
        cwd=failing_project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback (most recent call last):" in done.stderr
    assert suspects(done.stderr, failing_project) == EXPECTED_SUSPECTS[:4]
    assert failing_tests(done.stderr) == []


def test_frames_drop_site_packages_stdlib_and_missing_files(failing_project: Path) -> None:
    vendored = failing_project / ".venv/lib/python3.11/site-packages/lib.py"
    vendored.parent.mkdir(parents=True)
    vendored.write_text("x = 1\n")
    output = textwrap.dedent(
        f"""\
        Traceback (most recent call last):
          File "{failing_project / "shop/cart.py"}", line 5, in total
          File "{vendored}", line 1, in helper
          File "/usr/lib/python3.11/json/decoder.py", line 337, in decode
          File "shop/gone.py", line 3, in vanished
          File "<frozen importlib._bootstrap>", line 1, in _load
        ValueError: x
        FAILED tests/test_cart.py::test_total - ValueError: x
        FAILED tests/test_cart.py::test_total - ValueError: x
        ERROR tests/test_other.py - ImportError: boom
        """
    )
    assert frames(output, failing_project) == [Frame("shop/cart.py", 5, "total")]
    assert failing_tests(output) == ["tests/test_cart.py::test_total", "tests/test_other.py"]


def test_digest_keeps_each_failure_s_failing_line_error_and_location(tmp_path: Path) -> None:
    (tmp_path / "calc.py").write_text("def half(x):\n    return x // 3\n")
    cases = ", ".join(f"({n}, {n / 2})" for n in range(10))
    (tmp_path / "test_calc.py").write_text(
        "import pytest\nfrom calc import half\n\n\n"
        f"@pytest.mark.parametrize('n, want', [{cases}])\n"
        "def test_half(n, want):\n    assert half(n) == want\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    short = digest(run.stdout, most=3)
    assert len(short) < len(run.stdout) / 3
    assert (
        "test_calc.py::test_half[1-0.5]:\n>       assert half(n) == want\nE       assert 0 == 0.5"
        in short
    )
    assert "test_calc.py:7: AssertionError" in short and "(6 more failures)" in short
    assert short.endswith("9 failed, 1 passed in " + run.stdout.split(" passed in ")[1].strip())
    (tmp_path / "test_print.py").write_text(
        "def test_table():\n    print('Expected: a b')\n    print('Got: a  b')\n    assert False\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_print.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Expected: a b\nGot: a  b" in digest(run.stdout)
    assert digest("Traceback (most recent call last):\nValueError: x") == (
        "Traceback (most recent call last):\nValueError: x"
    )


def test_digest_reads_a_long_test_name_padded_with_two_underscores() -> None:
    output = (
        "__ test_slug[Test with malformed utf8 \\xa9-test-with-malformed-utf8] ___\n\n"
        ">       assert slug(s) == want\nE       AssertionError: assert 'a-' == 'a'\n"
        "test_slug.py:9: AssertionError\n=== short test summary info ===\n"
        "FAILED test_slug.py::test_slug[Test with malformed utf8 \\xa9-test-with-malformed-utf8]\n"
    )
    assert digest(output).startswith(
        "test_slug.py::test_slug[Test with malformed utf8 \\xa9-test-with-malformed-utf8]:\n"
        ">       assert slug(s) == want\nE       AssertionError: assert 'a-' == 'a'"
    )
