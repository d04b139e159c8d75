"""Slow-query logging: a sqlite3.Connection subclass that times execute() and logs slow ones.

Cheap enough for the hook path: timing costs two perf_counter() calls per statement; `logging`
is imported only when a statement is actually slow. Wire it in where connections are made:

    sqlite3.connect(path, factory=TimedConnection, ...)
    conn.slow_log = SlowQueryLog(layout, threshold_seconds, "conversations")

What is timed is the call: for a SELECT that is preparing the statement and stepping to its first
row; rows fetched afterwards are not counted (they are usually where little time goes, and
timing each fetch would cost the hot path more than it tells).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from gitext.layout import ProjectLayout

if TYPE_CHECKING:
    from gitext.config import Config

_MAX_SQL = 400

# Set by the background worker: its statements over a large repository take seconds by nature
# (a far checkout's thousands of rows), and nothing the user does would make them faster, so
# they are logged as the worker's and not warned about.
BACKGROUND = False


class SlowQueryLog:
    """Where slow statements of one database go: `<store>/logs/performance.log`."""

    def __init__(self, layout: ProjectLayout, threshold: float, db: str) -> None:
        self.layout = layout
        self.threshold = threshold
        self.db = db

    def record(self, sql: str, params: object, seconds: float) -> None:
        from gitext.lifecycle.logs import get_logger

        text = " ".join(sql.split())
        if len(text) > _MAX_SQL:
            text = text[:_MAX_SQL] + "…"
        from gitext.index.secrets import redact_text

        if isinstance(params, (list, tuple)):
            # Each value cut first (the repr of a 20 MB message took a fifth of a second, inside
            # the writer's transaction), with room for a key that starts within what is shown,
            # then redacted as text (a message or a file's text can hold one; in the repr a
            # line break would be two characters, and a private key's body escape its block),
            # then cut to what is shown.
            params = type(params)(
                redact_text(p[:600])[:200] if isinstance(p, str) else
                p[:200] if isinstance(p, bytes) else p for p in params[:50])
        shown = repr(params)
        if len(shown) > 200:
            shown = shown[:200] + "…"
        shown = redact_text(shown)  # what another kind of value may still hold
        get_logger(self.layout, "performance").warning(
            "slow-query %.3fs db=%s%s sql=%s params=%s", seconds, self.db,
            " by=worker" if BACKGROUND else "", text, shown
        )


class TimedConnection(sqlite3.Connection):
    """A connection whose execute/executemany/executescript report slow statements."""

    slow_log: SlowQueryLog | None = None

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        start = time.perf_counter()
        cur = super().execute(sql, parameters)
        self._check(sql, parameters, start)
        return cur

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> sqlite3.Cursor:
        start = time.perf_counter()
        cur = super().executemany(sql, parameters)
        self._check(sql, "(many)", start)
        return cur

    def executescript(self, sql_script: str, /) -> sqlite3.Cursor:
        start = time.perf_counter()
        cur = super().executescript(sql_script)
        self._check(sql_script, "()", start)
        return cur

    def _check(self, sql: str, params: object, start: float) -> None:
        log = self.slow_log
        if log is None:
            return
        seconds = time.perf_counter() - start
        if seconds >= log.threshold:
            # A full disk or a read-only store must not fail the query itself.
            with contextlib.suppress(OSError):
                log.record(sql, params, seconds)


def timed(
    conn: sqlite3.Connection, sql: str, params: Any, log: SlowQueryLog | None
) -> sqlite3.Cursor:
    """One statement on any connection, logged when slow (for code that cannot use the class)."""
    start = time.perf_counter()
    cur = conn.execute(sql, params)
    if log is not None:
        seconds = time.perf_counter() - start
        if seconds >= log.threshold:
            log.record(sql, params, seconds)
    return cur


def slow_query_log(layout: ProjectLayout, config: Config, db: str) -> SlowQueryLog | None:
    """The SlowQueryLog the config asks for, or None when query_performance_logging is off."""
    if not config.flag("storage.monitoring.query_performance_logging"):
        return None
    return SlowQueryLog(layout, config.seconds("storage.monitoring.slow_query_threshold"), db)
