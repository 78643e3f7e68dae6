import subprocess
import sys

DATA = "item,amount,price\npen,2,1.50\nbook,1,12.25\nbag,,30\n"


def run(tmp_path, *args):
    f = tmp_path / "d.csv"
    f.write_text(DATA)
    return subprocess.run([sys.executable, "csvsum.py", str(f), *args],
                          capture_output=True, text=True)


def test_default_column_is_amount(tmp_path):
    assert run(tmp_path).stdout.strip() == "3.00"


def test_column_option(tmp_path):
    proc = run(tmp_path, "--column", "price")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "43.75"


def test_unknown_column_is_an_error(tmp_path):
    proc = run(tmp_path, "--column", "nope")
    assert proc.returncode != 0
    assert "nope" in proc.stderr
    assert "Traceback" not in proc.stderr
