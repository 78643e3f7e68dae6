"""Read, write, edit, list and grep files, confined to one repository root.

Every path a model names goes through `RepoFiles.resolve`, so a confused or hostile
model cannot read or write outside the repository, nor touch git's own database.
"""

from __future__ import annotations

import builtins
import codecs
import contextlib
import errno
import os
import re
import stat
from pathlib import Path

import git

from tiercode.tools.edits import Edit, new_text
from tiercode.tools.errors import PathOutsideRepo, TiercodeError

BINARY_SNIFF_BYTES = 8192
"""A file with a NUL byte in this many leading bytes is treated as binary (git's own rule)."""

_MAX_GREP_FILE_BYTES = 2_000_000
_MAX_GREP_LINE_CHARS = 500


class FileToolError(TiercodeError):
    """A file tool could not do what was asked; the message is written to be shown to a model."""


class BinaryFile(FileToolError):
    """The file holds binary data, which the agent neither reads nor edits as text."""


class NotUtf8(FileToolError):
    """The file is not UTF-8 text: decoding it would replace bytes with U+FFFD, and writing
    that back would corrupt it, so the agent neither reads nor edits it."""


def glob_matches(pattern: str, rel_path: str) -> bool:
    """Match like ripgrep's -g: no `/` matches the file name at any depth, else the whole path.

    `*` stays within one path segment and `**` spans segments, so `src/**/*.py` means what it
    says, which neither fnmatch nor Path.match does on Python 3.11.
    """
    if "/" not in pattern:
        return re.fullmatch(_glob_regex(pattern), rel_path.rsplit("/", 1)[-1]) is not None
    return re.fullmatch(_glob_regex(pattern.lstrip("/")), rel_path) is not None


def _glob_regex(pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


class RepoFiles:
    """File operations for the agent, none of which can reach outside `root` or into `.git/`."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise FileToolError(f"repository root is not a directory: {root}")

    def resolve(self, path: str) -> Path:
        """Return the real absolute path for `path`, or raise PathOutsideRepo.

        Symlinks are followed before the check, so a link that points outside (or into .git)
        is refused too. The returned path is the resolved one, so callers act on what was checked.
        """
        if "\0" in path:
            raise PathOutsideRepo(f"path contains a NUL byte: {path!r}")
        try:
            real = (self.root / path).resolve()
        except (OSError, RuntimeError) as exc:  # RuntimeError: symlink loop on Python 3.11
            raise PathOutsideRepo(f"cannot resolve {path!r}: {exc}") from exc
        if not real.is_relative_to(self.root):
            raise PathOutsideRepo(f"{path!r} is outside the repository {self.root}")
        if any(part.casefold() == ".git" for part in real.relative_to(self.root).parts):
            raise PathOutsideRepo(f"{path!r} is inside .git/, which tools may not touch")
        return real

    def relative(self, path: str) -> str:
        """The repo-relative POSIX form of `path`, as git and the model should see it."""
        return self.resolve(path).relative_to(self.root).as_posix()

    def read(self, path: str, max_bytes: int = 200_000) -> str:
        """Return the text of a file, cut after `max_bytes` with a marker saying how much is left.

        Raises FileToolError for a missing file or a directory, BinaryFile for binary data and
        NotUtf8 for text in another encoding (a cut through a UTF-8 character is not one).
        """
        real = self._existing_file(path)
        size = real.stat().st_size
        with real.open("rb") as fh:
            data = fh.read(max_bytes)
        self._refuse_binary(path, data)
        text = _decode(path, data, complete=size <= len(data))
        if size > len(data):
            text += f"\n[... {size - len(data)} more bytes not shown ...]\n"
        return text

    def write(self, path: str, text: str) -> Path:
        """Write `text` as UTF-8 (newlines kept as given), creating parent folders.

        The checked path is then opened one component at a time from a descriptor of the
        root, none followed if it is a symlink: a directory swapped for a symlink after
        `resolve` cannot redirect the write outside (the write fails instead).
        """
        real = self.resolve(path)
        if real.is_dir():
            raise FileToolError(f"{path} is a directory, not a file")
        *folders, name = real.relative_to(self.root).parts
        data = text.encode("utf-8")
        dir_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for folder in folders:
                parent, dir_fd = dir_fd, -1
                try:
                    dir_fd = _enter(parent, folder, path)
                finally:
                    os.close(parent)
            _write_file(dir_fd, name, data, path)
        finally:
            if dir_fd >= 0:
                os.close(dir_fd)
        return real

    def apply_edit(self, edit: Edit, *, whole_up_to: int) -> None:
        """Apply one edit to its file (`edits.new_text`). A file of at most `whole_up_to`
        characters was shown whole, so code may replace all of it; a larger one was shown
        in part and is only spliced. Raises a TiercodeError (EditFailed, NotUtf8, …) whose
        message is meant for the model; the file is then left as it was."""
        rel = self.relative(edit.path)
        source = self._read_all(rel) if self.resolve(rel).is_file() else None
        whole = source is None or len(source) <= whole_up_to
        self.write(rel, new_text(edit, source, rel, whole=whole))

    def list(self, pattern: str = "**/*") -> list[str]:
        """Repo-relative files matching `pattern`; honours .gitignore when root is in a git repo."""
        files = self._git_files()
        if files is None:
            files = self._walk_files()
        return sorted(f for f in files if glob_matches(pattern, f))

    def grep(
        self, regex: str, glob: str | None = None, max_hits: int = 200
    ) -> builtins.list[tuple[str, int, str]]:
        """Lines matching `regex` as (path, 1-based line number, line), skipping binary files."""
        try:
            compiled = re.compile(regex)
        except re.error as exc:
            raise FileToolError(f"invalid regular expression {regex!r}: {exc}") from exc
        hits: builtins.list[tuple[str, int, str]] = []
        for rel in self.list(glob or "**/*"):
            try:
                real = self.resolve(rel)
                if real.stat().st_size > _MAX_GREP_FILE_BYTES:
                    continue
                data = real.read_bytes()
            except (PathOutsideRepo, OSError):
                continue
            if b"\0" in data[:BINARY_SNIFF_BYTES]:
                continue
            for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
                if compiled.search(line):
                    hits.append((rel, number, line[:_MAX_GREP_LINE_CHARS]))
                    if len(hits) >= max_hits:
                        return hits
        return hits

    def _existing_file(self, path: str) -> Path:
        real = self.resolve(path)
        if not real.exists():
            raise FileToolError(f"no such file: {path}")
        if not real.is_file():
            raise FileToolError(f"{path} is not a regular file")
        return real

    def _read_all(self, path: str) -> str:
        data = self._existing_file(path).read_bytes()
        self._refuse_binary(path, data)
        return _decode(path, data, complete=True)

    @staticmethod
    def _refuse_binary(path: str, data: bytes) -> None:
        if b"\0" in data[:BINARY_SNIFF_BYTES]:
            raise BinaryFile(f"{path} is a binary file; it cannot be read or edited as text")

    def _git_files(self) -> builtins.list[str] | None:
        try:
            git.Repo(self.root, search_parent_directories=True)
            out = git.Git(self.root).ls_files(
                "--cached", "--others", "--exclude-standard", "-z", strip_newline_in_stdout=False
            )
        except (git.InvalidGitRepositoryError, git.NoSuchPathError, git.GitCommandError):
            return None
        paths = {p for p in out.split("\0") if p}
        return [p for p in paths if ".git" not in p.split("/") and (self.root / p).is_file()]

    def _walk_files(self) -> builtins.list[str]:
        found: builtins.list[str] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = [d for d in dirnames if d != ".git"]
            base = Path(dirpath).relative_to(self.root)
            found.extend((base / name).as_posix() for name in filenames)
        return found


_NO_FOLLOW_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _enter(dir_fd: int, folder: str, path: str) -> int:
    """A descriptor of `folder` in `dir_fd` (created if missing), never through a symlink."""
    try:
        try:
            child = os.open(folder, _NO_FOLLOW_DIR, dir_fd=dir_fd)
        except FileNotFoundError:
            with contextlib.suppress(FileExistsError):  # made by someone else meanwhile
                os.mkdir(folder, 0o777, dir_fd=dir_fd)
            child = os.open(folder, _NO_FOLLOW_DIR, dir_fd=dir_fd)
    except OSError as exc:
        raise _write_refused(path, folder, exc) from exc
    return child


def _write_file(dir_fd: int, name: str, data: bytes, path: str) -> None:
    """Replace the contents of regular file `name` in `dir_fd` (never through a symlink,
    never into a FIFO or device), keeping an existing file's mode."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(name, flags, 0o666, dir_fd=dir_fd)
    except OSError as exc:
        raise _write_refused(path, name, exc) from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise FileToolError(f"{path} is not a regular file")
        os.ftruncate(fd, 0)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _write_refused(path: str, part: str, exc: OSError) -> TiercodeError:
    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
        return PathOutsideRepo(f"{path!r}: {part!r} became a symlink or file; not written")
    if exc.errno == errno.EISDIR:
        return FileToolError(f"{path} is a directory, not a file")
    return FileToolError(f"cannot write {path}: {exc.strerror or exc}")


def _decode(path: str, data: bytes, *, complete: bool) -> str:
    """`data` as UTF-8, or NotUtf8; when not `complete`, a character cut at the end is dropped."""
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(data, final=complete)
    except UnicodeDecodeError as exc:
        raise NotUtf8(
            f"{path} is not UTF-8 text; tiercode does not edit it (bad byte at {exc.start})"
        ) from None
