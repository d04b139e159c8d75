"""The spec's cross-context queries: the context chain and what each level holds, and the
insights for a context joined with the names of the contexts involved."""

from __future__ import annotations

import sqlite3
from typing import Any

from gitext import clock
from gitext.contexts import Context
from gitext.errors import UsageError
from gitext.project import Project
from gitext.records import values as v
from gitext.records.current import current_ids
from gitext.records.lookup import family, levels, resolve_context
from gitext.records.preferences import preferences_of

INSIGHT_TYPES = ("pattern_reuse", "similar_solution", "anti_pattern", "best_practice")


def _count(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] | list[Any]) -> int:
    return int(conn.execute(sql, params).fetchone()[0])


def _marks(ids: list[str]) -> str:
    return ",".join("?" * len(ids))


def _holdings(project: Project, ctx: Context) -> dict[str, Any]:
    held: dict[str, Any] = {"preferences": preferences_of(project, ctx)}
    if ctx.context_type == "global":
        with project.db("global").read() as g:
            held["patterns"] = _count(g, "SELECT count(*) FROM success_patterns", ())
        return held
    with project.db("knowledge").read() as k:
        ids = family(k, ctx)
        if ctx.context_type == "project":
            held["decisions"] = _count(
                k, "SELECT count(*) FROM project_decisions WHERE status = 'active'", ())
            held["components"] = _count(k, "SELECT count(*) FROM project_components", ())
            held["documentation_files"] = _count(
                k, "SELECT count(*) FROM documentation_files", ())
            held["worktree_contexts"] = _count(
                k, "SELECT count(*) FROM contexts WHERE parent_context_id = ?", (ctx.id,))
        else:
            held["decisions"] = _count(
                k, f"SELECT count(*) FROM project_decisions WHERE status = 'active' AND"
                f" context_id IN ({_marks(ids)})", ids)
            held["patterns"] = _count(
                k, f"SELECT count(*) FROM success_patterns WHERE discovered_in_context IN"
                f" ({_marks(ids)})", ids)
            held["insights"] = _count(
                k, "SELECT count(*) FROM cross_context_insights WHERE target_context_id = ?",
                (ctx.id,))
            if ctx.context_type == "worktree":
                held["sessions"] = len(ids) - 1
    if ctx.context_type in ("worktree", "session"):
        with project.db("conversations").read() as c:
            held["conversations"] = _count(
                c, f"SELECT count(*) FROM conversations WHERE context_id IN ({_marks(ids)})", ids)
    if ctx.context_type == "session":
        with project.db("sessions").read() as s:
            row = s.execute("SELECT id, task_type, task_description, status FROM sessions"
                            " WHERE context_id = ?", (ctx.id,)).fetchone()
            if row is not None:
                held["session"] = dict(row)
                held["cache_entries"] = _count(
                    s, "SELECT count(*) FROM session_cache WHERE session_id = ? AND"
                    " (expires_at IS NULL OR expires_at > ?)", (row["id"], clock.now()))
    return held


def context_show(project: Project, name: str | None = None) -> dict[str, Any]:
    """The chain global > project > worktree > session of the current (or named) context."""
    from gitext.insights.worktrees import live_branches, shown_status

    ctx = current_ids(project).context if name is None else resolve_context(project, name)
    with project.db("knowledge").read() as conn:
        found = levels(conn, ctx)
    # The branch level's status as `worktree list` gives it: the stored row said `active` for
    # a deleted branch's context that list called `stale` (QA round 25d: 04).
    live = live_branches(project) if any(c.context_type == "worktree" for c in found) else set()

    def status(c: Context) -> str:
        return shown_status(c.status, c.git_branch, live) if c.context_type == "worktree" \
            else c.status

    return {
        "current": ctx.id,
        "levels": [
            {"id": c.id, "context_type": c.context_type, "name": c.name, "status": status(c),
             "git_branch": c.git_branch, "git_commit": c.git_commit,
             "last_active": c.last_active, "holds": _holdings(project, c)}
            for c in found
        ],
    }


def context_insights(
    project: Project,
    *,
    name: str | None = None,
    min_confidence: float = 0.7,
    insight_type: str | None = None,
    limit: int | None = 50,
) -> list[dict[str, Any]]:
    """Insights aimed at the context (or any level above it), confidence > min_confidence,
    best effectiveness first: the spec's query, joined with the contexts' names (`limit` None:
    all)."""
    ctx = current_ids(project).context if name is None else resolve_context(project, name)
    conf = v.fraction(min_confidence, "min_confidence")
    with project.db("knowledge").read() as conn:
        targets = [c.id for c in levels(conn, ctx)]
        sql = (
            "SELECT cci.*, s.name AS source_context, t.name AS target_context"
            " FROM cross_context_insights cci"
            " LEFT JOIN contexts s ON cci.source_context_id = s.id"
            " LEFT JOIN contexts t ON cci.target_context_id = t.id"
            f" WHERE cci.target_context_id IN ({_marks(targets)}) AND cci.confidence_score > ?"
        )
        params: list[Any] = [*targets, conf]
        if insight_type is not None:
            sql += " AND cci.insight_type = ?"
            params.append(v.choice(insight_type, "insight type", INSIGHT_TYPES))
        sql += (" ORDER BY cci.effectiveness_rating DESC NULLS LAST,"
                " cci.confidence_score DESC, cci.created_at DESC, cci.id LIMIT ?")
        # SQLite: a negative LIMIT is none.
        params.append(-1 if limit is None else v.row_limit(limit))
        rows = conn.execute(sql, params).fetchall()
    return [
        {"id": r["id"], "insight_type": r["insight_type"], "description": r["description"],
         "source_context": r["source_context"], "target_context": r["target_context"],
         "source_context_id": r["source_context_id"],
         "target_context_id": r["target_context_id"], "confidence_score": r["confidence_score"],
         "effectiveness_rating": r["effectiveness_rating"], "usage_count": r["usage_count"],
         "evidence": v.load(r["evidence"]), "created_at": r["created_at"]}
        for r in rows
    ]


def rate_insight(project: Project, insight_id: str, rating: float) -> dict[str, Any]:
    """An insight was applied: usage_count + 1, last_applied, effectiveness running mean."""
    score = v.fraction(rating, "rating")
    if score is None:
        # fraction() lets None through for optional fields; here it was stored as a use
        # rated 0.0, which sank the insight in `context insights` (QA round 26c: 04).
        raise UsageError("rating is required")
    with project.db("knowledge").write() as conn:
        row = conn.execute("SELECT usage_count, effectiveness_rating FROM"
                           " cross_context_insights WHERE id = ?", (insight_id,)).fetchone()
        if row is None:
            raise UsageError(f"no insight {insight_id!r}")
        uses = int(row[0] or 0) + 1
        prior = float(row[1]) if row[1] is not None else score
        mean = round(prior + (score - prior) / uses, 4)
        conn.execute("UPDATE cross_context_insights SET usage_count = ?, last_applied = ?,"
                     " effectiveness_rating = ? WHERE id = ?",
                     (uses, clock.now(), mean, insight_id))
    return {"id": insight_id, "usage_count": uses, "effectiveness_rating": mean}
