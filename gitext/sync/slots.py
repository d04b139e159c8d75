"""The worker's slots (lock files under `run/`) and the marker naming the worker at work.

"worker" is the journal's slot, "heavy" the follow-ups'; commands that apply the journal
themselves take the first, and wait for it as `journal_slot` says.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from gitext.errors import WorkerBusyError
from gitext.folders import store_folder
from gitext.project import Project


@contextlib.contextmanager
def worker_lock(project: Project, *, wait: bool, name: str = "worker",
                within: float = 0.0) -> Iterator[bool]:
    """One of the project's worker slots; with wait=False, False when someone else has it
    (after trying for `within` seconds).

    Two slots: "worker" applies the journal (fast, so a commit is visible within a second),
    "heavy" parses files and runs follow-ups (a first index of a large repository takes
    minutes, and must not hold back the next commit's record).
    """
    lock_path = project.layout.run / f"{name}.lock"
    store_folder(project.layout.root, lock_path.parent)  # never the store itself
    deadline = time.monotonic() + within
    with lock_path.open("a") as fh:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.05)
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# Seconds a command waits for the journal's slot (`sync`, `index`, a query's catch-up) before
# it gives up, unless storage.sync.catch_up_wait says otherwise: applying records takes a
# fraction of a second, so a holder past this is most likely stuck (stopped in a debugger, a
# frozen container, a hung file system call), and a query must not hang with it.
# docs/search.md: the query waits for the worker up to 10 s.
SLOT_WAIT = 10.0
# The most `sync` and `index` wait for a holder that keeps making progress.
SLOT_WAIT_MAX = 600.0


@contextlib.contextmanager
def journal_slot(project: Project, *, patient: bool = False) -> Iterator[None]:
    """The "worker" slot, for a command that applies the journal itself; WorkerBusyError,
    naming the worker, when someone else holds it past the wait. Waited for with no limit,
    a worker stopped in its slot made `search`, `sync` and `index` hang for good, without a
    word (QA round 22a: 02).

    `patient` (`sync`, `index`: commands whose whole job is the catch-up): the wait goes on
    while the holder makes progress (the worker `run/active` names uses CPU, or records leave
    the journal), up to SLOT_WAIT_MAX. Before, a worker applying a far checkout of a large
    repository for more than 10 s failed them. A query waits once and answers as it can."""
    wait = project.config.seconds("storage.sync.catch_up_wait")
    seen = _progress(project)
    waited = 0.0
    while True:
        with worker_lock(project, wait=False, within=wait) as mine:
            if mine:
                yield
                return
        waited += wait
        now = _progress(project)
        moved = now[0] > seen[0] or bool(seen[1] - now[1])
        if not (patient and moved and waited < SLOT_WAIT_MAX):
            raise _slot_taken(project, wait)
        seen = now


def _progress(project: Project) -> tuple[int, frozenset[str]]:
    """(CPU clock ticks the worker `run/active` names has used, its finished children's too,
    or -1; the journal's records): a stopped, frozen or hung holder moves neither."""
    run = project.layout.run
    ticks = -1
    if worker_alive(run):
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((run / "active").read_text().split("\n", 1)[0])
            ticks = sum(int(x) for x in _proc_stat(pid)[11:15])  # utime .. cstime
    try:
        names = frozenset(os.listdir(project.layout.journal))
    except OSError:
        names = frozenset()
    return ticks, names


def _slot_taken(project: Project, wait: float) -> WorkerBusyError:
    run = project.layout.run
    pid = None
    if worker_alive(run):
        with contextlib.suppress(OSError, ValueError):
            pid = int((run / "active").read_text().split("\n", 1)[0])
    held = f"for more than {wait:g} s; nothing was applied"
    if pid is None:  # a `sync` or `index` elsewhere holds it, and names itself nowhere
        return WorkerBusyError(
            f"another git-aircher process has held the store's journal {held}",
            hint="try again once the other `git aircher sync` or `index` is done")
    return WorkerBusyError(
        f"the background worker (pid {pid}) has held the store's journal {held}",
        hint=f"try again in a moment; if pid {pid} stays stuck (stopped, in a debugger, a"
        f" frozen container), end it (`kill -9 {pid}`): a record it was applying stays in"
        " the journal for the next")


def marker(pid: int | None = None) -> str:
    """The `run/active` text: pid on the first line (all that shims before this format read),
    the process's start time on the second. A killed worker's pid answers `kill -0` while it is
    a zombie (until its parent reaps it: never, under a container's bare init) and after the pid
    is reused; the shims compare the start time and state in /proc to tell it from a worker."""
    pid = os.getpid() if pid is None else pid
    try:
        since = _proc_stat(pid)[19].decode()
    except (OSError, IndexError):
        since = ""  # no /proc: `kill -0` alone
    return f"{pid}\n{since}\n"


def mark_started(run: Path, pid: int) -> None:
    """Name the worker just started as `pid` in `run/active`, unless a live one is named."""
    with contextlib.suppress(OSError):
        if not worker_alive(run):
            (run / "active").write_text(marker(pid))


def take_marker(run: Path) -> bool:
    """Write `run/active` for this worker, unless it names another worker still at work;
    whether it names this one now.

    The shim that starts a worker writes its marker at once (the worker could only once Python
    is up, and a burst of commits started one worker each meanwhile); a worker that met it,
    started by another shim or a command, wrote its own over it and deleted it when it gave
    way, so the next commits found none and started more (QA round 24d: 01). The worker it
    names looks at the journal once more after it clears it, so no record waits for nobody."""
    active = run / "active"
    mine = marker()
    if worker_alive(run):
        with contextlib.suppress(OSError, ValueError):
            text = active.read_text()
            if text == mine:
                return True  # as the shim wrote it: rewritten in place, ext4 writes it out at once
            if int(text.split("\n", 1)[0]) != os.getpid():
                return False
    active.write_text(mine)
    return True


def _proc_stat(pid: int) -> list[bytes]:
    """/proc/PID/stat's fields after the command name: the state first, the start time 20th."""
    with open(f"/proc/{pid}/stat", "rb") as fh:
        return fh.read().rsplit(b")", 1)[1].split()


def slot_held(run: Path, name: str) -> bool:
    """Whether someone holds worker slot `name` now (`git aircher index` in the foreground holds
    "heavy" without being the worker `run/active` names); only looks, never takes it."""
    try:
        fd = os.open(run / f"{name}.lock", os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # and with it the shared lock, if it was taken
    return False


def stopped_worker(run: Path) -> int | None:
    """The pid of the worker `run/active` names when it is stopped (SIGSTOP, a debugger, a
    suspended job): hooks leave their records to it, and nothing applies them until it runs
    again or a query or `sync` catches up. None otherwise, and where /proc cannot tell."""
    if not worker_alive(run):
        return None
    try:
        pid = int((run / "active").read_text().split("\n", 1)[0])
        return pid if _proc_stat(pid)[0] in (b"T", b"t") else None
    except (OSError, ValueError, IndexError):
        return None


def worker_alive(run: Path) -> bool:
    """Whether the worker `run/active` names is still at work: what the shims ask before they
    leave a record to it, in Python, for those that only look (doctor)."""
    try:
        pid_text, since = ((run / "active").read_text().split("\n") + [""])[:2]
        pid = int(pid_text)
    except (OSError, ValueError):
        return False
    try:
        fields = _proc_stat(pid)
        return fields[0] != b"Z" and (not since or fields[19].decode() == since)
    except (OSError, IndexError):
        if os.path.exists("/proc/self/stat"):
            return False  # /proc knows no such process
    try:  # no /proc: `kill -0` alone
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: alive
    return True


def slot_free(project: Project, name: str) -> bool:
    with worker_lock(project, wait=False, name=name) as got:
        return got
