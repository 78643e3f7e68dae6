"""The project's own tests must be graded as they were given."""
import hashlib
import pathlib

HASHES = {
    "test/common.py": "0b1801023162a497d7aeebbf8bce9335499977826378a15c8b17834a978ae883",
    "test/test_api.py": "d406f00caf7905406de90179efe9130f8d9962c2d66067a6dade023e3f304675",
    "test/test_internal.py": "8807e832fb3c0c956d796f3a0680c8cf36619c8cd3caa42ce5ea9a3848de0f39",
    "test/test_regression.py": "0600d238e3403a6503115602fcc6f9eea2ee3b18e577135378719ead49822f5e"
}


def test_project_tests_are_unchanged():
    root = pathlib.Path(__file__).parent
    changed = [p for p, h in HASHES.items()
               if not (root / p).is_file()
               or hashlib.sha256((root / p).read_bytes()).hexdigest() != h]
    assert changed == [], "edited test files"
