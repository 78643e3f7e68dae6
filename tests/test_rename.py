"""Finishing a rename the model started at a definition, with rope."""

from __future__ import annotations

from pathlib import Path

import pytest

from tiercode.tools.rename import Renamed, detect, follow


def test_detect_finds_one_renamed_definition_of_the_same_kind() -> None:
    before = "def a():\n    pass\n\n\nclass B:\n    pass\n"
    assert detect("m.py", before, before.replace("def a", "def c")) == Renamed("m.py", "a", "c")
    assert detect("m.py", before, before.replace("class B", "def B2")) is None  # kind changed
    both = before.replace("def a", "def c").replace("class B", "class D")
    assert detect("m.py", before, both) is None  # two at once: not a rename
    assert detect("m.py", before, before) is None
    assert detect("m.py", before, "def (:") is None


def test_follow_renames_references_without_writing_or_leaving_rope_files(tmp_path: Path) -> None:
    (tmp_path / "lib.py").write_text("def new(x):\n    return x\n\n\nY = old(1)\n")
    (tmp_path / "app.py").write_text("from lib import old\n\nprint(old(2))\n")
    texts = follow(tmp_path, Renamed("lib.py", "old", "new"))
    assert texts == {
        "app.py": "from lib import new\n\nprint(new(2))\n",
        "lib.py": "def new(x):\n    return x\n\n\nY = new(1)\n",
    }
    assert (tmp_path / "app.py").read_text() == "from lib import old\n\nprint(old(2))\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.py", "lib.py"]
    with pytest.raises(ValueError, match="cannot find the definition"):
        follow(tmp_path, Renamed("lib.py", "old", "missing"))
