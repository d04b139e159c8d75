from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from gitext.errors import SchemaError
from gitext.store.connection import Pragmas, open_database
from gitext.store.migrate import latest_version, migrations, split_sql, user_version


def test_fresh_database_reaches_latest_version(tmp_path: Path) -> None:
    conn = open_database(tmp_path / "f.db", "file_index", Pragmas())
    assert user_version(conn) == latest_version("file_index") >= 2
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'files'").fetchone()[0]


def test_rerun_is_a_noop(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    open_database(path, "knowledge", Pragmas()).close()
    before = sqlite3.connect(path).execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    conn = open_database(path, "knowledge", Pragmas())
    after = [tuple(r) for r in conn.execute("SELECT sql FROM sqlite_master ORDER BY name")]
    assert before == after


def test_older_database_is_migrated_forward_keeping_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    for stmt in migrations("file_index")[0].statements():
        old.execute(stmt)
    old.execute("PRAGMA user_version = 1")
    old.execute("INSERT INTO files (id, path, name) VALUES ('f1', 'a.py', 'a.py')")
    old.commit()
    old.close()
    conn = open_database(path, "file_index", Pragmas())
    assert user_version(conn) == latest_version("file_index")
    assert conn.execute("SELECT path FROM files").fetchone()[0] == "a.py"
    assert conn.execute("SELECT count(*) FROM sync_state").fetchone()[0] == 0


def _file_index_at(path: Path, version: int) -> sqlite3.Connection:
    """A file_index database as the migrations up to `version` left it, open for changes."""
    old = sqlite3.connect(path)
    for mig in migrations("file_index")[:version]:
        for stmt in mig.statements():
            old.execute(stmt)
    old.execute(f"PRAGMA user_version = {version}")
    return old


@pytest.mark.parametrize("version", [9, 12])
def test_a_store_scrubbed_before_is_scrubbed_once_more(tmp_path: Path, version: int) -> None:
    """A store whose 'credentials' scrub ran (its row gone) runs it again after the rules grew:
    migration 010, redaction had left a string's escaped key body and `secrets.yml` in the
    index; migration 013, `.pypirc`, `*.ppk`, npm, PyPI and GitLab tokens became secrets after
    012's scrub ran (QA round 26d: 01)."""
    path = tmp_path / "f.db"
    old = _file_index_at(path, version)
    old.execute("DELETE FROM pending_scrubs")
    old.commit()
    old.close()
    conn = open_database(path, "file_index", Pragmas())
    assert user_version(conn) == latest_version("file_index") >= version + 1
    assert [r[0] for r in conn.execute("SELECT name FROM pending_scrubs")] == ["credentials"]


def test_statistics_an_earlier_weekly_tier_kept_of_small_tables_are_dropped(
        tmp_path: Path) -> None:
    """Migration 011: a store whose `init` analysed it empty kept "files: 1 row" for up to a
    week, and the planner scanned `files` once per row of a join under the write lock."""
    path = tmp_path / "f.db"
    old = _file_index_at(path, 10)
    old.execute("ANALYZE")
    old.execute("DELETE FROM sqlite_stat1")
    old.execute("INSERT INTO sqlite_stat1 VALUES ('files', 'idx_files_hash', '1 1')")
    old.execute("INSERT INTO sqlite_stat1 VALUES ('worktree_files', NULL, '250000')")
    old.commit()
    old.close()
    conn = open_database(path, "file_index", Pragmas())
    assert user_version(conn) == latest_version("file_index") >= 11
    assert [tuple(r) for r in conn.execute("SELECT tbl, stat FROM sqlite_stat1")] == [
        ("worktree_files", "250000")]


def test_a_store_scrubbed_before_joined_keys_were_redacted_is_scrubbed_once_more(
        tmp_path: Path) -> None:
    """Migration 012: redaction learned keys in joined string pieces after 010's scrub ran
    (QA round 24a: 01)."""
    path = tmp_path / "f.db"
    old = _file_index_at(path, 11)
    old.execute("DELETE FROM pending_scrubs")
    old.commit()
    old.close()
    conn = open_database(path, "file_index", Pragmas())
    assert user_version(conn) == latest_version("file_index") >= 12
    assert [r[0] for r in conn.execute("SELECT name FROM pending_scrubs")] == ["credentials"]



def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    open_database(path, "sessions", Pragmas()).close()
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA user_version = 99")
    raw.close()
    with pytest.raises(SchemaError, match="schema version 99"):
        open_database(path, "sessions", Pragmas())


def test_failed_migration_leaves_nothing_behind(tmp_path: Path) -> None:
    path = tmp_path / "half.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE commits (x)")  # 002 of file_index will collide on this name
    for stmt in migrations("file_index")[0].statements():
        conn.execute(stmt)
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    with pytest.raises(Exception, match="commits"):
        open_database(path, "file_index", Pragmas())
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == 1
    assert check.execute(
        "SELECT count(*) FROM sqlite_master WHERE name = 'worktree_files'").fetchone()[0] == 0


def _open(path: str) -> int:
    return user_version(open_database(Path(path), "knowledge", Pragmas()))


def test_concurrent_first_opens_migrate_once(tmp_path: Path) -> None:
    path = str(tmp_path / "race.db")
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        versions = pool.map(_open, [path] * 4)
    assert set(versions) == {latest_version("knowledge")}


def test_pragmas_follow_config(tmp_path: Path) -> None:
    p = Pragmas(journal_mode="WAL", synchronous="FULL", cache_size=-2000, temp_store="FILE",
                mmap_size=0, auto_vacuum="FULL", busy_timeout_ms=1234)
    conn = open_database(tmp_path / "p.db", "sessions", p)
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    assert conn.execute("PRAGMA cache_size").fetchone()[0] == -2000
    assert conn.execute("PRAGMA temp_store").fetchone()[0] == 1
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 1234
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_split_sql_keeps_triggers_whole() -> None:
    script = (
        "CREATE TABLE t (a);\n-- note; with semicolon\n"
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  UPDATE t SET a = 1;\nEND;\n"
    )
    stmts = split_sql(script)
    assert len(stmts) == 2 and stmts[1].startswith("-- note") is False or "TRIGGER" in stmts[1]
    assert stmts[1].rstrip().endswith("END;")
