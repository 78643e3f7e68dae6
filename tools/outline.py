"""A large file as a model should see it: the definitions that matter, verbatim (an
excerpt); its imports when none is named; an outline with numbered lines and bodies
elided for a file that is not Python or does not parse. Nothing is ever cut out of the
middle of a Python file."""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from tiercode.tools.repomap import CONTEXT_RUN_KEEP, Parsed, parse, symbols

_DUNDER = re.compile(r"^__\w+__$")
_QUOTED = re.compile(r"'([^'\\\n]{2,60})'|\"([^\"\\\n]{2,60})\"")
"""A short string quoted in a task or test output, without escapes."""


def focus_symbols(source_path: str, source: str, text: str) -> list[str]:
    """Names of symbols in the file that `text` mentions as whole words, most specific first.

    A class mentioned only as the prefix of one of its methods (`Parser.parse`) is not
    included, so that focusing on the method does not pull in the whole class.
    """
    found = symbols(source_path, source)
    names = {s.name for s in found}
    hits: list[tuple[int, int, str]] = []
    for s in found:
        bare = s.name.rsplit(".", 1)[-1]
        if "." in s.name and re.search(rf"\b{re.escape(s.name)}\b", text):
            hits.append((2, len(s.name), s.name))
        elif _DUNDER.match(bare):
            continue  # every class has an `__init__`: only a qualified mention counts
        elif _mentions(bare, text, names, s.kind == "class"):
            hits.append((1, len(s.name), s.name))
    return [name for *_, name in sorted(hits, reverse=True)]


def enclosing_symbols(source_path: str, source: str, lines: Iterable[int]) -> list[str]:
    """The innermost symbol around each line (a traceback frame's), in the order given."""
    found = symbols(source_path, source)
    names: list[str] = []
    for line in lines:
        around = [s for s in found if s.start <= line <= s.end]
        if around:
            names.append(min(around, key=lambda s: s.end - s.start).name)
    return list(dict.fromkeys(names))


def callees(source_path: str, source: str, names: Iterable[str]) -> list[str]:
    """The file's functions and methods that the named symbols call, not counting the named
    ones: those called by the most of them first, then in the order of their first call. A
    test that fails in `indent` can come from a bug in the `iter_splitlines` it calls, and
    eight failing functions that all call `_format_not_finite` point at it; no traceback
    frame shows either."""
    found = {s.name: s for s in symbols(source_path, source)}
    lines = source.splitlines()
    named = [n for n in dict.fromkeys(names) if n in found]
    callers: dict[str, int] = {}
    for name in named:
        symbol, owner = found[name], name.rpartition(".")[0]
        code = "\n".join(lines[symbol.start - 1 : symbol.end])
        try:
            tree = ast.parse(textwrap.dedent(code))
        except SyntaxError:
            continue
        calls = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Call)), key=_position)
        for called in dict.fromkeys(c for n in calls if (c := _callee(n, owner))):
            if called not in named and called in found and found[called].kind != "class":
                callers[called] = callers.get(called, 0) + 1
    return sorted(callers, key=lambda c: -callers[c])  # stable: first call breaks ties


def literal_sites(source_path: str, source: str, text: str) -> list[str]:
    """The definitions that hold a string `text` quotes, in file order, and for a
    module-level statement that holds one, the file's functions it calls: where a wrong
    value comes from ('+Inf' is returned in `_format_not_finite`; 'cow' and 'kine' are
    registered by the module-level call `_irregular('cow', 'kine')`)."""
    quoted = {a or b for a, b in _QUOTED.findall(text)}
    try:
        tree = ast.parse(source) if quoted else None
    except (SyntaxError, ValueError):
        tree = None
    if tree is None:
        return []
    found = symbols(source_path, source)
    names = {s.name for s in found}
    sites: list[str] = []
    for statement in tree.body:
        for node in ast.walk(statement):
            if not (isinstance(node, ast.Constant) and node.value in quoted):
                continue
            around = [s for s in found if s.start <= node.lineno <= s.end]
            if around:
                sites.append(min(around, key=lambda s: s.end - s.start).name)
            else:
                calls = (n for n in ast.walk(statement) if isinstance(n, ast.Call))
                sites += [c for n in calls if (c := _callee(n, "")) in names]
    return list(dict.fromkeys(sites))


def _position(node: ast.expr) -> tuple[int, int]:
    return node.lineno, node.col_offset


def _callee(call: ast.Call, owner: str) -> str | None:
    """`f(...)` calls f; in a method of `owner`, `self.m(...)` calls `owner.m`."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if owner and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return f"{owner}.{func.attr}" if func.value.id in ("self", "cls") else None
    return None


def _mentions(bare: str, text: str, names: set[str], is_class: bool) -> bool:
    for match in re.finditer(rf"\b{re.escape(bare)}\b(\.\w+)?", text):
        attribute = match.group(1)
        if not (is_class and attribute and f"{bare}{attribute}" in names):
            return True
    return False


def outline(path: str, source: str, focus: Iterable[str] = (), max_chars: int = 6000) -> str:
    """A large file for a model: numbered lines, focused symbols whole, other bodies elided.

    Shown, in order of what goes first when space runs out: module-level lines (imports,
    constants; long runs shortened), signatures of all symbols, and the full bodies of the
    symbols named in `focus`. Focused bodies are never cut, so the result can exceed
    `max_chars` only when the first focused body alone does. Files that are not Python
    (or do not parse) keep their head and tail with a marker naming the omitted range.
    """
    lines = source.splitlines()
    width = max(4, len(str(len(lines))))
    whole = _numbered(lines, set(range(1, len(lines) + 1)), [], width)
    if len(whole) <= max_chars:
        return whole
    parsed = parse(path, source) if path.endswith(".py") else []
    if not parsed:
        return _head_and_tail(lines, width, max_chars)
    wanted = list(dict.fromkeys(focus))
    result = whole
    for keep in range(len(wanted), 0 if wanted else -1, -1):
        result = _fitted_outline(lines, parsed, wanted[:keep], width, max_chars)
        if len(result) <= max_chars:
            return result
    return result


def _fitted_outline(
    lines: list[str], parsed: list[Parsed], focus: list[str], width: int, max_chars: int
) -> str:
    """The richest view with these bodies whole that fits, else the bodies and their headers."""
    focused = [p for p in parsed if _matches(p.symbol.name, focus)]
    base = {n for p in focused for n in range(p.symbol.start, p.symbol.end + 1)}
    base |= {n for p in parsed if _encloses_focus(p, focused) for n in _header(p)}
    others = [p for p in parsed if not _encloses_focus(p, focused)]
    others.sort(key=lambda p: _distance(p, focused))  # nearest signatures are kept longest
    headers = [set(_header(p)) for p in others]
    context = _context_lines(parsed, len(lines))
    everything = base.union(*headers)
    for shown in (everything | context, everything | _shorten_runs(context, lines)):
        text = _numbered(lines, shown, parsed, width)
        if len(text) <= max_chars:
            return text
    best, low, high = _numbered(lines, base, parsed, width), 0, len(headers)
    while low < high:  # the most headers that fit; each one only adds characters
        middle = (low + high + 1) // 2
        text = _numbered(lines, base.union(*headers[:middle]), parsed, width)
        if len(text) <= max_chars:
            best, low = text, middle
        else:
            high = middle - 1
    return best


def _header(p: Parsed) -> range:
    return range(p.symbol.start, p.header_end + 1)


def _distance(p: Parsed, focused: list[Parsed]) -> int:
    if not focused:
        return p.symbol.start
    return min(abs(p.symbol.start - f.symbol.start) for f in focused)


def _matches(name: str, focus: list[str]) -> bool:
    return name in focus or name.rsplit(".", 1)[-1] in focus


def _encloses_focus(candidate: Parsed, focused: list[Parsed]) -> bool:
    s = candidate.symbol
    return any(s.start <= f.symbol.start and f.symbol.end <= s.end for f in focused)


def _context_lines(parsed: list[Parsed], total: int) -> set[int]:
    """Lines outside every function and method: imports, constants, class attributes."""
    inside: set[int] = set()
    for p in parsed:
        if p.symbol.kind != "class":
            inside.update(range(p.symbol.start, p.symbol.end + 1))
    classes = [p for p in parsed if p.symbol.kind == "class" and "." not in p.symbol.name]
    for p in classes:  # nested classes' bodies stay elided with their parent's
        nested = [q for q in parsed if q.symbol.name.startswith(p.symbol.name + ".")]
        for q in nested:
            if q.symbol.kind == "class":
                inside.update(range(q.header_end + 1, q.symbol.end + 1))
    return set(range(1, total + 1)) - inside


def _shorten_runs(shown: set[int], lines: list[str]) -> set[int]:
    """Drop blank lines and keep only the first lines of each long run of consecutive lines."""
    kept: set[int] = set()
    run = 0
    for n in sorted(n for n in shown if lines[n - 1].strip()):
        run = run + 1 if n - 1 in shown else 1
        if run <= CONTEXT_RUN_KEEP:
            kept.add(n)
    return kept


def _numbered(lines: list[str], shown: set[int], parsed: list[Parsed], width: int) -> str:
    out: list[str] = []
    hidden_from = 0
    for n in range(1, len(lines) + 2):
        if n <= len(lines) and n not in shown:
            hidden_from = hidden_from or n
            continue
        if hidden_from:
            label = _describe(hidden_from, n - 1, parsed)
            marker = f"{' ' * width}  ...  (lines {hidden_from}-{n - 1}: {label})"
            single = f"{n - 1:>{width}}| {lines[n - 2]}"  # cheaper than its marker: just show it
            out.append(single if hidden_from == n - 1 and len(single) <= len(marker) else marker)
            hidden_from = 0
        if n <= len(lines):
            out.append(f"{n:>{width}}| {lines[n - 1]}")
    return "\n".join(out)


def _describe(first: int, last: int, parsed: list[Parsed]) -> str:
    """What an elided range holds: the rest of one body, whole symbols, or module-level code."""
    parts: list[str] = []
    around = [p.symbol for p in parsed if p.symbol.start < first <= p.symbol.end]
    if around:
        parts.append(f"body of {max(around, key=lambda s: s.start).name}")
    inner = [p.symbol.name for p in parsed if first <= p.symbol.start and p.symbol.end <= last]
    inner = [n for n in inner if "." not in n or n.rsplit(".", 1)[0] not in inner]
    if inner:
        more = f" and {len(inner) - 3} more" if len(inner) > 3 else ""
        parts.append(f"{', '.join(inner[:3])}{more}")
    return "; ".join(parts) or "module-level code"


def _head_and_tail(lines: list[str], width: int, max_chars: int) -> str:
    """First and last lines of a file without structure, and which range was left out."""
    budget = max(0, (max_chars - 80) // 2)
    head = _fit(list(range(1, len(lines) + 1)), lines, width, budget)
    tail_candidates = list(range(len(lines), head[-1] if head else 0, -1))
    tail = sorted(_fit(tail_candidates, lines, width, budget))
    first, last = (head[-1] + 1 if head else 1), (tail[0] - 1 if tail else len(lines))
    marker = f"{' ' * width}  ...  (lines {first}-{last} omitted: {last - first + 1} lines)"
    body = (
        [_line(n, lines, width) for n in head] + [marker] + [_line(n, lines, width) for n in tail]
    )
    return "\n".join(body)


def _fit(order: list[int], lines: list[str], width: int, budget: int) -> list[int]:
    taken: list[int] = []
    used = 0
    for n in order:
        used += len(_line(n, lines, width)) + 1
        if used > budget:
            break
        taken.append(n)
    return taken


def _line(n: int, lines: list[str], width: int) -> str:
    text = lines[n - 1]
    if len(text) > 400:
        text = f"{text[:400]} …[{len(text) - 400} more chars]"
    return f"{n:>{width}}| {text}"


DOCSTRING_MARK = "[rest of docstring hidden]"
"""Ends a long docstring shortened for the model; a reply that keeps it keeps the original."""
_LONG_DOCSTRING = 4


@dataclass(frozen=True)
class Excerpt:
    """Definitions of a large file copied verbatim, in the shape a reply sends them back."""

    code: str
    shown: list[str]
    others: list[str]


def excerpt(path: str, source: str, focus: Iterable[str], max_chars: int = 6000) -> Excerpt | None:
    """The focused definitions, byte for byte and without line numbers, so that a model
    that copies what it sees writes a valid splice. A method comes inside its class's
    header line. A long docstring shows only its first line and `DOCSTRING_MARK`, which
    `restore_docstrings` turns back into the original. None when nothing is focused or
    the file does not parse.

    Small models echo the shape of their input: shown a numbered outline they send the
    outline back. Shown the functions alone, they send back the functions they changed.
    """
    parsed = parse(path, source) if path.endswith(".py") else []
    by_name = {p.symbol.name: p for p in parsed}
    chosen: list[Parsed] = []
    used = 0
    for name in dict.fromkeys(focus):
        p = by_name.get(name)
        if p is None or any(_encloses_focus(c, [p]) for c in chosen):
            continue
        size = len("".join(source.splitlines(keepends=True)[p.symbol.start - 1 : p.symbol.end]))
        if chosen and used + size > max_chars:
            continue
        chosen = [c for c in chosen if not _encloses_focus(p, [c])] + [p]
        used += size
    if not chosen:
        return None
    lines = _short_docstrings(source)
    chosen.sort(key=lambda p: p.symbol.start)
    blocks: list[str] = []
    open_class = ""
    for p in chosen:
        owner = p.symbol.name.rsplit(".", 1)[0] if "." in p.symbol.name else ""
        body = "\n".join(x for x in lines[p.symbol.start - 1 : p.symbol.end] if x is not None)
        if owner and owner == open_class:
            blocks[-1] += "\n\n" + body
        elif owner:
            head = by_name[owner]
            header = [x for x in lines[head.symbol.start - 1 : head.header_end] if x is not None]
            blocks.append("\n".join([*header, body]))
        else:
            blocks.append(body)
        open_class = owner
    shown = [p.symbol.name for p in chosen]
    others = [
        p.symbol.name
        for p in parsed
        if "." not in p.symbol.name
        and p.symbol.name not in shown
        and not any(s.startswith(p.symbol.name + ".") for s in shown)
    ]
    return Excerpt("\n\n\n".join(blocks) + "\n", shown, others)


_Def = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def imports(path: str, source: str) -> str | None:
    """A Python file's module-level imports, verbatim: what a model adding a definition to a
    large file needs to see of it. None when the file does not parse."""
    if not path.endswith(".py"):
        return None
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    lines = source.splitlines()
    spans = [
        lines[node.lineno - 1 : node.end_lineno]
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    return "\n".join(line for span in spans for line in span) + "\n"


def _docstrings(tree: ast.AST) -> Iterator[tuple[str, str, int, int, int]]:
    """(definition name, docstring text, first line, last line, column) of each docstring."""
    for node in ast.walk(tree):
        if isinstance(node, _Def) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                end = first.end_lineno or first.lineno
                yield node.name, first.value.value, first.lineno, end, first.col_offset


def _short_docstrings(source: str) -> list[str | None]:
    """The source's lines with each long docstring shown as its first line and the mark
    (the lines it hides are None): a model reads and copies back far fewer tokens."""
    lines: list[str | None] = list(source.splitlines())
    for _, text, first, last, column in _docstrings(ast.parse(source)):
        summary = next((t.strip() for t in text.splitlines() if t.strip()), "")
        if last - first + 1 < _LONG_DOCSTRING or '"""' in summary or "\\" in summary:
            continue
        indent = str(lines[first - 1])[:column]
        lines[first - 1] = f'{indent}"""{summary} {DOCSTRING_MARK}"""'
        for n in range(first, last):
            lines[n] = None
    return lines


def restore_docstrings(code: str, source: str) -> str:
    """`code` with every docstring that ends in the mark replaced by the original docstring
    of the definition of the same name in `source`, re-indented to where it now stands."""
    if DOCSTRING_MARK not in code:
        return code
    try:
        new_tree, old_tree = ast.parse(code), ast.parse(source)
    except SyntaxError:
        return code
    old_lines = source.splitlines(keepends=True)
    originals: dict[str, tuple[list[str], str]] = {}
    for name, _, first, last, column in _docstrings(old_tree):
        originals.setdefault(name, (old_lines[first - 1 : last], old_lines[first - 1][:column]))
    lines = code.splitlines(keepends=True)
    marked = [
        (name, first, last, column)
        for name, text, first, last, column in _docstrings(new_tree)
        if text.endswith(DOCSTRING_MARK) and name in originals
    ]
    for name, first, last, column in sorted(marked, key=lambda m: -m[1]):
        span, old_indent = originals[name]
        indent = lines[first - 1][:column]
        if indent != old_indent:
            span = [
                indent + line.removeprefix(old_indent) if line.strip() else line for line in span
            ]
        lines[first - 1 : last] = span
    return "".join(lines)
