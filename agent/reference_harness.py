"""Runs a reference implementation on the calls an acceptance check disputed (standalone:
copied next to it and run in the sandbox, away from the repository, so it imports
nothing from tiercode).

The report is one marked JSON line on stdout: each call's value as a short repr, or ""
when the call failed. Code that fails to run reports nothing.
"""

import json
import sys

MARK = "@@tiercode-values@@"


def main(path: str, calls: str) -> int:
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    names: dict[str, object] = {"__name__": "reference"}
    exec(compile(source, path, "exec"), names)
    values = {}
    for call in json.loads(calls):
        try:
            values[call] = repr(eval(call, names))[:300]
        except Exception:  # a reference that fails on a call gives no value for it
            values[call] = ""
    print(MARK + json.dumps(values), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
