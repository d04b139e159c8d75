"""A -wal or -journal beside a database that is not its own.

SQLite cannot tell. A -wal is checked against itself only (its frames' salts and checksums
against its own header: nothing in it names the database), so another database's -wal beside
ours (a file restored or copied by hand next to an old -wal, files of two databases mixed up)
is read as ours: pages of the other database in place of ours, "database disk image is
malformed". The first read-write connection then copies those frames into the file as it
closes, cut to the other database's size, and the intact file is gone (QA round 24b: 03: a
worker's open took a 188 KiB knowledge.db to 124 KiB). A hot rollback journal is played back
into the database by the first read-write open, whoever's it is.

So before a read-write open (`open_database`, a backup's copy) a -wal with frames is read
first through a read-only connection, which never writes the file; one that makes the database
unreadable while the file alone reads is not its own. A rollback journal beside a database in
WAL mode is not its own either: a WAL database writes none (the switch into WAL mode writes
one, but only for the header that says "WAL", which is right either way). Nothing is opened
through either; doctor names them and repair moves them aside. A -wal that reads fine is
taken as the database's: nothing cheaper than a full check could tell otherwise.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from gitext.errors import AircherError

DOCTOR_HINT = "`git aircher doctor` checks the store and says what to do"
_WAL_HEADER = 32  # bytes before the first frame
_JOURNAL_MAGIC = bytes.fromhex("d9d505f920a163d7")
_DAMAGE = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB


def wal_of(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def journal_of(path: Path) -> Path:
    return path.with_name(path.name + "-journal")


def _in_wal_mode(path: Path) -> bool:
    """The file's header says WAL (read and write versions 2)."""
    try:
        with path.open("rb") as fh:
            header = fh.read(20)
    except OSError:
        return False
    return len(header) == 20 and header[18] == 2 and header[19] == 2


def stray_journal(path: Path) -> Path | None:
    """The hot rollback journal beside `path` when `path` is in WAL mode; None otherwise."""
    journal = journal_of(path)
    try:
        with journal.open("rb") as fh:
            magic = fh.read(len(_JOURNAL_MAGIC))
    except OSError:  # none (the usual case), or a folder
        return None
    return journal if magic == _JOURNAL_MAGIC and _in_wal_mode(path) else None


def has_wal_frames(path: Path) -> bool:
    try:
        return wal_of(path).stat().st_size > _WAL_HEADER
    except OSError:
        return False


def connect_alone(path: Path) -> sqlite3.Connection:
    """A read-only connection to the file alone: immutable=1 reads neither -wal nor journal."""
    return sqlite3.connect(f"file:{quote(str(path))}?immutable=1", uri=True,
                           isolation_level=None, check_same_thread=False)


def _damage(uri: str) -> sqlite3.DatabaseError | None:
    """The error reading the schema through `uri` when it is damage (what SQLite says of a
    -wal of another database); None when it reads, or fails otherwise (a read-only store, a
    busy recovery: the normal open meets and reports those as before)."""
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=1)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return exc if getattr(exc, "sqlite_errorcode", 0) & 0xFF in _DAMAGE else None
    return None


def wal_damage(path: Path) -> sqlite3.DatabaseError | None:
    """What reading `path` through its -wal meets, when that is damage; None when it has no
    WAL frames or reads. Read-only: the file is never written."""
    if not has_wal_frames(path):
        return None
    return _damage(f"file:{quote(str(path))}?mode=ro")


def reads_alone(path: Path) -> bool:
    try:
        conn = connect_alone(path)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return False
    return True


def refuse_strays(path: Path) -> None:
    """Raise instead of letting a read-write open take in a -wal or journal of another
    database (see the module's docstring)."""
    try:
        if path.stat().st_size == 0:
            return  # no database yet: SQLite itself drops a -wal beside an empty file
    except OSError:
        return
    journal = stray_journal(path)
    if journal is not None:
        raise AircherError(
            f"{path}: the rollback journal beside it ({journal.name}) is not its own (the"
            " database is in WAL mode, which writes none); opening it would roll another"
            " database's pages into it, so it was not opened", hint=DOCTOR_HINT)
    damage = wal_damage(path)
    if damage is None:
        return
    if reads_alone(path):
        raise AircherError(
            f"{path}: its -wal is not its own: read through it the database is damaged"
            f" ({damage}), the file alone reads; opening it would copy that -wal into the"
            " file, so it was not opened", hint=DOCTOR_HINT)
    # Damaged either way: said as any damaged database is, without a read-write open that
    # would fold the -wal into what is left of the file.
    raise AircherError(f"{path}: {damage}", hint=DOCTOR_HINT)
