"""Sessions: a task's context under the branch's worktree context, and its temporary cache.

A session is three things kept together: a `contexts` row of type 'session' (knowledge.db)
whose parent is the branch's worktree context, a `sessions` row (sessions.db), and the folder
`.agents/sessions/<id>/` with a marker `.agents/sessions/active/<id>` while it is active (for
tools that read files). knowledge.db and sessions.db are separate files, so a failure between
the two writes is undone by hand; `doctor` reports any orphan left by a crash.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from gitext import clock
from gitext.contexts import Context
from gitext.errors import UsageError
from gitext.ids import new_id
from gitext.project import Project
from gitext.records import values as v
from gitext.records.current import branch_context, require_project_context, session_here
from gitext.records.lookup import record_id

TASK_TYPES = ("debugging", "feature", "review", "refactor", "maintenance")
STATUSES = ("active", "inactive", "expired")


@dataclass(frozen=True)
class Session:
    id: str
    user_id: str | None
    started_at: str
    last_activity: str
    status: str
    project_path: str | None
    working_directory: str | None
    preferences: dict[str, Any]
    context_id: str | None
    project_id: str | None
    worktree_id: str | None
    task_type: str | None
    task_description: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Session:
        return cls(
            row["id"], row["user_id"], row["started_at"], row["last_activity"], row["status"],
            row["project_path"], row["working_directory"], _preferences(row["preferences"]),
            row["context_id"], row["project_id"], row["worktree_id"], row["task_type"],
            row["task_description"],
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _preferences(stored: str | None) -> dict[str, Any]:
    """A session's preferences, `{}` for none: NULL (started without any) and `{}` (one set
    and unset) were `null` and `{}` in the JSON, one field with two shapes for "none" (QA
    round 25d: 05)."""
    prefs = v.load(stored) if stored else None
    return prefs if isinstance(prefs, dict) else {}


def session_context_name(session_id: str) -> str:
    return f"session-{session_id[:8]}"


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", "utf-8")
    os.replace(tmp, path)


def start_session(
    project: Project,
    task_type: str,
    description: str | None = None,
    *,
    user_id: str | None = None,
    preferences: Mapping[str, Any] | None = None,
    environment: Mapping[str, str] | None = None,
    working_directory: Path | None = None,
) -> Session:
    """A new active session on the current branch of this worktree."""
    task_type = v.choice(task_type, "task_type", TASK_TYPES)
    description = v.text(description, "task_description", max_len=10_000)
    prefs = v.dump(dict(preferences) if preferences is not None else None, "preferences")
    env = v.dump(dict(environment) if environment is not None else None, "environment")
    if user_id is None:
        from gitext.contexts import user_name

        user_id = user_name()
    proj = require_project_context(project)
    branch, wid = branch_context(project, proj)
    sid = new_id()
    now = clock.now()
    ctx_id = new_id()
    from gitext.lifecycle.runstate import session_starting

    # Two databases, two commits: a start killed between them (SIGKILL, `timeout`'s SIGTERM)
    # leaves the context alone, which doctor finds and repair deletes while no start holds
    # this lock (gitext/lifecycle/sessionless.py; QA round 25b: 03).
    with session_starting(project.layout):
        with project.db("knowledge").write() as kconn:
            kconn.execute(
                "INSERT INTO contexts (id, context_type, parent_context_id, name, path,"
                " git_branch, git_commit, created_at, last_active, status, metadata) VALUES"
                " (?, 'session', ?, ?, ?, ?, ?, ?, ?, 'active', ?)",
                (ctx_id, branch.id, session_context_name(sid), str(project.repo.root),
                 branch.git_branch, branch.git_commit, now, now,
                 json.dumps({"session_id": sid, "task_type": task_type})),
            )
        try:
            with project.db("sessions").write() as sconn:
                sconn.execute(
                    "INSERT INTO sessions (id, user_id, started_at, last_activity, status,"
                    " project_path, working_directory, environment_variables, preferences,"
                    " context_id, project_id, worktree_id, task_type, task_description)"
                    " VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (sid, user_id, now, now, str(project.repo.info.main_root),
                     str(working_directory or project.repo.root), env, prefs, ctx_id, proj.id,
                     wid, task_type, description),
                )
                row = sconn.execute("SELECT * FROM sessions WHERE id = ?", (sid,)).fetchone()
        except BaseException:
            with project.db("knowledge").write() as kconn:
                kconn.execute("DELETE FROM contexts WHERE id = ?", (ctx_id,))
            raise
    session = Session.from_row(row)
    folder = project.layout.sessions / sid
    folder.mkdir(parents=True, exist_ok=True)
    info = {"session_id": sid, "context_id": ctx_id, "branch": branch.git_branch,
            "worktree": str(project.repo.root), "task_type": task_type,
            "task_description": description, "started_at": now}
    _write_json(folder / "session.json", info)
    active = project.layout.sessions / "active"
    active.mkdir(parents=True, exist_ok=True)
    _write_json(active / sid, info)
    project.own_session = sid
    return session


def resolve_session_id(conn: sqlite3.Connection, id_or_prefix: str) -> str:
    return record_id(conn, "sessions", "session", id_or_prefix,
                     "`git aircher session list` shows them")


def get_session(project: Project, id_or_prefix: str) -> Session:
    with project.db("sessions").read() as conn:
        sid = resolve_session_id(conn, id_or_prefix)
        row = conn.execute("SELECT * FROM sessions WHERE id = ?", (sid,)).fetchone()
    return Session.from_row(row)


def active_session(project: Project) -> Session | None:
    """The session current_context() would use: active, this worktree, this branch."""
    proj = require_project_context(project)
    branch, wid = branch_context(project, proj)
    found = session_here(project, wid, branch.id)
    return None if found is None else get_session(project, found[0])


def worktree_session(project: Project) -> Session | None:
    """What `session end` and `session show` take without an id: the session records land in
    (`active_session`), else this worktree's own or newest active session started on another
    branch. An agent that starts a session and then makes its branch (`git switch -c fix`)
    still has that session here; "no active session in this worktree" was false then."""
    found = active_session(project)
    if found is not None:
        return found
    _, wid = branch_context(project, require_project_context(project))
    with project.db("sessions").read() as conn:
        ids = [str(r[0]) for r in conn.execute(
            "SELECT id FROM sessions WHERE status = 'active' AND worktree_id = ?"
            " ORDER BY " + v.newest_first("started_at"), (wid,))]
    if not ids:
        return None
    return get_session(project, project.own_session if project.own_session in ids else ids[0])


def _end(project: Project, session: Session) -> None:
    """End `session` if it is still active; the time it ended is its context's `last_active`.

    Ending one is the user's act, so it is the session's last activity too; expiring one is
    not (`expire_sessions`). The status is checked in the UPDATE itself: checked on a read
    before, several concurrent ends of one session were each told "ended", each rewriting its
    times, and an end overwrote an `expired` maintenance had just written (QA round 25d: 08).
    """
    now = clock.now()
    with project.db("sessions").write() as sconn:
        ended = sconn.execute(
            "UPDATE sessions SET status = 'inactive', last_activity = ? WHERE id = ?"
            " AND status = 'active' RETURNING id", (now, session.id)).fetchone()
        if ended is None:
            row = sconn.execute("SELECT status FROM sessions WHERE id = ?",
                                (session.id,)).fetchone()
            raise UsageError(f"session {session.id} is already "
                             f"{row[0] if row is not None else 'gone'}")
    _release(project, session, now)


def _release(project: Project, session: Session, now: str) -> None:
    """What an ended session leaves behind: its context inactive, its active marker gone."""
    if session.context_id:
        with project.db("knowledge").write() as kconn:
            kconn.execute(
                "UPDATE contexts SET status = 'inactive', last_active = ? WHERE id = ?",
                (now, session.context_id),
            )
    (project.layout.sessions / "active" / session.id).unlink(missing_ok=True)


def end_session(project: Project, session_id: str | None = None) -> Session:
    """Mark a session (default: this worktree's, `worktree_session`) inactive and drop its
    active marker."""
    if session_id is None:
        found = worktree_session(project)
        if found is None:
            raise UsageError("no active session in this worktree",
                             hint="give a session id; `git aircher session list` shows them")
        session = found
    else:
        session = get_session(project, session_id)
    if session.status != "active":
        raise UsageError(f"session {session.id} is already {session.status}")
    _end(project, session)
    if project.own_session == session.id:
        project.own_session = None
    return get_session(project, session.id)


# What `session_expire_after` measures: a record written into a session (a conversation, a
# message, a compaction, a cache entry, a session preference, a pattern found in it) is
# activity, else every session expired that long after it started, mid-work.
# Within the same second (timestamps have whole seconds) it changes nothing, so a burst of
# messages writes the row once.
TOUCH_SQL = ("UPDATE sessions SET last_activity = ? WHERE id = ? AND status = 'active'"
             " AND last_activity IS NOT ?")


def touch_session(project: Project, session_id: str | None) -> None:
    """Mark an active session as used now (one primary-key UPDATE; nothing for no session, or
    one already ended or expired: recording into it does not bring it back)."""
    if session_id is None:
        return
    now = clock.now()
    with project.db("sessions").write() as sconn:
        sconn.execute(TOUCH_SQL, (now, session_id, now))


# A session's records that carry their time: what `last_activity` cannot be older than.
# Versions before 5cdfc76 never moved `last_activity` when they recorded into a session, and an
# upgrade keeps what they wrote, so a session in use when the new version took over looked idle
# since it started and the first daily tier expired it mid-work (QA round 20a: 01). Whatever
# wrote the rows, idleness is judged on the newest of these. Session preferences and patterns
# found in a session carry no time of their own and cannot count here.
_RECORDED_CONVERSATIONS = (
    "SELECT c.session_id, max(max(coalesce(c.created_at, ''), coalesce(c.updated_at, ''),"
    " coalesce((SELECT max(m.timestamp) FROM messages m WHERE m.conversation_id = c.id), ''),"
    " coalesce((SELECT max(h.performed_at) FROM compaction_history h"
    " WHERE h.conversation_id = c.id), '')))"
    " FROM conversations c WHERE c.session_id IN ({ids}) GROUP BY c.session_id"
)
_RECORDED_CACHE = ("SELECT session_id, max(created_at) FROM session_cache"
                   " WHERE session_id IN ({ids}) GROUP BY session_id")
# Only ever forward, and only for a session still active: an ended one's last activity is its end.
CATCH_UP_SQL = ("UPDATE sessions SET last_activity = ? WHERE id = ? AND status = 'active'"
                " AND (last_activity IS NULL OR last_activity < ?)")
_CHUNK = 500  # ids per IN list, well below SQLite's limit on parameters


def recorded_activity(project: Project, session_ids: Sequence[str]) -> dict[str, str]:
    """The newest time written into each session's records (its conversations, their messages
    and compactions, its cache entries), by session id; sessions with none are left out.

    A time after now is no evidence of activity (a clock that was wrong, an import from
    elsewhere): it would keep a session alive until then, so it is not taken.
    """
    now = clock.now()
    newest: dict[str, str] = {}
    for db, sql in (("conversations", _RECORDED_CONVERSATIONS), ("sessions", _RECORDED_CACHE)):
        with project.db(db).read() as conn:
            for start in range(0, len(session_ids), _CHUNK):
                chunk = list(session_ids[start:start + _CHUNK])
                query = sql.format(ids=",".join("?" * len(chunk)))
                for sid, when in conn.execute(query, chunk):
                    when = str(when or "")[:19]
                    if when and when <= now and when > newest.get(sid, ""):
                        newest[str(sid)] = when
    return newest


def with_recorded_activity(project: Project, sessions: list[Session]) -> list[Session]:
    """Active sessions as `session list` and `session show` show them: last activity no older
    than their records (see `recorded_activity`), without writing (a listing is a read)."""
    active = [s.id for s in sessions if s.status == "active"]
    newest = recorded_activity(project, active) if active else {}
    return [replace(s, last_activity=newest[s.id])
            if s.id in newest and newest[s.id] > (s.last_activity or "") else s
            for s in sessions]


def _stale_sessions(project: Project, cutoff: str) -> list[str]:
    with project.db("sessions").read() as conn:
        return [str(r[0]) for r in conn.execute(
            "SELECT id FROM sessions WHERE status = 'active' AND last_activity < ?", (cutoff,))]


def count_idle_sessions(project: Project, idle_seconds: float) -> int:
    """What `expire_sessions` would expire now (maintenance's dry run)."""
    cutoff = clock.ago(idle_seconds)
    stale = _stale_sessions(project, cutoff)
    newest = recorded_activity(project, stale) if stale else {}
    return sum(1 for sid in stale if newest.get(sid, "") < cutoff)


def expire_sessions(project: Project, idle_seconds: float) -> int:
    """Active sessions idle longer than `idle_seconds` become 'expired' (maintenance).

    A candidate's `last_activity` is first brought up to its newest record
    (`recorded_activity`): rows written by an older version never moved it. That and the
    expiry are one write transaction, and one statement finds and expires them: read first and
    updated after, a session touched in between (a message recorded into it) was expired
    though active. Expiry is not activity: `last_activity` stays the last record written into
    it, so the idle time that expired it stays knowable and `session list` shows no activity
    nobody had.

    A `last_activity` more than clock.AHEAD_SLACK after now was written while the clock was
    ahead (a VM started with a wrong date): trusted, it kept the session alive until real time
    reached it (QA round 21a: 02). It is brought down to now, written back, so the session
    expires `idle_seconds` after the first run that saw it (when the clock was put right
    cannot be known); its records dated after now already count for nothing.
    """
    cutoff = clock.ago(idle_seconds)
    now = clock.now()
    ahead = clock.later(clock.AHEAD_SLACK)
    stale = _stale_sessions(project, cutoff)
    newest = recorded_activity(project, stale) if stale else {}
    with project.db("sessions").write() as conn:
        if ahead is not None:
            conn.execute("UPDATE sessions SET last_activity = ? WHERE status = 'active'"
                         " AND last_activity > ?", (now, ahead))
        conn.executemany(CATCH_UP_SQL, [(when, sid, when) for sid, when in newest.items()])
        rows = conn.execute(
            "UPDATE sessions SET status = 'expired' WHERE status = 'active'"
            " AND last_activity < ? RETURNING *", (cutoff,)
        ).fetchall()
    for row in rows:
        _release(project, Session.from_row(row), now)
    return len(rows)


def list_sessions(
    project: Project,
    *,
    status: str | None = None,
    context_ids: list[str] | None = None,
    limit: int | None = 50,
) -> list[Session]:
    """Newest first; `context_ids` restricts to sessions under those branch contexts."""
    where: list[str] = []
    params: list[Any] = []
    if status is not None:
        where.append("status = ?")
        params.append(v.choice(status, "status", STATUSES))
    if context_ids is not None:
        with project.db("knowledge").read() as kconn:
            marks = ",".join("?" * len(context_ids))
            ids = [r[0] for r in kconn.execute(
                f"SELECT id FROM contexts WHERE context_type = 'session' AND"
                f" (parent_context_id IN ({marks}) OR id IN ({marks}))",
                [*context_ids, *context_ids])] if context_ids else []
        if not ids:
            return []
        where.append(f"context_id IN ({','.join('?' * len(ids))})")
        params.extend(ids)
    sql, params = v.filtered("SELECT * FROM sessions", where, params, v.newest_first("started_at"),
                             limit)
    with project.db("sessions").read() as conn:
        rows = conn.execute(sql, params).fetchall()
    return with_recorded_activity(project, [Session.from_row(r) for r in rows])


def session_context(project: Project, session: Session) -> Context | None:
    if not session.context_id:
        return None
    with project.db("knowledge").read() as conn:
        row = conn.execute("SELECT * FROM contexts WHERE id = ?", (session.context_id,)).fetchone()
    return None if row is None else Context.from_row(row)
