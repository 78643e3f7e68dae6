"""HumanEval prompts in the Qwen2.5-Coder instruct format, and turning replies into programs.

The prompt is the one the Qwen2.5-Coder team used for their instruct models' HumanEval
figures (qwencoder-eval/instruct/eval_plus): their system line, "Can you complete the
following Python function?" with the problem in a ```python fence, greedy decoding up
to 1024 new tokens. Their harness also pre-filled the reply with "```python\\n"; a chat
request cannot pre-fill, so the fenced block is extracted from the reply instead.
"""

from __future__ import annotations

import ast
import doctest
import re

from tiercode.agent.llm.models import Message

SYSTEM = "You are an intelligent programming assistant to produce Python algorithmic solutions"
MAX_TOKENS = 1024
_FENCE = re.compile(r"```[ \t]*(?:python|py|Python)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)


def messages(prompt: str) -> list[Message]:
    """The chat messages for one HumanEval problem."""
    user = f"Can you complete the following Python function?\n```python\n{prompt.strip()}\n```"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def extract_code(reply: str, entry_point: str) -> str:
    """The fenced block that defines `entry_point` (else the longest block, else the reply)."""
    blocks = [b for b in _FENCE.findall(reply) if b.strip()]
    if not blocks:
        return reply
    defining = [b for b in blocks if re.search(rf"\bdef\s+{re.escape(entry_point)}\s*\(", b)]
    return str(max(defining or blocks, key=len))


def _defined(tree: ast.Module) -> set[str]:
    return {
        n.name
        for n in tree.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }


def _prompt_context(prompt: str, code: str, entry_point: str) -> list[str]:
    """What the prompt gives that the reply may leave out: its imports, and helper
    functions it defines (e.g. `poly` beside `find_zero`) that the reply does not."""
    try:
        given, written = ast.parse(prompt), ast.parse(code)
    except SyntaxError:
        return [line for line in prompt.splitlines() if line.startswith(("import ", "from "))]
    have = _defined(written) | {entry_point}
    kept = [
        n
        for n in given.body
        if isinstance(n, ast.Import | ast.ImportFrom)
        or (isinstance(n, ast.FunctionDef | ast.ClassDef) and n.name not in have)
    ]
    return [ast.get_source_segment(prompt, n) or "" for n in kept]


def longest_valid_prefix(code: str) -> str:
    """The code cut after its last line that still parses, when the whole does not: a
    broken demo after a good function (a mangled multi-line print) then costs nothing,
    as with EvalPlus's sanitizer, which keeps the longest valid stretch of code."""
    try:
        ast.parse(code)
        return code
    except SyntaxError:
        pass
    lines = code.splitlines()
    for end in range(len(lines) - 1, 0, -1):
        head = "\n".join(lines[:end])
        try:
            ast.parse(head)
        except SyntaxError:
            continue
        return head if head.strip() else code
    return code


def sanitize(code: str) -> str:
    """Keep imports, definitions and top-level assignments; drop demo calls, prints and
    `if __name__ == "__main__"` blocks, which would run (and may fail) under the tests."""
    code = longest_valid_prefix(code)
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    keep = (
        ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
        ast.Assign, ast.AnnAssign,
    )  # fmt: skip
    kept = [n for n in tree.body if isinstance(n, keep)]
    return "\n\n".join(ast.get_source_segment(code, n) or "" for n in kept)


def program(prompt: str, reply: str, entry_point: str) -> str:
    """The solution as a runnable module: the prompt's imports, then the model's code.

    A reply that only continues the body (no `def entry_point`) is appended to the prompt,
    as a completion model's output would be.
    """
    code = sanitize(extract_code(reply, entry_point))
    if not re.search(rf"\bdef\s+{re.escape(entry_point)}\s*\(", code):
        return prompt + code
    return "\n\n".join([*_prompt_context(prompt, code, entry_point), code]) + "\n"


def examples(prompt: str) -> str:
    """The prompt's own `>>>` examples as doctest text (visible to any solver; the hidden
    tests are never used here). Empty when the prompt has none."""
    parser = doctest.DocTestParser()
    text = []
    for e in parser.get_examples(prompt):
        # the docstring's closing quotes sit at the example's indent: they are not output
        lines = e.want.splitlines(True)
        want = "".join(x for x in lines if not x.strip().startswith(('"""', "'''")))
        if want.strip():
            text.append(f">>> {e.source.rstrip()}\n{want}")
    return "".join(text)


def self_check_script(solution: str, doctest_text: str) -> str:
    """A script that runs the examples against the solution and prints `passed/tried`."""
    return (
        solution
        + "\n\nimport doctest as _dt\n"
        + f"_text = {doctest_text!r}\n"
        + "_test = _dt.DocTestParser().get_doctest(_text, dict(globals()), 'self_check', None, 0)\n"
        + "_runner = _dt.DocTestRunner(optionflags=_dt.NORMALIZE_WHITESPACE)\n"
        + "_runner.run(_test, out=lambda _s: None)\n"
        + "print(f'SELF_CHECK {_runner.tries - _runner.failures}/{_runner.tries}')\n"
    )


def test_script(solution: str, test: str, entry_point: str) -> str:
    """The solution followed by the hidden HumanEval `check` and its call."""
    return f"{solution}\n\n{test}\n\ncheck({entry_point})\n"
