"""The project's own tests must be graded as they were given."""
import hashlib
import pathlib

HASHES = {
    "tests/test_strutils.py": "c420502dc79eca7dfd629e4e92107005ccd8404b17eb3b84c355462c3aa26a75"
}


def test_project_tests_are_unchanged():
    root = pathlib.Path(__file__).parent
    changed = [p for p, h in HASHES.items()
               if not (root / p).is_file()
               or hashlib.sha256((root / p).read_bytes()).hexdigest() != h]
    assert changed == [], "edited test files"
