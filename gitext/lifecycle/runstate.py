"""Small state files under `<store>/run/` and the locks that order lifecycle work.

- `lifecycle.json`: last-run times of scheduled work (a file, not a table: it must be readable
  when a database is damaged, and writing it never takes a database lock).
- `health.json`: the last health checks (size history for growth).
- `<file>.lock`: held for a read-change-write of one state file (`updating`).
- `lifecycle.lock`: one scheduler at a time (flock, non-blocking: a second one simply skips).
- `archive.lock`: one archiving run at a time, scheduled or by hand (`maintain`); a second one
  waits, then finds nothing left to archive (lifecycle/archive.py).
- `session-start.lock`: shared by `session start` across its two writes (its context, then
  its session), exclusive while doctor or repair looks for contexts a start cut short left
  without their session (lifecycle/sessionless.py).
- `store.lock`: shared by writers that opt in, exclusive while restore or repair swaps database
  files. Renaming a database file under an open connection can corrupt it (SQLite's own warning),
  so the swap waits for every holder of the shared lock to finish.

Each makes `run/` when it is missing, only while the store it is in is there, never that
store: a store that went away while a process ran (its link taken by a sweep, the repository
`rm -rf`'d) is not made again, empty, by a lock or a state file (`gitext.folders`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gitext.errors import AircherError
from gitext.folders import store_folder
from gitext.layout import ProjectLayout

# A swap's plan in `run/` while database files move (lifecycle/swap.py), and in the global
# folder, when global.db is among them, the path of that plan.
SWAP_PLAN = "swap.json"
SWAP_POINTER = "swap.pending"
# A restore's note from just before its swap until its last step (lifecycle/restore.py); a swap
# undone takes it away: that restore never happened.
RESTORE_NOTE = "restore-unfinished.json"


def _folder_of(path: Path) -> None:
    """The folder of a state file or lock: `run/` of the store it is in, or one made already
    (a backup's)."""
    store_folder(path.parent.parent, path.parent)


def state_path(layout: ProjectLayout, name: str) -> Path:
    return layout.run / name


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (FileNotFoundError, ValueError, OSError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomic: a reader sees the old file or the new one, never half of one."""
    _folder_of(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", "utf-8")
    os.replace(tmp, path)


@contextlib.contextmanager
def updating(path: Path, timeout: float = 5.0) -> Iterator[dict[str, Any]]:
    """A state file's content to change in place, written back when the block ends. Holders
    wait for each other: `maintain` recording its tiers while the scheduler recorded a job (or
    the worker asked for one) read the same old file, and the last writer dropped the other's
    change. A holder stuck past `timeout` is not waited for: a lost change costs a job run
    once more, a hang would cost a git hook its budget."""
    with _flock(path.with_name(path.name + ".lock"), fcntl.LOCK_EX, timeout):
        state = read_json(path)
        before = json.dumps(state, sort_keys=True)
        yield state
        if json.dumps(state, sort_keys=True) != before:
            write_json(path, state)


@contextlib.contextmanager
def try_lock(path: Path) -> Iterator[bool]:
    """An exclusive flock if free right now; yields False (and holds nothing) when it is not."""
    _folder_of(path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


@contextlib.contextmanager
def waiting_lock(path: Path, timeout: float, busy: str) -> Iterator[None]:
    """An exclusive flock, waited for up to `timeout` seconds; past it, an error saying `busy`
    (what the holder is doing)."""
    with _flock(path, fcntl.LOCK_EX, timeout) as got:
        if not got:
            raise AircherError(f"{busy} (another git-aircher process holds {path.name})",
                               hint="wait for it to finish, then try again")
        yield


@contextlib.contextmanager
def _flock(path: Path, mode: int, timeout: float) -> Iterator[bool]:
    _folder_of(path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.02)
        yield True
    finally:
        os.close(fd)


SESSION_START_LOCK = "session-start.lock"


@contextlib.contextmanager
def session_starting(layout: ProjectLayout, timeout: float = 30.0) -> Iterator[None]:
    """Held (shared) by a session start between its two writes. A lock that cannot be made (a
    store no one may write) is gone without: the start's own write then says what is wrong."""
    path = layout.run / SESSION_START_LOCK
    try:
        _folder_of(path)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    except OSError:
        yield
        return
    with _flock(path, fcntl.LOCK_SH, timeout) as got:
        if not got:
            raise AircherError(f"a repair is mending session contexts (it holds {path.name})",
                               hint="wait for it to finish, then try again")
        yield


@contextlib.contextmanager
def store_exclusive(layout: ProjectLayout, timeout: float = 30.0) -> Iterator[None]:
    """Held while database files are swapped; fails clearly when writers do not let go."""
    with run_exclusive(layout.run, timeout):
        yield


@contextlib.contextmanager
def run_exclusive(run: Path, timeout: float = 30.0) -> Iterator[None]:
    """`store_exclusive` of the store whose `run/` folder this is."""
    with _flock(run / "store.lock", fcntl.LOCK_EX, timeout) as got:
        if not got:
            raise AircherError(
                "the store is in use (another git-aircher process holds it)",
                hint="wait for running hooks or agents to finish, then try again",
            )
        yield


_shared: dict[Path, int] = {}  # store.lock files this process holds shared, and how often


def held_shared(layout: ProjectLayout) -> bool:
    return _shared.get(layout.run, 0) > 0


@contextlib.contextmanager
def store_shared(layout: ProjectLayout, timeout: float = 2.0) -> Iterator[bool]:
    """For writers (hooks, the worker): yields False when a restore or repair holds the store;
    the caller should then journal its work and leave rather than open a database. A swap a
    killed restore left half done is undone first (`swap.settle`)."""
    from gitext.lifecycle.swap import settle

    with contextlib.suppress(AircherError):  # a swap that runs on: the lock below says so
        settle(layout)
    with _flock(layout.run / "store.lock", fcntl.LOCK_SH, timeout) as got:
        if not got:
            yield False
            return
        _shared[layout.run] = _shared.get(layout.run, 0) + 1
        try:
            yield True
        finally:
            _shared[layout.run] -= 1
