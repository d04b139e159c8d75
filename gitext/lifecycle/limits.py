"""Limits: `max_db_size` and a full disk.

`check_size` is cheap (a few stat calls): the background worker calls it after each pass's
writes. Past the limit it returns a warning, logs it once, and asks the scheduler for
maintenance. A full disk
surfaces as SQLite's "database or disk is full", ENOSPC from the OS, or (no room for a -shm, a
file size limit) a "disk I/O error" that `gitext.store.space` tells apart; SQLite then
rolls the transaction back and the file stays intact, so all we add is a clear error.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

from gitext.layout import CORE_DATABASES
from gitext.project import Project
from gitext.status import file_size
from gitext.store.space import NoRoomError, no_room_error, why_no_room


def over_limit(project: Project) -> dict[str, int]:
    """Databases (with their WAL) larger than storage.max_db_size: name -> bytes."""
    limit = project.config.size("storage.max_db_size")
    sizes = {name: file_size(project.layout.db(name)) for name in CORE_DATABASES}
    return {name: size for name, size in sizes.items() if size > limit}


def check_size(project: Project) -> str | None:
    """None when every database is within max_db_size; else a warning (maintenance requested)."""
    big = over_limit(project)
    if not big:
        return None
    limit = project.config.text("storage.max_db_size")
    names = ", ".join(f"{n} ({size / 1e6:.1f} MB)" for n, size in sorted(big.items()))
    message = f"past storage.max_db_size ({limit}): {names}"
    from gitext.lifecycle.schedule import load_state, request

    requested = load_state(project).get("requested")
    if not (isinstance(requested, list) and "weekly" in requested):
        with contextlib.suppress(OSError):
            from gitext.lifecycle.logs import get_logger

            get_logger(project.layout, "storage").warning("%s; maintenance requested", message)
        request(project, "daily", "weekly", "quarterly")
    return message


def is_disk_full(exc: BaseException, near: Iterable[Path] = ()) -> bool:
    """Whether `exc` is a write that found no room (`gitext.store.space`): a full disk, a
    file size limit or a quota; for SQLite's bare "disk I/O error", when the file system of
    `near` bears it out."""
    return why_no_room(exc, near) is not None


def disk_full_error(exc: BaseException, where: str, near: Iterable[Path] = ()
                    ) -> NoRoomError | None:
    """The AircherError for a full disk, or None when `exc` is something else."""
    return no_room_error(exc, where, near)


@contextlib.contextmanager
def guard_disk_full(where: str, near: Iterable[Path] = ()) -> Iterator[None]:
    """Turn a full disk inside the block into a clear AircherError."""
    try:
        yield
    except (sqlite3.OperationalError, OSError) as exc:
        err = disk_full_error(exc, where, near)
        if err is None:
            raise
        raise err from exc
