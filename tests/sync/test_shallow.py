"""Shallow clones (`git clone --depth`, what CI and many agents check out). git shows a shallow
clone's boundary commit without parents; read as a root, it said every file of its tree was
created there. And a fetch that deepens the clone runs no hook, so the history it brought never
reached the store: relevance kept scoring from the few commits of the first sync."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import commit, git, head, run_git_aircher
from tests.sync.helpers import store, wait_idle

FILES = ("core.py", "cli.py", "util.py")


@pytest.fixture
def upstream(tmp_path: Path) -> Path:
    """Six commits: util.py changes only in the first three, core.py in every one."""
    up = tmp_path / "upstream"
    up.mkdir()
    git(up, "init", "-q")
    commit(up, {name: f"# {name} 0\n" for name in FILES}, "start")
    for i in range(1, 6):
        files = {"core.py": f"# core {i}\n"}
        if i < 3:
            files["util.py"] = f"# util {i}\n"
        if i % 2:
            files["cli.py"] = f"# cli {i}\n"
        commit(up, files, f"step {i}")
    return up


def clone(upstream: Path, where: Path, *depth: str) -> Path:
    git(where.parent, "clone", "-q", *depth, upstream.as_uri(), where.name)
    r = run_git_aircher(where, "init")
    assert r.code == 0, r.err
    wait_idle(where)
    return where


def db(repo: Path) -> sqlite3.Connection:
    return sqlite3.connect(store(repo) / "db" / "core" / "file_index.db")


def rows(repo: Path) -> tuple[dict[str, int], set[tuple[str, str, str]]]:
    """(sha -> grafted) of every commit, and every change as (commit, path, kind)."""
    with db(repo) as conn:
        commits = dict(conn.execute("SELECT sha, grafted FROM commits").fetchall())
        changes = set(conn.execute(
            "SELECT git_commit, new_path, change_type FROM file_changes").fetchall())
    return commits, changes


def frequencies(repo: Path) -> dict[str, float]:
    r = run_git_aircher(repo, "relevant", "--json", "--top", "10")
    assert r.code == 0, r.err
    return {h["path"]: h["components"]["frequency_score"] for h in json.loads(r.out)}


def test_the_boundary_is_recorded_without_made_up_changes(upstream: Path, tmp_path: Path
                                                          ) -> None:
    repo = clone(upstream, tmp_path / "shallow", "--depth", "2")
    top, cut = head(repo), git(repo, "rev-parse", "HEAD~1").strip()
    commits, changes = rows(repo)
    assert commits == {top: 0, cut: 1}
    assert {c for c in changes if c[0] == cut} == set()  # not "core.py created at step 4"
    assert {c for c in changes if c[0] == top} == {(top, "core.py", "modified"),
                                                   (top, "cli.py", "modified")}
    freq = frequencies(repo)
    assert freq["util.py"] == 0.0 and freq["core.py"] > 0
    r = run_git_aircher(repo, "doctor")
    assert r.code == 0, r.out


def test_a_fetch_that_deepens_the_clone_reaches_the_next_query(upstream: Path, tmp_path: Path
                                                               ) -> None:
    full = clone(upstream, tmp_path / "full")
    repo = clone(upstream, tmp_path / "shallow", "--depth", "2")
    before = frequencies(repo)

    git(repo, "fetch", "-q", "--deepen", "1")  # no hook runs: the query finds it
    freq = frequencies(repo)
    commits, changes = rows(repo)
    old_cut, cut = git(repo, "rev-parse", "HEAD~1", "HEAD~2").split()
    assert commits[old_cut] == 0 and commits[cut] == 1
    assert {(c[1], c[2]) for c in changes if c[0] == old_cut} == {("core.py", "modified")}
    assert freq["core.py"] > before["core.py"]

    git(repo, "fetch", "-q", "--unshallow")
    freq = frequencies(repo)
    wait_idle(repo)
    assert rows(repo) == rows(full)  # as if it had been cloned whole
    assert freq == frequencies(full)
    assert freq["util.py"] > 0


def test_doctor_and_repair_see_a_deepened_clone(upstream: Path, tmp_path: Path) -> None:
    repo = clone(upstream, tmp_path / "shallow", "--depth", "2")
    git(repo, "fetch", "-q", "--unshallow")
    r = run_git_aircher(repo, "doctor")
    assert r.code == 1 and "shallow clone was deepened" in r.out, r.out
    r = run_git_aircher(repo, "repair")
    assert r.code == 0 and "caught up from git" in r.out, r.out + r.err
    assert run_git_aircher(repo, "doctor").code == 0
    commits, _ = rows(repo)
    assert len(commits) == 6 and not any(commits.values())


def downgrade(repo: Path) -> None:
    """The file index as the version before `grafted` left it (schema 3)."""
    with db(repo) as conn:
        conn.execute("DROP TABLE pending_scrubs")  # 008
        conn.execute("DROP TABLE search_orphans")  # 007
        conn.execute("ALTER TABLE sync_state DROP COLUMN view_token")  # 006
        conn.execute("ALTER TABLE file_relevance_scores DROP COLUMN sequence_score")  # 005
        conn.execute("DROP INDEX idx_commits_grafted")  # 004
        conn.execute("ALTER TABLE commits DROP COLUMN grafted")
        conn.execute("PRAGMA user_version = 3")


def test_an_older_store_drops_the_changes_it_made_up_at_the_boundary(upstream: Path,
                                                                      tmp_path: Path) -> None:
    repo = clone(upstream, tmp_path / "shallow", "--depth", "2")
    cut = git(repo, "rev-parse", "HEAD~1").strip()
    with db(repo) as conn:  # what that version wrote: the boundary's tree, all "created"
        conn.executemany(
            "INSERT INTO file_changes (id, file_id, change_type, new_path, git_commit)"
            " SELECT 'old-' || id, id, 'created', path, ? FROM files WHERE path = ?",
            [(cut, name) for name in FILES])
    downgrade(repo)
    assert frequencies(repo)["util.py"] == 0.0  # the query migrates, then looks again
    commits, changes = rows(repo)
    assert commits[cut] == 1 and {c for c in changes if c[0] == cut} == set()


def test_an_older_store_keeps_a_true_root_as_it_was(repo: Path) -> None:
    commit(repo, {"src/app.py": "print('hello')\n"}, "second")
    r = run_git_aircher(repo, "init")
    assert r.code == 0, r.err
    wait_idle(repo)
    before = rows(repo)
    downgrade(repo)
    frequencies(repo)
    assert rows(repo) == before  # the root is looked at once and unmarked; nothing re-read
