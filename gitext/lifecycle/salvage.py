"""Salvage of a damaged database: every row the file still yields, merged with the newest backup
whose copy verifies, written into a fresh database with the current schema and swapped in
atomically.

Rows are read table by table in rowid order; where a read fails, the rowid range is split in
halves until each readable part is read and each unreadable rowid is isolated. Merging is a
union by primary key (the rowid for tables without one): the damaged file's row wins where it
was readable (it is newer than any backup); backup rows fill what it lost. A row deleted after
the backup comes back; a row added after the backup and unreadable now is lost, and counted:
tables here only ever get rowids in ascending order, so the unreadable rowids the backup does
not hold are the lost rows. Where the damaged file does not say how far a table went (no
readable table, or its max(rowid) unreadable), rows added after the backup cannot be counted:
the report says so instead of a count it does not have; so it does for every table of a file
whose committed WAL frames were lost with its -wal. The damaged files are kept in
content/backups/damaged-<time>/.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gitext.lifecycle.backup import BackupInfo, list_backups
from gitext.lifecycle.dbfiles import (
    ARCHIVE_DB,
    TableInfo,
    base_tables,
    has_magic,
    lost_wal_evidence,
    lost_wal_frames,
    quote_ident,
    store_databases,
    table_info,
    trigger_targets,
)
from gitext.lifecycle.derived import derived_tables
from gitext.lifecycle.restore import check_copy, copy_problems
from gitext.lifecycle.swap import aside_dir, swap_in
from gitext.project import Project
from gitext.store.connection import open_database

_CHUNK = 1000
_MAX_PROBES = 200_000  # a table whose root is gone is not worth a million failing queries

Rows = list[tuple[Any, ...]]


@dataclass
class TableSalvage:
    table: str
    from_damaged: int = 0
    from_backup: int = 0
    dropped: int = 0  # rows a constraint refused (a duplicate unique key, a garbled value)
    unreadable_ranges: list[tuple[int, int]] = field(default_factory=list)
    lost: int = 0
    # Rows past what the file still shows (after the backup's last) may be lost too: the file
    # cannot say how many. `lost` then counts only those it can.
    uncounted: bool = False
    partial: bool = False  # a WITHOUT ROWID table that stopped reading part way


@dataclass
class SalvageReport:
    database: str
    backup_id: str | None
    damaged_kept: str
    tables: list[TableSalvage]
    backup_created_at: str | None = None

    @property
    def recovered(self) -> int:
        return sum(t.from_damaged for t in self.tables)

    @property
    def from_backup(self) -> int:
        return sum(t.from_backup for t in self.tables)

    @property
    def lost(self) -> int:
        return sum(t.lost for t in self.tables)

    @property
    def uncounted(self) -> list[str]:
        """Tables that may have lost rows nobody can count."""
        return [t.table for t in self.tables if t.uncounted]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "recovered": self.recovered, "from_backup": self.from_backup,
                "lost": self.lost, "uncounted": self.uncounted}


class _Reader:
    """Rows of one table of a possibly damaged database, skipping what raises."""

    def __init__(
        self, conn: sqlite3.Connection, table: str, cols: list[str], *, rowid: bool = True
    ) -> None:
        self.conn = conn
        self.table = quote_ident(table)
        names = ", ".join(quote_ident(c) for c in cols)
        # Rows always start with the rowid (NULL for WITHOUT ROWID tables, keyed by their pk).
        self.select = f"SELECT {'rowid' if rowid else 'NULL'}, {names} FROM {self.table}"
        self.bad: list[tuple[int, int]] = []
        self.max_rowid = 0  # the highest rowid read, or reported by max(rowid)
        self.probes = 0

    def _query(self, where: str, params: tuple[int, ...]) -> Rows:
        self.probes += 1
        return [tuple(r) for r in self.conn.execute(f"{self.select} WHERE {where}", params)]

    def scan_plain(self, deliver: Callable[[Rows], None]) -> bool:
        """A WITHOUT ROWID table: one pass, keeping what comes before an error; False then."""
        try:
            cur = self.conn.execute(self.select)
            while rows := [tuple(r) for r in cur.fetchmany(_CHUNK)]:
                deliver(rows)
        except sqlite3.DatabaseError:
            return False
        return True

    def scan(self, upper_hint: int, fallback: int, deliver: Callable[[Rows], None]) -> None:
        """Deliver every readable row. Rowids are probed up to max(rowid) when that can be read,
        else up to `fallback`; never below `upper_hint` (the backup's highest rowid)."""
        last = 0
        while True:
            try:
                rows = self._query("rowid > ? ORDER BY rowid LIMIT ?", (last, _CHUNK))
            except sqlite3.DatabaseError:
                hi = max(self._upper(upper_hint, fallback), last + 1)
                self._split(last + 1, hi, deliver)
                last = hi
                try:  # anything readable past the bound?
                    if not self._query("rowid > ? LIMIT 1", (last,)):
                        return
                except sqlite3.DatabaseError:
                    return
                continue
            if not rows:
                return
            last = int(rows[-1][0])
            self.max_rowid = max(self.max_rowid, last)
            deliver(rows)

    def _upper(self, hint: int, fallback: int) -> int:
        try:
            top = self.conn.execute(f"SELECT max(rowid) FROM {self.table}").fetchone()[0]
            if top is not None:
                self.max_rowid = max(self.max_rowid, int(top))
                return max(int(top), hint)
        except sqlite3.DatabaseError:
            pass
        return max(hint, fallback)

    def _split(self, lo: int, hi: int, deliver: Callable[[Rows], None]) -> None:
        stack = [(lo, hi)]
        while stack:
            a, b = stack.pop()
            if self.probes > _MAX_PROBES:
                self.bad.append((a, b))
                continue
            try:
                rows = self._query("rowid BETWEEN ? AND ? ORDER BY rowid", (a, b))
            except sqlite3.DatabaseError:
                if a == b:
                    self.bad.append((a, b))
                else:
                    mid = (a + b) // 2
                    stack.extend([(mid + 1, b), (a, mid)])
                continue
            if rows:
                self.max_rowid = max(self.max_rowid, int(rows[-1][0]))
                deliver(rows)


def _merge_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _columns(conn: sqlite3.Connection | None, table: str) -> list[str] | None:
    """The table's columns; [] when the file has no such table, None when it cannot say."""
    if conn is None:
        return None
    try:
        return list(table_info(conn, table).columns)
    except sqlite3.DatabaseError:
        return None


class _Writer:
    def __init__(self, conn: sqlite3.Connection, table: TableInfo) -> None:
        self.conn = conn
        self.table = table
        self.keys: set[tuple[Any, ...]] = set()

    def key_of(self, cols: list[str]) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
        if self.table.pk and all(c in cols for c in self.table.pk):
            idx = [cols.index(c) + 1 for c in self.table.pk]  # +1: rowid comes first
            return lambda row: tuple(row[i] for i in idx)
        return lambda row: (row[0],)

    def put(self, cols: list[str], rows: Rows, *, skip_known: bool) -> tuple[int, int]:
        """Insert rows (rowid first, then `cols`); returns (inserted, refused)."""
        key = self.key_of(cols)
        with_rowid = not self.table.pk
        names = ["rowid", *cols] if with_rowid else cols
        sql = (f"INSERT OR IGNORE INTO {quote_ident(self.table.name)}"
               f" ({', '.join(quote_ident(c) if c != 'rowid' else c for c in names)})"
               f" VALUES ({', '.join('?' * len(names))})")
        batch = []
        for row in rows:
            k = key(row)
            if skip_known and k in self.keys:
                continue
            self.keys.add(k)
            batch.append(row if with_rowid else row[1:])
        if not batch:
            return 0, 0
        # rowcount, not total_changes: rows that triggers add elsewhere must not count here.
        inserted = max(0, self.conn.executemany(sql, batch).rowcount)
        return inserted, len(batch) - inserted


def _open_source(path: Path) -> sqlite3.Connection | None:
    if not has_magic(path):
        return None
    try:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.DatabaseError:
        return None


def salvage_database(project: Project, name: str, *, use_backup: bool = True) -> SalvageReport:
    """Rebuild database `name` from what its file yields plus the newest backup whose copy
    verifies."""
    live = store_databases(project, include_global=True).get(name, project.layout.db(name))
    work = live.with_name(f".{live.name}.salvage-{os.getpid()}.work")
    stage = live.with_name(f".{live.name}.salvage-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    stage.unlink(missing_ok=True)
    # Read before anything opens the file: the -shm says so, and a normal open resets it.
    wal_lost = lost_wal_frames(live) > 0
    try:
        damaged = _copy_damaged(live, work)
        backup, backup_conn = _backup_source(project, name, work) if use_backup else (None, None)
        fresh = open_database(stage, name, project.pragmas)
        try:
            fresh.execute("PRAGMA foreign_keys = OFF")  # parents and children arrive in any order
            if name == ARCHIVE_DB:
                _keep_copied_columns(fresh, damaged, backup_conn)
            derived = trigger_targets(fresh)
            fresh.execute("BEGIN")
            rebuilt = derived_tables(name)
            tables = [_salvage_table(fresh, t, damaged, backup_conn, t.name in rebuilt)
                      for t in base_tables(fresh) if t.name not in derived]
            if wal_lost:
                # Rows committed in the frames lost with the -wal left no trace in the file, in
                # any table: "0 lost" would claim what it cannot tell (QA round 24b: 06).
                for table in tables:
                    table.uncounted = table.uncounted or table.table not in rebuilt
            fresh.execute("COMMIT")
            if name == "conversations":
                _leave_archived(project, fresh, _conversation_ids(damaged))
            elif name == ARCHIVE_DB:
                _leave_live(project, fresh, _conversation_ids(damaged))
        finally:
            fresh.close()
            for conn in (damaged, backup_conn):
                if conn is not None:
                    conn.close()
        aside = aside_dir(project, "damaged")
        swap_in(project, [(stage, live)], aside)
        return SalvageReport(name, backup.id if backup else None, str(aside), tables,
                             backup.created_at if backup else None)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        stage.unlink(missing_ok=True)


def _keep_copied_columns(fresh: sqlite3.Connection, *sources: sqlite3.Connection | None) -> None:
    """The archive's columns that copies added (conversations' context_id, messages' seq: its
    schema is conversations.db's first one), added to the fresh file too. Salvaged without
    them, every archived conversation lost its branch, and doctor then found them in no
    context (gitext/lifecycle/unplaced.py)."""
    from gitext.lifecycle.archive import ensure_columns

    for table in base_tables(fresh):
        for source in sources:
            ensure_columns(fresh, table.name, _columns(source, table.name) or [])


def _conversation_ids(conn: sqlite3.Connection | None) -> set[str]:
    """The conversations the damaged file still names (none when it cannot say)."""
    if conn is None:
        return set()
    try:
        return {r[0] for r in conn.execute("SELECT id FROM conversations")}
    except sqlite3.DatabaseError:
        return set()


def _leave_archived(project: Project, fresh: sqlite3.Connection, in_damaged: set[str]) -> None:
    """Conversations archived since the backup stay archived: the backup still held them live,
    and merged back they were in both places, which repair itself then reported as wrong
    (QA round 4: 07). Retention moved them after the backup, so the archive is the newer copy;
    one the damaged file still held live was in both places already and is left as it was."""
    from gitext.lifecycle.archive import archived_ids

    live = {r[0] for r in fresh.execute("SELECT id FROM conversations")}
    stale = sorted(archived_ids(project, sorted(live)) - in_damaged)
    if not stale:
        return
    fresh.execute("PRAGMA foreign_keys = ON")  # their messages and attachments go with them
    for start in range(0, len(stale), 500):
        batch = stale[start:start + 500]
        fresh.execute(f"DELETE FROM conversations WHERE id IN ({', '.join('?' * len(batch))})",
                      batch)


def _leave_live(project: Project, fresh: sqlite3.Connection, in_damaged: set[str]) -> None:
    """The other way round: conversations brought back live (`conversation restore`) since the
    backup stay live only; the backup's archived copy, merged into the archive, is dropped, as
    a restored archive's is (QA round 21a: 03). One the damaged archive still held was in both
    places already and is left as it was."""
    from gitext.lifecycle.archive import delete_rows

    if not project.layout.db("conversations").exists():
        return
    with project.db("conversations").read() as conn:
        live = {str(r[0]) for r in conn.execute("SELECT id FROM conversations")}
    stale = sorted({str(r[0]) for r in fresh.execute("SELECT id FROM conversations")}
                   & live - in_damaged)
    if not stale:
        return
    fresh.execute("BEGIN")
    for start in range(0, len(stale), 500):
        delete_rows(fresh, stale[start:start + 500])
    fresh.execute("COMMIT")


def _backup_source(
    project: Project, name: str, work: Path
) -> tuple[BackupInfo | None, sqlite3.Connection | None]:
    """The newest backup of `name` whose copy verifies and can be read (a copy may have gone,
    or have changed in place)."""
    for info in list_backups(project):
        copy = info.db(name)
        if not info.usable or copy is None:
            continue
        target = work / "backup.db"
        # Checked as `backup verify` checks it: a copy changed in place (bit rot: the same size,
        # so the listing's stat cannot tell) opened fine and read as empty, and every row was
        # lost while an older backup held them (QA round 5: 06).
        if copy_problems(check_copy(info, copy, target)):
            target.unlink(missing_ok=True)
            continue
        conn = _open_source(target)
        if conn is not None:
            return info, conn
        target.unlink(missing_ok=True)
    return None, None


def _copy_damaged(live: Path, work: Path) -> sqlite3.Connection | None:
    """A private copy to read from (with its -wal, whose committed frames count)."""
    if not live.exists():
        return None
    target = work / "damaged.db"
    shutil.copyfile(live, target)
    _fit_header(target)
    wal = live.with_name(live.name + "-wal")
    if wal.exists() and not lost_wal_evidence(live):
        shutil.copyfile(wal, work / "damaged.db-wal")
    return _open_source(target)


def _fit_header(path: Path) -> None:
    """A file cut short still says in its header how many pages it had, and SQLite trusts that
    over the file's length: every read past the end failed, so repair read 0 rows from a file
    that held 90% of them and fell back to the backup (QA round 15c: 02). The copy's count is
    made the pages it has (a partial last page dropped), as SQLite would compute it itself."""
    try:
        with path.open("r+b") as fh:
            header = fh.read(100)
            if len(header) < 100:
                return
            raw = int.from_bytes(header[16:18], "big")
            page = 65536 if raw == 1 else raw
            if page < 512 or page & (page - 1):
                return  # not a page size: the header itself is damaged
            have = path.stat().st_size // page
            said = int.from_bytes(header[28:32], "big")
            if have == 0 or said <= have:
                return
            fh.truncate(have * page)
            fh.seek(28)
            fh.write(have.to_bytes(4, "big"))
    except OSError:
        return


def _salvage_table(
    fresh: sqlite3.Connection,
    table: TableInfo,
    damaged: sqlite3.Connection | None,
    backup: sqlite3.Connection | None,
    rebuilt: bool,
) -> TableSalvage:
    result = TableSalvage(table.name)
    writer = _Writer(fresh, table)
    backup_cols = [c for c in _columns(backup, table.name) or [] if c in table.columns]
    backup_top = 0
    if backup is not None and backup_cols and not table.without_rowid:
        try:
            backup_top = int(backup.execute(
                f"SELECT coalesce(max(rowid), 0) FROM {quote_ident(table.name)}").fetchone()[0])
        except sqlite3.DatabaseError:
            backup_cols = []
    in_damaged = _columns(damaged, table.name)
    damaged_cols = [c for c in in_damaged or [] if c in table.columns]
    # A file without a readable schema (not a database any more, its first page gone) gives
    # no rows and no bound: whatever it held after the backup is lost uncounted.
    result.uncounted = in_damaged is None
    reader: _Reader | None = None
    if damaged is not None and damaged_cols:
        reader = _Reader(damaged, table.name, damaged_cols, rowid=not table.without_rowid)

        def take(rows: Rows) -> None:
            inserted, refused = writer.put(damaged_cols, rows, skip_known=False)
            result.from_damaged += inserted
            result.dropped += refused

        if table.without_rowid:
            result.partial = not reader.scan_plain(take)
        else:
            reader.scan(backup_top, _page_bound(damaged), take)
            result.unreadable_ranges = _merge_ranges(reader.bad)
    if backup is not None and backup_cols:
        backup_rowids: set[int] = set()
        names = ", ".join(quote_ident(c) for c in backup_cols)
        first = "NULL" if table.without_rowid else "rowid"
        cur = backup.execute(f"SELECT {first}, {names} FROM {quote_ident(table.name)}")
        while rows := [tuple(r) for r in cur.fetchmany(_CHUNK)]:
            backup_rowids.update(int(r[0]) for r in rows if r[0] is not None)
            inserted, refused = writer.put(backup_cols, rows, skip_known=True)
            result.from_backup += inserted
            result.dropped += refused
    else:
        backup_rowids = set()
    if reader is not None and result.unreadable_ranges:
        top = max(reader.max_rowid, backup_top)
        result.lost = sum(
            1 for a, b in result.unreadable_ranges for r in range(a, min(b, top) + 1)
            if r not in backup_rowids
        )
        # Probed past every rowid known (max(rowid) unreadable): whether rows were there,
        # nothing can tell.
        result.uncounted = any(b > top for _a, b in result.unreadable_ranges)
    if rebuilt:
        # The search index: backups leave it out and repair makes it again from git, so what
        # the file lost of it is no loss to report.
        result.lost, result.uncounted = 0, False
    return result


def _page_bound(conn: sqlite3.Connection) -> int:
    """An upper bound for rowids when max(rowid) cannot be read: rows never outnumber cells."""
    try:
        pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    except sqlite3.DatabaseError:
        pages = 0
    return max(1, pages * 64)
