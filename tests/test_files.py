"""RepoFiles: confinement to the repo root, reads, writes, search/replace edits, list, grep."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tiercode.tools.edits import Edit
from tiercode.tools.errors import PathOutsideRepo, TiercodeError
from tiercode.tools.files import BinaryFile, RepoFiles, glob_matches
from tiercode.tools.search_replace import EditFailed, apply_search_replace
from tiercode.tools.text import truncate_middle


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A plain folder (not git) with a .git dir, links out and in, and an evil sibling."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / ".git" / "config").write_text("[core]\n")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("print('hi')\n")
    (tmp_path / "repo-evil").mkdir()
    (tmp_path / "repo-evil" / "secret.txt").write_text("secret\n")
    (tmp_path / "outside.txt").write_text("outside\n")
    (root / "link_out").symlink_to(tmp_path / "outside.txt")
    (root / "link_dir_out").symlink_to(tmp_path / "repo-evil")
    (root / "link_git").symlink_to(root / ".git")
    (root / "link_in").symlink_to(root / "src" / "app.py")
    return root


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "../outside.txt",
        "src/../../outside.txt",
        "../repo-evil/secret.txt",
        "link_out",
        "link_dir_out/secret.txt",
        ".git/config",
        ".git",
        "./.git/hooks/pre-commit",
        "src/../.git/config",
        "link_git/config",
        ".GIT/config",
    ],
)
def test_resolve_refuses_paths_outside_the_root_or_in_git(repo: Path, path: str) -> None:
    with pytest.raises(PathOutsideRepo):
        RepoFiles(repo).resolve(path)


def test_resolve_refuses_the_sibling_prefix_trick(repo: Path) -> None:
    evil = str(repo) + "-evil/secret.txt"
    with pytest.raises(PathOutsideRepo, match="outside"):
        RepoFiles(repo).resolve(evil)


def test_resolve_accepts_paths_inside(repo: Path) -> None:
    files = RepoFiles(repo)
    assert files.resolve("src/app.py") == repo / "src" / "app.py"
    assert files.resolve(str(repo / "src" / "app.py")) == repo / "src" / "app.py"
    assert files.resolve("src/./../src/new.py") == repo / "src" / "new.py"
    assert files.resolve("link_in") == repo / "src" / "app.py"
    assert files.resolve(".gitignore") == repo / ".gitignore"


def test_path_errors_are_one_line(repo: Path) -> None:
    with pytest.raises(PathOutsideRepo) as info:
        RepoFiles(repo).write("../x.txt", "x")
    assert "\n" not in str(info.value)
    assert not (repo.parent / "x.txt").exists()


def test_writes_into_git_are_refused(repo: Path) -> None:
    with pytest.raises(PathOutsideRepo):
        RepoFiles(repo).write(".git/hooks/post-commit", "#!/bin/sh\n")
    assert not (repo / ".git" / "hooks").exists()


_SEGMENTS = st.sampled_from(
    ["..", ".", "a", "src", ".git", ".GIT", "link_out", "link_git", "link_in", "link_dir_out", ""]
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(segments=st.lists(_SEGMENTS, max_size=6), absolute=st.booleans())
def test_resolve_never_escapes(repo: Path, segments: list[str], absolute: bool) -> None:
    path = ("/" if absolute else "") + "/".join(segments)
    try:
        real = RepoFiles(repo).resolve(path)
    except PathOutsideRepo:
        return
    real_root = repo.resolve()
    assert real.is_relative_to(real_root)
    assert ".git" not in [p.casefold() for p in real.relative_to(real_root).parts]
    assert Path(os.path.realpath(real)) == real


def test_read_write_round_trip_keeps_newlines(tmp_path: Path) -> None:
    files = RepoFiles(tmp_path)
    files.write("deep/er/x.txt", "a\r\nb\n")
    assert (tmp_path / "deep" / "er" / "x.txt").read_bytes() == b"a\r\nb\n"
    assert files.read("deep/er/x.txt") == "a\r\nb\n"


def test_read_refuses_binary_files(tmp_path: Path) -> None:
    (tmp_path / "blob.bin").write_bytes(b"abc\0def")
    with pytest.raises(BinaryFile, match="binary"):
        RepoFiles(tmp_path).read("blob.bin")
    assert issubclass(BinaryFile, TiercodeError)


def test_read_caps_large_files(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("x" * 1000)
    text = RepoFiles(tmp_path).read("big.txt", max_bytes=100)
    assert text.startswith("x" * 100)
    assert "900 more bytes not shown" in text


def test_read_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TiercodeError, match="no such file"):
        RepoFiles(tmp_path).read("nope.txt")


CODE = """\
class Greeter:
    def hello(self):
        return "hello"

    def bye(self):
        return "bye"
"""


def replace_in(files: RepoFiles, path: str, search: str, replace: str) -> None:
    """One search/replace block applied through the agent's one edit path."""
    edit = Edit(path, "search_replace", search=search, replace=replace)
    files.apply_edit(edit, whole_up_to=100_000)


def test_edit_exact(tmp_path: Path) -> None:
    files = RepoFiles(tmp_path)
    files.write("g.py", CODE)
    assert apply_search_replace("g.py", CODE, 'return "bye"', "x")[1:] == ("exact", 6)
    replace_in(files, "g.py", 'return "bye"', 'return "goodbye"')
    assert files.read("g.py") == CODE.replace('"bye"', '"goodbye"')


def test_edit_whitespace_tolerant_reindents_the_replacement(tmp_path: Path) -> None:
    files = RepoFiles(tmp_path)
    files.write("g.py", CODE)
    search = 'def hello(self):   \n    return "hello"\n'  # unindented, trailing spaces
    replace = 'def hello(self, name):\n    return f"hello {name}"\n'
    assert apply_search_replace("g.py", CODE, search, replace)[1:] == ("whitespace", 2)
    replace_in(files, "g.py", search, replace)
    assert files.read("g.py") == CODE.replace(
        '    def hello(self):\n        return "hello"\n',
        '    def hello(self, name):\n        return f"hello {name}"\n',
    )


def test_edit_whitespace_tolerant_when_the_block_is_indented_more(tmp_path: Path) -> None:
    files = RepoFiles(tmp_path)
    files.write("f.py", "def f():\n    return 1\n")
    replace_in(files, "f.py", "    def f():\n        return 1", "    def f():\n        return 2")
    assert files.read("f.py") == "def f():\n    return 2\n"


def test_edit_ambiguous_fails_and_changes_nothing(tmp_path: Path) -> None:
    files = RepoFiles(tmp_path)
    files.write("g.py", CODE)
    with pytest.raises(EditFailed, match=r"matches 2 places.*lines 3, 6"):
        replace_in(files, "g.py", "        return", "        yield")
    assert files.read("g.py") == CODE
    files.write("p.py", "if a:\n    pass\nif b:\n        pass\n")
    with pytest.raises(EditFailed, match=r"2 places in p.py when whitespace is ignored"):
        replace_in(files, "p.py", "pass  \n", "return\n")


def test_edit_no_match_shows_the_closest_lines(tmp_path: Path) -> None:
    files = RepoFiles(tmp_path)
    files.write("g.py", CODE)
    with pytest.raises(EditFailed) as info:
        replace_in(files, "g.py", 'def hello(self):\n    return "hallo"', "x")
    message = str(info.value)
    assert "not found in g.py" in message
    assert "Closest lines (2-3" in message
    assert 'return "hello"' in message
    assert files.read("g.py") == CODE


def test_edit_creates_a_missing_file_with_an_empty_search(tmp_path: Path) -> None:
    files = RepoFiles(tmp_path)
    replace_in(files, "pkg/new.py", "", "x = 1\n")
    assert files.read("pkg/new.py") == "x = 1\n"
    with pytest.raises(EditFailed, match="not empty"):
        replace_in(files, "pkg/new.py", "", "y = 2\n")
    with pytest.raises(EditFailed, match="does not exist"):
        replace_in(files, "pkg/other.py", "x", "y")


def test_list_without_git_skips_the_git_dir(repo: Path) -> None:
    listed = RepoFiles(repo).list()
    assert "src/app.py" in listed
    assert not any(p.startswith(".git/") for p in listed)
    assert RepoFiles(repo).list("*.py") == ["src/app.py"]


def test_list_honours_gitignore(git_repo: Path) -> None:
    (git_repo / ".gitignore").write_text("build/\n*.log\n")
    (git_repo / "build").mkdir()
    (git_repo / "build" / "out.py").write_text("x\n")
    (git_repo / "debug.log").write_text("x\n")
    (git_repo / "src").mkdir()
    (git_repo / "src" / "new.py").write_text("x\n")
    files = RepoFiles(git_repo)
    assert files.list() == [".gitignore", "README.md", "src/new.py"]
    assert files.list("src/**/*.py") == ["src/new.py"]
    assert files.list("*.md") == ["README.md"]


def test_list_drops_tracked_files_deleted_from_the_worktree(git_repo: Path) -> None:
    (git_repo / "README.md").unlink()
    assert RepoFiles(git_repo).list() == []


def test_grep(git_repo: Path) -> None:
    (git_repo / "a.py").write_text("import os\nx = 1\nimport re\n")
    (git_repo / "b.txt").write_text("import nothing\n")
    (git_repo / "c.bin").write_bytes(b"import\0binary")
    files = RepoFiles(git_repo)
    assert files.grep(r"^import") == [
        ("a.py", 1, "import os"),
        ("a.py", 3, "import re"),
        ("b.txt", 1, "import nothing"),
    ]
    assert files.grep("import", glob="*.py", max_hits=1) == [("a.py", 1, "import os")]
    with pytest.raises(TiercodeError, match="invalid regular expression"):
        files.grep("(")


def test_grep_does_not_follow_links_out(repo: Path) -> None:
    assert RepoFiles(repo).grep("outside|secret") == []


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("**/*", "a/b/c.py", True),
        ("*.py", "a/b/c.py", True),
        ("src/*.py", "src/a/b.py", False),
        ("src/**/*.py", "src/b.py", True),
        ("src/**/*.py", "src/a/b.py", True),
        ("?.md", "a.md", True),
    ],
)
def test_glob_matches(pattern: str, path: str, expected: bool) -> None:
    assert glob_matches(pattern, path) is expected


def test_truncate_middle_keeps_head_and_tail() -> None:
    text = "HEAD" + "x" * 5000 + "TAIL"
    cut = truncate_middle(text, 200)
    assert cut.startswith("HEAD") and cut.endswith("TAIL")
    assert len(cut) <= 200
    kept = len(cut) - len(cut[cut.index("\n[...") : cut.index("...]\n") + 5])
    assert f"[... {len(text) - kept} chars omitted ...]" in cut
    assert truncate_middle("short", 200) == "short"


@given(text=st.text(max_size=3000), max_chars=st.integers(min_value=40, max_value=3000))
def test_truncate_middle_property(text: str, max_chars: int) -> None:
    cut = truncate_middle(text, max_chars)
    if len(text) <= max_chars:
        assert cut == text
        return
    assert len(cut) <= max_chars
    head, rest = cut.split("\n[... ", 1)
    count, tail = rest.split(" chars omitted ...]\n", 1)
    assert text.startswith(head) and text.endswith(tail)
    assert len(head) + int(count) + len(tail) == len(text)


def test_resolve_outside_a_git_worktree_for_listing(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path / "r")], check=True)
    (tmp_path / "r" / "x.txt").write_text("x\n")
    assert RepoFiles(tmp_path / "r").list() == ["x.txt"]
