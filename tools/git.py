"""Git for the agent: commit only its own work, find it again, and undo it safely.

The user's uncommitted work is never mixed into an agent commit nor lost by an undo:
commits are built in a temporary index, undo refuses unless it can only drop the
agent's own, unpushed commits, and restore never removes an ignored or pre-existing
untracked file. No git call made here runs a repository hook or fsmonitor command.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

import git

from tiercode.tools.errors import RepoError

SAFE_CONFIG = (("core.hooksPath", "/dev/null"), ("core.fsmonitor", "false"))
"""Config every git call of tiercode's own runs with, so that nothing in the repository runs:
no hooks (a directory that cannot hold any, rather than an empty temp dir that could be
filled) and no fsmonitor command. Passed through GIT_CONFIG_COUNT/KEY/VALUE, so it also
covers the processes GitPython starts for itself."""

RUN_TRAILER = "Tiercode-Run"
STEP_TRAILER = "Tiercode-Step"
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")
_TRAILER_LINE = re.compile(r"([A-Za-z0-9-]+):\s*(.*)")


def trailers(message: str) -> dict[str, str]:
    """The `Key: value` trailers in the last paragraph of a commit message."""
    last = message.strip().split("\n\n")[-1]
    found = {}
    for line in last.splitlines():
        if m := _TRAILER_LINE.fullmatch(line.strip()):
            found[m[1]] = m[2].strip()
    return found


class GitRepo:
    """A working repository on a branch, with at least one commit; see `open`."""

    def __init__(self, repo: git.Repo) -> None:
        repo.git.update_environment(**safe_config_env(os.environ))
        self.repo = repo
        self.root = Path(repo.working_tree_dir or ".")
        self.dirty_at_open: frozenset[str] = frozenset()
        """Paths modified, staged or untracked (not ignored) when `open` ran; `restore`
        never removes one of these that HEAD lacks, since it is the user's, not the agent's."""

    @classmethod
    def open(cls, path: str | Path) -> GitRepo:
        """Open the repository containing `path`.

        Raises RepoError, with one line saying what is wrong, for a missing path, a folder
        outside any git repo, a bare repo, or a repo without commits. A detached HEAD is
        fine (CI checks pull requests out that way): commits then go on HEAD itself.
        """
        if not Path(path).exists():
            raise RepoError(f"no such directory: {path}")
        try:
            repo = git.Repo(path, search_parent_directories=True)
        except git.InvalidGitRepositoryError:
            raise RepoError(f"{path} is not inside a git repository (run `git init`)") from None
        except git.NoSuchPathError:
            raise RepoError(f"no such directory: {path}") from None
        if repo.bare:
            raise RepoError(f"{path} is a bare repository; tiercode needs a working tree")
        if not repo.head.is_valid():
            raise RepoError(f"{path} has no commits yet; make a first commit before running")
        opened = cls(repo)
        opened.dirty_at_open = frozenset(opened.dirty_paths())
        return opened

    def current_branch(self) -> str:
        """The checked-out branch name; RepoError if HEAD has become detached."""
        if self.repo.head.is_detached:
            raise RepoError("HEAD is detached; check out a branch first")
        return self.repo.active_branch.name

    def branch(self, name: str) -> None:
        """Create branch `name` at HEAD and check it out, keeping uncommitted changes;
        RepoError if it exists or is not a valid branch name."""
        self._git("switch", "-c", name)

    def dirty_paths(self) -> set[str]:
        """Paths that are modified, staged, or untracked and not ignored (repo-relative)."""
        out = self._git("status", "--porcelain=v1", "-z", "--untracked-files=all")
        entries = out.split("\0")
        paths: set[str] = set()
        i = 0
        while i < len(entries):
            entry = entries[i]
            i += 1
            if len(entry) < 4:
                continue
            paths.add(entry[3:])
            if entry[0] in "RC":  # a rename or copy is followed by its source path
                paths.add(entries[i])
                i += 1
        return paths

    def diff(self, paths: list[str] | None = None, staged: bool = False) -> str:
        """The unified diff of the worktree (or of the index, when `staged`) against its base."""
        args = ["diff", "--no-color", "--no-ext-diff"]
        if staged:
            args.append("--cached")
        return self._git(*args, "--", *(paths or []))

    def restore(self, path: str) -> None:
        """Put `path` back as it is at HEAD, or remove it if the agent created it.

        A file at HEAD is checked out again (a directory or submodule at HEAD is left
        alone). A path HEAD lacks is removed only when it is the agent's: not git-ignored
        (an ignored `.env` may be the user's only copy) and not among `dirty_at_open`
        (untracked or staged by the user before the run). Callers still skip the user's
        dirty tracked paths; this method cannot tell those from the agent's own edits.
        """
        rel = self._relative(path)
        entry = self._git("ls-tree", "HEAD", "--", rel)  # "<mode> <type> <sha>\t<path>"
        if entry:
            if entry.split()[1] == "blob":
                self._git("checkout", "HEAD", "--", rel)
            return
        if rel in self.dirty_at_open or self.is_ignored(rel):
            return
        self._git("rm", "-q", "--cached", "--ignore-unmatch", "--", rel)
        target = self.root / rel
        if target.is_symlink() or target.is_file():
            target.unlink()

    def is_ignored(self, path: str) -> bool:
        """Whether git ignores `path` (repo-relative), by any .gitignore, exclude or config."""
        status, _out, err = self.repo.git.execute(
            ["git", "check-ignore", "-q", "--", path],  # takes paths, not pathspecs
            with_exceptions=False,
            with_extended_output=True,
        )
        if status not in (0, 1):
            raise RepoError(f"git check-ignore failed: {_first_line(str(err))}")
        return status == 0

    def commit(self, paths: list[str], message: str, run_id: str, step: int | None = None) -> str:
        """Commit the worktree state of exactly `paths` and return the new commit's sha.

        The commit is built in a temporary index, so whatever else the user has staged stays
        staged and out of the commit, and unstaged work stays untouched. Hooks do not run.
        The message gets `Tiercode-Run` (and `Tiercode-Step`) trailers for `commit_for`.
        Raises RepoError if nothing changed in `paths`, or if a path has staged changes that
        differ from its worktree (committing would silently drop them from the index).
        """
        if not _RUN_ID.fullmatch(run_id):
            raise RepoError(f"invalid run id {run_id!r}")
        if not paths:
            raise RepoError("no paths given to commit")
        rel = [self._relative(p) for p in paths]
        self._refuse_partial_staging(rel)
        head = self.repo.head.commit.hexsha
        full_message = message.rstrip() + f"\n\n{RUN_TRAILER}: {run_id}\n"
        if step is not None:
            full_message += f"{STEP_TRAILER}: {step}\n"
        with tempfile.TemporaryDirectory(prefix="tiercode-index-") as tmp:
            env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
            self._git("read-tree", head, env=env)
            self._git("add", "-A", "--", *rel, env=env)
            tree = self._git("write-tree", env=env)
        if tree == self.repo.head.commit.tree.hexsha:
            raise RepoError(f"nothing to commit: no changes in {', '.join(rel)}")
        sha = self._git("commit-tree", tree, "-p", head, "-m", full_message)
        self._git("update-ref", "-m", f"tiercode: commit ({run_id})", "HEAD", sha, head)
        # The real index still holds the old versions of these paths; point them at the commit.
        self._git("reset", "-q", sha, "--", *rel)
        return sha

    def commit_for(self, run_id: str, step: int) -> str | None:
        """The sha of this run's commit for `step` in HEAD's history, so a resume skips it."""
        for commit in self.repo.iter_commits(
            "HEAD", grep=f"{RUN_TRAILER}: {run_id}", fixed_strings=True
        ):
            found = trailers(str(commit.message))
            if found.get(RUN_TRAILER) == run_id and found.get(STEP_TRAILER) == str(step):
                return commit.hexsha
        return None

    def agent_commits(self, run_id: str | None = None) -> list[str]:
        """The unbroken run of `run_id`'s commits at the tip of HEAD, newest first.

        With no `run_id`, the run of the tip commit is used (the last run), if it is an agent's.
        """
        shas: list[str] = []
        for commit in self.repo.iter_commits("HEAD", first_parent=True):
            run = trailers(str(commit.message)).get(RUN_TRAILER)
            if run is None or (run_id is not None and run != run_id):
                break
            run_id = run
            shas.append(commit.hexsha)
        return shas

    def undo(self, run_id: str | None = None) -> list[str]:
        """Drop the last run's (or `run_id`'s) commits from the branch; return their shas.

        Refuses with RepoError unless the commits sit at the tip of the current branch, each
        is exactly the commit tiercode made (`_refuse_amended`), none can have been shared
        (`_refuse_shared`), and the worktree is clean, because otherwise undoing could
        rewrite shared history or lose the user's work.
        """
        branch = self.current_branch()
        shas = self.agent_commits(run_id)
        if not shas:
            if run_id is not None and self._git(
                "log", "-1", "--format=%H", "--fixed-strings", f"--grep={RUN_TRAILER}: {run_id}"
            ):
                raise RepoError(f"run {run_id}'s commits are not at the tip of {branch}")
            raise RepoError(f"no agent commits at the tip of {branch}; nothing to undo")
        self._refuse_amended(branch, shas)
        self._refuse_shared(branch, shas[-1])
        dirty = self.dirty_paths()
        if dirty:
            raise RepoError(
                f"the worktree has {len(dirty)} uncommitted path(s); commit or stash them first"
            )
        parents = self.repo.commit(shas[-1]).parents
        if not parents:
            raise RepoError("the agent's first commit is the root commit; cannot undo it")
        self._git("reset", "--keep", parents[0].hexsha)
        return shas

    def _refuse_amended(self, branch: str, shas: list[str]) -> None:
        """Refuse unless every commit is one `commit` made, as its reflog entry records.

        An amended or rewritten commit keeps the trailers but gets a new sha, which no
        `tiercode: commit` entry names; undoing it would throw the user's amendment away.
        A missing reflog (expired, or disabled) proves nothing, so it refuses too.
        """
        log = self._git("log", "-g", "--format=%H %gs", f"refs/heads/{branch}", "--")
        made = {
            sha
            for sha, _, subject in (line.partition(" ") for line in log.splitlines())
            if subject.startswith("tiercode: commit (")
        }
        for sha in shas:
            if sha not in made:
                raise RepoError(
                    f"commit {sha[:12]} is not the one tiercode made (amended, rewritten, or its "
                    "reflog is gone); not undoing it, so your changes to it are kept"
                )

    def _refuse_shared(self, branch: str, oldest: str) -> None:
        """Refuse when the commits may have been pushed or are kept by any other ref.

        A push by URL leaves no local trace, so a branch with an upstream counts as pushed
        (the price: on such a branch undo always refuses); so does any ref but the branch
        itself (remote-tracking refs, tags, other branches, a stash) that contains the
        oldest agent commit.
        """
        for key in ("remote", "pushRemote"):
            status, remote, _err = self.repo.git.execute(
                ["git", "config", "--get", f"branch.{branch}.{key}"],
                with_exceptions=False,
                with_extended_output=True,
            )
            if status == 0 and str(remote).strip():
                raise RepoError(
                    f"{branch} has the upstream remote {str(remote).strip()}, so its commits "
                    "may be pushed (a push by URL leaves no trace here); not undoing. If they "
                    f"were not pushed: git reset --keep {oldest[:12]}~1"
                )
        holders = [
            ref
            for ref in self._git(
                "for-each-ref", "--format=%(refname)", "--contains", oldest
            ).splitlines()
            if ref != f"refs/heads/{branch}"
        ]
        if holders:
            raise RepoError(
                f"the agent's commits are also on {holders[0]} (pushed or shared); not undoing"
            )

    def drop_run(self, run_id: str, start: str) -> list[str]:
        """Take a failed run's commits back off the branch, back to `start`; return them.

        Only when HEAD is `start` plus nothing but this run's commits, so nobody else's
        work is ever reset. `reset --keep` leaves the user's uncommitted changes (which the
        agent never touched) as they are, and refuses rather than overwrite one.
        """
        shas = self.agent_commits(run_id)
        parents = [p.hexsha for p in self.repo.commit(shas[-1]).parents] if shas else []
        if parents[:1] != [start]:
            return []
        self.dirty_paths()  # refreshes the index: files put back byte for byte read as clean
        self._git("reset", "-q", "--keep", start)
        return shas

    def _relative(self, path: str) -> str:
        """Repo-relative form of `path`; its last part is not followed, so symlinks commit."""
        root = self.root.resolve()
        lexical = Path(os.path.normpath(root / path))
        real = lexical.parent.resolve() / lexical.name
        if lexical == root or not real.is_relative_to(root):
            raise RepoError(f"{path} is outside the repository's working tree")
        rel = real.relative_to(root)
        if ".git" in rel.parts:
            raise RepoError(f"{path} is inside .git/")
        return rel.as_posix()

    def _refuse_partial_staging(self, rel: list[str]) -> None:
        staged = set(self._git("diff", "--cached", "--name-only", "-z", "--", *rel).split("\0"))
        unstaged = set(self._git("diff", "--name-only", "-z", "--", *rel).split("\0"))
        both = sorted((staged & unstaged) - {""})
        if both:
            raise RepoError(
                f"{both[0]} has staged changes that differ from the working tree; "
                "committing it would drop them"
            )

    def _git(self, *args: str, env: dict[str, str] | None = None) -> str:
        """Run git in the worktree with literal pathspecs; failures become one-line RepoErrors."""
        full_env = {"GIT_LITERAL_PATHSPECS": "1", **(env or {})}
        try:
            return str(self.repo.git.execute(["git", *args], env=full_env))
        except git.GitCommandError as exc:
            raise RepoError(f"git {args[0]} failed: {_first_line(str(exc.stderr or exc))}") from exc


def safe_config_env(environ: Mapping[str, str]) -> dict[str, str]:
    """GIT_CONFIG_* variables adding `SAFE_CONFIG` after any the user's environment has."""
    try:
        count = int(environ.get("GIT_CONFIG_COUNT", "0") or 0)
    except ValueError:
        count = 0
    env = {"GIT_CONFIG_COUNT": str(count + len(SAFE_CONFIG))}
    for i, (key, value) in enumerate(SAFE_CONFIG, start=count):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    return env


def _first_line(stderr: str) -> str:
    """Git's main complaint from its stderr, without hints, as one line."""
    text = stderr.strip().removeprefix("stderr:").strip().strip("'")
    lines = [s for line in text.splitlines() if (s := line.strip()) and not s.startswith("hint:")]
    if not lines:
        return "unknown error"
    if lines[0].endswith(":") and len(lines) > 1:
        return f"{lines[0]} {lines[1]}"
    return lines[0]
