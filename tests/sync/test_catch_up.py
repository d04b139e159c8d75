"""A catch-up records every commit the store has not seen, however many (QA round 10a: 01)."""

from __future__ import annotations

import fcntl
import os
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import VENV_BIN, commit, git, run_git_aircher
from tests.sync.helpers import mark_active, store, wait_idle


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


def _recorded(repo: Path) -> dict[str, list[tuple[object, ...]]]:
    """What a catch-up writes of history, without what differs from one store to another
    (row ids made from the project's id, times of writing, the worktree's path)."""
    index = repo / ".agents" / "db" / "core" / "file_index.db"
    knowledge = repo / ".agents" / "db" / "core" / "knowledge.db"
    out: dict[str, list[tuple[object, ...]]] = {}
    with sqlite3.connect(index) as conn:
        out["commits"] = conn.execute(
            "SELECT sha, first_parent, parents, author_name, author_email, authored_at,"
            " committed_at, message, grafted FROM commits ORDER BY sha").fetchall()
        out["file_changes"] = conn.execute(
            "SELECT c.id, f.path, c.change_type, c.old_path, c.new_path, c.old_hash,"
            " c.new_hash, c.changed_at, c.change_size, c.git_commit FROM file_changes c"
            " JOIN files f ON f.id = c.file_id ORDER BY c.id").fetchall()
    conn.close()
    with sqlite3.connect(knowledge) as conn:
        # When it was made is no part of what it holds (the two ways run a second apart).
        out["transfers"] = conn.execute(
            "SELECT s.name, t.name, r.relationship_type, r.strength,"
            " json_remove(r.metadata, '$.transferred_at')"
            " FROM context_relationships r JOIN contexts s ON s.id = r.source_context_id"
            " JOIN contexts t ON t.id = r.target_context_id ORDER BY s.name, t.name").fetchall()
        out["insights"] = conn.execute(
            "SELECT insight_type, description FROM cross_context_insights"
            " ORDER BY insight_type, description").fetchall()
    conn.close()
    return out


def test_history_left_to_the_worker_is_recorded_as_a_catch_up_records_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a query deferred was read with less than a catch-up reads: its merge commits gave
    no knowledge transfer and its root commit's file changes had no line counts (session 18:
    sync-1). The same history, caught up once by `sync` and once by a query that defers it,
    leaves the same rows."""
    from gitext.search import hybrid
    from gitext.sync.api import catch_up
    from tests.conftest import commit, open_project

    monkeypatch.setenv("AIRCHER_SKIP", "1")  # no hook, no worker: the reads are the test's
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q")
    commit(origin, {"a.py": "one\ntwo\nthree\n", "doc.md": "# doc\n\ntext\n"}, "root")
    git(origin, "checkout", "-q", "-b", "topic")
    commit(origin, {"t.py": "x = 1\n"}, "topic work")
    git(origin, "checkout", "-q", "main")
    commit(origin, {"a.py": "one\n"}, "main work")
    git(origin, "merge", "-q", "--no-ff", "--no-edit", "topic")
    for i in range(3):
        commit(origin, {"a.py": f"v{i}\n"}, f"after {i}")
    stores = {}
    for way in ("sync", "query"):
        repo = tmp_path / way
        repo.mkdir()
        git(repo, "init", "-q")
        commit(repo, {"old.txt": "before\n"}, "a history of its own")
        assert run_git_aircher(repo, "init").code == 0
        assert run_git_aircher(repo, "config", "set", "storage.sync.history_limit", "3").code == 0
        # Another history checked out: its root commit and its merge are among the new ones.
        git(repo, "fetch", "-q", str(origin), "topic:topic", "main:incoming")
        git(repo, "reset", "-q", "--hard", "incoming")
        if way == "query":
            with open_project(repo) as project:
                hybrid.search(project, "v2", top=1, mode="text")
            assert list((repo / ".agents" / "run").glob("history-*"))  # it was deferred
        with open_project(repo) as project:
            catch_up(project, analyse=False)  # `sync`'s catch-up, the worker's reading too
        stores[way] = _recorded(repo)
    assert len(stores["sync"]["commits"]) == 8
    assert stores["sync"]["transfers"]  # the merge of a local branch
    assert ("a.py", "created", 3) in {(r[1], r[2], r[8]) for r in stores["sync"]["file_changes"]}
    assert stores["query"] == stores["sync"]


def test_a_worker_stuck_in_its_slot_fails_sync_in_one_line_and_search_answers(
        live: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A background worker that stops while it holds the journal's slot (SIGSTOP, a frozen
    container, a debugger) made `search`, `sync` and `index` wait for that slot with no limit
    and no word (QA round 22a: 02). Now they wait up to storage.sync.catch_up_wait (10 s,
    docs/search.md; 2 s here): `sync` and `index` then fail in one line naming the worker's
    pid, and a query answers from the store as it is. The slot is held here by the test
    itself; the worker it names is a stopped process, which makes no progress."""
    wait_idle(live)
    assert run_git_aircher(live, "config", "set", "storage.sync.catch_up_wait", "2s").code == 0
    monkeypatch.setenv("AIRCHER_SKIP", "1")
    commit(live, {"src/late.py": "late = 1\n"}, "late")  # HEAD moves, and no worker starts
    monkeypatch.delenv("AIRCHER_SKIP")
    stopped = subprocess.Popen(["sleep", "300"])
    try:
        os.kill(stopped.pid, signal.SIGSTOP)
        pid = stopped.pid
        mark_active(live, pid)
        with (store(live) / "run" / "worker.lock").open("a") as slot:
            fcntl.flock(slot, fcntl.LOCK_EX)
            cmds = {name: subprocess.Popen(
                [str(VENV_BIN / "git-aircher"), *args], cwd=live, text=True,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
                for name, args in (("search", ["search", "hi"]), ("sync", ["sync"]),
                                   ("index", ["index"]))}
            done = {name: (p.wait(timeout=120), *p.communicate()) for name, p in cmds.items()}
    finally:
        stopped.kill()
        stopped.wait()
    for name in ("sync", "index"):
        code, out, err = done[name]
        assert code == 1 and out == "", (name, out, err)
        assert err.splitlines() == [
            f"error: the background worker (pid {pid}) has held the store's journal"
            " for more than 2 s; nothing was applied",
            f"hint: try again in a moment; if pid {pid} stays stuck (stopped, in a"
            f" debugger, a frozen container), end it (`kill -9 {pid}`): a record it"
            " was applying stays in the journal for the next"], (name, err)
    code, out, err = done["search"]
    assert code == 0 and "src/app.py" in out and err == "", (out, err)
    (store(live) / "run" / "active").unlink()
    assert run_git_aircher(live, "sync").code == 0  # the slot free: all as before


HOLDER = r"""
import fcntl, os, sys, time
from pathlib import Path
run = Path(sys.argv[1])
with (run / "worker.lock").open("a") as slot:
    fcntl.flock(slot, fcntl.LOCK_EX)
    since = open(f"/proc/{os.getpid()}/stat").read().rsplit(")", 1)[1].split()[19]
    (run / "active").write_text(f"{os.getpid()}\n{since}\n")
    print("holding", flush=True)
    end = time.process_time() + float(sys.argv[2])
    while time.process_time() < end:  # CPU time: busy, however loaded the machine
        pass
    (run / "active").unlink()
"""


def test_sync_waits_on_while_the_worker_holding_the_slot_makes_progress(live: Path) -> None:
    """A worker applying a far checkout of a large repository holds the journal's slot for
    more than the catch-up's wait: `sync` failed as if it were stuck. `sync` and `index` now
    wait on while it uses CPU or takes records out of the journal (docs/sync.md)."""
    wait_idle(live)
    assert run_git_aircher(live, "config", "set", "storage.sync.catch_up_wait", "1s").code == 0
    holder = subprocess.Popen([str(VENV_BIN / "python"), "-c", HOLDER, str(store(live) / "run"),
                               "2"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        r = run_git_aircher(live, "sync")
        assert holder.poll() is not None  # sync got the slot after the holder let it go
    finally:
        holder.kill()
        holder.wait()
    assert r.code == 0, r.err


def test_sync_reads_commits_as_git_made_them_whatever_replaces_them(live: Path) -> None:
    """`git replace --graft C` shows C without parents until `git replace -d C`. The store read
    history through the replacement: `sync --full` wrote C as a root commit that created every
    file, and after the replacement was deleted a `sync --full` took none of those rows back,
    while C's `commits` row kept its real parent (QA round 24d: 04). Its rows are keyed by the
    commits' ids, which name the objects git made: the store now reads those, never a stand-in
    (GIT_NO_REPLACE_OBJECTS)."""
    commit(live, {f"{name}.py": f"def {name}(): pass\n" for name in "bcd"}, "more files")
    commit(live, {"b.py": "def b(): return 1\n"}, "edit one")
    grafted = git(live, "rev-parse", "HEAD").strip()
    parent = git(live, "rev-parse", "HEAD~1").strip()
    commit(live, {"c.py": "def c(): return 2\n"}, "edit two")
    wait_idle(live)
    db = store(live) / "db" / "core" / "file_index.db"

    def recorded() -> tuple[set[tuple[str, str]], list[tuple[str, str]]]:
        with sqlite3.connect(db) as conn:
            changes = {(str(r[0]), str(r[1])) for r in conn.execute(
                "SELECT f.path, c.change_type FROM file_changes c JOIN files f"
                " ON f.id = c.file_id WHERE c.git_commit = ?", (grafted,))}
            row = conn.execute("SELECT first_parent, parents FROM commits WHERE sha = ?",
                               (grafted,)).fetchall()
        conn.close()
        return changes, row

    real = ({("b.py", "modified")}, [(parent, parent)])
    assert recorded() == real
    git(live, "replace", "--graft", grafted)
    assert run_git_aircher(live, "sync", "--full").code == 0
    assert recorded() == real
    git(live, "replace", "-d", grafted)
    assert run_git_aircher(live, "sync", "--full").code == 0
    assert recorded() == real
