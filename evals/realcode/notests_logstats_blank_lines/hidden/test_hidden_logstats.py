import subprocess
import sys

LOG = """2024-05-01 12:00:01 INFO started

2024-05-01 12:00:02 error disk failure
2024-05-01 12:00:03 WARNING disk almost full
   
2024-05-01 12:00:04 INFO stopped
2024-05-01 12:00:05 Error again
"""


def test_blank_lines_and_level_case(tmp_path):
    f = tmp_path / "app.log"
    f.write_text(LOG)
    proc = subprocess.run([sys.executable, "logstats.py", str(f)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    rows = dict(line.split() for line in proc.stdout.splitlines())
    assert rows == {"DEBUG": "0", "INFO": "2", "WARNING": "1", "ERROR": "2"}
