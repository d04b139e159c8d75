"""Database files seen as files: which ones a store has, their -wal/-shm companions, raw
connections that change nothing, the schema the migrations produce, and row counts."""

from __future__ import annotations

import os
import re
import sqlite3
import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import quote

from gitext.layout import CORE_DATABASES
from gitext.project import Project
from gitext.store.migrate import migrations
from gitext.store.strays import wal_switch_journal

ARCHIVE_DB = "conversations_archive"
SIDE_SUFFIXES = ("-wal", "-shm")
SQLITE_MAGIC = b"SQLite format 3\x00"
_SQLITE_IOERR, _SQLITE_CANTOPEN = 10, 14


def companions(path: Path) -> list[Path]:
    return [path, *(path.with_name(path.name + s) for s in SIDE_SUFFIXES)]


def store_databases(project: Project, *, include_global: bool = False) -> dict[str, Path]:
    """The project's databases (the archive store when it exists, or is lost), and global.db
    if asked."""
    from gitext.lifecycle.loss import archive_lost

    dbs = {name: project.layout.db(name) for name in CORE_DATABASES}
    archive = project.layout.db(ARCHIVE_DB)
    if archive.exists() or archive_lost(project):
        dbs[ARCHIVE_DB] = archive
    if include_global:
        dbs["global"] = project.global_layout.db
    return dbs


def raw_connect(path: Path, *, readonly: bool = True, busy_ms: int = 5000) -> sqlite3.Connection:
    """A plain connection: no migrations, no pragmas changed.

    Read-only connections open with immutable=1 when a -shm has no -wal beside it: opening such
    a file normally would quietly discard the evidence that a WAL was lost. So they do beside
    the journal of a switch into WAL mode cut short, which a read-only connection cannot roll
    back ("attempt to write a readonly database"): it only holds the header, and the file alone
    reads as the database (`gitext.store.strays`).
    """
    if readonly:
        # A WAL database in a folder no one may write (a read-only store) cannot even be read
        # without its -shm, which SQLite would have to create: nothing can change it either.
        frozen = not os.access(path.parent, os.W_OK) and not Path(f"{path}-shm").exists()
        alone = frozen or lost_wal_evidence(path) or wal_switch_journal(path)
        flag = "immutable=1" if alone else "mode=ro"
        uri = f"file:{quote(str(path))}?{flag}"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        if flag == "mode=ro" and not _opens(conn) and not _wal_frames_on_disk(path):
            # SQLite could not make or size the -shm (a full disk, a file size limit): with no
            # WAL frames to miss, the file alone is the whole database, and immutable=1 reads
            # it without one. Before, doctor called intact databases on a full disk
            # unreadable and prescribed a salvage.
            conn.close()
            conn = sqlite3.connect(f"file:{quote(str(path))}?immutable=1", uri=True,
                                   isolation_level=None, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
    return conn


def _opens(conn: sqlite3.Connection) -> bool:
    """False when the first read fails on an I/O error or a file SQLite cannot open (the -shm);
    any other failure (damage) is left for the caller's own reads to meet, as before."""
    try:
        conn.execute("PRAGMA schema_version").fetchone()
    except sqlite3.OperationalError as exc:
        return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) not in (_SQLITE_IOERR,
                                                                    _SQLITE_CANTOPEN)
    except sqlite3.DatabaseError:
        pass
    return True


def _wal_frames_on_disk(path: Path) -> bool:
    try:
        return path.with_name(path.name + "-wal").stat().st_size > 0
    except OSError:
        return False


def has_magic(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def lost_wal_evidence(path: Path) -> bool:
    shm = path.with_name(path.name + "-shm")
    wal = path.with_name(path.name + "-wal")
    return shm.exists() and not wal.exists()


def lost_wal_frames(path: Path) -> int:
    """Committed WAL frames that are gone: the wal-index (-shm) says the WAL held frames not yet
    copied into the database, but the -wal file is missing or shorter than those frames.

    The wal-index header (native byte order) holds mxFrame at offset 16 and szPage at 14; the
    checkpoint info after the two header copies holds nBackfill at offset 96.
    """
    shm = path.with_name(path.name + "-shm")
    wal = path.with_name(path.name + "-wal")
    try:
        head = shm.read_bytes()[:100]
    except OSError:
        return 0
    if len(head) < 100:
        return 0
    page = int(struct.unpack_from("=H", head, 14)[0])
    page = 65536 if page == 1 else page
    mx_frame = int(struct.unpack_from("=I", head, 16)[0])
    backfilled = int(struct.unpack_from("=I", head, 96)[0])
    pending = mx_frame - backfilled
    if pending <= 0:
        return 0
    try:
        wal_size = wal.stat().st_size
    except FileNotFoundError:
        return pending
    needed = 32 + mx_frame * (page + 24)
    return pending if wal_size < needed else 0


# --- schema -----------------------------------------------------------------------------------

Schema = dict[tuple[str, str], tuple[str, ...]]


def read_schema(conn: sqlite3.Connection) -> Schema:
    """Tables (with their columns), indexes (with theirs), views and triggers, by type and name."""
    out: Schema = {}
    rows = conn.execute(
        "SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
    ).fetchall()
    for kind, name, table in rows:
        if kind == "table":
            cols = conn.execute(f'PRAGMA table_info("{name}")').fetchall()
            out[(kind, name)] = tuple(f"{c[1]} {str(c[2]).upper()}" for c in cols)
        elif kind == "index":
            cols = conn.execute(f'PRAGMA index_info("{name}")').fetchall()
            out[(kind, name)] = (table, *(str(c[2]) for c in cols))
        else:
            out[(kind, name)] = (table,)
    return out


@cache
def expected_schema(db: str) -> Schema:
    """What the migrations of `db` build, applied to a scratch in-memory database."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        for mig in migrations(db):
            for stmt in mig.statements():
                conn.execute(stmt)
        return read_schema(conn)
    finally:
        conn.close()


def schema_drift(actual: Schema, expected: Schema, *, allow_extra: bool = False) -> list[str]:
    """Human lines: objects missing, objects extra, columns that differ."""
    lines: list[str] = []
    for key in sorted(expected):
        if key not in actual:
            lines.append(f"missing {key[0]} {key[1]}")
        elif actual[key] != expected[key]:
            want, have = set(expected[key]), set(actual[key])
            if allow_extra and want <= have:
                continue
            diff = sorted(want - have)
            extra = sorted(have - want)
            detail = "; ".join(
                part for part in (
                    f"missing {', '.join(diff)}" if diff else "",
                    f"unexpected {', '.join(extra)}" if extra else "",
                ) if part
            ) or "different order"
            lines.append(f"{key[0]} {key[1]}: {detail}")
    if not allow_extra:
        lines.extend(f"unexpected {k[0]} {k[1]}" for k in sorted(actual) if k not in expected)
    return lines


# --- tables and rows --------------------------------------------------------------------------


@dataclass(frozen=True)
class TableInfo:
    name: str
    columns: tuple[str, ...]
    pk: tuple[str, ...]  # primary-key columns; () means the rowid is the key
    without_rowid: bool = False


def base_tables(conn: sqlite3.Connection) -> list[TableInfo]:
    """Ordinary tables: not sqlite_*, not virtual tables, not their shadow tables."""
    tables: list[TableInfo] = []
    for row in conn.execute("PRAGMA table_list").fetchall():
        schema, name, kind = row[0], row[1], row[2]
        if schema != "main" or kind != "table" or name.startswith("sqlite_"):
            continue
        tables.append(table_info(conn, name, without_rowid=bool(row[4])))
    return sorted(tables, key=lambda t: t.name)


def table_info(conn: sqlite3.Connection, name: str, *, without_rowid: bool = False) -> TableInfo:
    cols = conn.execute(f"PRAGMA table_info({quote_ident(name)})").fetchall()
    pk = tuple(c[1] for c in sorted((c for c in cols if c[5]), key=lambda c: c[5]))
    return TableInfo(name, tuple(c[1] for c in cols), pk, without_rowid)


_TRIGGER_INSERT = re.compile(
    r"\bINSERT(?:\s+OR\s+\w+)?\s+INTO\s+[\"`\[]?(\w+)", re.IGNORECASE
)


def trigger_targets(conn: sqlite3.Connection) -> set[str]:
    """Tables that triggers insert rows into: derived data (an FTS mapping, say) that the
    triggers rebuild when the base rows are inserted again. (A trigger that only updates a
    table, e.g. a parent's updated_at, does not make that table derived.)"""
    targets: set[str] = set()
    for (sql,) in conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger'"):
        body = str(sql or "")
        body = body[body.upper().find("BEGIN"):]
        targets.update(m.group(1) for m in _TRIGGER_INSERT.finditer(body))
    return targets


def row_counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {
        t.name: int(conn.execute(f'SELECT count(*) FROM "{t.name}"').fetchone()[0])
        for t in base_tables(conn)
    }


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
