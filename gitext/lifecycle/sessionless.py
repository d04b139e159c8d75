"""Session contexts with no session: doctor's `sessionless_context` finding, and repair's mend.

A session is a `contexts` row of type `session` in knowledge.db and the `sessions` row that
names it in sessions.db (docs/records.md). `session start` commits the first, then writes the
second; killed in between (SIGKILL, the SIGTERM of `timeout` while another writer held
sessions.db) it left the context `active` for good, counted by `context show`, while `session
list` had no such session and doctor said healthy (QA round 25b: 03). No session is resolved
through such a context (the current session is found by its `sessions` row), so nothing could
record into it.

A start under way holds `run/session-start.lock` shared across its two writes: a context is
only called sessionless while that lock is free, and repair holds it exclusive while it mends.
Repair deletes a sessionless context that no row names (a start cut short); one that rows do
name (a sessions.db put back from a backup older than its session) is set inactive, as the
session's end would have, and what was recorded in it stays.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from gitext.lifecycle.dbfiles import ARCHIVE_DB, raw_connect
from gitext.lifecycle.runstate import SESSION_START_LOCK, try_lock, waiting_lock
from gitext.project import Project

if TYPE_CHECKING:
    from gitext.lifecycle.findings import Finding

# Rows that can name a session's context, besides sessions.context_id.
_NAMED_BY = (
    ("knowledge", "contexts", "parent_context_id"),
    ("knowledge", "project_decisions", "context_id"),
    ("knowledge", "success_patterns", "discovered_in_context"),
    ("knowledge", "cross_context_insights", "source_context_id"),
    ("knowledge", "cross_context_insights", "target_context_id"),
    ("knowledge", "context_relationships", "source_context_id"),
    ("knowledge", "context_relationships", "target_context_id"),
    ("knowledge", "context_switches", "from_context_id"),
    ("knowledge", "context_switches", "to_context_id"),
    ("knowledge", "context_relevance_feedback", "context_id"),
    ("conversations", "conversations", "context_id"),
    (ARCHIVE_DB, "conversations", "context_id"),
    ("file_index", "file_access_patterns", "context_id"),
    ("file_index", "file_relevance_scores", "context_id"),
)


def _column(project: Project, db: str, table: str, column: str,
            among: list[str]) -> set[str]:
    """The values of `among` that `table.column` of `db` holds (none when it has no such
    column, or the database is not there)."""
    path = project.layout.db(db)
    if not path.exists() or not among:
        return set()
    conn = raw_connect(path)
    try:
        if column not in {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}:
            return set()
        marks = ",".join("?" * len(among))
        return {str(r[0]) for r in conn.execute(
            f"SELECT DISTINCT {column} FROM {table} WHERE {column} IN ({marks})", among)}
    finally:
        conn.close()


def _sessionless(project: Project) -> list[str]:
    """Ids of active session contexts no `sessions` row names (the lock held by the caller)."""
    conn = raw_connect(project.layout.db("knowledge"))
    try:
        active = [str(r[0]) for r in conn.execute(
            "SELECT id FROM contexts WHERE context_type = 'session' AND status = 'active'"
            " ORDER BY id")]
    finally:
        conn.close()
    named: set[str] = set()
    for start in range(0, len(active), 500):  # within SQLite's parameter limit
        named |= _column(project, "sessions", "sessions", "context_id", active[start:start + 500])
    return [c for c in active if c not in named]


def sessionless(project: Project, sound: set[str]) -> list[str]:
    """Ids of session contexts a start cut short left without their session; none while a
    start holds the lock (its context is there, its session not yet), or when knowledge.db or
    sessions.db is not sound."""
    if not {"knowledge", "sessions"} <= sound:
        return []
    with try_lock(project.layout.run / SESSION_START_LOCK) as free:
        return _sessionless(project) if free else []


def sessionless_findings(project: Project, sound: set[str]) -> list[Finding]:
    from gitext.lifecycle.findings import Finding

    try:
        ids = sessionless(project, sound)
    except (sqlite3.DatabaseError, OSError):
        return []
    if not ids:
        return []
    return [Finding(
        "sessionless_context", "warning", "knowledge",
        f"{len(ids)} session context(s) are active with no session (a `session start` cut"
        f" short): `context show` counts them, `session list` has none (e.g. {ids[0]})",
        "deleted; one that records name is set inactive, as the end of its session would",
    )]


def mend_sessionless(project: Project, *, dry_run: bool = False) -> tuple[int, int]:
    """Delete the sessionless contexts no row names, set the others inactive: (deleted, set
    inactive)."""
    from gitext import clock

    with waiting_lock(project.layout.run / SESSION_START_LOCK, 30.0,
                      "a session start is under way"):
        ids = _sessionless(project)
        named: set[str] = set()
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            for name, table, column in _NAMED_BY:
                named |= _column(project, name, table, column, part)
        gone = [c for c in ids if c not in named]
        kept = [c for c in ids if c in named]
        if dry_run or not ids:
            return len(gone), len(kept)
        db = project.db("knowledge")
        with db.write() as conn:
            db.executemany(conn, "DELETE FROM contexts WHERE id = ?", ((c,) for c in gone))
            db.executemany(conn, "UPDATE contexts SET status = 'inactive', last_active = ?"
                           " WHERE id = ?", ((clock.now(), c) for c in kept))
    return len(gone), len(kept)
