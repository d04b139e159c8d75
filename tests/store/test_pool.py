from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from gitext.store.connection import Pragmas, open_database
from gitext.store.pool import Database


def make(tmp_path: Path, **kw: int) -> Database:
    path = tmp_path / "s.db"
    return Database(lambda: open_database(path, "sessions", Pragmas()), **kw)


def test_write_is_all_or_nothing(tmp_path: Path) -> None:
    db = make(tmp_path)
    with pytest.raises(sqlite3.IntegrityError), db.write() as conn:
        conn.execute("INSERT INTO sessions (id) VALUES ('a')")
        conn.execute("INSERT INTO sessions (id) VALUES ('a')")
    with db.read() as conn:
        assert conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0


def test_readers_are_read_only_and_pooled(tmp_path: Path) -> None:
    db = make(tmp_path, pool_size=2, max_readers=3)
    with db.read() as a, db.read() as b:
        assert a is not b
        with pytest.raises(sqlite3.OperationalError):
            a.execute("INSERT INTO sessions (id) VALUES ('x')")
    with db.read() as c:
        assert c in (a, b)  # returned to the pool and reused


def test_executemany_batches_inside_one_transaction(tmp_path: Path) -> None:
    db = make(tmp_path, batch_size=7)
    with db.write() as conn:
        n = db.executemany(conn, "INSERT INTO sessions (id) VALUES (?)",
                           ((f"s{i}",) for i in range(50)))
    assert n == 50
    with db.read() as conn:
        assert conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 50


def test_threads_never_interleave_transactions(tmp_path: Path) -> None:
    db = make(tmp_path)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(20):
                with db.write() as conn:
                    conn.execute("INSERT INTO sessions (id) VALUES (?)", (f"{k}-{i}",))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with db.read() as conn:
        assert conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 80
