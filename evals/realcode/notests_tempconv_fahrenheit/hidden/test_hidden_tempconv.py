import subprocess
import sys

import pytest


@pytest.mark.parametrize("args, expected", [
    (["212", "F"], "100.0 C"), (["32", "f"], "0.0 C"), (["-40", "F"], "-40.0 C"),
    (["100", "C"], "212.0 F"), (["21.5", "C"], "70.7 F"), (["98.6", "F"], "37.0 C"),
])
def test_conversions(args, expected):
    out = subprocess.run([sys.executable, "tempconv.py", *args], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == expected
