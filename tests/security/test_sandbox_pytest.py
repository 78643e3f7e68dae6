"""The sandbox must not break the job it exists for: running a repository's tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from sandbox_support import requires_landlock

from tiercode.tools.shell import TEST_COMMAND, detect_test_command, run

pytestmark = requires_landlock


def test_pytest_passes_inside_the_sandbox(git_repo: Path) -> None:
    (git_repo / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (git_repo / "tests").mkdir()
    (git_repo / "tests" / "test_calc.py").write_text(
        "import os, tempfile\nfrom calc import add\n\n"
        "def test_add():\n    assert add(1, 2) == 3\n\n"
        "def test_tmp_path(tmp_path):\n    (tmp_path / 'x').write_text('ok')\n\n"
        "def test_tempfile():\n    with tempfile.NamedTemporaryFile() as f:\n"
        "        assert f.name.startswith(os.environ['TMPDIR'])\n"
    )
    (git_repo / "conftest.py").write_text("import sys\nsys.path.insert(0, '.')\n")
    cmd = detect_test_command(git_repo)
    assert cmd == TEST_COMMAND
    venv_bin = os.path.dirname(sys.executable)
    path = f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"
    result = run(cmd, cwd=git_repo, timeout_s=120, env_extra={"PATH": path})
    assert result.returncode == 0, result.output
    assert "3 passed" in result.output
    assert list((git_repo / "tests" / "__pycache__").glob("test_calc*.pyc"))
    assert not (git_repo / "__pycache__").exists()  # a new top-level entry: harmlessly skipped
    assert not (git_repo / ".pytest_cache").exists()
