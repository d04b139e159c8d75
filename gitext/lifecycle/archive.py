"""The conversations archive: old conversations moved to `conversations_archive.db`, still
searchable and restorable.

A conversation is archived when its last activity (updated_at or its newest message) is older
than `conversation_archive_days`, or when its project has more than
`conversation_max_per_project` conversations (the least recently active go). Moving is copy,
verify, delete, in batches of short transactions: the copy is committed in the archive first and
compared row id by row id; only then are the rows deleted from conversations.db, and only if the
conversation did not change in between (a hook may have added a message meanwhile: then it
stays live and its archive copy is dropped). Rows are copied by column name, so tables that
other parts add to conversations.db (an FTS index, say) need nothing from here.

One archiving run at a time (`run/archive.lock`): the scheduler's quarterly tier and `maintain`
run by hand could meet, and each took the other's delete from conversations.db for a change and
dropped the archive copy, the only one left (QA round 20c: 01). A conversation gone from
conversations.db before its delete keeps its archive copy all the same, whoever made it.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from gitext import clock
from gitext.errors import AircherError
from gitext.lifecycle.dbfiles import ARCHIVE_DB, quote_ident
from gitext.lifecycle.loss import has_archive, refuse_lost
from gitext.lifecycle.runstate import waiting_lock
from gitext.project import Project
from gitext.store.connection import open_database
from gitext.store.made import absent, note
from gitext.store.pool import Database

TABLES = ("conversations", "messages", "message_attachments", "compaction_history")
BATCH = 50
LOCK = "archive.lock"
# How long a run waits for another to finish: the other archives what both would have, so the
# wait is for its end, and a long archive (a year of conversations) takes minutes.
LOCK_WAIT = 1800.0

# How each table's rows belong to a conversation (the parameter list is the conversation ids).
_OWNER = {
    "conversations": "id IN ({ids})",
    "messages": "conversation_id IN ({ids})",
    "message_attachments":
        "message_id IN (SELECT id FROM messages WHERE conversation_id IN ({ids}))",
    "compaction_history": "conversation_id IN ({ids})",
}


@dataclass
class ArchiveResult:
    candidates: int
    archived: int
    kept_changed: int
    dry_run: bool
    ids: list[str] = field(default_factory=list)
    # Gone from conversations.db between copy and delete (not by this run): copy kept.
    gone_meanwhile: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@contextlib.contextmanager
def open_archive(project: Project) -> Iterator[Database]:
    path = project.layout.db(ARCHIVE_DB)
    pragmas = project.pragmas
    logs = project.layout.logs
    # Bounded and logged as the store's other databases are: its reads are scans (the archive
    # has no index), the slowest of a large store, and ran unbounded and unseen by `health`
    # (QA round 26f: 04).
    slow, timeout = project.read_limits(ARCHIVE_DB)

    def opener() -> sqlite3.Connection:
        # As `Project.db` opens the others: one the store had and lost is refused, never made
        # anew, empty (`gitext.lifecycle.loss`); once open, the record says the store has it.
        if absent(path):
            refuse_lost(project, ARCHIVE_DB)
        conn = open_database(path, ARCHIVE_DB, pragmas, slow_log=slow, logs=logs)
        note(path)
        return conn

    db = Database(opener, pool_size=1, max_readers=2, query_timeout=timeout)
    try:
        yield db
    finally:
        db.close()


def candidates(project: Project) -> list[str]:
    """Ids of conversations the retention policy says should be archived, oldest first."""
    cfg = project.config
    cutoff = clock.ago(cfg.integer("storage.lifecycle.conversation_archive_days") * 86400)
    keep = max(0, cfg.integer("storage.lifecycle.conversation_max_per_project"))
    with project.db("conversations").read() as conn:
        rows = conn.execute(
            "SELECT c.id, coalesce(c.project_id, '') AS project,"
            " max(coalesce(c.updated_at, c.created_at, ''), coalesce((SELECT max(m.timestamp)"
            " FROM messages m WHERE m.conversation_id = c.id), '')) AS last"
            " FROM conversations c WHERE coalesce(c.status, '') != 'archived'"
        ).fetchall()
    chosen: dict[str, str] = {}
    by_project: dict[str, list[tuple[str, str]]] = {}
    for cid, proj, last in rows:
        if last < cutoff:
            chosen[cid] = last
        by_project.setdefault(proj, []).append((last, cid))
    for items in by_project.values():
        items.sort(reverse=True)
        for last, cid in items[keep:]:
            chosen[cid] = last
    return [cid for cid, _last in sorted(chosen.items(), key=lambda kv: (kv[1], kv[0]))]


def slots(n: int) -> str:
    """`?,?,…`: an IN list's parameters."""
    return ",".join("?" * n)


def _read(conn: sqlite3.Connection, table: str, ids: Sequence[str]) -> tuple[list[str], list[Any]]:
    cur = conn.execute(
        f"SELECT * FROM {table} WHERE {_OWNER[table].format(ids=slots(len(ids)))}", list(ids)
    )
    cols = [d[0] for d in cur.description]
    return cols, cur.fetchall()


def _fingerprint(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """What must not have changed between copy and delete, per conversation."""
    marks = slots(len(ids))
    rows = conn.execute(
        "SELECT c.id, c.updated_at,"
        " (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id),"
        " (SELECT max(m.timestamp) FROM messages m WHERE m.conversation_id = c.id),"
        " (SELECT count(*) FROM message_attachments a JOIN messages m ON a.message_id = m.id"
        "  WHERE m.conversation_id = c.id),"
        " (SELECT count(*) FROM compaction_history h WHERE h.conversation_id = c.id)"
        f" FROM conversations c WHERE c.id IN ({marks})",
        list(ids),
    ).fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def ensure_columns(conn: sqlite3.Connection, table: str, cols: Sequence[str]) -> None:
    have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
    for col in cols:
        if col not in have:
            # A column conversations.db gained after this archive was made: keep its values.
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {quote_ident(col)}")


def _ids(conn: sqlite3.Connection, table: str, ids: Sequence[str]) -> set[str]:
    return {r[0] for r in conn.execute(
        f"SELECT id FROM {table} WHERE {_OWNER[table].format(ids=slots(len(ids)))}", list(ids)
    )}


def delete_rows(conn: sqlite3.Connection, ids: Sequence[str]) -> None:
    """Every row of these conversations, in either database."""
    for table in reversed(TABLES):  # children first: no reliance on foreign_keys being on
        conn.execute(
            f"DELETE FROM {table} WHERE {_OWNER[table].format(ids=slots(len(ids)))}", list(ids)
        )


def _insert(conn: sqlite3.Connection, table: str, cols: Sequence[str], rows: list[Any]) -> None:
    if not rows:
        return
    names = ", ".join(quote_ident(c) for c in cols)
    conn.executemany(
        f"INSERT INTO {table} ({names}) VALUES ({slots(len(cols))})", [tuple(r) for r in rows]
    )


def archive_conversations(project: Project, *, dry_run: bool = False) -> ArchiveResult:
    """Move what the policy selects into the archive store (see the module docstring)."""
    if dry_run:
        ids = candidates(project)
        return ArchiveResult(len(ids), 0, 0, True, ids)
    with waiting_lock(project.layout.run / LOCK, LOCK_WAIT,
                      "another archiving run is still moving conversations"):
        # Chosen under the lock: after a run that waited, what the other archived is not live.
        ids = candidates(project)
        result = ArchiveResult(len(ids), 0, 0, False)
        if ids:
            _move(project, ids, result)
    return result


def _move(project: Project, ids: list[str], result: ArchiveResult) -> None:
    live = project.db("conversations")
    with open_archive(project) as archive:
        for start in range(0, len(ids), BATCH):
            batch = ids[start:start + BATCH]
            with live.read() as conn:
                conn.execute("BEGIN")  # one snapshot for the rows and their fingerprint
                copied = {t: _read(conn, t, batch) for t in TABLES}
                before = _fingerprint(conn, batch)
                conn.execute("COMMIT")
            batch = [cid for cid in batch if cid in before]
            if not batch:
                continue
            with archive.write() as aconn:
                delete_rows(aconn, batch)
                for table in TABLES:
                    cols, rows = copied[table]
                    ensure_columns(aconn, table, cols)
                    _insert(aconn, table, cols, rows)
                marks = slots(len(batch))
                aconn.execute(
                    f"UPDATE conversations SET status = 'archived', archived_at = ?"
                    f" WHERE id IN ({marks})",
                    [clock.now(), *batch],
                )
            with archive.read() as aconn:
                for table in TABLES:
                    cols, rows = copied[table]
                    want = {r[cols.index("id")] for r in rows}
                    if _ids(aconn, table, batch) != want:
                        raise AircherError(
                            f"archive copy of {table} does not match; nothing was deleted"
                        )
            with live.write() as conn:
                now = _fingerprint(conn, batch)
                gone = [cid for cid in batch if now.get(cid) == before[cid]]
                if gone:
                    delete_rows(conn, gone)
            # Only a conversation still live may lose its archive copy. One gone from
            # conversations.db meanwhile was taken by another process (an archiving run of a
            # version without the lock, a `delete_conversation`): the archive copy may be the
            # only one left, and keeping one deleted just then costs less than losing one.
            changed = [cid for cid in batch if cid in now and cid not in gone]
            if changed:
                with archive.write() as aconn:
                    delete_rows(aconn, changed)
            result.archived += len(gone)
            result.kept_changed += len(changed)
            result.gone_meanwhile += len(batch) - len(gone) - len(changed)
            result.ids.extend(gone)


def _same_copies(live: sqlite3.Connection, archive: sqlite3.Connection,
                 ids: Sequence[str]) -> list[str]:
    """Of conversations in both databases, those whose two copies are the same as `_move`
    compares them: the fingerprint, and every table's row ids."""
    same = []
    for start in range(0, len(ids), BATCH):
        batch = list(ids[start:start + BATCH])
        mine, theirs = _fingerprint(live, batch), _fingerprint(archive, batch)
        for cid in batch:
            if cid in mine and mine[cid] == theirs.get(cid) and all(
                    _ids(live, t, [cid]) == _ids(archive, t, [cid]) for t in TABLES[1:]):
                same.append(cid)
    return same


def cut_short(live: sqlite3.Connection, archive: sqlite3.Connection) -> list[str]:
    """Conversations an archiving run copied into the archive and was stopped (SIGTERM of
    `timeout`, kill -9, Ctrl-C) before deleting live: archived there, and the same in both.
    Only that delete was left to do; the next run does it, and so does repair."""
    archived = {str(r[0]) for r in archive.execute(
        "SELECT id FROM conversations WHERE status = 'archived'")}
    both = sorted(archived & {str(r[0]) for r in live.execute("SELECT id FROM conversations")})
    return _same_copies(live, archive, both)


def finish_cut_short(project: Project, *, dry_run: bool = False) -> int:
    """Delete the live copy of each conversation an archiving run cut short left in both
    databases (`cut_short`), as that run would have; how many. Under the archiving lock, and
    checked again in the delete's own transaction: a conversation changed since stays."""
    live = project.db("conversations")
    with waiting_lock(project.layout.run / LOCK, LOCK_WAIT,
                      "an archiving run is still moving conversations"), \
            open_archive(project) as archive, archive.read() as aconn:
        with live.read() as conn:
            ids = cut_short(conn, aconn)
        if dry_run or not ids:
            return len(ids)
        with live.write() as conn:
            ids = _same_copies(conn, aconn, ids)
            for start in range(0, len(ids), BATCH):
                delete_rows(conn, ids[start:start + BATCH])
    return len(ids)


def table_columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}


def restore_archived(
    project: Project, conversation_id: str, *, replace: bool = False
) -> str | None:
    """Move one conversation back to conversations.db (status 'active', updated_at now, so the
    policy does not archive it again at once); its full id, or None when the archive does not
    hold it. A live
    conversation with the same id is an error, or with `replace` deleted first."""
    from gitext.errors import UsageError
    from gitext.records.conversations import LISTED, resolve_in
    from gitext.records.lookup import MIN_PREFIX, too_short

    if not has_archive(project):
        # Said as every command taking an id says it, archive or not (session 18: cli-2).
        if len(conversation_id) < MIN_PREFIX:
            raise too_short("conversation", conversation_id, LISTED)
        return None

    with open_archive(project) as archive:
        with archive.read() as aconn:
            try:  # a unique prefix among all conversations, as `show` and `export` take it
                with project.db("conversations").read() as live:
                    conversation_id, _ = resolve_in(live, aconn, conversation_id)
            except UsageError as exc:
                if exc.message.startswith("no conversation"):
                    return None
                raise
            ids = [conversation_id]
            copied = {t: _read(aconn, t, ids) for t in TABLES}
        if not copied["conversations"][1]:
            return None
        with project.db("conversations").write() as conn:
            if conn.execute("SELECT 1 FROM conversations WHERE id = ?", ids).fetchone():
                if not replace:
                    raise AircherError(
                        f"conversation {conversation_id} is both archived and live; the live"
                        " copy was kept",
                        hint=f"`git aircher conversation restore {conversation_id} --replace`"
                        " puts the archived copy in its place",
                    )
                delete_rows(conn, ids)
            for table in TABLES:
                cols, rows = copied[table]
                live_cols = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
                keep = [i for i, c in enumerate(cols) if c in live_cols]
                _insert(conn, table, [cols[i] for i in keep], [[r[i] for i in keep] for r in rows])
            conn.execute(
                "UPDATE conversations SET status = 'active', updated_at = ? WHERE id = ?",
                (clock.now(), conversation_id),
            )
        with archive.write() as aconn:
            delete_rows(aconn, ids)
    return conversation_id


@contextlib.contextmanager
def archive_reader(project: Project) -> Iterator[sqlite3.Connection | None]:
    """A read connection to the archive; None when there is none."""
    if not has_archive(project):
        yield None
        return
    with open_archive(project) as archive, archive.read() as conn:
        yield conn


def archived_ids(project: Project, ids: Sequence[str] | None = None) -> set[str]:
    """Which of `ids` (default: all) the archive holds; empty when there is no archive."""
    if not has_archive(project):
        return set()
    with open_archive(project) as archive, archive.read() as conn:
        if ids is None:
            return {r[0] for r in conn.execute("SELECT id FROM conversations")}
        found: set[str] = set()
        wanted = list(dict.fromkeys(ids))
        for start in range(0, len(wanted), 500):  # below SQLite's limit on parameters
            batch = wanted[start:start + 500]
            found.update(r[0] for r in conn.execute(
                f"SELECT id FROM conversations WHERE id IN ({slots(len(batch))})", batch))
        return found


def write_archived(
    project: Project, drop: Sequence[str], tables: dict[str, tuple[list[str], list[Any]]]
) -> None:
    """One transaction in the archive: the conversations `drop` names deleted, then the rows
    given per table (column names, rows) inserted: how an import puts archived ones back."""
    with open_archive(project) as archive, archive.write() as aconn:
        if drop:
            delete_rows(aconn, list(drop))
        for table in TABLES:
            cols, rows = tables.get(table, ([], []))
            if rows:
                ensure_columns(aconn, table, cols)
                _insert(aconn, table, cols, rows)


def archived_count(project: Project) -> int:
    if not has_archive(project):
        return 0
    with open_archive(project) as archive, archive.read() as conn:
        return int(conn.execute("SELECT count(*) FROM conversations").fetchone()[0])
