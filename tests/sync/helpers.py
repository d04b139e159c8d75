"""Waiting for the background worker, and reading the store, in sync tests."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from pathlib import Path

from gitext.git.repo import discover


def store(repo: Path) -> Path:
    return discover(repo).main_root / ".agents"


def start_time(pid: int) -> str:
    """The process's start time as `run/active` records it (field 22 of /proc/PID/stat)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]


def mark_active(repo: Path, pid: int, since: str | None = None) -> Path:
    """`run/active` naming `pid` (started at `since`, by default its real start time): hook
    shims leave their records to the worker it names and start none while it lives."""
    marker = store(repo) / "run" / "active"
    marker.write_text(f"{pid}\n{since if since is not None else start_time(pid)}\n")
    return marker


def wait_idle(repo: Path, timeout: float = 180.0) -> None:
    """Until the journal and the parsing queue are empty and neither worker slot is held (a
    deadline, not a timing test: the worker runs at nice 19, and under a second suite on this
    2-core machine a soak walk's worker was still busy at 60 s, session 23)."""
    agents = store(repo)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = [p for p in (agents / "journal").glob("*.ev") if p.is_file()]
        if (not pending and _lock_free(agents / "run" / "worker.lock")
                and _lock_free(agents / "run" / "heavy.lock") and not _queued(agents)
                and not _worker_running(agents)):
            return
        time.sleep(0.05)
    raise AssertionError(f"worker still busy after {timeout}s: {os.listdir(agents / 'journal')}")


def _worker_running(agents: Path) -> bool:
    """A worker between its two slots: it has applied the records (journal empty, its first
    slot free) and not yet taken the second for parsing and search. Its `run/active` marker
    names it from start to end; a marker left by a killed worker, or one a test wrote for a
    process of its own (`mark_active`), names no git-aircher process."""
    try:
        pid = int((agents / "run" / "active").read_text().split("\n", 1)[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, ValueError, IndexError):
        return False
    return state != "Z" and (b"gitext" in cmdline or b"git-aircher" in cmdline)


def _queued(agents: Path) -> bool:
    conn = sqlite3.connect(agents / "db" / "core" / "file_index.db")
    try:
        return conn.execute("SELECT 1 FROM analysis_pending LIMIT 1").fetchone() is not None
    finally:
        conn.close()


def _lock_free(path: Path) -> bool:
    if not path.exists():
        return True
    with path.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(fh, fcntl.LOCK_UN)
        return True


def query(repo: Path, db: str, sql: str, *args: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(store(repo) / "db" / "core" / f"{db}.db")
    try:
        return [tuple(r) for r in conn.execute(sql, args)]
    finally:
        conn.close()


def changes(repo: Path) -> list[tuple[object, ...]]:
    return query(
        repo, "file_index",
        "SELECT change_type, old_path, new_path, change_size, git_commit FROM file_changes"
        " ORDER BY changed_at, new_path",
    )


def failures(repo: Path) -> str:
    """Failure entries of the store's log (other parts log routine lines there too)."""
    log = store(repo) / "logs" / "storage.log"
    if not log.exists():
        return ""
    text = log.read_text()
    return text if ("Traceback" in text or " failed" in text) else ""


def chain(repo: Path, head: str, limit: int = 100) -> list[str]:
    """What relevance reads: the first-parent chain behind `head`, oldest first."""
    from gitext.relevance.history import first_parent_chain

    conn = sqlite3.connect(store(repo) / "db" / "core" / "file_index.db")
    try:
        return [r[0] for r in first_parent_chain(conn, head, limit)]
    finally:
        conn.close()


def store_files(folder: Path) -> dict[str, tuple[int, int]]:
    """Every entry under `folder` (folders too: a record written and taken away again leaves
    its folder's mtime changed), by modification time and size."""
    out = {}
    for p in [folder, *folder.rglob("*")]:
        try:
            st = p.lstat()
        except FileNotFoundError:
            continue  # gone between the listing and the look: the next look tells
        out[str(p.relative_to(folder))] = (st.st_mtime_ns, st.st_size)
    return out


def settled(folder: Path) -> None:
    """Until `folder` has not changed for a second, looked at every 0.2 s (a deadline, not a
    timing test): a worker closes its databases, removing their -wal and -shm files, a
    moment after its marker is gone, so a copy made at once can miss one."""
    seen, quiet = store_files(folder), 0
    for _ in range(150):
        time.sleep(0.2)
        now = store_files(folder)
        quiet = quiet + 1 if now == seen else 0
        if quiet >= 5:
            return
        seen = now
    raise AssertionError(f"{folder} kept changing")
