"""session_cache: a session's temporary key/value state with expiry.

An expired entry is never returned, whether or not maintenance has purged it yet;
`purge_expired_cache` is what maintenance runs to delete them.
"""

from __future__ import annotations

from typing import Any

from gitext import clock
from gitext.errors import UsageError
from gitext.ids import derived_id
from gitext.project import Project
from gitext.records import values as v
from gitext.records.sessions import TOUCH_SQL


def cache_set(
    project: Project, session_id: str, key: str, value: Any, *, ttl_seconds: float | None = None
) -> None:
    """Store `value` (JSON) under `key`; with `ttl_seconds` it expires that long from now
    (never, when that is past the year 9999)."""
    key = v.req_text(key, "cache key", max_len=1000)
    ttl = v.number(ttl_seconds, "ttl_seconds", lo=0.0)
    expires = None if ttl is None else clock.later(ttl)
    text = v.dump(value, "cache value")
    now = clock.now()
    with project.db("sessions").write() as conn:
        if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
            raise UsageError(f"no session {session_id!r}")
        conn.execute(
            "INSERT INTO session_cache (id, session_id, cache_key, cache_value, expires_at,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(session_id, cache_key) DO UPDATE"
            " SET cache_value = excluded.cache_value, expires_at = excluded.expires_at,"
            " created_at = excluded.created_at",
            (derived_id("session-cache", session_id, key), session_id, key, text, expires, now),
        )
        conn.execute(TOUCH_SQL, (now, session_id, now))


def cache_get(project: Project, session_id: str, key: str, default: Any = None) -> Any:
    """The value, or `default` when absent or expired."""
    with project.db("sessions").read() as conn:
        row = conn.execute(
            "SELECT cache_value FROM session_cache WHERE session_id = ? AND cache_key = ?"
            " AND (expires_at IS NULL OR expires_at > ?)",
            (session_id, key, clock.now()),
        ).fetchone()
    return default if row is None else v.load(row["cache_value"])


def cache_items(project: Project, session_id: str) -> dict[str, Any]:
    """Every live entry of a session."""
    with project.db("sessions").read() as conn:
        rows = conn.execute(
            "SELECT cache_key, cache_value FROM session_cache WHERE session_id = ?"
            " AND (expires_at IS NULL OR expires_at > ?) ORDER BY cache_key",
            (session_id, clock.now()),
        ).fetchall()
    return {r["cache_key"]: v.load(r["cache_value"]) for r in rows}


def cache_delete(project: Project, session_id: str, key: str) -> bool:
    with project.db("sessions").write() as conn:
        cur = conn.execute(
            "DELETE FROM session_cache WHERE session_id = ? AND cache_key = ?", (session_id, key)
        )
    return cur.rowcount > 0


def purge_expired_cache(project: Project) -> int:
    """Delete expired entries of every session; returns how many (maintenance calls this)."""
    with project.db("sessions").write() as conn:
        cur = conn.execute(
            "DELETE FROM session_cache WHERE expires_at IS NOT NULL AND expires_at <= ?",
            (clock.now(),),
        )
    return cur.rowcount
