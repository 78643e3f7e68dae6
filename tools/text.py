"""Cutting long text down to size: the head and the tail are kept (where errors and
summaries are), with one marker saying how much of the middle went."""

from __future__ import annotations


def omission_marker(omitted: int) -> str:
    """The one-line marker put where text was cut, shared by context building and shell output."""
    return f"\n[... {omitted} chars omitted ...]\n"


def middle_cut(total: int, max_chars: int) -> tuple[int, int]:
    """How many leading and trailing chars of `total` to keep so head+marker+tail fits max_chars.

    Exposed so that a streaming reader (the shell tool) can cut without holding all the text.
    """
    keep = max_chars
    for _ in range(4):  # the marker's length depends on the count it shows; settle it
        keep = max(max_chars - len(omission_marker(total - keep)), 0)
    head = (keep + 1) // 2
    return head, keep - head


def truncate_middle(text: str, max_chars: int) -> str:
    """Keep the head and the tail of `text`, where errors and summaries usually are.

    The result is at most `max_chars` long unless `max_chars` is shorter than the marker.
    """
    if len(text) <= max_chars:
        return text
    head, tail = middle_cut(len(text), max_chars)
    return text[:head] + omission_marker(len(text) - head - tail) + text[len(text) - tail :]
