"""Retention with a pinned clock: cache, temp files, file history, archive, unused embeddings."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from gitext import clock
from gitext.ids import new_id
from gitext.lifecycle.archive import (
    archive_conversations,
    archived_count,
    archived_ids,
    restore_archived,
)
from gitext.lifecycle.archive_search import search_archived
from gitext.lifecycle.doctor import diagnose
from gitext.lifecycle.maintenance import TIERS, run_maintenance
from gitext.lifecycle.retention import (
    expire_session_cache,
    prune_file_versions,
    remove_temp_files,
    remove_unused_embeddings,
)
from gitext.project import Project
from tests.conftest import VENV_BIN, commit, git, run_git_aircher
from tests.lifecycle.util import add_conversations, counts

T0 = 1_800_000_000.0
DAY = 86400.0


def test_expired_session_cache_entries_go(project: Project) -> None:
    clock.set_now(T0)
    with project.db("sessions").write() as conn:
        conn.execute("INSERT INTO sessions (id) VALUES ('s')")
        for key, expires in (("old1", T0 - 60), ("old2", T0 - DAY), ("new", T0 + 60)):
            conn.execute("INSERT INTO session_cache (id, session_id, cache_key, expires_at)"
                         " VALUES (?, 's', ?, ?)", (new_id(), key, clock.to_ts(expires)))
        conn.execute("INSERT INTO session_cache (id, session_id, cache_key) VALUES ('k', 's', 'x')")
    assert expire_session_cache(project, dry_run=True) == 2
    assert expire_session_cache(project) == 2
    with project.db("sessions").read() as conn:
        keys = {r[0] for r in conn.execute("SELECT cache_key FROM session_cache")}
    assert keys == {"new", "x"}


def test_old_temp_files_go_fresh_ones_stay(project: Project) -> None:
    layout = project.layout
    old_cache = layout.content / "cache" / "old.bin"
    new_cache = layout.content / "cache" / "new.bin"
    leftover = layout.core / "config.toml.tmp"
    wt_cache = layout.worktrees / "main" / "cache" / "x.json"
    for path in (old_cache, new_cache, leftover, wt_cache):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    old = time.time() - 2 * DAY
    shields = [folder / ".git" for folder in layout.folders()]
    for path in (old_cache, leftover, wt_cache, *shields):
        os.utime(path, (old, old))
    assert remove_temp_files(project, dry_run=True) == 3
    assert old_cache.exists()
    assert remove_temp_files(project) == 3
    assert not old_cache.exists() and not leftover.exists() and not wt_cache.exists()
    assert new_cache.exists() and (layout.worktrees / "main" / "context.json").exists()
    assert all((path / "HEAD").exists() for path in shields)  # not an ended session's folder


def test_folders_of_ended_and_expired_sessions_go_active_ones_stay(
        project: Project, aircher: Any) -> None:
    """Only expired sessions lost their folder: one ended with `session end` (status
    inactive) kept `.agents/sessions/<id>/` for good, though the daily tier is documented to
    remove the folders of ended sessions. Now ended and expired ones go once untouched for a
    day; an active one never, however old. (QA round 20c: 08)"""
    root = project.repo.root
    started = {}
    for name in ("ended", "expired", "active"):
        r = aircher(root, "session", "start", "feature", name)
        assert r.code == 0, r.err
        started[name] = r.out.strip()
    assert aircher(root, "session", "end", started["ended"]).code == 0
    with project.db("sessions").write() as conn:
        conn.execute("UPDATE sessions SET status = 'expired' WHERE id = ?", (started["expired"],))
    folders = {name: project.layout.sessions / sid for name, sid in started.items()}
    old = time.time() - 3 * DAY
    for folder in folders.values():
        assert folder.is_dir()
        for path in (*folder.iterdir(), folder):
            os.utime(path, (old, old))
    r = aircher(root, "maintain", "--daily")
    assert r.code == 0, r.err
    assert {name for name, folder in folders.items() if folder.exists()} == {"active"}


def test_file_history_beyond_count_and_age_is_pruned(project: Project) -> None:
    clock.set_now(T0)
    project.config.values["storage.lifecycle.file_version_max_count"] = 3
    project.config.values["storage.lifecycle.file_version_retention_days"] = 90
    with project.db("file_index").write() as conn:
        conn.execute("DELETE FROM file_changes")
        for fid, ages in (("busy", [1, 2, 3, 4, 5]), ("stale", [200, 300]), ("fresh", [10]),
                          ("ancient", [100, 200, 300, 400, 500])):
            conn.execute("INSERT INTO files (id, path, name) VALUES (?, ?, ?)", (fid, fid, fid))
            for age in ages:
                conn.execute(
                    "INSERT INTO file_changes (id, file_id, change_type, changed_at)"
                    " VALUES (?, ?, 'modified', ?)",
                    (f"{fid}-{age}", fid, clock.to_ts(T0 - age * DAY)),
                )
    # Only what is both past the count and past the age goes: busy's 4th and 5th are recent,
    # stale's are within the count; ancient's 4th and 5th are both.
    assert prune_file_versions(project, dry_run=True) == 2
    assert prune_file_versions(project) == 2
    with project.db("file_index").read() as conn:
        left = {r[0] for r in conn.execute("SELECT id FROM file_changes")}
    assert left == {"busy-1", "busy-2", "busy-3", "busy-4", "busy-5", "stale-200", "stale-300",
                    "fresh-10", "ancient-100", "ancient-200", "ancient-300"}


def test_file_history_relevance_reads_is_never_pruned(project: Project) -> None:
    clock.set_now(T0)
    project.config.values["storage.lifecycle.file_version_max_count"] = 1
    project.config.values["storage.lifecycle.file_version_retention_days"] = 90
    project.config.values["storage.sync.history_limit"] = 3
    with project.db("file_index").write() as conn:
        for table in ("file_changes", "commits", "sync_state"):
            conn.execute(f"DELETE FROM {table}")
        conn.execute("INSERT INTO files (id, path, name) VALUES ('f', 'f.py', 'f.py')")
        # c1 <- c2 <- ... <- c6 = HEAD, each a year apart and each changing f.py.
        for i in range(1, 7):
            conn.execute("INSERT INTO commits (sha, first_parent) VALUES (?, ?)",
                         (f"c{i}", f"c{i - 1}" if i > 1 else None))
            conn.execute(
                "INSERT INTO file_changes (id, file_id, change_type, git_commit, changed_at)"
                " VALUES (?, 'f', 'modified', ?, ?)",
                (f"ch{i}", f"c{i}", clock.to_ts(T0 - (7 - i) * 365 * DAY)))
        conn.execute("INSERT INTO sync_state (worktree_path, head) VALUES ('/w', 'c6')")
    # Every change is past the count and the age; the last three commits are relevance's.
    assert prune_file_versions(project) == 3
    with project.db("file_index").read() as conn:
        left = sorted(r[0] for r in conn.execute("SELECT git_commit FROM file_changes"))
    assert left == ["c4", "c5", "c6"]


def test_old_and_surplus_conversations_are_archived_searchable_restorable(
    project: Project,
) -> None:
    clock.set_now(T0)
    project.config.values["storage.lifecycle.conversation_max_per_project"] = 3
    old = add_conversations(project, 2, when=clock.to_ts(T0 - 400 * DAY), text="ancient zebra")
    recent = [
        add_conversations(project, 1, when=clock.to_ts(T0 - d * DAY), text=f"recent day{d}")[0]
        for d in (1, 2, 3, 4)
    ]
    with project.db("conversations").write() as conn:
        conn.execute("INSERT INTO message_attachments (id, message_id, type, content_hash)"
                     " SELECT 'att', id, 'file', 'h' FROM messages WHERE conversation_id = ?"
                     " LIMIT 1", (old[0],))
        # seq is a column conversations.db gained in its 002 migration: it must travel both ways.
        conn.execute("UPDATE messages SET seq = rowid WHERE conversation_id = ?", (old[0],))
    dry = archive_conversations(project, dry_run=True)
    assert dry.candidates == 3 and set(dry.ids) == {*old, recent[3]}
    assert counts(project.layout.db("conversations"))["conversations"] == 6

    result = archive_conversations(project)
    assert result.archived == 3 and set(result.ids) == {*old, recent[3]}
    live = counts(project.layout.db("conversations"))
    assert (live["conversations"], live["messages"], live["message_attachments"]) == (3, 9, 0)
    assert archived_count(project) == 3
    assert archive_conversations(project).candidates == 0  # nothing left to do
    # The archive, with the columns it gained, is a sound database; only the test's fake
    # attachment (no file behind it) is worth a warning.
    report = diagnose(project)
    archive = report.db("conversations_archive")
    assert archive is not None and archive.integrity == "ok"
    assert [f.check for f in report.problems()] == ["attachments"]

    hits = search_archived(project, "ancient zebra", 10)
    assert {h["conversation_id"] for h in hits} == set(old)
    assert all("zebra" in h["snippet"] for h in hits)
    assert search_archived(project, "day1", 10) == []  # live conversations are not here
    assert [h["conversation_id"] for h in search_archived(project, "day4", 10)] == [recent[3]] * 3

    assert restore_archived(project, old[0]) == old[0]
    assert restore_archived(project, "no-such-id") is None
    live = counts(project.layout.db("conversations"))
    assert live["conversations"] == 4 and live["messages"] == 12
    assert live["message_attachments"] == 1
    assert live["message_search"] == live["messages"]  # the FTS triggers followed
    with project.db("conversations").read() as conn:
        row = conn.execute("SELECT status, updated_at FROM conversations WHERE id = ?",
                           (old[0],)).fetchone()
        assert tuple(row) == ("active", clock.now())
        assert conn.execute("SELECT count(seq) FROM messages WHERE conversation_id = ?",
                            (old[0],)).fetchone()[0] == 3
    assert archived_count(project) == 2
    # A unique prefix, as `conversation show` and `export` take it (QA round 4).
    assert restore_archived(project, old[1][:8]) == old[1]
    assert archived_count(project) == 1


def test_reads_of_the_archive_are_logged_when_slow_and_stopped_past_query_timeout(
    project: Project,
) -> None:
    """QA round 26f: 04. The archive was opened without the slow-query log and without
    query_timeout: `conversation search --archived` ran 7-17 s on a large store with a 50 ms
    timeout, and none of it reached performance.log, so `health` never showed the slowest
    reads of the store. Its reads are logged and bounded as every other database's."""
    from gitext.errors import QueryTimeoutError
    from gitext.lifecycle import logs
    from gitext.lifecycle.archive_search import list_archived

    clock.set_now(T0)
    project.config.values["storage.lifecycle.conversation_max_per_project"] = 1
    add_conversations(project, 40, messages=100, when=clock.to_ts(T0 - DAY), text="ancient")
    add_conversations(project, 1, text="recent")
    assert archive_conversations(project).archived == 40
    log = logs.log_path(project.layout, "performance")
    assert not log.exists() or "db=conversations_archive" not in log.read_text()

    project.config.values["storage.monitoring.slow_query_threshold"] = "0s"  # all are slow
    assert search_archived(project, "nosuchword", 10) == []
    assert len(list_archived(project)) == 40
    logged = [line for line in log.read_text().splitlines() if "db=conversations_archive" in line]
    assert any("aircher_fold(m.content) LIKE" in line for line in logged)
    assert any("FROM conversations c" in line and "message_count" in line for line in logged)

    # A scan of 4,000 messages through a Python function: far more than a microsecond (0.001ms), and
    # the clock is looked at every 10,000 steps.
    project.config.values["storage.performance.query_timeout"] = "0.001ms"
    with pytest.raises(QueryTimeoutError) as err:
        search_archived(project, "nosuchword", 10)
    assert err.value.message.startswith(
        "a read query of conversations_archive.db ran longer than"
        " storage.performance.query_timeout")


def _archive_copies(project: Project) -> int:
    """Conversations in the archive, read raw: the archive may be being made right now."""
    path = project.layout.db("conversations_archive")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return int(conn.execute("SELECT count(*) FROM conversations").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0


def test_a_conversation_gone_while_copied_keeps_its_archive_copy(project: Project) -> None:
    """A run that found a conversation gone from conversations.db between copying it and
    deleting it took that for a change and dropped the archive copy: when another archiving run
    had deleted it, that copy was the only one, and the conversation was lost from both stores.
    Here the run copies three, and two leave conversations.db before its delete (its delete
    waits for the transaction that takes them). (QA round 20c: 01)"""
    clock.set_now(T0)
    ids = add_conversations(project, 3, when=clock.to_ts(T0 - 400 * DAY))
    results = []
    worker = threading.Thread(target=lambda: results.append(archive_conversations(project)))
    with project.db("conversations").write() as conn:
        worker.start()
        deadline = time.monotonic() + 120
        while _archive_copies(project) < 3 and worker.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _archive_copies(project) == 3, "the run did not copy"
        conn.execute("DELETE FROM messages WHERE conversation_id IN (?, ?)", ids[:2])
        conn.execute("DELETE FROM conversations WHERE id IN (?, ?)", ids[:2])
    worker.join()
    assert archived_ids(project) == set(ids)
    assert counts(project.layout.db("conversations"))["conversations"] == 0
    (result,) = results
    assert (result.archived, result.gone_meanwhile, result.kept_changed) == (1, 2, 0)
    assert result.ids == [ids[2]]


def test_two_archiving_runs_at_once_lose_nothing(project: Project) -> None:
    """Two `maintain --quarterly` at once (or one and the worker's scheduled quarterly tier)
    each deleted the conversations the other had archived from the archive: 100 of 100 lost
    in QA. Archiving runs now take turns: the second finds nothing left to archive.
    (QA round 20c: 01)"""
    old = clock.to_ts(time.time() - 400 * DAY)
    every: set[str] = set()
    for _round in range(3):
        every |= set(add_conversations(project, 100, messages=25, when=old))
        project.close()
        runs = [subprocess.Popen([str(VENV_BIN / "git-aircher"), "maintain", "--quarterly",
                                  "--json"], cwd=project.repo.root, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(2)]
        archived = 0
        for run in runs:
            out, err = run.communicate(timeout=300)
            assert run.returncode == 0, err
            task = next(t for t in json.loads(out)["tasks"] if t["task"] == "archive")
            assert task["error"] is None and "while copied" not in task["detail"], task
            archived += task["count"]
        assert archived == 100
        assert archived_ids(project) == every
        assert counts(project.layout.db("conversations"))["conversations"] == 0


def test_embeddings_of_blobs_no_tree_uses_go(project: Project) -> None:
    root = project.repo.root
    blob_a = git(root, "rev-parse", "HEAD:README.md").strip()
    commit(root, {"README.md": "# changed\n"}, "change readme")
    blob_b = git(root, "rev-parse", "HEAD:README.md").strip()
    git(root, "branch", "keep", "HEAD~1")  # blob_a still lives on a branch
    with project.db("knowledge").write() as conn:
        for digest in (blob_a, blob_b, "f" * 40):
            conn.execute("INSERT INTO embedding_metadata (id, file_path, embedding_model,"
                         " dimension, content_hash) VALUES (?, 'README.md', 'm', 4, ?)",
                         (new_id(), digest))
    assert remove_unused_embeddings(project, dry_run=True) == 1
    assert remove_unused_embeddings(project) == 1
    git(root, "branch", "-D", "keep")
    report = run_maintenance(project, ["quarterly"])
    task = next(t for t in report.tasks if t.task == "embeddings")
    assert task.count == 1 and task.error is None
    with project.db("knowledge").read() as conn:
        left = {r[0] for r in conn.execute("SELECT content_hash FROM embedding_metadata")}
    assert left == {blob_b}


@pytest.mark.parametrize("days", [999_999, 500_000])
def test_a_retention_of_ages_keeps_everything(project: Project, days: int) -> None:
    """QA round 13b: 03. 999999 days ("never") put the cutoff before the year 1: every tier
    failed with "year -711 is out of range". 500000 days gave the year 657, written "657" by
    strftime, which sorts after "2026": every row would have counted as older than that."""
    clock.set_now(T0)
    cfg = project.config.values
    cfg["storage.lifecycle.conversation_archive_days"] = days
    cfg["storage.lifecycle.file_version_retention_days"] = days
    cfg["storage.lifecycle.file_version_max_count"] = 1
    cfg["storage.lifecycle.session_expire_after"] = f"{days}d"
    cfg["storage.backup.backup_retain_days"] = days
    old = clock.to_ts(T0 - 400 * DAY)
    add_conversations(project, 2, when=old)
    with project.db("file_index").write() as conn:
        conn.execute("INSERT INTO files (id, path, name) VALUES ('f', 'f', 'f')")
        for age in (400, 500):
            conn.execute("INSERT INTO file_changes (id, file_id, change_type, changed_at)"
                         " VALUES (?, 'f', 'modified', ?)",
                         (f"f-{age}", clock.to_ts(T0 - age * DAY)))
    with project.db("sessions").write() as conn:
        conn.execute("INSERT INTO sessions (id, status, last_activity) VALUES ('s', 'active', ?)",
                     (old,))
    report = run_maintenance(project, TIERS)
    assert report.ok, [t for t in report.tasks if t.error]
    assert archived_count(project) == 0
    with project.db("file_index").read() as conn:
        left = conn.execute("SELECT count(*) FROM file_changes WHERE file_id = 'f'").fetchone()
    assert left[0] == 2
    with project.db("sessions").read() as conn:
        assert conn.execute("SELECT status FROM sessions WHERE id = 's'").fetchone()[0] == "active"
    assert clock.ago(days * DAY) < old
    assert clock.ago(float("inf")) == ""


ARCHIVING_KILLED = """
import os, signal
from pathlib import Path
from gitext.cli.env import global_root
from gitext.lifecycle import archive
from gitext.project import Project

project = Project.locate(Path.cwd(), global_root(), os.environ)
real = archive.delete_rows

def delete_rows(conn, ids):
    files = [r[2] for r in conn.execute("PRAGMA database_list")]
    if files[0].endswith("/conversations.db"):
        os.kill(os.getpid(), signal.SIGKILL)  # the batch archived, not yet deleted live
    real(conn, ids)

archive.delete_rows = delete_rows
archive.archive_conversations(project)
"""


def test_an_archiving_run_stopped_before_its_delete_is_finished_by_repair(
        project: Project) -> None:
    """`maintain --quarterly` stopped (SIGTERM of `timeout`, kill -9) between a batch's copy
    into the archive and its delete from conversations.db left 50 conversations in both;
    doctor's `archived_and_live` hint named one id of 50 and `conversation restore ID
    --replace`, and repair said "nothing to repair", then "still wrong" (QA round 25b: 04).
    Doctor now tells them apart (`archiving_cut_short`: the same in both), and repair does the
    delete the run was stopped before; a pair that differs keeps the old finding."""
    root = project.repo.root
    old = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - 400 * 86400))
    ids = set(add_conversations(project, 60, when=old))
    project.close()
    child = subprocess.run([sys.executable, "-c", ARCHIVING_KILLED], cwd=root,
                           capture_output=True, text=True, env=os.environ.copy())
    assert child.returncode == -9, child.stderr
    both = archived_ids(project) & ids
    assert len(both) == 50  # the first batch
    changed = min(both)
    with project.db("conversations").write() as conn:  # a message added since, live
        conn.execute("INSERT INTO messages (id, conversation_id, role, content, timestamp)"
                     " VALUES (?, ?, 'user', 'later', ?)", (new_id(), changed, clock.now()))
    project.close()
    doctor = run_git_aircher(root, "doctor")
    assert "warning: archiving_cut_short: conversations_archive: 49 conversation(s)" \
        in doctor.out, doctor.out + doctor.err
    assert f"warning: archived_and_live: conversations_archive: 1 conversation(s) are both" \
        f" archived and live (e.g. {changed})" in doctor.out, doctor.out
    repair = run_git_aircher(root, "repair")
    assert "(d) conversations: deleted — the live copy of 49 conversation(s) an archiving run" \
        " had archived" in repair.out, repair.out + repair.err
    assert "archiving_cut_short" not in repair.out, repair.out  # nothing of it still wrong
    assert archived_ids(project) & ids == both
    live = {r[0] for r in sqlite3.connect(project.layout.db("conversations")).execute(
        "SELECT id FROM conversations")}
    assert live == (ids - both) | {changed}
