"""Judge a model-written shell command line before it runs: allow, ask the user, or deny.

This is the first line of defence and a readable reason for the user; the sandbox
(`tiercode.tools.sandbox`) is the one that holds when a command slips past it.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import bashlex
import bashlex.ast

Action = Literal["allow", "ask", "deny"]

DENIED_PROGRAMS = frozenset(
    {
        *("curl", "wget", "nc", "ncat", "netcat", "socat", "telnet", "ftp"),
        *("ssh", "scp", "sftp", "rsync", "sudo", "su", "doas", "dd", "eval"),
        *("shutdown", "reboot", "halt", "poweroff"),
    }
)
"""Programs denied whatever the allow list says: network egress, privilege, raw disk, eval."""

DENIED_ENV = frozenset(
    {
        *("BASH_ENV", "ENV", "PATH", "IFS", "PS4", "SHELLOPTS", "BASHOPTS", "PROMPT_COMMAND"),
        *("GLOBIGNORE", "CDPATH", "HOME", "XDG_CONFIG_HOME", "PAGER", "EDITOR", "VISUAL"),
        *("PERL5OPT", "PERL5LIB", "PERLLIB", "RUBYOPT", "RUBYLIB", "NODE_OPTIONS"),
        *("PYTHONHOME", "PYTHONSTARTUP", "GCONV_PATH"),
    }
)
DENIED_ENV_PREFIXES = ("LD_", "DYLD_", "BASH_FUNC_", "GIT_")
"""Variables that make an allowed program run other code (a startup script, a preloaded
library, a repository binary found first on PATH, git config from a fake HOME): setting
one in a command line is denied, as a prefix (`X=1 cmd`), a statement, `env` or `export`."""

_ASSIGNERS = frozenset({"export", "declare", "typeset", "local", "readonly"})
_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\+?=")
_SHELLS = frozenset({"bash", "sh", "dash", "zsh", "ksh"})
_WRAPPER_OPTS_WITH_ARG = {
    "env": {"-u", "--unset", "-C", "--chdir"},
    "command": set(),
    "builtin": set(),
    "exec": {"-a"},
    "nohup": set(),
    "time": set(),
    "nice": {"-n", "--adjustment"},
    "stdbuf": {"-i", "-o", "-e"},
    "timeout": {"-s", "--signal", "-k", "--kill-after"},
    "xargs": {"-I", "-L", "-n", "-P", "-s", "-d", "-E", "-a", "--delimiter", "--arg-file"},
}
_WRITERS = frozenset({"tee", "cp", "mv", "ln", "touch", "mkdir", "install", "truncate"})
_SAFE_DEVICES = ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty")
_WRITE_REDIRECTS = frozenset({">", ">>", ">|", "&>", "&>>", "<>", ">&"})
_MAX_SHELL_DEPTH = 4


@dataclass(frozen=True)
class CommandVerdict:
    """Whether a command line may run, and a reason fit to show the user and the model."""

    action: Action
    reason: str


def check_command(cmd: str, allow: Iterable[str], root: Path | None = None) -> CommandVerdict:
    """Judge a shell command line before it runs.

    Every simple command in it (across lists, pipes, subshells, substitutions, and
    `bash -c` strings) must name a program in `allow`. Denied programs, destructive
    targets, writes into `.git` and setting a `DENIED_ENV` variable deny the whole line.
    Writes outside the repo ask: every redirect counts, on compound commands too, and
    with `root` given, relative paths are resolved against it through symlinks (without
    `root`, any absolute path counts as outside). Anything that cannot be parsed asks.
    """
    return _Checker(frozenset(allow), root.resolve() if root else None).check(cmd, depth=0)


class _Checker:
    def __init__(self, allow: frozenset[str], root: Path | None) -> None:
        self.allow = allow
        self.root = root

    def check(self, cmd: str, depth: int) -> CommandVerdict:
        if depth > _MAX_SHELL_DEPTH:
            return CommandVerdict("ask", "shell commands nested too deeply to check")
        if not cmd.strip():
            return CommandVerdict("ask", "empty command")
        try:
            trees = bashlex.parse(cmd)
        except Exception as exc:  # bashlex raises several types, incl. NotImplementedError
            return CommandVerdict("ask", f"could not parse the command ({exc})")
        verdicts: list[CommandVerdict] = []
        for node in (n for tree in trees for n in _nodes(tree)):
            if node.kind == "command":
                verdicts.extend(self._command(node, depth))
            elif node.kind == "redirect":  # on simple and compound commands alike
                verdicts.append(self._redirect(node))
            elif node.kind in ("parameter", "heredoc") and _hides_substitution(node.value):
                # bashlex does not parse inside ${...} or here-documents, so we cannot see it
                verdicts.append(CommandVerdict("ask", f"a substitution hides in {node.kind}"))
        return _worst(verdicts)

    def _command(self, node: Any, depth: int) -> list[CommandVerdict]:
        assigned = [p.word for p in node.parts if p.kind == "assignment"]
        words = [p for p in node.parts if p.kind == "word"]
        return [*map(_assignment, assigned), self._words(words, depth)]

    def _words(self, words: list[Any], depth: int) -> CommandVerdict:
        """Judge one simple command given as its words (env assignments already dropped)."""
        i = _program_index(words)
        if i is None:
            return CommandVerdict("allow", "no program to run")
        if _is_dynamic(words[i]):
            return CommandVerdict("ask", f"the program name {words[i].word!r} is computed")
        name, args = words[i].word, words[i + 1 :]
        base = name.rsplit("/", 1)[-1]
        if base in DENIED_PROGRAMS or base.startswith("mkfs"):
            return CommandVerdict("deny", f"{base} is never allowed")
        assigned = [w.word for w in words[:i] if not _is_dynamic(w)]
        if base in _ASSIGNERS:
            assigned += [a.word for a in args if not _is_dynamic(a)]
        denied = [v for v in map(_assignment, assigned) if v.action == "deny"]
        if denied:
            return denied[0]
        targets = [a for a in args if not a.word.startswith("-")]
        if base in {"rm", "chmod", "chown", "chgrp"}:
            if any(self._outside(a.word) for a in targets if not _is_dynamic(a)):
                return CommandVerdict("deny", f"{base} on a path outside the repository")
            if any(_is_dynamic(a) for a in targets):
                return CommandVerdict("ask", f"{base} on a computed path")
        if base in {"rm", "chmod", "chown", "chgrp", *_WRITERS}:
            verdict = _worst([self._target(a.word) for a in targets if not _is_dynamic(a)])
            if verdict.action != "allow":
                return CommandVerdict(verdict.action, f"{base}: {verdict.reason}")
        if base in {"source", "."} and any(_is_remote_source(a) for a in args):
            return CommandVerdict("deny", "sourcing a script from a stream or URL")
        verdicts: list[CommandVerdict] = []
        if base in _SHELLS and _has_c_flag(args):
            script = next((a for a in args if not a.word.startswith("-")), None)
            if script is None or _is_dynamic(script):
                return CommandVerdict("ask", f"{base} -c with a computed or missing script")
            return self.check(script.word, depth + 1)
        if base == "find":
            verdicts.extend(self._words(sub, depth) for sub in _find_exec_commands(args))
        if name in self.allow or ("/" not in name and base in self.allow):
            verdicts.append(CommandVerdict("allow", f"{name} is allowed"))
        else:
            verdicts.append(CommandVerdict("ask", f"{name} is not in the allow list"))
        return _worst(verdicts)

    def _redirect(self, node: Any) -> CommandVerdict:
        target = node.output
        if node.type not in _WRITE_REDIRECTS or not isinstance(target, bashlex.ast.node):
            return CommandVerdict("allow", "redirect within the command")
        if _is_dynamic(target):
            return CommandVerdict("ask", f"redirect to a computed path {target.word!r}")
        path = target.word
        if path in _SAFE_DEVICES or path.startswith("/dev/fd/"):
            return CommandVerdict("allow", "redirect to a standard device")
        return self._target(path)

    def _target(self, path: str) -> CommandVerdict:
        """Judge a path the command writes: never into .git, ask outside the repository."""
        if self._in_git(path):
            return CommandVerdict("deny", f"writes to {path}, inside .git")
        if self._outside(path):
            return CommandVerdict("ask", f"writes to {path}, outside the repository")
        return CommandVerdict("allow", "writes inside the repository")

    def _real(self, path: str) -> Path | None:
        """Where `path` really lands (symlinks followed, relative to the root), if known."""
        if self.root is None or path.startswith("~"):
            return None
        return Path(os.path.realpath(self.root / posixpath.normpath(path)))

    def _outside(self, path: str) -> bool:
        if path.startswith("~"):
            return True
        real = self._real(path)
        if real is not None and self.root is not None:
            return not real.is_relative_to(self.root)
        normal = posixpath.normpath(path)
        return posixpath.isabs(normal) or normal == ".." or normal.startswith("../")

    def _in_git(self, path: str) -> bool:
        if ".git" in Path(posixpath.normpath(path)).parts:
            return True
        real = self._real(path)
        return (
            real is not None
            and self.root is not None
            and (real.is_relative_to(self.root) and ".git" in real.relative_to(self.root).parts)
        )


def _assignment(word: str) -> CommandVerdict:
    """Deny setting a variable that makes an allowed program run other code."""
    match = _ASSIGNMENT.match(word)
    name = match[1] if match else ""
    if name in DENIED_ENV or name.startswith(DENIED_ENV_PREFIXES):
        return CommandVerdict("deny", f"setting {name} can make a command run other code")
    return CommandVerdict("allow", "a harmless variable")


def _nodes(node: Any) -> Iterable[Any]:
    """Every node in a bashlex tree, however deeply nested (substitutions included)."""
    yield node
    for value in vars(node).values():
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, bashlex.ast.node):
                yield from _nodes(child)


def _hides_substitution(text: str) -> bool:
    return any(mark in text for mark in ("$(", "`", "<(", ">("))


def _is_dynamic(word: Any) -> bool:
    """Whether the word's value is only known at run time ($VAR, $(...), `...`, <(...))."""
    return any(p.kind != "tilde" for p in getattr(word, "parts", []))


def _program_index(words: list[Any]) -> int | None:
    """Index of the program actually run, looking through env, timeout, xargs and the like."""
    i = 0
    while i < len(words):
        if _is_dynamic(words[i]):
            return i
        base = words[i].word.rsplit("/", 1)[-1]
        if base not in _WRAPPER_OPTS_WITH_ARG:
            return i
        opts_with_arg = _WRAPPER_OPTS_WITH_ARG[base]
        i += 1
        while i < len(words) and not _is_dynamic(words[i]):
            word = words[i].word
            if word == "--":
                i += 1
                break
            if word in opts_with_arg:
                i += 2
            elif word.startswith("-") or (base == "env" and "=" in word):
                i += 1
            else:
                break
        if base == "timeout" and i < len(words):
            i += 1  # the duration
    return None


def _has_c_flag(args: list[Any]) -> bool:
    for arg in args:
        word = arg.word
        if not word.startswith("-") or word == "--":
            return False
        if not word.startswith("--") and "c" in word[1:]:
            return True
    return False


def _is_remote_source(arg: Any) -> bool:
    word = arg.word
    return (
        any(p.kind == "processsubstitution" for p in getattr(arg, "parts", []))
        or word in ("/dev/stdin", "-")
        or word.startswith(("/dev/fd/", "/proc/self/fd/", "http://", "https://"))
    )


def _find_exec_commands(args: list[Any]) -> list[list[Any]]:
    """The commands `find` would run through -exec, -execdir, -ok and -okdir."""
    commands, i = [], 0
    while i < len(args):
        if args[i].word in ("-exec", "-execdir", "-ok", "-okdir"):
            j = i + 1
            while j < len(args) and args[j].word not in (";", "+"):
                j += 1
            commands.append(args[i + 1 : j])
            i = j
        i += 1
    return commands


def _worst(verdicts: list[CommandVerdict]) -> CommandVerdict:
    severity = {"allow": 0, "ask": 1, "deny": 2}
    if not verdicts:
        return CommandVerdict("allow", "nothing to run")
    return max(verdicts, key=lambda v: severity[v.action])
