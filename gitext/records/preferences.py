"""Preferences and settings along the hierarchy: session > worktree > project > global.

Where each level keeps its values:

- session:  the session's `sessions.preferences` JSON object (sessions.db);
- worktree: `user_preferences` rows of sessions.db whose user_id is the branch's worktree
            context id;
- project:  `user_preferences` rows of sessions.db whose user_id is the project context id,
            then the project's config.toml for config keys;
- global:   `user_preferences` rows of global.db whose user_id is the global context id,
            then the global config.toml and the built-in default for config keys.

An AIRCHER_* environment variable still wins for a config key, as it does for `config get`.
`resolve()` is the one function that walks this order; `resolve_preference()` returns its value.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from gitext import clock
from gitext.config_keys import KEYS
from gitext.contexts import Context, worktree_context_id
from gitext.errors import UsageError
from gitext.ids import derived_id
from gitext.project import Project
from gitext.records import values as v
from gitext.records.current import branch_context, require_project_context
from gitext.records.sessions import TOUCH_SQL, Session, active_session, get_session

LEVELS = ("session", "worktree", "project", "global")


@dataclass(frozen=True)
class Resolved:
    key: str
    value: Any
    level: str  # session | worktree | project | global | environment
    source: str  # where the value was read

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Scope:
    project: Context
    branch_id: str
    session: Session | None


def _scope(project: Project, session_id: str | None, branch: str | None) -> _Scope:
    proj = require_project_context(project)
    session = get_session(project, session_id) if session_id else None
    if branch is not None:
        return _Scope(proj, worktree_context_id(proj.id, branch), session)
    if session is not None and session.context_id:
        with project.db("knowledge").read() as conn:
            row = conn.execute(
                "SELECT parent_context_id FROM contexts WHERE id = ?", (session.context_id,)
            ).fetchone()
        if row is not None and row[0]:
            return _Scope(proj, str(row[0]), session)
    ctx, _ = branch_context(project, proj)
    if session is None:
        session = active_session(project)
    return _Scope(proj, ctx.id, session)


def _row_value(project: Project, db: str, owner: str, key: str) -> tuple[bool, Any]:
    with project.db(db).read() as conn:
        row = conn.execute(
            "SELECT preference_value FROM user_preferences WHERE user_id = ? AND"
            " preference_key = ?", (owner, key)
        ).fetchone()
    return (False, None) if row is None else (True, v.load(row[0]))


def resolve(
    project: Project, key: str, *, session_id: str | None = None, branch: str | None = None
) -> Resolved | None:
    """The value of `key` and the level it came from, or None when no level has it.

    Without `session_id` the active session of this worktree (if any) is the session level;
    without `branch` the session's branch, else the branch checked out here.
    """
    key = v.req_text(key, "preference key", max_len=200)
    cfg = project.config
    if key in KEYS and cfg.sources.get(key) == "environment":
        return Resolved(key, cfg.values[key], "environment", "environment")
    scope = _scope(project, session_id, branch)
    session = scope.session
    if session is not None and isinstance(session.preferences, dict) and \
            key in session.preferences:
        return Resolved(key, session.preferences[key], "session",
                        f"sessions.preferences of {session.id}")
    found, value = _row_value(project, "sessions", scope.branch_id, key)
    if found:
        return Resolved(key, value, "worktree", "user_preferences (sessions.db)")
    found, value = _row_value(project, "sessions", scope.project.id, key)
    if found:
        return Resolved(key, value, "project", "user_preferences (sessions.db)")
    if key in KEYS and cfg.sources.get(key) == str(project.layout.config):
        return Resolved(key, cfg.values[key], "project", cfg.sources[key])
    if scope.project.parent_id:
        found, value = _row_value(project, "global", scope.project.parent_id, key)
        if found:
            return Resolved(key, value, "global", "user_preferences (global.db)")
    if key in KEYS:
        return Resolved(key, cfg.values[key], "global", cfg.sources.get(key, "default"))
    return None


def resolve_preference(project: Project, key: str, *, session_id: str | None = None) -> Any:
    """session > worktree > project > global; None when no level sets `key`."""
    found = resolve(project, key, session_id=session_id)
    return None if found is None else found.value


def _owner(project: Project, level: str, session_id: str | None,
           branch: str | None) -> tuple[str, str]:
    """(database, user_id) of a level's user_preferences rows."""
    scope = _scope(project, session_id, branch)
    if level == "worktree":
        return "sessions", scope.branch_id
    if level == "project":
        return "sessions", scope.project.id
    if not scope.project.parent_id:
        raise UsageError("the project context has no global parent", hint="git aircher init")
    return "global", scope.project.parent_id


def _session_for(project: Project, session_id: str | None) -> Session:
    session = get_session(project, session_id) if session_id else active_session(project)
    if session is None:
        raise UsageError("no active session here", hint="give a session id")
    return session


def set_preference(
    project: Project,
    key: str,
    value: Any,
    *,
    level: str = "project",
    session_id: str | None = None,
    branch: str | None = None,
) -> None:
    """Store `value` (JSON) for `key` at one level."""
    key = v.req_text(key, "preference key", max_len=200)
    level = v.choice(level, "level", LEVELS)
    text = v.dump(value, "preference value")
    if level == "session":
        session = _session_for(project, session_id)
        with project.db("sessions").write() as conn:
            row = conn.execute("SELECT preferences FROM sessions WHERE id = ?",
                               (session.id,)).fetchone()
            prefs = v.load(row[0]) if row[0] else {}
            prefs = prefs if isinstance(prefs, dict) else {}
            prefs[key] = value
            conn.execute("UPDATE sessions SET preferences = ? WHERE id = ?",
                         (v.dump(prefs), session.id))
            now = clock.now()
            conn.execute(TOUCH_SQL, (now, session.id, now))
        return
    db, owner = _owner(project, level, session_id, branch)
    with project.db(db).write() as conn:
        conn.execute(
            "INSERT INTO user_preferences (id, user_id, preference_key, preference_value,"
            " updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(user_id, preference_key) DO UPDATE"
            " SET preference_value = excluded.preference_value, updated_at = excluded.updated_at",
            (derived_id("preference", owner, key), owner, key, text, clock.now()),
        )


def unset_preference(
    project: Project,
    key: str,
    *,
    level: str = "project",
    session_id: str | None = None,
    branch: str | None = None,
) -> bool:
    level = v.choice(level, "level", LEVELS)
    if level == "session":
        session = _session_for(project, session_id)
        with project.db("sessions").write() as conn:
            row = conn.execute("SELECT preferences FROM sessions WHERE id = ?",
                               (session.id,)).fetchone()
            prefs = v.load(row[0]) if row[0] else {}
            if not isinstance(prefs, dict) or key not in prefs:
                return False
            del prefs[key]
            conn.execute("UPDATE sessions SET preferences = ? WHERE id = ?",
                         (v.dump(prefs), session.id))
            now = clock.now()
            conn.execute(TOUCH_SQL, (now, session.id, now))
        return True
    db, owner = _owner(project, level, session_id, branch)
    with project.db(db).write() as conn:
        cur = conn.execute(
            "DELETE FROM user_preferences WHERE user_id = ? AND preference_key = ?", (owner, key)
        )
    return cur.rowcount > 0


def preferences_of(project: Project, context: Context) -> dict[str, Any]:
    """The values a context's level holds itself (for `context show`)."""
    if context.context_type == "session":
        with project.db("sessions").read() as conn:
            row = conn.execute("SELECT preferences FROM sessions WHERE context_id = ?",
                               (context.id,)).fetchone()
        prefs = v.load(row[0]) if row is not None and row[0] else {}
        return prefs if isinstance(prefs, dict) else {}
    db = "global" if context.context_type == "global" else "sessions"
    with project.db(db).read() as conn:
        rows = conn.execute(
            "SELECT preference_key, preference_value FROM user_preferences WHERE user_id = ?"
            " ORDER BY preference_key", (context.id,)
        ).fetchall()
    return {r[0]: v.load(r[1]) for r in rows}
