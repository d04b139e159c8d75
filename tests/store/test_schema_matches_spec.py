"""Every table, column, CHECK, UNIQUE, default and index of the spec, in the database the spec
puts it in. The spec's SQL is parsed from ../shared/spec/storage-architecture.md itself."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import pytest

from gitext.init import init_project
from gitext.project import Project

SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec" / "storage-architecture.md"
# Tables the spec defines outside a database's own section, and where it (or the issue) puts them.
ELSEWHERE = {
    "embedding_metadata": "knowledge",  # "(stored in knowledge.db)"
    "search_indexes": "knowledge",
    "worktrees": "knowledge",  # issue: beside contexts in knowledge.db
    "context_switches": "knowledge",
}
SECTION_DB = {
    "Conversations Database": "conversations",
    "Knowledge Database": "knowledge",
    "File Index Database": "file_index",
    "Sessions Database": "sessions",
}


def spec_sql() -> list[tuple[str, str]]:
    """(database, statement) for every CREATE TABLE / CREATE INDEX in the spec."""
    if not SPEC.exists():  # CI and every developer have shared/ beside the checkout
        return []
    text = SPEC.read_text()
    out: list[tuple[str, str]] = []
    current = None
    for block in re.split(r"(?m)^(###? .*)$", text):
        if block.startswith("#"):
            current = next((db for title, db in SECTION_DB.items() if title in block), current)
            continue
        for sql in re.findall(r"```sql\n(.*?)```", block, re.S):
            body = re.sub(r"--[^\n]*", "", sql)
            for stmt in body.split(";"):
                stmt = stmt.strip()
                if not stmt.upper().startswith("CREATE"):
                    continue
                name = re.match(r"CREATE (?:TABLE|INDEX) (\w+)", stmt)
                assert name, stmt
                db = ELSEWHERE.get(name.group(1))
                if db is None and stmt.upper().startswith("CREATE INDEX"):
                    table = re.search(r" ON (\w+)", stmt)
                    assert table
                    db = ELSEWHERE.get(table.group(1), current)
                out.append((db or current or "?", stmt))
    return out


@pytest.mark.skipif(not SPEC.exists(), reason=f"the specification is not at {SPEC}")
def test_spec_is_parsed() -> None:
    stmts = spec_sql()
    tables = [s for _, s in stmts if s.upper().startswith("CREATE TABLE")]
    assert len(tables) == 26  # 4 conversations, 13 knowledge, 6 file_index, 3 sessions
    assert {db for db, _ in stmts} == set(SECTION_DB.values())


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Project:
    # Module-scoped: one real store inspected by every parametrised case below.
    import subprocess

    base = tmp_path_factory.mktemp("schema")
    repo = base / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    project = Project.locate(repo, base / "aircher-home", {})
    init_project(project)
    return project


def _columns(conn: sqlite3.Connection, table: str) -> dict[str, tuple[object, ...]]:
    return {
        r[1]: (r[2].upper(), r[3], r[4], r[5])
        for r in conn.execute(f"PRAGMA table_info({table})")
    }


def _uniques(conn: sqlite3.Connection, table: str) -> set[tuple[str, ...]]:
    found = set()
    for idx in conn.execute(f"PRAGMA index_list({table})"):
        if idx[2]:
            cols = tuple(r[2] for r in conn.execute(f"PRAGMA index_info({idx[1]})"))
            found.add(cols)
    return found


def _checks(sql: str) -> set[str]:
    found = set()
    for m in re.finditer(r"CHECK\s*\(", sql, re.I):
        depth, i = 1, m.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(sql[i], 0)
            i += 1
        found.add(re.sub(r"\s+", "", sql[m.end() : i - 1]).lower())
    return found


@pytest.mark.parametrize(
    ("db", "stmt"),
    [p for p in spec_sql() if p[1].upper().startswith("CREATE TABLE")],
    ids=lambda v: v if isinstance(v, str) and len(v) < 20 else None,
)
def test_table_matches_spec(store: Project, db: str, stmt: str) -> None:
    name = re.match(r"CREATE TABLE (\w+)", stmt)
    assert name
    table = name.group(1)
    ref = sqlite3.connect(":memory:")
    ref.execute(stmt)
    with store.db(db).read() as conn:
        live_sql = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        assert live_sql is not None, f"{table} missing from {db}.db"
        live, spec = _columns(conn, table), _columns(ref, table)
        # Extensions may add columns (each commented in its migration); the spec's are exact.
        assert {k: live.get(k) for k in spec} == spec
        assert _uniques(ref, table) <= _uniques(conn, table)
        assert _checks(stmt) <= _checks(live_sql[0])


@pytest.mark.parametrize(
    ("db", "stmt"), [p for p in spec_sql() if p[1].upper().startswith("CREATE INDEX")]
)
def test_index_matches_spec(store: Project, db: str, stmt: str) -> None:
    m = re.match(r"CREATE INDEX (\w+) ON (\w+)\(([^)]*)\)", stmt)
    assert m
    index, table, cols = m.group(1), m.group(2), [c.strip() for c in m.group(3).split(",")]
    with store.db(db).read() as conn:
        row = conn.execute(
            "SELECT tbl_name FROM sqlite_master WHERE type = 'index' AND name = ?", (index,)
        ).fetchone()
        assert row is not None and row[0] == table, f"{index} missing from {db}.db"
        assert [r[2] for r in conn.execute(f"PRAGMA index_info({index})")] == cols


def test_every_database_is_wal_with_foreign_keys(store: Project) -> None:
    for name in ("conversations", "knowledge", "file_index", "sessions", "global"):
        with store.db(name).read() as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
            assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
    assert os.path.exists(store.layout.db("conversations"))
