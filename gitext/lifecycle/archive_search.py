"""Browsing the conversations archive: its conversations listed, its messages and titles
searched, in the shapes the live commands answer in (`conversation list --status archived`,
`conversation search --archived`). The archive has no full-text index: moving conversations
there must stay cheap, and searching it is rare."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from gitext.lifecycle.archive import open_archive, slots, table_columns
from gitext.lifecycle.loss import has_archive
from gitext.project import Project
from gitext.records.values import filtered, newest_first


def list_archived(
    project: Project,
    *,
    context_ids: Sequence[str] | None = None,
    project_id: str | None = None,
    context_type: str | None = None,
    provider: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The archive's conversations (those of `context_ids`, or of `project_id`; None: all),
    each as `Conversation.to_json()` gives a live one, with its `archived_at`; newest first,
    the first `limit` (None: all)."""
    from gitext.records.conversations import Conversation

    if context_ids == [] or not has_archive(project):
        return []
    with open_archive(project) as archive, archive.read() as conn:
        have = table_columns(conn, "conversations")
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
            where.append(f"c.context_id IN ({slots(len(context_ids))})")
            params.extend(context_ids)
        # An archive made before conversations gained context_id lacks the column.
        context_col = "" if "context_id" in have else " NULL AS context_id,"
        sql, params = filtered(
            f"SELECT c.*,{context_col}"
            " (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) AS message_count"
            " FROM conversations c", where, params,
            newest_first("updated_at", "created_at", alias="c"), limit)
        rows = conn.execute(sql, params).fetchall()
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
    from gitext.records.values import row_limit

    limit = row_limit(limit)
    words = fts.query_words(query)
    if context_ids == [] or not has_archive(project):
        return []
    # LIKE over the folded text finds the candidates (case and accents folded as the index
    # folds them: with SQLite's own ASCII-only folding `cafe` missed "café", QA round 16b: 04);
    # fts.matches_all then keeps those the live index would find: whole words and identifier
    # parts, `log` not in `catalog`.
    tokens = [fts.folded(t) for w in words for t in fts.token_parts(w)]
    hits: list[dict[str, Any]] = []
    with open_archive(project) as archive, archive.read() as conn:
        conn.create_function("aircher_fold", 1, fts.folded, deterministic=True)
        has_context = "context_id" in table_columns(conn, "conversations")
        if context_ids is not None and not has_context:
            return []  # nothing was archived since conversations gained their context
        scope, params = "", []
        if context_ids is not None:
            scope = f" AND c.context_id IN ({slots(len(context_ids))})"
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
