"""The project's own tests must be graded as they were given."""
import hashlib
import pathlib

HASHES = {
    "tests/__init__.py": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "tests/test_filesize.py": "a961ac3dfcd57ec7c00d5d5cc84f7ddd94781376539e1686bd3912330b8983df",
    "tests/test_number.py": "1f8cccec45839a6552ce9e85bd4efabee4c9a04913c0e3d04f571a745f15a57d"
}


def test_project_tests_are_unchanged():
    root = pathlib.Path(__file__).parent
    changed = [p for p, h in HASHES.items()
               if not (root / p).is_file()
               or hashlib.sha256((root / p).read_bytes()).hexdigest() != h]
    assert changed == [], "edited test files"
