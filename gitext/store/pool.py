"""One writer per database, a bounded pool of readers.

Across processes SQLite's own lock (with busy_timeout) keeps writers single; inside a process a
lock per database does, so threads of a long-lived API user never interleave transactions.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any


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


class Database:
    def __init__(
        self,
        opener: Callable[[], sqlite3.Connection],
        *,
        pool_size: int = 5,
        max_readers: int = 10,
        batch_size: int = 1000,
    ) -> None:
        self._opener = opener
        self._writer: sqlite3.Connection | None = None
        self._write_lock = threading.RLock()
        self._idle: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._pool_size = max(1, pool_size)
        self._readers = threading.BoundedSemaphore(max(1, max_readers))
        self._all: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        self.batch_size = max(1, batch_size)

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
        with self._readers:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = self._open()
                conn.execute("PRAGMA query_only = ON")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if self._idle.qsize() < self._pool_size:
                    self._idle.put(conn)
                else:
                    self._close(conn)

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
        conn.close()

    def close(self) -> None:
        with self._guard:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._writer = None
        self._idle = queue.LifoQueue()
