"""The record of the databases a store has made, kept beside them.

SQLite makes a missing file on open, and our open migrates it: a database the store had and
lost (deleted, or cut to 0 bytes by a crash or a full disk) came back empty at the next
command; doctor then called the store healthy, repair restored nothing, and the scheduled
backup copied the empty file (QA round 24b: 01). This record is how an open tells such a
database from one that never was (a new store, a database a newer version adds): each folder
of databases (`.agents/db/core/`, the global folder) has `databases.made`, one file name a
line. Its name stays out of `<name>.db*`, so what takes a database with its -wal and -shm
leaves it. The policy built on it is `gitext.lifecycle.loss`.
"""

from __future__ import annotations

import os
from pathlib import Path

RECORD = "databases.made"


def absent(path: Path) -> bool:
    """Missing, or 0 bytes: what SQLite would take for a new database and our open would fill
    with an empty schema."""
    try:
        return path.stat().st_size == 0
    except FileNotFoundError:
        return True
    except OSError:
        return False  # there, though not ours to look at: the open says why


def recorded(folder: Path) -> set[str] | None:
    """The database files the store in `folder` has made; None when it keeps no record (a
    store made before there was one, or no store)."""
    try:
        text = (folder / RECORD).read_text("utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError:
        return None
    return {line.strip() for line in text.splitlines() if line.strip()}


def note(path: Path) -> None:
    """Record `path` (a database just opened, so there) as made. Appended with O_APPEND: two
    processes noting at once each keep their line. A store this user may not write keeps its
    record as it is: it is read, not needed, to answer."""
    names = recorded(path.parent)
    if names is not None and path.name in names:
        return
    try:
        fd = os.open(path.parent / RECORD, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, f"{path.name}\n".encode())
        finally:
            os.close(fd)
    except OSError:
        pass


def forget(path: Path) -> None:
    """Take `path` out of the record: the store no longer has it by choice (a restore of a
    backup made before it existed set it aside), so its absence is no loss. Rewritten under a
    temporary name, then renamed over the record."""
    names = recorded(path.parent)
    if names is None or path.name not in names:
        return
    record = path.parent / RECORD
    tmp = record.with_name(f".{RECORD}.{os.getpid()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.writelines(f"{n}\n" for n in sorted(names - {path.name}))
        os.replace(tmp, record)
    except OSError:
        tmp.unlink(missing_ok=True)
