import io

import pytest

import todo


def _setup(tmp_path):
    f = str(tmp_path / "t.json")
    for text in ("milk", "bread", "eggs"):
        todo.main(["--file", f, "add", text])
    todo.main(["--file", f, "done", "2"])
    return f


def _list(f, *flags):
    out = io.StringIO()
    todo.main(["--file", f, "list", *flags], out=out)
    return out.getvalue()


def test_list_pending_only(tmp_path):
    f = _setup(tmp_path)
    assert _list(f, "--pending") == "1. [ ] milk\n3. [ ] eggs\n"


def test_list_without_flag_shows_all(tmp_path):
    f = _setup(tmp_path)
    assert _list(f) == "1. [ ] milk\n2. [x] bread\n3. [ ] eggs\n"
