import io

import todo


def test_add_and_list(tmp_path):
    f = str(tmp_path / "t.json")
    todo.main(["--file", f, "add", "milk"])
    todo.main(["--file", f, "add", "bread"])
    todo.main(["--file", f, "done", "2"])
    out = io.StringIO()
    todo.main(["--file", f, "list"], out=out)
    assert out.getvalue() == "1. [ ] milk\n2. [x] bread\n"
