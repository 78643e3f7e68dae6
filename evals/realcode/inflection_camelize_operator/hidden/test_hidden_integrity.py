"""The project's own tests must be graded as they were given."""
import hashlib
import pathlib

HASHES = {
    "test_inflection.py": "f92c5085ba83c07192ca12fd024d828a734b7996226893bf9d72e649fc10200b"
}


def test_project_tests_are_unchanged():
    root = pathlib.Path(__file__).parent
    changed = [p for p, h in HASHES.items()
               if not (root / p).is_file()
               or hashlib.sha256((root / p).read_bytes()).hexdigest() != h]
    assert changed == [], "edited test files"
