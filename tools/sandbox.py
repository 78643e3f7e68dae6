"""Confine one command with Landlock, and end its whole process tree when it ends.

`wrap(argv, policy)` returns the argv that runs `argv` through this file as a small
wrapper process. The wrapper makes itself a child subreaper, forks, confines the child
(`confine`) and execs the command there; when the command exits it kills every
descendant left, including those that escaped with `setsid`, and exits with the
command's status. If tiercode itself is killed (SIGKILL, or SIGTERM, which ends Python
with no `finally`), it cannot end the tree; the wrapper learns of it (`PR_SET_PDEATHSIG`)
and ends the tree itself, so a test stuck in a loop does not run on for ever. A re-exec
wrapper, not `preexec_fn`: code between fork and exec in a threaded parent (tiercode runs
reader and UI threads) may deadlock on a lock some other thread held, and the subreaper
must be a process of its own, not tiercode.

What a confined command gets:

- writes only beneath `Policy.writable` (the repository and a private temp dir) and to a
  few devices (`DEVICES`); for a directory holding `.git` every top-level entry but `.git`
  is granted and the directory itself is not, so `.git` cannot be reached (Landlock grants
  are allow-only and inherited downwards) and, the price of that, top-level entries cannot
  be created, removed or renamed (a root `__pycache__` or `.pytest_cache` is skipped);
  symlinks and hard-linked files among those entries are not granted either;
- reads and executes everywhere (secrets on disk stay readable: only writes are confined);
- no TCP connect or bind unless `Policy.network` (needs ABI >= 4: on older kernels TCP
  stays open; UDP, and so DNS, is never restricted by Landlock);
- no connecting to abstract unix sockets or signalling processes outside the sandbox
  (ABI >= 6);
- `PR_SET_NO_NEW_PRIVS`, no core dumps, RLIMIT_NPROC (which the kernel never enforces
  for root), and, for root, a capability bounding set without module loading, mounts, raw
  I/O, reboot or network admin.

Only the standard library is imported: the wrapper runs as `python -I -S <this file>`.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field

# Syscall numbers are the same on every architecture (they postdate the unified table).
_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2

_FS_WRITE_FILE = 1 << 1
_FS_REMOVE_DIR, _FS_REMOVE_FILE = 1 << 4, 1 << 5
_FS_MAKE = sum(1 << bit for bit in range(6, 13))  # char, dir, reg, sock, fifo, block, sym
_FS_REFER, _FS_TRUNCATE = 1 << 13, 1 << 14
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1

_PR_SET_NO_NEW_PRIVS, _PR_SET_CHILD_SUBREAPER, _PR_CAPBSET_DROP = 38, 36, 24
_PR_SET_PDEATHSIG = 1
_ORPHANED = signal.SIGUSR1
"""What the wrapper is sent when the process that started it dies."""
_KEPT_CAPS = frozenset({0, 1, 2, 3})  # chown, dac_override, dac_read_search, fowner
"""Root keeps file-ownership overrides (a repo owned by another user stays writable)."""

DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/tty", "/dev/random", "/dev/urandom")
"""Devices a command may open for writing; everything else under /dev stays read-only."""

EXTRA_PROCESSES = 256
"""RLIMIT_NPROC is the user's current process count plus this (root is exempt by the kernel)."""

ENV_ALLOW = frozenset(
    {
        *("PATH", "LANG", "LANGUAGE", "TERM", "TZ", "USER", "LOGNAME", "SHELL"),
        *("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONPATH", "PYTHONIOENCODING", "PYTHONUTF8"),
        *("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES"),
    }
)
"""The only variables a command inherits (plus any `LC_*`); HOME and TMPDIR are replaced by
the private temp dir. Everything else, secrets included whatever their name, is dropped."""

WRAPPER_FAILED = 125
"""Exit status when the wrapper could not confine the command (it never ran)."""


class SandboxError(OSError):
    """Landlock is missing or refused a rule; the command must not run unconfined."""


@dataclass(frozen=True)
class Policy:
    """What one command may do: write beneath `writable`, and use TCP only with `network`."""

    writable: tuple[str, ...]
    network: bool = False
    extra_processes: int = EXTRA_PROCESSES
    devices: tuple[str, ...] = field(default=DEVICES)


_libc = ctypes.CDLL(None, use_errno=True)
_abi: int | None = None


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def available() -> int:
    """The kernel's Landlock ABI version, or 0 when Landlock is missing or disabled."""
    global _abi
    if _abi is None:
        if not sys.platform.startswith("linux"):
            _abi = 0
        else:
            version = _libc.syscall(
                _SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1)
            )
            _abi = max(int(version), 0)
    return _abi


def allowed_env(environ: Mapping[str, str], home: str, tmpdir: str) -> dict[str, str]:
    """The command's environment: `ENV_ALLOW` and `LC_*` from `environ`, a private HOME and
    TMPDIR (the real user base kept for `pip --user` packages), and no relative PATH
    entries (they would run programs from the repository)."""
    env = {k: v for k, v in environ.items() if k in ENV_ALLOW or k.startswith("LC_")}
    if "HOME" in environ:  # packages installed with `pip --user` stay importable
        user_base = os.path.join(environ["HOME"], ".local")
        env["PYTHONUSERBASE"] = environ.get("PYTHONUSERBASE", user_base)
    path = env.get("PATH", os.defpath)
    env["PATH"] = os.pathsep.join(p for p in path.split(os.pathsep) if os.path.isabs(p))
    env.update(HOME=home, TMPDIR=tmpdir, TMP=tmpdir, TEMP=tmpdir, GIT_TERMINAL_PROMPT="0")
    return env


def wrap(argv: Sequence[str], policy: Policy | None) -> list[str]:
    """The argv that runs `argv` confined by `policy` (unconfined for None) and ends its
    whole process tree with it."""
    args = [sys.executable, "-I", "-S", os.path.abspath(__file__), "--parent", str(os.getpid())]
    if policy is None:
        return [*args, "--no-confine", "--", *argv]
    for path in policy.writable:
        args += ["--write", path]
    for device in policy.devices:
        args += ["--device", device]
    if policy.network:
        args.append("--network")
    args += ["--extra-processes", str(policy.extra_processes), "--", *argv]
    return args


def confine(policy: Policy) -> None:
    """Confine the calling process (and what it will exec) for good; SandboxError if it
    cannot be done completely."""
    abi = available()
    if abi < 1:
        raise SandboxError("Landlock is not available on this kernel")
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _limit_processes(policy.extra_processes)
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    if os.geteuid() == 0:
        _drop_capabilities()
    ruleset = _create_ruleset(abi, network=policy.network)
    try:
        dir_rights, file_rights = _fs_rights(abi), _file_rights(abi)
        for root in policy.writable:
            _grant_tree(ruleset, root, dir_rights, file_rights)
        for device in policy.devices:
            if os.path.exists(device):
                _add_path_rule(ruleset, device, file_rights)
        if _libc.syscall(_SYS_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)) != 0:
            raise _errno_error("landlock_restrict_self")
    finally:
        os.close(ruleset)


def _fs_rights(abi: int) -> int:
    rights = _FS_WRITE_FILE | _FS_REMOVE_DIR | _FS_REMOVE_FILE | _FS_MAKE
    if abi >= 2:
        rights |= _FS_REFER
    if abi >= 3:
        rights |= _FS_TRUNCATE
    return rights


def _file_rights(abi: int) -> int:
    return _FS_WRITE_FILE | (_FS_TRUNCATE if abi >= 3 else 0)


def _create_ruleset(abi: int, network: bool) -> int:
    attr = _RulesetAttr(handled_access_fs=_fs_rights(abi))
    size = 8
    if abi >= 4:
        size = 16
        if not network:
            attr.handled_access_net = _NET_BIND_TCP | _NET_CONNECT_TCP
    if abi >= 6:
        size = 24
        attr.scoped = _SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL
    fd = _libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)
    if fd < 0:
        raise _errno_error("landlock_create_ruleset")
    return int(fd)


def _grant_tree(ruleset: int, root: str, dir_rights: int, file_rights: int) -> None:
    """Grant writes beneath `root`; when it holds `.git`, grant its other entries instead."""
    if not os.path.exists(os.path.join(root, ".git")):
        _add_path_rule(ruleset, root, dir_rights)
        return
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.name == ".git" or entry.is_symlink():
                continue  # a symlinked entry would grant wherever it points
            if entry.is_dir(follow_symlinks=False):
                _add_path_rule(ruleset, entry.path, dir_rights)
            elif entry.is_file(follow_symlinks=False) and entry.stat().st_nlink == 1:
                _add_path_rule(ruleset, entry.path, file_rights)


def _add_path_rule(ruleset: int, path: str, rights: int) -> None:
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC | os.O_NOFOLLOW)
    try:
        rule = _PathBeneath(allowed_access=rights, parent_fd=fd)
        if _libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0):
            raise _errno_error(f"landlock_add_rule {path}")
    finally:
        os.close(fd)


def _limit_processes(extra: int) -> None:
    uid = os.getuid()
    count = sum(1 for pid in _pids() if _owner(pid) == uid)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
    limit = count + extra if hard == resource.RLIM_INFINITY else min(count + extra, hard)
    resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))


def _drop_capabilities() -> None:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            last = int(f.read())
    except OSError:
        last = 40
    for cap in sorted(set(range(last + 1)) - _KEPT_CAPS, key=lambda c: c == 8):
        _prctl(_PR_CAPBSET_DROP, cap)  # CAP_SETPCAP (8) last: dropping needs it


def _prctl(option: int, arg: int) -> None:
    zero = ctypes.c_ulong(0)  # prctl is variadic: a bare int 0 may leave the upper half unset
    if _libc.prctl(option, ctypes.c_ulong(arg), zero, zero, zero) != 0:
        raise _errno_error(f"prctl({option})")


def _errno_error(what: str) -> SandboxError:
    err = ctypes.get_errno()
    return SandboxError(err, f"{what}: {os.strerror(err)}")


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _owner(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def descendants(root_pid: int) -> list[int]:
    """Live (non-zombie) descendants of `root_pid`, read from /proc."""
    children: dict[int, list[int]] = {}
    for pid in _pids():
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(pid)
    found, todo = [], list(children.get(root_pid, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _kill_descendants() -> None:
    """SIGKILL every descendant until none is left, reaping the ones reparented to us."""
    for _ in range(200):
        pids = descendants(os.getpid())
        if not pids:
            break
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _reap(block=False)
        time.sleep(0.01)
    _reap(block=True)


def _reap(block: bool) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _orphaned(_signum: int, _frame: object) -> None:
    """tiercode died without ending the tree (it was killed): end it here, and go."""
    _kill_descendants()
    os._exit(1)


def _forward(signum: int, _frame: object) -> None:
    """Pass a termination request on to every descendant, `setsid` ones included."""
    for pid in descendants(os.getpid()):
        with suppress(ProcessLookupError):
            os.kill(pid, signum)


def _parse(argv: list[str]) -> tuple[Policy | None, list[str]]:
    split = argv.index("--")
    opts, command = argv[:split], argv[split + 1 :]
    if opts == ["--no-confine"]:
        return None, command
    writable, devices, network, extra = [], [], False, EXTRA_PROCESSES
    i = 0
    while i < len(opts):
        if opts[i] == "--network":
            network = True
            i += 1
            continue
        value = opts[i + 1]
        if opts[i] == "--write":
            writable.append(value)
        elif opts[i] == "--device":
            devices.append(value)
        elif opts[i] == "--extra-processes":
            extra = int(value)
        else:
            raise SystemExit(f"sandbox: unknown option {opts[i]}")
        i += 2
    return Policy(tuple(writable), network, extra, tuple(devices)), command


def _exec_confined(policy: Policy | None, command: list[str]) -> None:
    """In the forked child: confine, then become the command (never returns)."""
    try:
        if policy is not None:
            confine(policy)
    except OSError as exc:
        os.write(2, f"sandbox: cannot confine the command: {exc}\n".encode())
        os._exit(WRAPPER_FAILED)
    try:
        os.execvp(command[0], command)
    except FileNotFoundError:
        os.write(2, f"sandbox: {command[0]}: command not found\n".encode())
        os._exit(127)
    except OSError as exc:
        os.write(2, f"sandbox: cannot run {command[0]}: {exc}\n".encode())
        os._exit(126)


def main(argv: list[str]) -> int:
    """The wrapper: subreaper, fork, confine and exec; then end the tree; then exit alike."""
    if argv[:1] == ["--parent"]:
        signal.signal(_ORPHANED, _orphaned)
        _prctl(_PR_SET_PDEATHSIG, _ORPHANED)
        if os.getppid() != int(argv[1]):
            _orphaned(_ORPHANED, None)  # it died before the line above took effect
        argv = argv[2:]
    policy, command = _parse(argv)
    if not command:
        raise SystemExit("sandbox: no command given after --")
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _forward)
    child = os.fork()
    if child == 0:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        _exec_confined(policy, command)
    while True:
        pid, status = os.wait()  # also reaps orphans reparented to us
        if pid == child:
            break
    _kill_descendants()
    if os.WIFSIGNALED(status):
        died_of = os.WTERMSIG(status)
        signal.signal(died_of, signal.SIG_DFL)
        os.kill(os.getpid(), died_of)  # die the same way, so the caller sees -signum
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
