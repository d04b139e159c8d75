"""Out of room: a full disk, a file size limit (`ulimit -f`), a used-up quota.

SQLite calls a full disk SQLITE_FULL only when a write into a database or its WAL gets ENOSPC.
When it cannot make or grow a WAL database's -shm file (the first thing even a read needs),
and for EFBIG or EDQUOT, it says "disk I/O error" (SQLITE_IOERR_*), the words it has for a
failing disk too. Such an error is put down to room only when the file system bears it out:
less than `LOW_SPACE` free where the store is, or a store file within `LOW_SPACE` of the file
size limit. Any other I/O error is left as it is, unexplained: calling it a full disk would
hide real trouble.
"""

from __future__ import annotations

import errno
import os
import resource
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from gitext.errors import AircherError

LOW_SPACE = 1 << 20  # a -shm needs 32 KiB and a WAL frame a page: below 1 MiB, writes fail
_SQLITE_IOERR, _SQLITE_FULL, _SQLITE_CANTOPEN = 10, 13, 14
_SIDECARS = ("", "-wal", "-shm", "-journal")

FULL = "the disk is full"
LIMIT = "a file reached the file size limit"
HINT = "free some space (`git aircher maintain --all` removes what retention allows)"
LIMIT_HINT = ("raise the limit (`ulimit -f unlimited`), or make the store smaller"
              " (`git aircher maintain --all` removes what retention allows)")
# Maintenance itself out of room: its own name would send the user round in a circle, when
# what it may remove is gone already or it cannot even start (QA round 22a: 05).
MAINTAIN_HINT = ("free space elsewhere on that disk: maintenance removes only what retention"
                 " allows (`git aircher backup list` shows the backups the store keeps,"
                 " storage.backup.backup_retain_days how long)")
MAINTAIN_LIMIT_HINT = "raise the limit (`ulimit -f unlimited`), then run it again"


def _code(exc: sqlite3.Error) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def free_bytes(path: Path) -> int | None:
    """Bytes this user may still write on the file system holding `path` (or the nearest
    folder above it that exists); None when that cannot be told."""
    for place in (path, *path.parents):
        try:
            st = os.statvfs(place)
        except OSError:
            continue
        return st.f_bavail * st.f_frsize
    return None


def short_of_room(places: Iterable[Path]) -> bool:
    """Whether the file system of any of ``places`` has less than `LOW_SPACE` free."""
    return any((free := free_bytes(p)) is not None and free < LOW_SPACE for p in places)


def size_limit() -> int | None:
    """The file size limit of this process (`ulimit -f`) in bytes, None when there is none."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    return None if soft == resource.RLIM_INFINITY else soft


def _sizes(near: Iterable[Path]) -> Iterable[int]:
    """Sizes of the files named (with their -wal, -shm, -journal) or held by the folders
    named."""
    for place in near:
        if place.is_dir():
            candidates = [p for p in place.iterdir() if p.is_file()]
        else:
            candidates = [place.with_name(place.name + s) for s in _SIDECARS]
        for path in candidates:
            try:
                yield path.stat().st_size
            except OSError:
                continue


def why_no_room(exc: BaseException, near: Iterable[Path] = ()) -> str | None:
    """What ran out when `exc` is a write that found no room, else None. `near`: the
    databases (or folders) the failed operation worked on, looked at for an I/O error."""
    if isinstance(exc, OSError):
        return {errno.ENOSPC: FULL, errno.EDQUOT: "the disk quota is used up",
                errno.EFBIG: _limit_words(size_limit())}.get(exc.errno or 0)
    if not isinstance(exc, sqlite3.OperationalError):
        return None
    if _code(exc) == _SQLITE_FULL or "database or disk is full" in str(exc):
        return FULL
    if _code(exc) not in (_SQLITE_IOERR, _SQLITE_CANTOPEN) and "disk I/O error" not in str(exc):
        return None
    places = [Path(p) for p in near]
    if short_of_room(places):
        return FULL
    limit = size_limit()
    if limit is not None and (limit < LOW_SPACE
                              or any(size + LOW_SPACE >= limit for size in _sizes(places))):
        return _limit_words(limit)
    return None


def _limit_words(limit: int | None) -> str:
    return LIMIT + (f" (`ulimit -f`: {limit // 1024} KiB)" if limit is not None else "")


class NoRoomError(AircherError):
    """A write that found no room: a full disk, a used-up quota, a file size limit."""

    def __init__(self, message: str, *, limit: bool) -> None:
        super().__init__(message, hint=LIMIT_HINT if limit else HINT)
        self.limit = limit


def no_room_error(exc: BaseException, where: str, near: Iterable[Path] = ()
                  ) -> NoRoomError | None:
    """The one-line error for a write that found no room, or None when `exc` is something else.
    SQLite rolls the transaction back, so the store stays as it was."""
    if isinstance(exc, NoRoomError):
        return exc  # said already, where it happened
    why = why_no_room(exc, near)
    if why is None:
        return None
    return NoRoomError(f"{where}: {why}; nothing was written (the store is intact)",
                       limit=why.startswith(LIMIT))


def for_maintenance(err: NoRoomError) -> AircherError:
    """``err`` as `git aircher maintain` says it: with a hint that leads somewhere other than
    maintenance."""
    return AircherError(err.message, hint=MAINTAIN_LIMIT_HINT if err.limit else MAINTAIN_HINT)
