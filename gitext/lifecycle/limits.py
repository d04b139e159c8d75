"""Limits: `max_db_size` and a full disk.

`check_size` is cheap (a few stat calls): the background worker calls it after each pass's
writes. Past the limit it returns a warning, logs it once, and asks the scheduler for
maintenance. A full disk
surfaces as SQLite's "database or disk is full" (or ENOSPC from the OS); SQLite then rolls the
transaction back and the file stays intact, so all we add is a clear error.
"""

from __future__ import annotations

import contextlib
import errno
import sqlite3
from collections.abc import Iterator

from gitext.errors import AircherError
from gitext.layout import CORE_DATABASES
from gitext.project import Project
from gitext.status import file_size


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


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", None)
        return code == 13 or "database or disk is full" in str(exc)  # 13 = SQLITE_FULL
    return isinstance(exc, OSError) and exc.errno == errno.ENOSPC


def disk_full_error(exc: BaseException, where: str) -> AircherError | None:
    """The AircherError for a full disk, or None when `exc` is something else."""
    if not is_disk_full(exc):
        return None
    return AircherError(
        f"{where}: the disk is full; nothing was written (the store is intact)",
        hint="free some space (`git aircher maintain --all` removes what retention allows)",
    )


@contextlib.contextmanager
def guard_disk_full(where: str) -> Iterator[None]:
    """Turn a full disk inside the block into a clear AircherError."""
    try:
        yield
    except (sqlite3.OperationalError, OSError) as exc:
        err = disk_full_error(exc, where)
        if err is None:
            raise
        raise err from exc
