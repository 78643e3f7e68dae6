import subprocess
import sys


def run(tmp_path, text, *args):
    f = tmp_path / "in.txt"
    f.write_text(text, encoding="utf-8")
    proc = subprocess.run([sys.executable, "wordfreq.py", str(f), *args],
                          capture_output=True, text=True, check=True)
    return dict(line.rsplit(": ", 1) for line in proc.stdout.splitlines())


def test_case_and_punctuation_are_ignored(tmp_path):
    counts = run(tmp_path, "The cat sat. The CAT! the end, \"cat\"")
    assert counts["the"] == "3"
    assert counts["cat"] == "3"
    assert counts["end"] == "1"
    assert not any(k != k.lower() or not k.isalpha() for k in counts)


def test_top_n(tmp_path):
    assert list(run(tmp_path, "b a b c b a", "2")) == ["b", "a"]
