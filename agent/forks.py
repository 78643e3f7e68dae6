"""Where a local reply could have gone otherwise: beginnings for a step's next samples.

A small model asked to fix a bug often copies the code back unchanged, or changes the
wrong thing, while the fix can be its second choice at one token (on dev bug tasks,
`[1:]` under a copied `[2:]`, `-` under `+`). A fork is the reply up to such a token
with the runner-up in its place; the model continues it greedily from its cached prefix,
so each costs only the rest of the reply, and the checks judge it like any other sample.
Forks are taken where the runner-up was most likely, inside code blocks only, never for
a change of whitespace alone, a comment, or a token that spells the start of the text it
would replace.
"""

from __future__ import annotations

from tiercode.agent.llm.models import Completion

FENCE = "```"
_MARKERS = ("<<<<<<<", "=======", ">>>>>>>")


def forks(reply: Completion, limit: int) -> list[str]:
    """Up to `limit` distinct reply beginnings, each the reply up to one token with the
    runner-up in its place, most likely first; none without runner-ups."""
    if limit <= 0 or not reply.tokens or not reply.runner_ups:
        return []
    offset = len(reply.text) - len("".join(reply.tokens))  # the prefill comes first
    choices: list[tuple[float, str]] = []
    for piece, (alternative, logprob) in zip(reply.tokens, reply.runner_ups, strict=False):
        head = reply.text[:offset]
        retraced = reply.text.startswith(alternative, offset)  # a shorter token, same text
        if _in_code(head) and not retraced and _changes_code(piece, alternative):
            choices.append((logprob, head + alternative))
        offset += len(piece)
    choices.sort(key=lambda choice: -choice[0])
    return list(dict.fromkeys(text for _, text in choices))[:limit]


def _in_code(head: str) -> bool:
    """Inside a fenced block: the text so far opened one more fence than it closed."""
    return head.count(FENCE) % 2 == 1


def _changes_code(piece: str, alternative: str) -> bool:
    """Not a fence or a conflict marker, not whitespace alone, not a comment begun."""
    if "`" in piece or "`" in alternative or any(m in alternative for m in _MARKERS):
        return False
    word = alternative.strip()
    return bool(word) and word != piece.strip() and not word.startswith("#")
