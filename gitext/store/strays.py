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
WAL mode is not its own either: a WAL database writes none. Nothing is opened through either;
doctor names them and repair moves them aside. A -wal that reads fine is taken as the
database's: nothing cheaper than a full check could tell otherwise.

The one journal a WAL database has is that of its switch into WAL mode: page 1 as it was, the
header saying "rollback journal". A process killed after writing the new header but before
deleting that journal (`init` killed as it made a database) leaves it hot; it was refused as
another database's, and `init` itself failed until a repair (QA round 25b: 02). Such a journal
(page 1 alone, differing from the file's only where the switch writes) is the database's own,
and rolling it back is right either way: the next read-write open does (the database is back
in rollback mode, and our open switches it to WAL again); read-only opens read the file alone.
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


def _hot_journal(path: Path) -> bytes | None:
    """The rollback journal beside `path`, when it starts as a hot one does; None otherwise."""
    try:
        with journal_of(path).open("rb") as fh:
            if fh.read(len(_JOURNAL_MAGIC)) != _JOURNAL_MAGIC:
                return None
            return _JOURNAL_MAGIC + fh.read(_SWITCH_JOURNAL_MAX)
    except OSError:  # none (the usual case), or a folder
        return None


def stray_journal(path: Path) -> Path | None:
    """The hot rollback journal beside `path` when `path` is in WAL mode and the journal is
    not that of its own switch into WAL mode; None otherwise."""
    data = _hot_journal(path)
    if data is None or not _in_wal_mode(path) or _switch_journal(path, data):
        return None
    return journal_of(path)


def wal_switch_journal(path: Path) -> bool:
    """Whether the journal beside `path` is the one its switch into WAL mode left, killed
    before deleting it (see the module's docstring)."""
    data = _hot_journal(path)
    return data is not None and _in_wal_mode(path) and _switch_journal(path, data)


# Where page 1 of a database changes as it switches into WAL mode: the file format versions
# (18, 19: "rollback" to "WAL"), and as at any commit, the change counter (24-27), the counter
# the versions are valid for and the SQLite version that wrote them (92-99).
_SWITCH_WRITES = ((18, 20), (24, 28), (92, 100))
_SWITCH_JOURNAL_MAX = 65536 + 65536 + 8  # a header sector and one record, at most


def _switch_journal(path: Path, data: bytes) -> bool:
    if len(data) < 28 or has_wal_frames(path):
        return False
    records, sector, page_size = (int.from_bytes(data[i:i + 4], "big") for i in (8, 20, 24))
    if page_size < 512 or sector < 28 or len(data) < sector + 4 + page_size:
        return False
    if records == 0xFFFFFFFF:  # counted by the file's size (synchronous off)
        try:
            records = (journal_of(path).stat().st_size - sector) // (page_size + 8)
        except OSError:
            return False
    record = data[sector:sector + 4 + page_size]
    if records != 1 or int.from_bytes(record[:4], "big") != 1:
        return False
    try:
        with path.open("rb") as fh:
            current = fh.read(page_size)
    except OSError:
        return False
    before, same = record[4:], 0
    for start, end in _SWITCH_WRITES:
        if before[same:start] != current[same:start]:
            return False
        same = end
    return before[18:20] == b"\x01\x01" and before[same:] == current[same:]


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
