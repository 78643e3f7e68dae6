"""Aider-style search/replace applied to text: an exact match first, then one that
ignores indentation and blank edges (re-indenting the replacement to fit), and when
nothing matches, a message quoting the closest lines so the model can correct itself."""

from __future__ import annotations

import difflib
from typing import Literal

from tiercode.tools.errors import TiercodeError
from tiercode.tools.text import truncate_middle

Strategy = Literal["exact", "whitespace", "create"]


class EditFailed(TiercodeError):
    """A search/replace block did not apply; the message says why and shows the closest lines."""


def apply_search_replace(
    rel: str, content: str, search: str, replace: str
) -> tuple[str, Strategy, int]:
    """Return (new content, strategy, start line) or raise EditFailed."""
    count = content.count(search)
    if count == 1:
        start = content.index(search)
        line = content.count("\n", 0, start) + 1
        return content[:start] + replace + content[start + len(search) :], "exact", line
    lines = content.splitlines(keepends=True)
    if count > 1:
        starts = _exact_starts(content, search)
        raise EditFailed(
            f"search block matches {count} places in {rel} (lines {_fmt_lines(starts)}); "
            "include more surrounding lines so it matches exactly one"
        )
    wanted = _trim_blank_edges(search.splitlines())
    matches = [
        (i, shift)
        for i in range(len(lines) - len(wanted) + 1)
        if (shift := _shift_at(lines, i, wanted)) is not None
    ]
    if len(matches) > 1:
        raise EditFailed(
            f"search block matches {len(matches)} places in {rel} when whitespace is ignored "
            f"(lines {_fmt_lines([i + 1 for i, _ in matches])}); include more surrounding lines"
        )
    if not matches:
        raise EditFailed(_no_match_message(rel, lines, wanted))
    i, shift = matches[0]
    block = lines[i : i + len(wanted)]
    newline = "\r\n" if "\r\n" in content else "\n"
    ends_with_newline = block[-1].endswith(("\n", "\r"))
    new_lines = [_reindent(line, shift) for line in replace.splitlines()]
    new_block = newline.join(new_lines) + (newline if ends_with_newline and new_lines else "")
    new = "".join(lines[:i]) + new_block + "".join(lines[i + len(wanted) :])
    return new, "whitespace", i + 1


def _exact_starts(content: str, search: str) -> list[int]:
    starts, at = [], content.find(search)
    while at != -1:
        starts.append(content.count("\n", 0, at) + 1)
        at = content.find(search, at + 1)
    return starts


def _fmt_lines(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:5])
    return shown + (", ..." if len(numbers) > 5 else "")


def _trim_blank_edges(lines: list[str]) -> list[str]:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def indent(line: str) -> str:
    """A line's leading spaces and tabs."""
    return line[: len(line) - len(line.lstrip(" \t"))]


def _shift_at(lines: list[str], i: int, wanted: list[str]) -> tuple[str, int] | None:
    """The uniform indent shift that makes `wanted` equal lines[i:], or None.

    A shift is (prefix, sign): +1 means the file is indented by `prefix` more than the block,
    -1 means less. Trailing whitespace is ignored and blank lines match blank lines.
    """
    shift: tuple[str, int] | None = None
    for have_raw, want_raw in zip(lines[i : i + len(wanted)], wanted, strict=True):
        have, want = have_raw.rstrip(), want_raw.rstrip()
        if not have or not want:
            if have or want:
                return None
            continue
        if shift is None:
            hi, wi = indent(have), indent(want)
            if hi.endswith(wi):
                shift = (hi[: len(hi) - len(wi)], 1)
            elif wi.endswith(hi):
                shift = (wi[: len(wi) - len(hi)], -1)
            else:
                return None
        prefix, sign = shift
        if (sign > 0 and have != prefix + want) or (sign < 0 and want != prefix + have):
            return None
    return shift or ("", 1)


def _reindent(line: str, shift: tuple[str, int]) -> str:
    prefix, sign = shift
    if not line.strip():
        return ""
    if sign > 0:
        return prefix + line
    if line.startswith(prefix):
        return line[len(prefix) :]
    return line[min(len(prefix), len(indent(line))) :]


def _no_match_message(rel: str, lines: list[str], wanted: list[str]) -> str:
    """Say the block was not found and show the most similar lines, to guide the next try."""
    head = f"search block not found in {rel}"
    if not lines or not wanted:
        return head
    first = wanted[0].strip()
    by_first = sorted(
        range(len(lines)),
        key=lambda i: difflib.SequenceMatcher(None, lines[i].strip(), first).ratio(),
        reverse=True,
    )[:5]
    target = "\n".join(w.strip() for w in wanted)

    def score(i: int) -> float:
        window = "\n".join(line.strip() for line in lines[i : i + len(wanted)])
        return difflib.SequenceMatcher(None, window, target).ratio()

    best = max(by_first, key=score)
    shown = "".join(lines[best : best + len(wanted)]).rstrip("\n")
    return (
        f"{head}. Closest lines ({best + 1}-{best + len(wanted)}, similarity "
        f"{score(best):.2f}):\n{truncate_middle(shown, 2000)}"
    )
