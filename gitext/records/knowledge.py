"""Project knowledge records: project_components, conversation_effectiveness and
context_relevance_feedback (decisions, patterns and documentation have their own modules)."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gitext import clock
from gitext.errors import UsageError
from gitext.ids import derived_id, new_id
from gitext.project import Project
from gitext.records import values as v
from gitext.records.current import require_project_context


@dataclass(frozen=True)
class Component:
    id: str
    project_id: str
    component: str
    type: str
    description: str | None
    confidence: float | None
    evidence: Any
    metadata: Any
    last_updated: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Component:
        return cls(row["id"], row["project_id"], row["component"], row["type"],
                   row["description"], row["confidence"], v.load(row["evidence"]),
                   v.load(row["metadata"]), row["last_updated"])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def upsert_component(
    project: Project,
    component: str,
    type: str,
    *,
    description: str | None = None,
    confidence: float | None = None,
    evidence: Any = None,
    metadata: Any = None,
) -> Component:
    """One row per (project, component, type): recording it again updates the fields given.

    A field left None keeps what is stored, so raising a component's confidence does not erase
    the description and evidence another caller recorded.
    """
    name = v.req_text(component, "component", max_len=1000)
    kind = v.req_text(type, "type", max_len=200)
    description = v.text(description, "description")
    conf = v.fraction(confidence, "confidence")
    proj = require_project_context(project)
    cid = derived_id("component", proj.id, name, kind)
    with project.db("knowledge").write() as conn:
        conn.execute(
            "INSERT INTO project_components (id, project_id, component, type, description,"
            " confidence, evidence, metadata, last_updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(id) DO UPDATE SET"
            " description = coalesce(excluded.description, description),"
            " confidence = coalesce(excluded.confidence, confidence),"
            " evidence = coalesce(excluded.evidence, evidence),"
            " metadata = coalesce(excluded.metadata, metadata),"
            " last_updated = excluded.last_updated",
            (cid, proj.id, name, kind, description, conf, v.dump(evidence, "evidence"),
             v.dump(metadata, "metadata"), clock.now()),
        )
        row = conn.execute("SELECT * FROM project_components WHERE id = ?", (cid,)).fetchone()
    return Component.from_row(row)


def list_components(project: Project, *, type: str | None = None) -> list[Component]:
    sql = "SELECT * FROM project_components"
    params: list[Any] = []
    if type is not None:
        sql += " WHERE type = ?"
        params.append(type)
    sql += " ORDER BY type, component"
    with project.db("knowledge").read() as conn:
        return [Component.from_row(r) for r in conn.execute(sql, params)]


@dataclass(frozen=True)
class Effectiveness:
    id: str
    conversation_id: str | None
    task_type: str | None
    success_score: float | None
    completion_time_minutes: int | None
    tokens_used: int | None
    cost: float | None
    user_satisfaction: int | None
    key_factors: Any
    lessons_learned: str | None
    recorded_at: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Effectiveness:
        return cls(row["id"], row["conversation_id"], row["task_type"], row["success_score"],
                   row["completion_time_minutes"], row["tokens_used"], row["cost"],
                   row["user_satisfaction"], v.load(row["key_factors"]),
                   row["lessons_learned"], row["recorded_at"])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def record_effectiveness(
    project: Project,
    conversation_id: str,
    *,
    success_score: float,
    task_type: str | None = None,
    completion_time_minutes: int | None = None,
    tokens_used: int | None = None,
    cost: float | None = None,
    user_satisfaction: int | None = None,
    key_factors: Any = None,
    lessons_learned: str | None = None,
) -> Effectiveness:
    """How well a conversation went. Tokens, cost and task type default to the conversation's."""
    from gitext.records.conversations import get_conversation

    conv = get_conversation(project, conversation_id)  # the cross-database reference, enforced
    score = v.fraction(success_score, "success_score")
    if score is None:
        raise UsageError("success_score is required")
    minutes = v.integer(completion_time_minutes, "completion_time_minutes")
    tokens = v.count(tokens_used, "tokens_used")
    spent = v.cost(cost, "cost")
    sat = v.integer(user_satisfaction, "user_satisfaction", minimum=1)
    if sat is not None and sat > 5:
        raise UsageError(f"user_satisfaction must be 1 to 5, got {sat}")
    row_id = new_id()
    with project.db("knowledge").write() as conn:
        conn.execute(
            "INSERT INTO conversation_effectiveness (id, conversation_id, task_type,"
            " success_score, completion_time_minutes, tokens_used, cost, user_satisfaction,"
            " key_factors, lessons_learned, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (row_id, conv.id, v.text(task_type, "task_type", max_len=200) or conv.context_type,
             score, minutes, conv.total_tokens if tokens is None else tokens,
             conv.total_cost if spent is None else spent, sat,
             v.dump(key_factors, "key_factors"), v.text(lessons_learned, "lessons_learned"),
             clock.now()),
        )
        row = conn.execute("SELECT * FROM conversation_effectiveness WHERE id = ?",
                           (row_id,)).fetchone()
    return Effectiveness.from_row(row)


def list_effectiveness(
    project: Project, *, conversation_id: str | None = None, limit: int | None = 100
) -> list[Effectiveness]:
    """Newest first; `limit` None means all. `conversation_id` may be a unique prefix, as
    everywhere else a conversation is named."""
    where: list[str] = []
    params: list[Any] = []
    with project.db("knowledge").read() as conn:
        if conversation_id is not None:
            where.append("conversation_id = ?")
            params.append(_rated_conversation(project, conn, conversation_id))
        sql, params = v.filtered("SELECT * FROM conversation_effectiveness", where, params,
                                 v.newest_first("recorded_at"), limit)
        return [Effectiveness.from_row(r) for r in conn.execute(sql, params)]


def _rated_conversation(project: Project, conn: sqlite3.Connection, id_or_prefix: str) -> str:
    """The full id a conversation filter names: one the ratings name (a rated conversation may
    have been archived or deleted since), else a live one, which has none yet."""
    from gitext.records.conversations import LISTED, resolve_id
    from gitext.records.lookup import NoRecord, record_id

    rated = "(SELECT DISTINCT conversation_id AS id FROM conversation_effectiveness)"
    try:
        return record_id(conn, rated, "conversation", id_or_prefix, LISTED)
    except NoRecord:
        with project.db("conversations").read() as convs:
            return resolve_id(convs, id_or_prefix)


@dataclass(frozen=True)
class Feedback:
    id: str
    file_path: str
    conversation_id: str | None
    relevance_score: float | None
    actual_usefulness: float | None
    context_type: str | None
    feedback_source: str | None
    recorded_at: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Feedback:
        return cls(row["id"], row["file_path"], row["conversation_id"], row["relevance_score"],
                   row["actual_usefulness"], row["context_type"], row["feedback_source"],
                   row["recorded_at"])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def record_feedback(
    project: Project,
    file_path: str,
    *,
    actual_usefulness: float | None = None,
    relevance_score: float | None = None,
    conversation_id: str | None = None,
    context_type: str | None = None,
    feedback_source: str = "explicit",
    cwd: Path | None = None,
) -> Feedback:
    """How useful a file was, against how relevant it was scored (context_relevance_feedback).

    ``file_path`` is resolved and checked as `git aircher feedback` does (against ``cwd``, else
    the worktree root; inside the repository; in the file index): stored as typed, a row would
    name a path the relevance scores never match."""
    from gitext.relevance.feedback import indexed_file, mark_dirty

    v.req_text(file_path, "file_path", max_len=4096)
    useful = v.fraction(actual_usefulness, "actual_usefulness")
    scored = v.fraction(relevance_score, "relevance_score")
    path, file_id = indexed_file(project, file_path, cwd)
    if conversation_id is not None:
        from gitext.records.conversations import get_conversation

        conversation_id = get_conversation(project, conversation_id).id
    row_id = new_id()
    with project.db("knowledge").write() as conn:
        conn.execute(
            "INSERT INTO context_relevance_feedback (id, file_path, conversation_id,"
            " relevance_score, actual_usefulness, context_type, feedback_source, recorded_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (row_id, path, conversation_id, scored, useful,
             v.text(context_type, "context_type", max_len=200),
             v.req_text(feedback_source, "feedback_source", max_len=200), clock.now()),
        )
        row = conn.execute("SELECT * FROM context_relevance_feedback WHERE id = ?",
                           (row_id,)).fetchone()
    with project.db("file_index").write() as conn:
        mark_dirty(conn, file_id, row["recorded_at"])
    return Feedback.from_row(row)


def list_feedback(
    project: Project, *, file_path: str | None = None, limit: int | None = 100,
    cwd: Path | None = None,
) -> list[Feedback]:
    """Newest first; `limit` None means all. ``file_path`` is resolved as `record_feedback`
    resolves it (against ``cwd``, else the worktree root; inside the repository), so a path
    that records a row lists it; a file gone from the index still lists its rows."""
    from gitext.relevance.feedback import repo_path

    where: list[str] = []
    params: list[Any] = []
    if file_path is not None:
        where.append("file_path = ?")
        params.append(repo_path(project, file_path, cwd))
    sql, params = v.filtered("SELECT * FROM context_relevance_feedback", where, params,
                             v.newest_first("recorded_at"), limit)
    with project.db("knowledge").read() as conn:
        return [Feedback.from_row(r) for r in conn.execute(sql, params)]
