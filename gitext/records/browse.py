"""What `git aircher conversation list|show|search` read: conversations per branch (the branch
context and its sessions), one conversation in full, and search within a scope."""

from __future__ import annotations

from typing import Any

from gitext.lifecycle.archive_search import list_archived, search_archived
from gitext.project import Project
from gitext.records.compaction import list_compactions
from gitext.records.conversations import (
    check_status,
    conversations_across_worktrees,
    get_conversation,
    list_conversations,
    worktree_places,
)
from gitext.records.current import current_ids
from gitext.records.fts import search_messages
from gitext.records.lookup import branch_of, family, resolve_context
from gitext.records.messages import list_messages
from gitext.records.values import row_limit


def scope_ids(project: Project, context: str | None) -> list[str]:
    """The context ids a branch's records live in: the named (or current) branch context and
    its sessions. A session name narrows to that session."""
    if context is None:
        ctx = current_ids(project).branch_context
    else:
        ctx = resolve_context(project, context)
    with project.db("knowledge").read() as conn:
        if ctx.context_type == "session":
            return [ctx.id]
        if ctx.context_type != "worktree":
            ctx = branch_of(conn, ctx) or ctx
        return family(conn, ctx)


def browse_conversations(
    project: Project,
    *,
    context: str | None = None,
    all_contexts: bool = False,
    context_type: str | None = None,
    provider: str | None = None,
    status: str | None = None,
    limit: int | None = 50,
) -> list[dict[str, Any]]:
    """Newest first: the current branch's (or `context`'s), or with `all_contexts` every
    worktree's, each with its branch and worktree path (the spec's cross-worktree query);
    `limit` None: all. Status `archived` includes those the retention policy moved to the
    archive (each with its `archived_at`); a status no conversation can have is an error."""
    if status is not None:
        check_status(project, status)
    if limit is not None:
        limit = row_limit(limit)
    # Each store gives its first `limit` only: the first `limit` of both in one order are
    # among them. Before, every conversation was read and built, then cut (QA round 26f: 03).
    if all_contexts:
        proj_id, place = worktree_places(project)
        rows = conversations_across_worktrees(project, context_type=context_type,
                                              provider=provider, status=status, limit=limit)
        if status == "archived":
            rows = _newest_first(rows + [place(r) for r in list_archived(
                project, project_id=proj_id, context_type=context_type, provider=provider,
                limit=limit)])
        return rows if limit is None else rows[:limit]
    ids = scope_ids(project, context)
    with project.db("knowledge").read() as conn:
        names = {r[0]: r[1] for r in conn.execute(
            f"SELECT id, name FROM contexts WHERE id IN ({','.join('?' * len(ids))})", ids)}
    found = [conv.to_json() for conv in list_conversations(
        project, context_ids=ids, context_type=context_type, provider=provider, status=status,
        limit=limit)]
    if status == "archived":
        found = _newest_first(found + list_archived(
            project, context_ids=ids, context_type=context_type, provider=provider,
            limit=limit))
        found = found if limit is None else found[:limit]
    for item in found:
        item["context_name"] = names.get(item["context_id"] or "")
    return found


def _newest_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Live and archived rows in one order, as list_conversations orders live ones: a stable
    sort, so rows of one second stay in the order each store listed them (the later
    insertion first); rowids of two stores do not compare."""
    rows.sort(key=lambda r: (r["updated_at"] or "", r["created_at"] or ""), reverse=True)
    return rows


def conversation_detail(project: Project, conversation_id: str) -> dict[str, Any]:
    """A conversation with its messages (and their attachments) and compaction history."""
    conv = get_conversation(project, conversation_id)
    data = conv.to_json()
    data["messages"] = [m.to_json() for m in list_messages(project, conv.id)]
    data["compactions"] = [c.to_json() for c in list_compactions(project, conv.id)]
    return data


def search_scope(
    project: Project,
    query: str,
    *,
    context: str | None = None,
    role: str | None = None,
    limit: int = 20,
    archived: bool = False,
) -> list[dict[str, Any]]:
    """Full-text search over every conversation, or over one branch's (or session's); with
    `archived`, over the archive's, in the same shape (and `archived_at`)."""
    ids = None if context is None else scope_ids(project, context)
    if archived:
        return search_archived(project, query, limit, context_ids=ids, role=role)
    return [h.to_json() for h in
            search_messages(project, query, context_ids=ids, role=role, limit=limit)]


def browse_sessions(
    project: Project, *, status: str | None = None, context: str | None = None,
    limit: int | None = 50,
) -> list[dict[str, Any]]:
    """Sessions newest first, each with the branch it was started on (`limit` None: all)."""
    from gitext.records.sessions import list_sessions

    ids = None if context is None else scope_ids(project, context)
    found = list_sessions(project, status=status, context_ids=ids, limit=limit)
    with project.db("knowledge").read() as conn:
        branches = {r[0]: r[1] for r in conn.execute(
            "SELECT id, git_branch FROM contexts WHERE context_type = 'session'")}
    return [{**s.to_json(), "branch": branches.get(s.context_id or "")} for s in found]


def session_detail(project: Project, session_id: str | None = None) -> dict[str, Any]:
    """A session (default: this worktree's, `worktree_session`) with its conversations and
    live cache."""
    from gitext.errors import UsageError
    from gitext.records.session_cache import cache_items
    from gitext.records.sessions import get_session, with_recorded_activity, worktree_session

    found = get_session(project, session_id) if session_id else worktree_session(project)
    if found is None:
        raise UsageError("no active session in this worktree",
                         hint="give a session id; `git aircher session list` shows them")
    session = with_recorded_activity(project, [found])[0]
    data = session.to_json()
    with project.db("knowledge").read() as conn:
        row = conn.execute("SELECT git_branch FROM contexts WHERE id = ?",
                           (session.context_id,)).fetchone()
    data["branch"] = row[0] if row is not None else None
    convs = list_conversations(project, context_ids=[session.context_id or ""], limit=None)
    data["conversations"] = [c.to_json() for c in convs]
    data["cache"] = cache_items(project, session.id)
    return data


def browse_decisions(
    project: Project,
    *,
    status: str | None = "active",
    context: str | None = None,
    decision_type: str | None = None,
) -> list[dict[str, Any]]:
    """Decisions newest first, each with the name of the context it was made in."""
    from gitext.records.decisions import list_decisions

    ids = None if context is None else scope_ids(project, context)
    found = list_decisions(project, status=status, context_ids=ids,
                           decision_type=decision_type, limit=None)
    with project.db("knowledge").read() as conn:
        names = {r[0]: r[1] for r in conn.execute("SELECT id, name FROM contexts")}
    return [{**d.to_json(), "context_name": names.get(d.context_id or "")} for d in found]
