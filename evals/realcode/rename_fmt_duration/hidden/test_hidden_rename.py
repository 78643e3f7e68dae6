import importlib
import pathlib
import re

OLD, NEW, MODULE = 'fmt_duration', 'format_duration', 'timer.formatting'


def test_old_name_is_gone():
    here = pathlib.Path(__file__)
    hits = [str(p.relative_to(here.parent)) for p in here.parent.rglob("*.py")
            if p != here and re.search(rf"\b{OLD}\b", p.read_text())]
    assert hits == []


def test_new_name_is_defined():
    module = importlib.import_module(MODULE)
    assert callable(getattr(module, NEW))
    assert not hasattr(module, OLD)
