"""One-token changes of a line of Python: the repairs of the commonest small bugs.

Studies of real bug-fix commits (ManySStuBs4J, Karampatsis and Sutton 2020; PySStuBs for
Python) find that a large share of one-line fixes change one token: a comparison or a
binary operator, a number by one, a boolean literal, a `not` dropped or added, two
arguments swapped. A small model that writes such a line again rarely writes that one
token (the 1.5B wrote `==`, `!=`, `>` and `<` for a `<` in 16 samples, never `<=`),
while a test run says at once whether a change is the fix; template repair tools such as
PraPR and TBar search the same space the same way.
"""

from __future__ import annotations

import ast
import io
import itertools
import tokenize

from tiercode.tools.definitions import columns

SWAPS: dict[str, tuple[str, ...]] = {
    "<": ("<=", ">"),
    "<=": ("<", ">="),
    ">": (">=", "<"),
    ">=": (">", "<="),
    "==": ("!=",),
    "!=": ("==",),
    "+": ("-",),
    "-": ("+",),
    "and": ("or",),
    "or": ("and",),
    "True": ("False",),
    "False": ("True",),
}
"""Each token and what it becomes: a comparison's neighbours, then its opposite."""
_CONDITIONS = ("if ", "elif ", "while ")
_OPERAND_END = {")", "]", "}"}


def changes(source: str, number: int) -> list[str]:
    """Line `number` (1-based) of `source` with one token changed, for each change after
    which the file still parses, in the order of the line's tokens, then its condition
    negated, then swapped arguments. The line may be part of a longer statement; a file
    that does not parse has none."""
    lines = source.splitlines(keepends=True)
    try:
        tree = ast.parse(source)
        tokens = [
            t
            for t in tokenize.generate_tokens(io.StringIO(source).readline)
            if t.type in (tokenize.OP, tokenize.NAME, tokenize.NUMBER)
            and t.start[0] == t.end[0] == number
        ]
    except (SyntaxError, tokenize.TokenError, ValueError):
        return []
    if not 0 < number <= len(lines):
        return []
    line = lines[number - 1]
    found: list[str] = []
    for spans in (_token_changes(tokens), _negated(line), _swapped(tree, line, number)):
        for start, end, new in spans:
            text = line[:start] + new + line[end:]
            if text != line and text not in found and _parses(lines, number, text):
                found.append(text)
    return found


Span = tuple[int, int, str]
"""Columns `start`..`end` of the line and what goes there."""


def _token_changes(tokens: list[tokenize.TokenInfo]) -> list[Span]:
    """Each change of one of the line's tokens (`tokens`: the line's operators, names and
    numbers, in order)."""
    spans: list[Span] = []
    for i, token in enumerate(tokens):
        text, (start, end) = token.string, (token.start[1], token.end[1])
        before = tokens[i - 1] if i else None
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if text == "not" and after is not None and (before is None or before.string != "is"):
            spans.append((start, after.start[1], ""))  # `not x` -> `x`, `not in` -> `in`
        elif text == "is" and after is not None and after.string == "not":
            spans.append((start, after.end[1], "is"))
        elif text == "is":
            spans.append((start, end, "is not"))
        elif text == "in" and (before is None or before.string != "not"):
            spans.append((start, end, "not in"))
        elif text in ("+", "-") and not _binary(before):
            continue  # a sign, not an operator
        elif token.type == tokenize.NUMBER and text.isdigit():
            spans.append((start, end, str(int(text) + 1)))
            sign = before if before is not None and before.string in ("+", "-") else None
            if text == "1" and sign is not None and _binary(tokens[i - 2] if i > 1 else None):
                spans.append((tokens[i - 2].end[1], end, ""))  # `x - 1` -> `x`
            elif text == "1" and sign is not None:
                spans.append((sign.start[1], end, "0"))  # `-1` -> `0`
            elif int(text) > 0:
                spans.append((start, end, str(int(text) - 1)))
        else:
            spans += [(start, end, new) for new in SWAPS.get(text, ())]
    return spans


def _binary(before: tokenize.TokenInfo | None) -> bool:
    """Whether a `+` or `-` after this token is an operator (it follows an operand)."""
    if before is None:
        return False
    if before.type == tokenize.NAME:
        return before.string not in {"return", "in", "if", "and", "or", "not", "else", "is",
                                     "lambda", "yield", "elif", "while", "assert"}  # fmt: skip
    return before.type == tokenize.NUMBER or before.string in _OPERAND_END


def _negated(line: str) -> list[Span]:
    """The condition of a one-line `if`, `elif` or `while` negated as a whole: `not x`
    for a name, attribute, call or item, `not (x)` for anything else."""
    code, pad = line.strip(), len(line) - len(line.lstrip())
    head = next((h for h in _CONDITIONS if code.startswith(h) and code.endswith(":")), None)
    if head is None or code.startswith(head + "not "):
        return []
    start, end = pad + len(head), pad + len(code) - 1  # the condition, up to the colon
    condition = line[start:end].strip()
    try:
        kind = type(ast.parse(condition, mode="eval").body)
    except SyntaxError:
        return []
    simple = kind in (ast.Name, ast.Attribute, ast.Call, ast.Subscript)
    return [(start, end, f"not {condition}" if simple else f"not ({condition})")]


def _swapped(tree: ast.Module, line: str, number: int) -> list[Span]:
    """Each two neighbouring positional arguments of a call, both on the line, swapped."""
    spans: list[Span] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        args = [a for a in node.args if a.lineno == a.end_lineno == number]
        for left, right in itertools.pairwise(args):
            (a, b), (c, d) = columns(line, left), columns(line, right)
            spans.append((a, d, line[c:d] + line[b:c] + line[a:b]))
    return sorted(spans)


def _parses(lines: list[str], number: int, text: str) -> bool:
    """Whether the file parses with `text` as its line `number`."""
    try:
        ast.parse("".join([*lines[: number - 1], text, *lines[number:]]))
    except SyntaxError:
        return False
    return True
