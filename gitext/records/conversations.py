"""Conversations: create, read, list, update; and the spec's cross-worktree query.

A conversation takes project_id (the project context), worktree_id (this directory's
`worktrees` row), session_id and context_id (branch or session context) from the current
context unless the caller names them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from gitext import clock
from gitext.errors import UsageError
from gitext.ids import new_id
from gitext.project import Project
from gitext.records import values as v
from gitext.records.current import current_ids
from gitext.records.lookup import record_id, record_id_in
from gitext.records.sessions import touch_session

CONTEXT_TYPES = ("general", "debugging", "feature", "review", "refactor")
STATUSES = ("active", "archived", "closed")


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str | None
    created_at: str
    updated_at: str
    provider: str
    model: str | None
    total_tokens: int
    total_cost: float
    status: str
    project_id: str | None
    worktree_id: str | None
    session_id: str | None
    context_type: str
    metadata: Any
    context_id: str | None
    message_count: int | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Conversation:
        keys = row.keys()
        return cls(
            row["id"], row["title"], row["created_at"], row["updated_at"], row["provider"],
            row["model"], int(row["total_tokens"] or 0), float(row["total_cost"] or 0.0),
            row["status"], row["project_id"], row["worktree_id"], row["session_id"],
            row["context_type"], v.load(row["metadata"]), row["context_id"],
            int(row["message_count"]) if "message_count" in keys else None,
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def start_conversation(
    project: Project,
    provider: str,
    *,
    model: str | None = None,
    title: str | None = None,
    status: str = "active",
    context_type: str = "general",
    metadata: Any = None,
    project_id: str | None = None,
    worktree_id: str | None = None,
    session_id: str | None = None,
    context_id: str | None = None,
) -> Conversation:
    """A new conversation (UUID id) in the current context unless ids are given."""
    provider = v.req_text(provider, "provider", max_len=200)
    model = v.text(model, "model", max_len=200)
    title = v.text(title, "title", max_len=10_000)
    status = v.req_text(status, "status", max_len=40)
    context_type = v.choice(context_type, "context_type", CONTEXT_TYPES)
    meta = v.dump(metadata, "metadata")
    _check_given(project, project_id, worktree_id, session_id, context_id)
    if context_id is None and session_id is not None:
        context_id = _session_context_id(project, session_id)
    if project_id is None or worktree_id is None or context_id is None:
        cur = current_ids(project)
        if context_id is None:
            context_id, session_id = cur.context.id, cur.session_id
        project_id = project_id or cur.project_id
        worktree_id = worktree_id or cur.worktree_id
    cid = new_id()
    now = clock.now()
    with project.db("conversations").write() as conn:
        conn.execute(
            "INSERT INTO conversations (id, title, created_at, updated_at, provider, model,"
            " total_tokens, total_cost, status, project_id, worktree_id, session_id,"
            " context_type, metadata, context_id) VALUES (?, ?, ?, ?, ?, ?, 0, 0.0, ?, ?, ?, ?,"
            " ?, ?, ?)",
            (cid, title, now, now, provider, model, status, project_id, worktree_id, session_id,
             context_type, meta, context_id),
        )
        row = conn.execute("SELECT * FROM conversations WHERE id = ?", (cid,)).fetchone()
    touch_session(project, session_id)
    return Conversation.from_row(row)


def _check_given(project: Project, project_id: str | None, worktree_id: str | None,
                 session_id: str | None, context_id: str | None) -> None:
    """Refuse ids the caller gave that name nothing here, before anything is written: stored
    unchecked, a conversation under an unknown context or worktree was an orphan doctor
    reported, one under an unknown project was in no list at all (`--all` goes by the
    project), and one of session S filed under another context was listed by
    `session show` of that context's session, not of S (QA round 26e: 01). The ids are
    checked as `import_jsonl` and `add_decision` check them; one primary-key lookup each."""
    with project.db("knowledge").read() as conn:
        if project_id is not None:
            row = conn.execute("SELECT context_type FROM contexts WHERE id = ?",
                               (project_id,)).fetchone()
            if row is None or row["context_type"] != "project":
                raise UsageError(f"no project {project_id!r}: project_id must be the project"
                                 " context's id", hint="leave project_id out: the current"
                                 " project's is taken")
        if worktree_id is not None and conn.execute(
                "SELECT 1 FROM worktrees WHERE id = ?", (worktree_id,)).fetchone() is None:
            raise UsageError(f"no worktree {worktree_id!r}",
                             hint="leave worktree_id out: this worktree's is taken")
        if context_id is not None and conn.execute(
                "SELECT 1 FROM contexts WHERE id = ?", (context_id,)).fetchone() is None:
            raise UsageError(f"no context {context_id!r}",
                             hint="`git aircher context show` names the current one")
    if session_id is not None and context_id is not None:
        # A session's records are its context's: `session show` lists that context's.
        own = _session_context_id(project, session_id)
        if own != context_id:
            raise UsageError(f"session {session_id} is not of context {context_id}: its"
                             f" context is {own}",
                             hint="pass session_id alone: its context is taken")


def _session_context_id(project: Project, session_id: str) -> str:
    with project.db("sessions").read() as conn:
        row = conn.execute("SELECT context_id FROM sessions WHERE id = ?", (session_id,)).fetchone()
    if row is None or not row["context_id"]:
        raise UsageError(f"no session {session_id!r}", hint="`git aircher session list`")
    return str(row["context_id"])


LISTED = "`git aircher conversation list --all` shows every conversation"


def resolve_id(conn: sqlite3.Connection, id_or_prefix: str) -> str:
    """A full conversation id from an id or a unique prefix (`lookup.record_id`)."""
    return record_id(conn, "conversations", "conversation", id_or_prefix, LISTED)


def resolve_in(conn: sqlite3.Connection, archive: sqlite3.Connection | None,
               id_or_prefix: str) -> tuple[str, bool]:
    """A full conversation id from an id or a unique prefix among the live conversations and
    the archive's together, and whether only the archive holds it.

    The one resolver of every command taking a conversation: looking in the live table first
    took a prefix shared with an archived conversation as the live one's, without a word,
    where two live ones sharing it were refused (QA round 22d: 03)."""
    cid = record_id_in([conn] if archive is None else [conn, archive], "conversations",
                       "conversation", id_or_prefix, LISTED)
    live = conn.execute("SELECT 1 FROM conversations WHERE id = ?", (cid,)).fetchone()
    return cid, live is None


def live_id(project: Project, conn: sqlite3.Connection, id_or_prefix: str) -> str:
    """`resolve_in` for a live conversation; one the archive holds is named as archived, with
    the command that brings it back: it is in no list, so the usual hint could not find it."""
    row = conn.execute("SELECT id FROM conversations WHERE id = ?", (id_or_prefix,)).fetchone()
    if row is not None:  # a full live id is unique anywhere: no need to open the archive
        return str(row[0])
    from gitext.lifecycle.archive import archive_reader

    with archive_reader(project) as archive:
        cid, archived = resolve_in(conn, archive, id_or_prefix)
    if archived:
        raise UsageError(f"conversation {cid} is archived",
                         hint=f"`git aircher conversation restore {cid}` brings it back")
    return cid


def get_conversation(project: Project, id_or_prefix: str) -> Conversation:
    """A live conversation; an archived one is an error that says so and how to restore it."""
    with project.db("conversations").read() as conn:
        cid = live_id(project, conn, id_or_prefix)
        row = conn.execute(
            "SELECT c.*, (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)"
            " AS message_count FROM conversations c WHERE c.id = ?",
            (cid,),
        ).fetchone()
    return Conversation.from_row(row)


def list_conversations(
    project: Project,
    *,
    context_ids: Sequence[str] | None = None,
    context_type: str | None = None,
    provider: str | None = None,
    status: str | None = None,
    limit: int | None = 50,
) -> list[Conversation]:
    """Newest first; `context_ids` None means every context."""
    where: list[str] = []
    params: list[Any] = []
    if context_ids is not None:
        if not context_ids:
            return []
        where.append(f"c.context_id IN ({','.join('?' * len(context_ids))})")
        params.extend(context_ids)
    if context_type is not None:
        where.append("c.context_type = ?")
        params.append(v.choice(context_type, "context_type", CONTEXT_TYPES))
    if provider is not None:
        where.append("c.provider = ?")
        params.append(provider)
    if status is not None:
        where.append("c.status = ?")
        params.append(status)
    sql, params = v.filtered(
        "SELECT c.*, (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)"
        " AS message_count FROM conversations c", where, params,
        v.newest_first("updated_at", "created_at", alias="c"), limit)
    with project.db("conversations").read() as conn:
        rows = conn.execute(sql, params).fetchall()
    return [Conversation.from_row(r) for r in rows]


def update_conversation(
    project: Project,
    conversation_id: str,
    *,
    title: str | None = None,
    status: str | None = None,
    metadata: Any = None,
) -> Conversation:
    """Change title, status or metadata (only those given); updated_at moves."""
    sets: list[str] = ["updated_at = ?"]
    params: list[Any] = [clock.now()]
    if title is not None:
        sets.append("title = ?")
        params.append(v.text(title, "title", max_len=10_000))
    if status is not None:
        sets.append("status = ?")
        params.append(v.req_text(status, "status", max_len=40))
    if metadata is not None:
        sets.append("metadata = ?")
        params.append(v.dump(metadata, "metadata"))
    with project.db("conversations").write() as conn:
        cid = live_id(project, conn, conversation_id)
        conn.execute(f"UPDATE conversations SET {', '.join(sets)} WHERE id = ?", (*params, cid))
    return get_conversation(project, cid)


def delete_conversation(project: Project, conversation_id: str) -> None:
    """The conversation, its messages, attachments rows and compaction history (cascade), then
    the attachment files no other message refers to."""
    from gitext.records.attachments import release

    db = project.db("conversations")
    with db.write() as conn:
        cid = live_id(project, conn, conversation_id)
        hashes = [str(r[0]) for r in conn.execute(
            "SELECT DISTINCT a.content_hash FROM message_attachments a JOIN messages m"
            " ON m.id = a.message_id WHERE m.conversation_id = ? AND a.content_hash IS NOT NULL",
            (cid,))]
        conn.execute("DELETE FROM conversations WHERE id = ?", (cid,))
    if hashes:
        # Once the rows are gone, under the write lock again: no writer adds a reference to
        # one of these files while it is judged unreferenced and removed.
        with db.write() as conn:
            release(project, conn, hashes)


def known_statuses(project: Project) -> list[str]:
    """The statuses a conversation can be found by: the library's own, then any other an agent
    gave (`start_conversation` and `update_conversation` take any text)."""
    with project.db("conversations").read() as conn:
        found = [str(r[0]) for r in conn.execute(
            "SELECT DISTINCT status FROM conversations WHERE status IS NOT NULL ORDER BY 1")]
    return [*STATUSES, *(s for s in found if s not in STATUSES)]


def check_status(project: Project, status: str) -> str:
    """`status` when some conversation could have it; else a UsageError naming those that can,
    as an unknown status of `session list` is refused rather than answered with nothing."""
    known = known_statuses(project)
    if status not in known:
        raise UsageError(f"unknown conversation status {status!r}",
                         hint=f"statuses: {', '.join(known)}")
    return status


def conversations_across_worktrees(
    project: Project, *, context_type: str | None = None, provider: str | None = None,
    status: str | None = None, limit: int | None = 200,
) -> list[dict[str, Any]]:
    """The spec's query: the project's conversations of every worktree, with branch and path.

    conversations.db and knowledge.db are separate files; the join is done here rather than
    by ATTACHing one to a pooled connection.
    """
    proj_id, place = worktree_places(project)
    sql = ("SELECT c.*, (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)"
           " AS message_count FROM conversations c WHERE c.project_id = ?")
    params: list[Any] = [proj_id]
    if context_type is not None:
        sql += " AND c.context_type = ?"
        params.append(v.choice(context_type, "context_type", CONTEXT_TYPES))
    # Filtered here, not after: `list --all --limit 5` read and built every conversation.
    for col, value in (("provider", provider), ("status", status)):
        if value is not None:
            sql += f" AND c.{col} = ?"
            params.append(value)
    sql += " ORDER BY " + v.newest_first("updated_at", "created_at", alias="c")
    if limit is not None:
        sql += " LIMIT ?"
        params.append(v.row_limit(limit))
    with project.db("conversations").read() as conn:
        rows = conn.execute(sql, params).fetchall()
    return [place(Conversation.from_row(row).to_json()) for row in rows]


def worktree_places(
    project: Project,
) -> tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]:
    """The project context's id, and what adds `branch_name`, `worktree_path` and
    `context_name` to a conversation's JSON (an archived one's too)."""
    from gitext.records.current import require_project_context

    proj = require_project_context(project)
    with project.db("knowledge").read() as kconn:
        trees = {
            r["id"]: (r["branch_name"], r["worktree_path"])
            for r in kconn.execute(
                "SELECT id, branch_name, worktree_path FROM worktrees WHERE project_id = ?",
                (proj.id,),
            )
        }
        names = {r["id"]: r["name"] for r in kconn.execute("SELECT id, name FROM contexts")}

    def place(item: dict[str, Any]) -> dict[str, Any]:
        branch, path = trees.get(item["worktree_id"], (None, None))
        item.update(branch_name=branch, worktree_path=path,
                    context_name=names.get(item["context_id"]))
        return item

    return proj.id, place
