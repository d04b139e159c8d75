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
from gitext.project import Project
from gitext.store.connection import open_database
from gitext.store.pool import Database

TABLES = ("conversations", "messages", "message_attachments", "compaction_history")
BATCH = 50

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

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@contextlib.contextmanager
def open_archive(project: Project) -> Iterator[Database]:
    path = project.layout.db(ARCHIVE_DB)
    pragmas = project.pragmas
    logs = project.layout.logs
    db = Database(lambda: open_database(path, ARCHIVE_DB, pragmas, logs=logs), pool_size=1,
                  max_readers=2)
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


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _read(conn: sqlite3.Connection, table: str, ids: Sequence[str]) -> tuple[list[str], list[Any]]:
    cur = conn.execute(
        f"SELECT * FROM {table} WHERE {_OWNER[table].format(ids=_marks(len(ids)))}", list(ids)
    )
    cols = [d[0] for d in cur.description]
    return cols, cur.fetchall()


def _fingerprint(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """What must not have changed between copy and delete, per conversation."""
    marks = _marks(len(ids))
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


def _ensure_columns(conn: sqlite3.Connection, table: str, cols: Sequence[str]) -> None:
    have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
    for col in cols:
        if col not in have:
            # A column conversations.db gained after this archive was made: keep its values.
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {quote_ident(col)}")


def _ids(conn: sqlite3.Connection, table: str, ids: Sequence[str]) -> set[str]:
    return {r[0] for r in conn.execute(
        f"SELECT id FROM {table} WHERE {_OWNER[table].format(ids=_marks(len(ids)))}", list(ids)
    )}


def _delete(conn: sqlite3.Connection, ids: Sequence[str]) -> None:
    for table in reversed(TABLES):  # children first: no reliance on foreign_keys being on
        conn.execute(
            f"DELETE FROM {table} WHERE {_OWNER[table].format(ids=_marks(len(ids)))}", list(ids)
        )


def _insert(conn: sqlite3.Connection, table: str, cols: Sequence[str], rows: list[Any]) -> None:
    if not rows:
        return
    names = ", ".join(quote_ident(c) for c in cols)
    conn.executemany(
        f"INSERT INTO {table} ({names}) VALUES ({_marks(len(cols))})", [tuple(r) for r in rows]
    )


def archive_conversations(project: Project, *, dry_run: bool = False) -> ArchiveResult:
    """Move what the policy selects into the archive store (see the module docstring)."""
    ids = candidates(project)
    result = ArchiveResult(len(ids), 0, 0, dry_run, ids if dry_run else [])
    if dry_run or not ids:
        return result
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
                _delete(aconn, batch)
                for table in TABLES:
                    cols, rows = copied[table]
                    _ensure_columns(aconn, table, cols)
                    _insert(aconn, table, cols, rows)
                marks = _marks(len(batch))
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
                    _delete(conn, gone)
            changed = [cid for cid in batch if cid not in gone]
            if changed:
                with archive.write() as aconn:
                    _delete(aconn, changed)
            result.archived += len(gone)
            result.kept_changed += len(changed)
            result.ids.extend(gone)
    return result


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}


def list_archived(
    project: Project,
    *,
    context_ids: Sequence[str] | None = None,
    project_id: str | None = None,
    context_type: str | None = None,
    provider: str | None = None,
) -> list[dict[str, Any]]:
    """The archive's conversations (those of `context_ids`, or of `project_id`; None: all),
    each as `Conversation.to_json()` gives a live one, with its `archived_at`; newest first."""
    from gitext.records.conversations import Conversation

    if not project.layout.db(ARCHIVE_DB).exists() or context_ids == []:
        return []
    with open_archive(project) as archive, archive.read() as conn:
        have = _columns(conn, "conversations")
        if context_ids is not None and "context_id" not in have:
            return []  # nothing was archived since conversations gained their context
        where: list[str] = []
        params: list[Any] = []
        for col, value in (("project_id", project_id), ("context_type", context_type),
                           ("provider", provider)):
            if value is not None:
                where.append(f"c.{col} = ?")
                params.append(value)
        if context_ids is not None:
            where.append(f"c.context_id IN ({_marks(len(context_ids))})")
            params.extend(context_ids)
        # An archive made before conversations gained context_id lacks the column.
        context_col = "" if "context_id" in have else " NULL AS context_id,"
        rows = conn.execute(
            f"SELECT c.*,{context_col}"
            " (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) AS message_count"
            " FROM conversations c" + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY c.updated_at DESC, c.created_at DESC, c.id", params,
        ).fetchall()
    return [{**Conversation.from_row(r).to_json(), "archived_at": r["archived_at"]}
            for r in rows]


def search_archived(
    project: Project,
    query: str,
    limit: int = 20,
    *,
    context_ids: Sequence[str] | None = None,
    role: str | None = None,
) -> list[dict[str, Any]]:
    """Archived messages with every word of `query`, newest first, then (without `role`)
    conversations whose title has them. Each hit has the keys of a live search's
    (`SearchHit.to_json`: the words it matched in [brackets], `score` null: the archive has no
    index to rank by) and `archived_at`; `context_ids` and `role` narrow as they do there."""
    from gitext.records import fts

    words = fts.query_words(query)
    path = project.layout.db(ARCHIVE_DB)
    if not path.exists() or context_ids == []:
        return []
    # LIKE over the folded text finds the candidates (case and accents folded as the index
    # folds them: with SQLite's own ASCII-only folding `cafe` missed "café", QA round 16b: 04);
    # fts.matches_all then keeps those the live index would find: whole words and identifier
    # parts, `log` not in `catalog`.
    tokens = [fts.folded(t) for w in words for t in fts.token_parts(w)]
    hits: list[dict[str, Any]] = []
    with open_archive(project) as archive, archive.read() as conn:
        conn.create_function("aircher_fold", 1, fts.folded, deterministic=True)
        has_context = "context_id" in _columns(conn, "conversations")
        if context_ids is not None and not has_context:
            return []  # nothing was archived since conversations gained their context
        scope, params = "", []
        if context_ids is not None:
            scope = f" AND c.context_id IN ({_marks(len(context_ids))})"
            params = list(context_ids)
        context_col = "c.context_id" if has_context else "NULL"
        like = [f"%{_escape(t)}%" for t in tokens]
        msg_where = "".join(" AND aircher_fold(m.content) LIKE ? ESCAPE '\\'" for _ in tokens)
        role_where = " AND m.role = ?" if role is not None else ""
        for row in conn.execute(
            "SELECT m.id, m.conversation_id, c.title, m.role, m.timestamp, m.content,"
            f" {context_col} AS context_id, c.archived_at FROM messages m JOIN conversations c"
            f" ON c.id = m.conversation_id WHERE 1{msg_where}{role_where}{scope}"
            " ORDER BY m.timestamp DESC, m.id",
            [*like, *([role] if role is not None else []), *params],
        ):
            if len(hits) >= limit:
                break
            if fts.matches_all(row["content"] or "", words):
                hits.append(_hit(row, row["id"], row["role"], row["timestamp"],
                                 fts.snippet(row["content"] or "", words)))
        if role is not None:
            return hits
        seen = {h["conversation_id"] for h in hits}
        title_where = "".join(" AND aircher_fold(c.title) LIKE ? ESCAPE '\\'" for _ in tokens)
        for row in conn.execute(
            f"SELECT c.id AS conversation_id, c.title, {context_col} AS context_id,"
            f" c.archived_at FROM conversations c WHERE 1{title_where}{scope}"
            " ORDER BY c.updated_at DESC, c.id",
            [*like, *params],
        ):
            if len(hits) >= limit:
                break
            if row["conversation_id"] not in seen and fts.matches_all(row["title"] or "", words):
                hits.append(_hit(row, None, None, None, fts.snippet(row["title"], words)))
    return hits


def _hit(row: sqlite3.Row, message_id: str | None, role: str | None, timestamp: str | None,
         snippet: str) -> dict[str, Any]:
    return {"message_id": message_id, "conversation_id": row["conversation_id"],
            "conversation_title": row["title"], "role": role, "timestamp": timestamp,
            "snippet": snippet, "score": None, "context_id": row["context_id"],
            "archived_at": row["archived_at"]}


def _escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def restore_archived(
    project: Project, conversation_id: str, *, replace: bool = False
) -> str | None:
    """Move one conversation back to conversations.db (status 'active', updated_at now, so the
    policy does not archive it again at once); its full id, or None when the archive does not
    hold it. A live
    conversation with the same id is an error, or with `replace` deleted first."""
    from gitext.errors import UsageError
    from gitext.records.conversations import LISTED, resolve_id
    from gitext.records.lookup import MIN_PREFIX, too_short

    path = project.layout.db(ARCHIVE_DB)
    if not path.exists():
        # Said as every command taking an id says it, archive or not (session 18: cli-2).
        if len(conversation_id) < MIN_PREFIX:
            raise too_short("conversation", conversation_id, LISTED)
        return None

    with open_archive(project) as archive:
        with archive.read() as aconn:
            try:  # a unique prefix, as `show` and `export` take it
                conversation_id = resolve_id(aconn, conversation_id)
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
                _delete(conn, ids)
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
            _delete(aconn, ids)
    return conversation_id


def find_archived(project: Project, id_or_prefix: str) -> str | None:
    """The id of the archived conversation an id or unique prefix names; None when the archive
    holds none (or there is no archive)."""
    if not project.layout.db(ARCHIVE_DB).exists():
        return None
    from gitext.errors import UsageError
    from gitext.records.conversations import resolve_id

    with open_archive(project) as archive, archive.read() as conn:
        try:
            return resolve_id(conn, id_or_prefix)
        except UsageError:
            return None


def archived_ids(project: Project, ids: Sequence[str] | None = None) -> set[str]:
    """Which of `ids` (default: all) the archive holds; empty when there is no archive."""
    if not project.layout.db(ARCHIVE_DB).exists():
        return set()
    with open_archive(project) as archive, archive.read() as conn:
        if ids is None:
            return {r[0] for r in conn.execute("SELECT id FROM conversations")}
        found: set[str] = set()
        wanted = list(dict.fromkeys(ids))
        for start in range(0, len(wanted), 500):  # below SQLite's limit on parameters
            batch = wanted[start:start + 500]
            found.update(r[0] for r in conn.execute(
                f"SELECT id FROM conversations WHERE id IN ({_marks(len(batch))})", batch))
        return found


def write_archived(
    project: Project, drop: Sequence[str], tables: dict[str, tuple[list[str], list[Any]]]
) -> None:
    """One transaction in the archive: the conversations `drop` names deleted, then the rows
    given per table (column names, rows) inserted: how an import puts archived ones back."""
    with open_archive(project) as archive, archive.write() as aconn:
        if drop:
            _delete(aconn, list(drop))
        for table in TABLES:
            cols, rows = tables.get(table, ([], []))
            if rows:
                _ensure_columns(aconn, table, cols)
                _insert(aconn, table, cols, rows)


def archived_count(project: Project) -> int:
    path = project.layout.db(ARCHIVE_DB)
    if not path.exists():
        return 0
    with open_archive(project) as archive, archive.read() as conn:
        return int(conn.execute("SELECT count(*) FROM conversations").fetchone()[0])
