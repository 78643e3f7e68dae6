"""Runs an acceptance check one top-level statement at a time (standalone: it is copied
next to the check and run in the sandbox, so it imports nothing from tiercode).

Every assert is run even when an earlier one failed, and for a failed `assert call ==
literal` the value the call gave is reported, and, when it calls a plain function, the
call as a reference implementation of that function would be called: the agent can then
tell a wrong answer from a check that predicted the wrong value. The report is one marked
JSON line on stdout; the exit code is 1 when any statement failed. A failed comparison's
traceback is followed by what each of its non-literal sides was (evaluated again to say
so).
"""

import ast
import json
import sys
import traceback
import types

MARK = "@@tiercode-asserts@@"


def _literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _dispute(test: ast.expr, source: str, path: str, names: dict[str, object]) -> dict[str, str]:
    """For `call == literal` (either side): the call's source, what it gave, what was
    expected, and for a plain function the call by the function's bare name."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return {}
    if not isinstance(test.ops[0], ast.Eq):
        return {}
    left, right = test.left, test.comparators[0]
    if _literal(right) and not _literal(left):
        call, expected = left, right
    elif _literal(left) and not _literal(right):
        call, expected = right, left
    else:
        return {}
    if not isinstance(call, ast.Call) or not all(
        map(_literal, [*call.args, *(k.value for k in call.keywords)])
    ):
        return {}  # only a call on literals can be predicted again from the task alone
    try:
        got = _value(call, path, names)
    except Exception:  # the call failing is reported as the assert's error
        return {}
    found = {
        "call": _source(source, call),
        "got": got,
        "expected": repr(ast.literal_eval(expected)),
    }
    try:
        function = eval(compile(ast.Expression(call.func), path, "eval"), names)
    except Exception:
        return found
    if isinstance(function, types.FunctionType) and function.__name__.isidentifier():
        bare = ast.Call(ast.Name(function.__name__, ast.Load()), call.args, call.keywords)
        found["reference_call"] = ast.unparse(bare)
    return found


def _value(node: ast.expr, path: str, names: dict[str, object]) -> str:
    """The expression evaluated again in the check's names, as a short repr."""
    return repr(eval(compile(ast.Expression(node), path, "eval"), names))[:300]


def _source(source: str, node: ast.expr) -> str:
    return ast.get_source_segment(source, node) or ast.unparse(node)


def _values(test: ast.expr, source: str, path: str, names: dict[str, object]) -> str:
    """What each side of a failed comparison was, as pytest shows it: a bare
    AssertionError tells the next answer nothing about what its code returned."""
    if not isinstance(test, ast.Compare):
        return ""
    shown = []
    for side in [test.left, *test.comparators]:
        if _literal(side):
            continue
        try:
            value = _value(side, path, names)
        except Exception as exc:  # the side itself failing is worth saying too
            value = f"raised {type(exc).__name__}: {exc}"[:300]
        shown.append(f"  where {_source(source, side)} is {value}")
    return "\n".join(shown)


def main(path: str) -> int:
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    names: dict[str, object] = {"__name__": "__main__", "__file__": path}
    found = []
    for node in ast.parse(source, path).body:
        code = compile(ast.Module([node], []), path, "exec")
        if not isinstance(node, ast.Assert):
            exec(code, names)  # set-up that fails fails the whole check, as a plain run would
            continue
        entry = {"line": node.lineno, "source": ast.get_source_segment(source, node) or ""}
        try:
            exec(code, names)
            entry["passed"] = True
        except AssertionError:
            entry.update(passed=False, **_dispute(node.test, source, path, names))
            traceback.print_exc()
            if shown := _values(node.test, source, path, names):
                print(shown, file=sys.stderr, flush=True)
        except Exception:  # any error fails the assert, and is shown
            entry["passed"] = False
            traceback.print_exc()
        found.append(entry)
    print(MARK + json.dumps(found), flush=True)
    return 0 if all(e["passed"] for e in found) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
