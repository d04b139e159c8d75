"""Opening one database: pragmas from config, then migrations."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gitext.config import Config
from gitext.errors import AircherError
from gitext.store.access import denied, not_writable
from gitext.store.migrate import migrate
from gitext.store.space import no_room_error
from gitext.store.strays import DOCTOR_HINT, refuse_strays

if TYPE_CHECKING:
    from gitext.lifecycle.querylog import SlowQueryLog

_MAX_BUSY_MS = 2**31 - 1


@dataclass(frozen=True)
class Pragmas:
    journal_mode: str = "WAL"
    synchronous: str = "NORMAL"
    cache_size: int = -64000
    temp_store: str = "MEMORY"
    mmap_size: int = 268435456
    auto_vacuum: str = "INCREMENTAL"
    busy_timeout_ms: int = 5000

    @classmethod
    def from_config(cls, cfg: Config) -> Pragmas:
        return cls(
            journal_mode=cfg.text("storage.sqlite.journal_mode"),
            synchronous=cfg.text("storage.sqlite.synchronous"),
            cache_size=cfg.integer("storage.sqlite.cache_size"),
            temp_store=cfg.text("storage.sqlite.temp_store"),
            mmap_size=cfg.integer("storage.sqlite.mmap_size"),
            auto_vacuum=cfg.text("storage.sqlite.auto_vacuum"),
            # SQLite keeps the wait in a C int: a longer one ("999999d", for "wait as long as
            # it takes") would wrap round to no wait at all.
            busy_timeout_ms=int(min(cfg.seconds("storage.sqlite.busy_timeout") * 1000,
                                    _MAX_BUSY_MS)),
        )


def connect(path: Path, *, slow_log: SlowQueryLog | None = None) -> sqlite3.Connection:
    # isolation_level=None: we write BEGIN/COMMIT ourselves, so a batch is one transaction and
    # nothing commits behind our back.
    factory: type[sqlite3.Connection] = sqlite3.Connection
    if slow_log is not None:
        from gitext.lifecycle.querylog import TimedConnection

        factory = TimedConnection
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0,
                               factory=factory)
    except sqlite3.Error as exc:
        raise not_openable(path, exc) from exc
    if slow_log is not None:
        conn.slow_log = slow_log  # type: ignore[attr-defined]
    conn.row_factory = sqlite3.Row
    return conn


def not_openable(path: Path, exc: sqlite3.Error) -> AircherError:
    if path.is_dir():  # a folder in its place: doctor names it, repair sets it aside
        return AircherError(f"{path} is a folder, not a database file", hint=DOCTOR_HINT)
    return AircherError(f"cannot open {path}: {exc}")


def open_database(
    path: Path, db: str, pragmas: Pragmas, *, migrate_schema: bool = True,
    slow_log: SlowQueryLog | None = None, logs: Path | None = None,
) -> sqlite3.Connection:
    """A connection with our pragmas, its schema brought up to date. ``logs`` is the folder
    whose storage.log hears of a journal mode left for a later open (`_journal_mode`)."""
    refuse_strays(path)  # another database's -wal or journal would be taken in for good
    fresh = not path.exists() or path.stat().st_size == 0
    conn = connect(path, slow_log=slow_log)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(pragmas.busy_timeout_ms)}")
        if fresh:
            # auto_vacuum only takes effect before the first table is created.
            conn.execute(f"PRAGMA auto_vacuum = {pragmas.auto_vacuum}")
        _apply(conn, pragmas, path, logs)
        if migrate_schema:
            migrate(conn, db, str(path))
    except sqlite3.DatabaseError as exc:
        conn.close()
        if denied(exc, path):  # not damage: doctor would only find the same
            raise not_writable(exc, path) from exc
        full = no_room_error(exc, str(path), [path])
        if full is not None:  # no room for its -shm: not damage either
            raise full from exc
        raise AircherError(
            f"{path}: {exc}", hint="`git aircher doctor` checks the store and says what to do"
        ) from exc
    except BaseException:
        conn.close()
        raise
    return conn


def _apply(conn: sqlite3.Connection, p: Pragmas, path: Path, logs: Path | None) -> None:
    _journal_mode(conn, p.journal_mode, path, logs)
    conn.execute(f"PRAGMA synchronous = {p.synchronous}")
    conn.execute(f"PRAGMA cache_size = {int(p.cache_size)}")
    conn.execute(f"PRAGMA temp_store = {p.temp_store}")
    conn.execute(f"PRAGMA mmap_size = {int(p.mmap_size)}")
    conn.execute("PRAGMA foreign_keys = ON")


_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6
_told: set[tuple[Path | None, str]] = set()


def _journal_mode(conn: sqlite3.Connection, wanted: str, path: Path, logs: Path | None) -> None:
    """Set the journal mode, or go on in the current one when the change must wait.

    Leaving WAL needs the only connection to the file, and a store is seldom that free: the
    worker holds it for seconds after each commit, an agent's `Project` for as long as it
    likes. Refusing every command meanwhile ("database is locked", while doctor found nothing
    wrong) helped nobody; the change is made at an open that finds the store free, and
    storage.log says so once per process."""
    try:
        mode = conn.execute(f"PRAGMA journal_mode = {wanted}").fetchone()[0]
    except sqlite3.OperationalError as exc:
        if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) not in (_SQLITE_BUSY, _SQLITE_LOCKED):
            raise
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if (logs, wanted) not in _told and logs is not None:
            _told.add((logs, wanted))
            from gitext.sync.logbook import log

            log(logs, "storage", f"{path.name}: journal_mode stays {str(mode).upper()} for now,"
                f" another process has the database open; {wanted} is set at an open that"
                " finds it free")
        return
    if str(mode).upper() != wanted.upper():
        raise AircherError(f"could not set journal_mode={wanted} (got {mode})")
