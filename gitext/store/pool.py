"""One writer per database, a bounded pool of readers.

Across processes SQLite's own lock (with busy_timeout) keeps writers single; inside a process a
lock per database does, so threads of a long-lived API user never interleave transactions.
"""

from __future__ import annotations

import math
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gitext.errors import QueryTimeoutError


def _busy(conn: sqlite3.Connection, exc: sqlite3.OperationalError) -> Exception | None:
    """SQLite's "database is locked", after busy_timeout, as a library error that names the
    file; None for any other failure."""
    if getattr(exc, "sqlite_errorcode", 0) & 0xFF != sqlite3.SQLITE_BUSY:
        return None
    from gitext.errors import StoreBusyError

    path = next((str(r[2]) for r in conn.execute("PRAGMA database_list") if r[1] == "main"), "")
    waited = int(conn.execute("PRAGMA busy_timeout").fetchone()[0]) / 1000
    return StoreBusyError(
        f"{Path(path).name or 'the database'} is busy: another process held its write lock"
        f" for more than {waited:g} s; nothing was written",
        hint="try again; a large record (or the background worker) may hold it for a while"
        " (storage.sqlite.busy_timeout sets how long writers wait)",
    )


# VM instructions between two looks at the clock: a look costs well under a microsecond, these
# steps take some hundred, so the timeout costs nothing a benchmark can see.
_STEPS = 10_000


class _Clock:
    """The deadline of the statement a read connection is running."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.deadline = math.inf
        self.stopped = False

    def start(self, _sql: str) -> None:
        # SQLite's trace hook fires as each statement begins to run, so the limit is per query,
        # not per borrowing of the connection (a search does Python work between its queries).
        self.deadline = time.monotonic() + self.limit

    def check(self) -> int:
        if time.monotonic() > self.deadline:
            self.stopped = True
            return 1  # non-zero: SQLite stops the statement with "interrupted"
        return 0


def _timed_out(conn: sqlite3.Connection, limit: float) -> QueryTimeoutError:
    from gitext.errors import QueryTimeoutError

    name = next((Path(str(r[2])).name for r in conn.execute("PRAGMA database_list")
                 if r[1] == "main"), "") or "the database"
    return QueryTimeoutError(
        f"a read query of {name} ran longer than storage.performance.query_timeout"
        f" ({limit:g} s) and was stopped",
        hint="allow more: `git aircher config set storage.performance.query_timeout 2m`",
    )


class Database:
    def __init__(
        self,
        opener: Callable[[], sqlite3.Connection],
        *,
        pool_size: int = 5,
        max_readers: int = 10,
        batch_size: int = 1000,
        query_timeout: float = 0.0,
    ) -> None:
        """`query_timeout` (seconds; 0 = none) bounds each statement run on a read connection;
        the writer is never interrupted (a slow write beats a lost one)."""
        self._opener = opener
        self._writer: sqlite3.Connection | None = None
        self._write_lock = threading.RLock()
        self._idle: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._pool_size = max(1, pool_size)
        self._readers = threading.BoundedSemaphore(max(1, max_readers))
        self._all: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        self.batch_size = max(1, batch_size)
        self.query_timeout = query_timeout
        self._clocks: dict[sqlite3.Connection, _Clock] = {}

    def _open(self) -> sqlite3.Connection:
        conn = self._opener()
        with self._guard:
            self._all.append(conn)
        return conn

    @property
    def writer(self) -> sqlite3.Connection:
        if self._writer is None:
            self._writer = self._open()
        return self._writer

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One explicit IMMEDIATE transaction: all of it commits, or none."""
        with self._write_lock:
            conn = self.writer
            if conn.in_transaction:  # nested use joins the outer transaction
                yield conn
                return
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                busy = _busy(conn, exc)
                if busy is None:
                    raise
                raise busy from exc
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read connection; a statement on it that runs past `query_timeout` ends the block in
        a QueryTimeoutError, even if the block caught SQLite's "interrupted" itself."""
        with self._readers:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = self._open()
                conn.execute("PRAGMA query_only = ON")
                if self.query_timeout > 0:
                    new = self._clocks[conn] = _Clock(self.query_timeout)
                    conn.set_trace_callback(new.start)
                    conn.set_progress_handler(new.check, _STEPS)
            clock = self._clocks.get(conn)
            late: QueryTimeoutError | None = None
            try:
                yield conn
                if clock is not None and clock.stopped:
                    late = _timed_out(conn, clock.limit)
            except Exception as exc:
                if clock is None or not clock.stopped:
                    raise
                raise _timed_out(conn, clock.limit) from exc
            finally:
                if clock is not None:
                    clock.stopped = False
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if self._idle.qsize() < self._pool_size:
                    self._idle.put(conn)
                else:
                    self._close(conn)
            if late is not None:
                raise late

    def executemany(
        self, conn: sqlite3.Connection, sql: str, rows: Iterable[Sequence[Any] | dict[str, Any]]
    ) -> int:
        """Rows in batches of batch_insert_size, inside the caller's transaction."""
        count = 0
        batch: list[Sequence[Any] | dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= self.batch_size:
                conn.executemany(sql, batch)
                count += len(batch)
                batch.clear()
        if batch:
            conn.executemany(sql, batch)
            count += len(batch)
        return count

    def _close(self, conn: sqlite3.Connection) -> None:
        with self._guard:
            if conn in self._all:
                self._all.remove(conn)
            self._clocks.pop(conn, None)
        conn.close()

    def close(self) -> None:
        with self._guard:
            conns, self._all = self._all, []
            self._clocks = {}
        for conn in conns:
            conn.close()
        self._writer = None
        self._idle = queue.LifoQueue()
