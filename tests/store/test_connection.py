"""Opening a database while another process has it open."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import run_git_aircher


def test_leaving_wal_waits_for_a_free_store(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """QA round 13b: 11. journal_mode = DELETE while another process had the store open (the
    worker, an agent's Project) made every command fail "database is locked", with a hint to
    run doctor, which found nothing. Commands go on in WAL; the change waits for a free store."""
    monkeypatch.setenv("AIRCHER_SKIP", "1")  # no worker: this test's connection is the other
    assert run_git_aircher(repo, "init").code == 0
    assert run_git_aircher(repo, "config", "set", "storage.sqlite.journal_mode",
                           "DELETE").code == 0
    agents = repo / ".agents"
    db = agents / "db" / "core" / "conversations.db"
    other = sqlite3.connect(db)
    try:
        other.execute("SELECT count(*) FROM conversations").fetchone()
        r = run_git_aircher(repo, "status")
        assert r.code == 0 and r.err == "", r.err
        r = run_git_aircher(repo, "conversation", "list")
        assert r.code == 0, r.err
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        other.close()
    told = [line for line in (agents / "logs" / "storage.log").read_text().splitlines()
            if "journal_mode stays WAL" in line]
    assert len(told) == 2 and "conversations.db" in told[0]  # once for each command
    assert run_git_aircher(repo, "status").code == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
