"""Repository map: files → classes, functions, signatures and line ranges, ranked against a task.

The planner sees the files that matter for a task (BM25 over paths, symbol names and words)
instead of the first N file names; `outline` shows a large file by the same symbols.
"""

from __future__ import annotations

import ast
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

MAX_FILE_BYTES = 1_000_000
"""Larger files (generated code, data) are left out of the map."""

BINARY_SNIFF_BYTES = 8192
"""A NUL byte in this many leading bytes marks a binary file (git's own rule)."""

TEST_PENALTY = 0.5
"""Test files score this fraction unless the query mentions tests: the fix is rarely there."""

DEFINES_BOOST = 2.0
"""A file that defines a name the query mentions scores this many times more."""

_STRUCTURE_WEIGHT = 3
"""Path and symbol-name tokens count this many times: a file that *defines* a name wins."""

_K1, _B = 1.5, 0.75
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+")
_CAMEL_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_STOPWORD_TEXT = """a an and are as at be by do does for from in is it its of on or so that the
this to when with should not"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
CONTEXT_RUN_KEEP = 10

Kind = Literal["class", "function", "method"]


@dataclass(frozen=True)
class Symbol:
    """A class, function or method: where it is and how it is called."""

    path: str
    name: str
    kind: Kind
    start: int
    end: int
    signature: str


def is_test_file(path: str) -> bool:
    """True for files under a `tests/` or `test/` folder or named `test_*.py` / `*_test.py`."""
    pure = PurePosixPath(path)
    return (
        bool({"tests", "test"} & set(pure.parts[:-1]))
        or (pure.name.startswith("test_") and pure.suffix == ".py")
        or pure.name.endswith("_test.py")
    )


def tokens(text: str, parts: bool = True) -> list[str]:
    """Lowercase identifiers and words, plus (if `parts`) their snake_case and CamelCase parts."""
    found: list[str] = []
    for ident in _IDENT.findall(text):
        whole = ident.lower().strip("_")
        if whole:
            found.append(whole)
        pieces = [p.lower() for chunk in ident.split("_") for p in _CAMEL_PART.findall(chunk)]
        if parts and len(pieces) > 1:
            found.extend(pieces)
    return [t for t in found if t not in _STOPWORDS]


# --- symbols -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parsed:
    symbol: Symbol
    header_end: int  # last line of decorators + `def ...:` / `class ...:`
    def_line: int  # the `def`/`class` line itself


def symbols(path: str, source: str) -> list[Symbol]:
    """Top-level classes and functions, and the methods and classes directly inside classes.

    Returns [] when the source does not parse: a broken file has no reliable structure.
    """
    return [p.symbol for p in parse(path, source)]


def parse(path: str, source: str) -> list[Parsed]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    lines = source.splitlines()
    found: list[Parsed] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            kind: Kind = "class" if isinstance(node, ast.ClassDef) else "function"
            found.append(_parsed(path, node, node.name, kind, lines))
        if isinstance(node, ast.ClassDef):
            for child in node.body:
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    inner: Kind = "class" if isinstance(child, ast.ClassDef) else "method"
                    found.append(_parsed(path, child, f"{node.name}.{child.name}", inner, lines))
    return found


_Def = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _parsed(path: str, node: _Def, name: str, kind: Kind, lines: list[str]) -> Parsed:
    start = _first_line(node)
    end = node.end_lineno or node.lineno
    body_first = _first_line(node.body[0]) if node.body else end + 1
    header_end = node.lineno
    if body_first > node.lineno:
        header_end = body_first - 1
        while header_end > node.lineno and _is_blank_or_comment(lines[header_end - 1]):
            header_end -= 1
    symbol = Symbol(path, name, kind, start, end, _signature(node))
    return Parsed(symbol, header_end, node.lineno)


def _first_line(node: ast.stmt) -> int:
    decorators: list[ast.expr] = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


def _is_blank_or_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _signature(node: _Def) -> str:
    if isinstance(node, ast.ClassDef):
        bases = [ast.unparse(b) for b in node.bases]
        bases += [
            f"{k.arg}={ast.unparse(k.value)}" if k.arg else f"**{ast.unparse(k.value)}"
            for k in node.keywords
        ]
        return f"class {node.name}({', '.join(bases)})" if bases else f"class {node.name}"
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    return f"{prefix} {node.name}({_arguments(node.args)}){returns}"


def _arguments(args: ast.arguments) -> str:
    """PEP 8 spelling of a parameter list (`sep: str = '-'`, `sep='-'`), on one line."""
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += args.defaults
    parts = [_param(a, d) for a, d in zip(positional, defaults, strict=True)]
    if args.posonlyargs:
        parts.insert(len(args.posonlyargs), "/")
    if args.vararg:
        parts.append("*" + _param(args.vararg, None))
    elif args.kwonlyargs:
        parts.append("*")
    parts += [_param(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)]
    if args.kwarg:
        parts.append("**" + _param(args.kwarg, None))
    return ", ".join(parts)


def _param(arg: ast.arg, default: ast.expr | None) -> str:
    text = arg.arg
    if arg.annotation is not None:
        text += f": {ast.unparse(arg.annotation)}"
    if default is not None:
        text += f" = {ast.unparse(default)}" if arg.annotation else f"={ast.unparse(default)}"
    return text


# --- the map -------------------------------------------------------------------------------


@dataclass
class _Entry:
    path: str
    text: str
    parsed: list[Parsed]
    terms: Counter[str] = field(default_factory=Counter)


class RepoMap:
    """Symbols and search terms of a set of repository files, read once."""

    def __init__(self, entries: dict[str, _Entry]) -> None:
        self._entries = entries
        self._index: dict[str, dict[str, int]] = {}
        for path, entry in entries.items():
            for term, count in entry.terms.items():
                self._index.setdefault(term, {})[path] = count
        self._defined = {
            path: {_squash(p.symbol.name.rsplit(".", 1)[-1]) for p in e.parsed}
            for path, e in entries.items()
        }
        self._lengths = {path: sum(e.terms.values()) for path, e in entries.items()}
        self._avg_length = sum(self._lengths.values()) / max(1, len(self._lengths)) or 1.0

    @classmethod
    def build(cls, root: Path, files: list[str]) -> RepoMap:
        """Map `files` (repo-relative POSIX paths); large, binary or unreadable ones are
        skipped, and so are names with control characters (a newline in a name would let a
        repository write its own lines into a prompt)."""
        entries: dict[str, _Entry] = {}
        for rel in files:
            text = _read_text(root / rel) if rel.isprintable() else None
            if text is None:
                continue
            parsed = parse(rel, text) if rel.endswith(".py") else []
            names = [p.symbol.name for p in parsed]
            structure = tokens(rel, parts=False) + tokens(" ".join(names), parts=False)
            terms = Counter(tokens(text))
            for term in structure:
                terms[term] += _STRUCTURE_WEIGHT
            entries[rel] = _Entry(rel, text, parsed, terms)
        return cls(entries)

    @property
    def paths(self) -> list[str]:
        """The mapped files, in the order given to `build`."""
        return list(self._entries)

    def rank(self, query: str, limit: int = 10, boost: Iterable[str] = ()) -> list[str]:
        """Files most relevant to `query`, best first; mapped `boost` files lead in their order.

        Only files that share a term with the query are returned (besides `boost`).
        """
        leading = [p for p in dict.fromkeys(boost) if p in self._entries]
        terms = tokens(query)
        scores = self._bm25(set(terms))
        demote = not {"test", "tests"} & set(terms)
        mentioned = {_squash(t) for t in terms}
        for path in scores:
            if self._defined[path] & mentioned:
                scores[path] *= DEFINES_BOOST
            if demote and is_test_file(path):
                scores[path] *= TEST_PENALTY
        order = sorted(scores, key=lambda p: (-scores[p], demote and is_test_file(p), p))
        ranked = leading + [p for p in order if p not in leading and scores[p] > 0]
        return ranked[:limit]

    def _bm25(self, terms: set[str]) -> dict[str, float]:
        count = len(self._entries)
        scores: dict[str, float] = {}
        for term in terms:
            postings = self._index.get(term, {})
            idf = math.log(1 + (count - len(postings) + 0.5) / (len(postings) + 0.5))
            for path, tf in postings.items():
                norm = _K1 * (1 - _B + _B * self._lengths[path] / self._avg_length)
                scores[path] = scores.get(path, 0.0) + idf * tf * (_K1 + 1) / (tf + norm)
        return scores

    def render(self, paths: list[str], max_chars: int = 6000) -> str:
        """Each file's path, then its symbols' line ranges and signatures, within `max_chars`."""
        out: list[str] = []
        used = 0
        paths = [p for p in paths if p.isprintable()]
        for shown, path in enumerate(paths):
            block = self._render_file(path)
            left = len(paths) - shown
            note = f"... {left} more file{'s' if left > 1 else ''} not shown"
            reserve = len(note) + 1 if left > 1 else 0
            if used + len(block) + 1 + reserve <= max_chars:
                out.append(block)
                used += len(block) + 1
                continue
            if not out:  # one huge file: show the symbols that fit rather than nothing
                out.append(_clip(block, max_chars - len(note) - 1))
                used += len(out[0]) + 1
                left -= 1
                note = f"... {left} more file{'s' if left > 1 else ''} not shown"
            if left and len(note) <= max_chars - used:
                out.append(note)
            break
        return "\n".join(out)

    def _render_file(self, path: str) -> str:
        entry = self._entries.get(path)
        lines = [path]
        for parsed in entry.parsed if entry else []:
            s = parsed.symbol
            indent = "  " * (1 + s.name.count("."))
            lines.append(f"{indent}{s.start}-{s.end} {s.signature}")
        return "\n".join(lines)

    def find(self, name: str) -> list[Symbol]:
        """Symbols called `name`, qualified (`Class.method`) or bare (`method`)."""
        return [
            p.symbol
            for e in self._entries.values()
            for p in e.parsed
            if name in (p.symbol.name, p.symbol.name.rsplit(".", 1)[-1])
        ]

    def references(self, name: str) -> list[tuple[str, int, str]]:
        """(path, line, text) of every whole-word use of `name`, definitions excluded.

        For `Class.method` the last part is searched; used to prove a rename left nothing behind.
        """
        bare = name.rsplit(".", 1)[-1]
        pattern = re.compile(rf"\b{re.escape(bare)}\b")
        found: list[tuple[str, int, str]] = []
        for entry in self._entries.values():
            defs = {p.def_line for p in entry.parsed if p.symbol.name.rsplit(".", 1)[-1] == bare}
            for number, line in enumerate(entry.text.splitlines(), start=1):
                if number not in defs and pattern.search(line):
                    found.append((entry.path, number, line.strip()))
        return found


def _squash(name: str) -> str:
    """`parse_date`, `ParseDate` and `parsedate` compare equal."""
    return name.replace("_", "").lower()


def _clip(block: str, room: int) -> str:
    """The leading lines of `block` that fit in `room`, with a count of the symbols cut."""
    lines = block.splitlines()
    kept: list[str] = []
    for n, line in enumerate(lines):
        marker = f"  ... {len(lines) - n} more symbols"
        if sum(len(k) + 1 for k in kept) + len(line) + 1 + len(marker) > room:
            return "\n".join([*kept, marker])
        kept.append(line)
    return "\n".join(kept)


def _read_text(path: Path) -> str | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        return None
    return data.decode("utf-8", errors="replace")
