"""storage.performance.query_timeout: a read query running past it is stopped (QA round 13b:
05); writes never are, nor the background worker's reads, which feed its writes."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from gitext.errors import QueryTimeoutError
from gitext.store.connection import Pragmas, open_database
from gitext.store.pool import Database
from tests.conftest import open_project

# Millions of VM steps: a good part of a second, far past the 20 ms allowed below.
LONG = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500000)"
        " SELECT count(*) FROM c")


def make(tmp_path: Path, timeout: float) -> Database:
    path = tmp_path / "s.db"
    return Database(lambda: open_database(path, "sessions", Pragmas()), query_timeout=timeout)


def test_a_long_read_is_stopped_and_a_long_write_is_not(tmp_path: Path) -> None:
    db = make(tmp_path, 0.02)
    with pytest.raises(QueryTimeoutError) as err, db.read() as conn:
        conn.execute(LONG).fetchone()
    assert err.value.message == ("a read query of s.db ran longer than"
                                 " storage.performance.query_timeout (0.02 s) and was stopped")
    assert isinstance(err.value, sqlite3.OperationalError)
    # A block that catches SQLite's "interrupted" itself still ends in the error: an answer
    # made without the rows of the stopped query must not pass for a whole one.
    with (pytest.raises(QueryTimeoutError), db.read() as conn,
          contextlib.suppress(sqlite3.OperationalError)):
        conn.execute(LONG).fetchone()
    with db.read() as conn:  # the connection goes back to the pool fit for the next query
        assert conn.execute("SELECT 1").fetchone()[0] == 1
    with db.write() as conn:
        assert conn.execute(LONG).fetchone()[0] == 500000


def test_no_timeout_lets_a_read_run(tmp_path: Path) -> None:
    with make(tmp_path, 0).read() as conn:
        assert conn.execute(LONG).fetchone()[0] == 500000


def test_a_command_stopped_by_the_timeout_says_so_in_one_line(aircher, repo: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              ) -> None:  # type: ignore[no-untyped-def]
    assert aircher(repo, "init").code == 0
    with open_project(repo) as project, project.db("knowledge").write() as conn:
        conn.executemany("INSERT INTO success_patterns (id, pattern_type, description)"
                         " VALUES (?, 'testing', 'x')", ((f"p{i}",) for i in range(50_000)))
    r = aircher(repo, "knowledge", "patterns", "list", "--type", "none-such")
    assert (r.code, r.err) == (0, "")
    monkeypatch.setenv("AIRCHER_STORAGE_PERFORMANCE_QUERY_TIMEOUT", "1ms")
    r = aircher(repo, "knowledge", "patterns", "list", "--type", "none-such")
    assert r.code == 1
    assert r.err.splitlines() == [
        "error: a read query of knowledge.db ran longer than storage.performance.query_timeout"
        " (0.001 s) and was stopped",
        "hint: allow more: `git aircher config set storage.performance.query_timeout 2m`"]
