"""A catch-up records every commit the store has not seen, however many (QA round 10a: 01)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import git, run_git_aircher


def _commits(repo: Path, n: int, start: int) -> None:
    """n commits of one file each, made at once with fast-import (no hook runs)."""
    stream = []
    for i in range(start, start + n):
        data = f"value = {i}\n".encode()
        stream.append(b"commit refs/heads/main\n"
                      + f"committer t <t@e> {1700000000 + i} +0000\n".encode()
                      + b"data 2\nc\n"
                      + (b"from refs/heads/main^0\n" if i == start and start else b"")
                      + f"M 100644 inline f{i % 7}.py\ndata {len(data)}\n".encode() + data)
    git(repo, "fast-import", "--quiet", input=b"".join(stream).decode())


def test_a_pull_of_more_commits_than_the_history_limit_records_them_all(
        empty_repo: Path) -> None:
    """Each catch-up walked at most `history_limit` commits, the newest: a fast-forward of
    more than that kept the newest and never read the rest, without a word."""
    repo = empty_repo
    _commits(repo, 5, 0)
    git(repo, "reset", "-q", "--hard", "main")
    assert run_git_aircher(repo, "init").code == 0
    assert run_git_aircher(repo, "config", "set", "storage.sync.history_limit", "10").code == 0
    _commits(repo, 25, 5)  # as a pull brings them
    git(repo, "reset", "-q", "--hard", "main")
    assert run_git_aircher(repo, "sync").code == 0
    db = repo / ".agents" / "db" / "core" / "file_index.db"
    with sqlite3.connect(db) as conn:
        recorded = {r[0] for r in conn.execute("SELECT sha FROM commits")}
    conn.close()
    assert recorded == set(git(repo, "rev-list", "main").split())


def test_sync_full_says_it_read_commits_again(empty_repo: Path) -> None:
    """`sync --full` walks the window again: it called those commits new (QA round 10a: 03)."""
    _commits(empty_repo, 3, 0)
    git(empty_repo, "reset", "-q", "--hard", "main")
    assert run_git_aircher(empty_repo, "init").code == 0
    r = run_git_aircher(empty_repo, "sync")
    assert r.code == 0 and ": 0 new commits," in r.out, r.out
    r = run_git_aircher(empty_repo, "sync", "--full")
    assert r.code == 0 and ": 3 commits read again," in r.out, r.out


def test_a_query_leaves_a_long_catch_up_s_history_to_the_worker(
        empty_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A query catching up after a far checkout read every new commit before it answered (20,000
    on git.git: 40-60 s in a search, QA round 12: 01). Past `history_limit` it records the view
    and leaves the commits to the worker or `sync`, which record them all."""
    from gitext.search import hybrid
    from tests.conftest import open_project

    monkeypatch.setenv("AIRCHER_SKIP", "1")  # no worker: what the query did stays visible
    repo = empty_repo
    _commits(repo, 5, 0)
    git(repo, "reset", "-q", "--hard", "main")
    assert run_git_aircher(repo, "init").code == 0
    assert run_git_aircher(repo, "config", "set", "storage.sync.history_limit", "10").code == 0
    _commits(repo, 25, 5)
    git(repo, "reset", "-q", "--hard", "main")
    with open_project(repo) as project:
        hits = hybrid.search(project, "value", top=3, mode="text")
    assert hits  # the view is at HEAD: its files are found
    db = repo / ".agents" / "db" / "core" / "file_index.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM commits").fetchone()[0] == 5
    conn.close()
    assert run_git_aircher(repo, "sync").code == 0
    with sqlite3.connect(db) as conn:
        recorded = {r[0] for r in conn.execute("SELECT sha FROM commits")}
    conn.close()
    assert recorded == set(git(repo, "rev-list", "main").split())
    assert not list((repo / ".agents" / "run").glob("history-*"))
