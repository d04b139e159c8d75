"""Damaged databases: doctor finds every one, repair brings the rows back (salvage + backup)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gitext import clock
from gitext.lifecycle.backup import create_backup, list_backups
from gitext.lifecycle.doctor import diagnose
from gitext.lifecycle.repair import RepairReport, repair
from gitext.lifecycle.salvage import salvage_database
from gitext.project import Project
from tests.lifecycle.util import (
    add_conversations,
    add_sessions,
    counts,
    integrity,
    rot_backup_copy,
    scribble_pages,
    settle,
    side_file_of_another,
    truncate,
)


def _fill(project: Project) -> dict[str, dict[str, int]]:
    add_conversations(project, 40, messages=5)
    add_sessions(project, 60)
    create_backup(project)
    settle(project)
    return {db: counts(project.layout.db(db)) for db in ("conversations", "sessions")}


def _problems(project: Project, db: str) -> list[str]:
    report = diagnose(project)
    project.close()
    return [f.check for f in report.problems(db)]


def _repaired(project: Project, original: dict[str, dict[str, int]]) -> RepairReport:
    report = repair(project)
    project.close()
    assert report.after is not None and report.after.healthy, report.to_json()["after"]
    for db, want in original.items():
        path = project.layout.db(db)
        assert integrity(path) == "ok"
        got = counts(path)
        assert {t: got.get(t) for t in want} == want, db
    return report


def _lose(path: Path, how: str) -> None:
    """A database gone with its side files: deleted, or truncated to 0 bytes."""
    for side in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        side.unlink(missing_ok=True)
    if how == "deleted":
        path.unlink()
    else:
        path.write_bytes(b"")


@pytest.mark.parametrize("db", ["conversations", "sessions"])
def test_truncated_database_is_found_and_repaired(project: Project, db: str) -> None:
    original = _fill(project)
    truncate(project.layout.db(db))
    assert {"integrity"} & set(_problems(project, db)), "doctor missed a truncated file"
    _repaired(project, original)
    kept = list(project.layout.backups.glob(f"damaged-*/core/{db}.db"))
    assert kept, "the damaged file is kept aside"


@pytest.mark.parametrize("seed", [1, 3, 5])
def test_random_bytes_in_pages_are_found_and_repaired(project: Project, seed: int) -> None:
    original = _fill(project)
    scribble_pages(project.layout.db("conversations"), seed)
    assert "integrity" in _problems(project, "conversations")
    report = _repaired(project, original)
    (salvaged,) = report.salvaged
    for table in salvaged["tables"]:
        if table["table"] in ("conversations", "messages"):
            # Every row came from exactly one place: the damaged file, else the backup.
            assert table["from_damaged"] + table["from_backup"] == \
                original["conversations"][table["table"]]


def test_salvage_without_a_backup_accounts_for_every_row(project: Project) -> None:
    add_conversations(project, 60, messages=4)
    settle(project)
    path = project.layout.db("conversations")
    before = counts(path)
    scribble_pages(path, seed=8, pages=2)  # seed 8 hits pages of messages
    report = salvage_database(project, "conversations", use_backup=False)
    project.close()
    assert report.backup_id is None
    after = counts(path)
    assert integrity(path) == "ok"
    for table in report.tables:
        if table.table in ("conversations", "messages"):
            # Rows only ever get rowids in ascending order here: read + lost = what there was.
            assert table.from_damaged + table.lost == before[table.table], table
            assert after[table.table] == table.from_damaged
    assert report.recovered > 0 and report.lost > 0


@pytest.mark.parametrize("cut", [20_000, 50])
def test_rows_after_the_backup_that_cannot_be_counted_are_not_called_0_lost(
    project: Project, aircher: object, cut: int,
) -> None:
    """A file cut short before its tables' pages (20,000 bytes), or before its schema (50),
    yields no rows and no highest rowid: the loss after the backup is unknown, not 0
    (QA round 3: 06)."""
    add_conversations(project, 2)
    backup = create_backup(project)
    add_conversations(project, 1, title="after the backup")
    path, res = _cut_and_repair(project, aircher, cut)
    (line,) = [ln for ln in res.out.splitlines() if "conversations: salvaged" in ln]
    assert "0 lost" not in line
    assert f"rows added to compaction_history, conversations, message_attachments, messages" \
        f" after the backup of {backup.created_at} could not be read, how many is unknown" \
        in line
    assert counts(path)["conversations"] == 2


def _cut_and_repair(project: Project, aircher: object, cut: int = 50) -> tuple[Path, Any]:
    """conversations.db cut short to `cut` bytes (before its schema at 50), then `repair`."""
    settle(project)
    path = project.layout.db("conversations")
    with path.open("r+b") as fh:
        fh.truncate(cut)
    res = aircher(project.repo.root, "repair")  # type: ignore[operator]
    assert res.code == 0, res.out + res.err
    return path, res


def test_conversations_archived_since_the_backup_stay_in_the_archive(
    project: Project, aircher: object,
) -> None:
    """QA round 4: the backup held them live, and merged back in by a repair they were both
    archived and live, which repair then reported as still wrong."""
    from gitext import clock
    from gitext.lifecycle.archive import archive_conversations, archived_ids

    t0 = 1_800_000_000.0
    clock.set_now(t0)
    old = add_conversations(project, 1, when=clock.to_ts(t0 - 400 * 86400), text="old talk")
    kept = add_conversations(project, 1, when=clock.to_ts(t0 - 3600), text="new talk")
    create_backup(project)
    assert archive_conversations(project).archived == 1
    assert archived_ids(project) == set(old)
    path, res = _cut_and_repair(project, aircher)
    assert counts(path)["conversations"] == 1
    assert archived_ids(project) == set(old)
    import sqlite3

    with sqlite3.connect(path) as conn:
        assert [r[0] for r in conn.execute("SELECT id FROM conversations")] == kept
        assert conn.execute("SELECT count(*) FROM messages WHERE conversation_id = ?",
                            (old[0],)).fetchone()[0] == 0
    assert "archived_and_live" not in aircher(project.repo.root, "doctor").out  # type: ignore[operator]


def test_a_backup_changed_in_place_is_passed_over_for_an_older_one(
    project: Project, aircher: object,
) -> None:
    """QA round 5: repair salvaged from the newest backup whose copies were there at their
    size; one changed in place (bit rot) read as empty, and every row was lost while an older
    backup held them all."""
    from pathlib import Path as _Path

    add_conversations(project, 3)
    older = create_backup(project)
    newest = create_backup(project)
    assert newest.id != older.id
    copy = next(c for c in newest.databases if c.name == "conversations")
    stored = _Path(newest.path) / copy.file
    data = bytearray(stored.read_bytes())
    for i in range(4096 * 2, min(len(data), 4096 * 5)):
        data[i] ^= 0xFF  # pages of it rot, the size stays
    stored.write_bytes(bytes(data))
    path, res = _cut_and_repair(project, aircher)
    assert f"from backup {older.id}" in res.out, res.out
    assert counts(path)["conversations"] == 3 and counts(path)["messages"] == 9


WAL_CHILD = r"""
import sqlite3, sys, time, uuid
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA wal_autocheckpoint = 0")
for i in range(30):
    conn.execute("INSERT INTO sessions (id, user_id, status) VALUES (?, 'wal', 'active')",
                 (str(uuid.uuid4()),))
print("committed", flush=True)
sys.stdin.readline()
conn.execute("BEGIN IMMEDIATE")
for i in range(500):
    conn.execute("INSERT INTO sessions (id, user_id, status) VALUES (?, 'open', 'active')",
                 (str(uuid.uuid4()),))
print("in transaction", flush=True)
time.sleep(120)
"""


def test_wal_deleted_mid_transaction_is_found_and_repaired(project: Project) -> None:
    add_sessions(project, 20)
    settle(project)
    path = project.layout.db("sessions")
    child = subprocess.Popen([sys.executable, "-c", WAL_CHILD, str(path)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdin is not None and child.stdout is not None
    try:
        assert child.stdout.readline().strip() == "committed"
        create_backup(project)  # sees the 30 committed rows through the WAL
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "in transaction"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    wal = path.with_name(path.name + "-wal")
    assert wal.exists()
    wal.unlink()
    assert "wal" in _problems(project, "sessions")
    assert "wal" in _problems(project, "sessions"), "looking must not destroy the evidence"
    _repaired(project, {"sessions": {"sessions": 50}})


def test_doctor_cli_reports_damage_with_exit_1(project: Project, aircher: object) -> None:
    _fill(project)
    truncate(project.layout.db("sessions"), 0.3)
    res = aircher(project.repo.root, "doctor", "--json")  # type: ignore[operator]
    assert res.code == 1
    assert '"healthy": false' in res.out and '"sessions"' in res.out
    res = aircher(project.repo.root, "repair")  # type: ignore[operator]
    assert res.code == 0, res.out + res.err
    assert "(b) sessions: salvaged" in res.out
    res = aircher(project.repo.root, "doctor")  # type: ignore[operator]
    assert res.code == 0 and "healthy" in res.out


def test_missing_database_comes_back_from_the_backup(project: Project) -> None:
    original = _fill(project)
    Path(project.layout.db("conversations")).unlink()
    assert _problems(project, "conversations") == ["missing"]
    _repaired(project, {"conversations": original["conversations"]})


def test_a_missing_database_passes_over_a_backup_changed_in_place(project: Project) -> None:
    """Repair restored a lost database from the newest backup that `backup list` calls ok when
    made; one whose copy rotted in place (same size) failed verification, and repair failed
    with it while an older backup held every row (found with QA round 5: 05)."""
    original = _fill(project)
    newest = create_backup(project)
    rot_backup_copy(newest, "conversations")
    Path(project.layout.db("conversations")).unlink()
    report = _repaired(project, {"conversations": original["conversations"]})
    restored = [a.detail for a in report.actions if a.action == "restored"]
    assert restored and restored[0].split(";")[0] != f"from backup {newest.id}"
    assert f"passed over newer {newest.id} (conversations failed verification" in restored[0]


def test_salvage_merges_with_the_latest_backup_not_one_dated_while_the_clock_was_ahead(
        project: Project) -> None:
    """Salvage took the backup with the latest date as the newest: one taken with the clock a
    year ahead (then put right) filled the damaged file's gaps from before the real latest
    backup (QA round 20c: 02)."""
    t0 = 1_800_000_000.0
    clock.set_now(t0 + 365 * 86400)
    create_backup(project)
    clock.set_now(t0)
    original = _fill(project)  # its backup is the latest one
    latest = list_backups(project)[0]
    assert latest.created_epoch == t0
    truncate(project.layout.db("conversations"))
    report = _repaired(project, original)
    assert [s["backup_id"] for s in report.salvaged] == [latest.id]


def test_a_damaged_file_index_is_not_said_to_lose_the_search_index(
    project: Project, aircher: Any,
) -> None:
    """Backups leave the search index out, and repair makes it again from git: a salvaged
    file_index whose search rows could not be read reports no loss there, and search works."""
    import json

    from tests.conftest import commit

    repo = project.repo.root
    commit(repo, {"otter.py": "def otter_den_locator(river):\n    return river.banks\n"})
    assert aircher(repo, "index").code == 0
    create_backup(project)
    settle(project)
    path = project.layout.db("file_index")
    with path.open("r+b") as fh:
        fh.truncate(50)  # before its schema: no table can say how far it went
    res = aircher(repo, "repair")
    assert res.code == 0, res.out + res.err
    (line,) = [ln for ln in res.out.splitlines() if "file_index: salvaged" in ln]
    assert "search_docs" not in line and "search_orphans" not in line, line
    assert "commits" in line  # what the backup may not have held is still named
    res = aircher(repo, "search", "--json", "otter den locator")
    assert res.code == 0, res.err
    assert [h["path"] for h in json.loads(res.out)][:1] == ["otter.py"]


def test_damage_found_by_a_query_is_one_error_line_with_the_fix(
    project: Project, aircher: Any,
) -> None:
    """A query reading a damaged page ended "unexpected DatabaseError … details in crash-….log",
    exit 3, as a bug does, though doctor names the damage and repair mends it (QA round 15a:
    01). Now it is one error line that says so, exit 1."""
    import sqlite3

    from tests.conftest import commit

    repo = project.repo.root
    commit(repo, {f"src/m{n}.py": f"def func_{n}():\n    return 'zebrafish_{n}'\n"
                  for n in range(60)})
    assert aircher(repo, "index").code == 0
    settle(project)
    path = project.layout.db("file_index")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = [r[0] for r in conn.execute(
            "SELECT pageno FROM dbstat WHERE name IN ('search_docs', 'search_fts_data')")]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    with path.open("r+b") as fh:
        for page in pages:
            fh.seek((page - 1) * size)
            fh.write(b"\xff" * 8)
    res = aircher(repo, "search", "zebrafish_7")
    assert res.code == 1, res.err
    assert res.err.startswith("error: a database of the store is damaged (")
    assert res.err.splitlines()[1] == \
        "hint: `git aircher doctor` names it; `git aircher repair` salvages it"
    assert aircher(repo, "repair").code == 0
    assert aircher(repo, "search", "zebrafish_7").code == 0


def test_a_file_cut_short_gives_back_the_rows_it_still_holds(project: Project) -> None:
    """A file cut short still says in its header how many pages it had; SQLite trusted that,
    every read failed, and repair read 0 rows from a file holding ~90% of them, putting back
    the backup alone (QA round 15c: 02)."""
    add_conversations(project, 1, messages=5)
    create_backup(project)  # 5 messages
    add_conversations(project, 10, messages=30, title="after")  # 300 more
    settle(project)
    truncate(project.layout.db("conversations"), 0.9)
    report = repair(project)
    project.close()
    (salvaged,) = report.salvaged
    messages = next(t for t in salvaged["tables"] if t["table"] == "messages")
    assert messages["from_damaged"] >= 250, messages  # of 305; a backup alone gives 5
    assert counts(project.layout.db("conversations"))["messages"] >= 250


def _live_ids(project: Project) -> set[str]:
    import sqlite3

    with sqlite3.connect(project.layout.db("conversations")) as conn:
        return {r[0] for r in conn.execute("SELECT id FROM conversations")}


def test_a_lost_conversations_db_restored_by_repair_keeps_what_was_archived_since(
    project: Project, aircher: Any,
) -> None:
    """Repair restored a lost conversations.db from a backup made before the last archiving
    run: the conversations archived since came back live while they stayed archived, and
    repair called its own result still wrong (doctor: archived_and_live), then a second repair
    had nothing to do. The archive, not restored, holds the current copy: the restored
    database's copy goes. (QA round 21a: 03)"""
    from gitext.lifecycle.archive import archive_conversations, archived_ids

    t0 = 1_800_000_000.0
    clock.set_now(t0)
    old = add_conversations(project, 2, when=clock.to_ts(t0 - 400 * 86400), text="old talk")
    kept = add_conversations(project, 1, when=clock.to_ts(t0 - 3600), text="new talk")
    create_backup(project)
    assert archive_conversations(project).archived == 2
    settle(project)
    project.close()
    for suffix in ("", "-wal", "-shm"):
        Path(str(project.layout.db("conversations")) + suffix).unlink(missing_ok=True)
    res = aircher(project.repo.root, "repair")
    assert res.code == 0, res.out + res.err
    project.close()
    assert _live_ids(project) == set(kept)
    assert archived_ids(project) == set(old)
    project.close()
    with __import__("sqlite3").connect(project.layout.db("conversations")) as conn:
        assert conn.execute("SELECT count(*) FROM messages WHERE conversation_id IN (?, ?)",
                            old).fetchone()[0] == 0
    assert "archived_and_live" not in aircher(project.repo.root, "doctor").out


def test_a_damaged_archive_rebuilt_by_repair_keeps_what_was_brought_back_since(
    project: Project, aircher: Any,
) -> None:
    """The other way round: a conversations_archive.db cut short (a lost one is no finding: a
    store need not have an archive), so rebuilt by repair from a backup that still held a
    conversation `conversation restore` has brought back live since; the live copy is the
    current one, so the backup's archived copy goes. (QA round 21a: 03)"""
    from gitext.lifecycle.archive import archive_conversations, archived_ids, restore_archived

    t0 = 1_800_000_000.0
    clock.set_now(t0)
    old = add_conversations(project, 2, when=clock.to_ts(t0 - 400 * 86400), text="old talk")
    assert archive_conversations(project).archived == 2
    create_backup(project)
    assert restore_archived(project, old[0]) == old[0]
    settle(project)
    project.close()
    with project.layout.db("conversations_archive").open("r+b") as fh:
        fh.truncate(50)
    res = aircher(project.repo.root, "repair")
    assert res.code == 0, res.out + res.err
    project.close()
    assert archived_ids(project) == {old[1]}
    assert _live_ids(project) == {old[0]}
    assert "archived_and_live" not in aircher(project.repo.root, "doctor").out


@pytest.mark.parametrize("db", ["conversations", "knowledge", "global"])
@pytest.mark.parametrize("how", ["deleted", "emptied"])
def test_a_lost_database_is_not_made_anew_empty_by_the_next_command(
    project: Project, aircher: Any, db: str, how: str,
) -> None:
    """A database the store had, deleted (or cut to 0 bytes by a crash), was made anew, empty,
    by the next `status` or list command: doctor then said healthy, repair "nothing to repair",
    and the backup's rows never came back (QA round 24b: 01). The command now fails in one
    line whose hint is repair, doctor still finds the loss, and repair brings the rows back."""
    _fill(project)
    path = project.db_path(db)
    before = counts(path)
    assert before["contexts" if db != "conversations" else "conversations"] > 0
    _lose(path, how)
    repo = project.repo.root
    own = {"conversations": ["conversation", "list", "--all"], "knowledge": ["decision", "list"]}
    for command in (["status"], *([own[db]] if db in own else [])):
        res = aircher(repo, *command)
        assert res.code == 1, (command, res.out)
        whose = "the global" if db == "global" else f"the store's {db}"
        state = "missing" if how == "deleted" else "empty (0 bytes)"
        assert res.err.splitlines() == [
            f"error: {whose} database is {state}: {path}",
            "hint: `git aircher repair` restores it from the newest backup that holds it (or,"
            " with none, says so and makes it anew)"], command
    assert path.exists() == (how == "emptied") and not (path.exists() and path.stat().st_size)
    assert _problems(project, db) == ["missing" if how == "deleted" else "unreadable"]
    res = aircher(repo, "repair")
    assert res.code == 0, res.out + res.err
    assert f"(b) {db}: {'restored' if how == 'deleted' else 'salvaged'}" in res.out
    project.close()
    after = counts(path)
    if db == "knowledge":  # what repair rebuilds from git besides is the search index's
        after, before = after["contexts"], before["contexts"]
    assert after == before


@pytest.mark.parametrize("how", ["deleted", "emptied"])
def test_a_lost_conversations_archive_is_refused_until_repair_brings_it_back(
    project: Project, aircher: Any, how: str,
) -> None:
    """conversations_archive.db, deleted or cut to 0 bytes: it was read as no archive (archived
    conversations gone from every listing without a word), the next archiving run made it anew,
    empty, doctor said healthy, backups went on without it and pruning let those holding it go
    (known, session 22). Now the store's record names it once made: commands that read it fail
    in one line pointing to repair, backup create refuses, pruning waits, doctor reports it and
    repair restores it from the newest backup holding it."""
    from gitext.lifecycle.archive import archive_conversations, archived_ids
    from gitext.lifecycle.backup import prune_backups

    t0 = 1_800_000_000.0
    clock.set_now(t0)
    old = add_conversations(project, 2, when=clock.to_ts(t0 - 400 * 86400), text="old talk")
    add_conversations(project, 1, when=clock.to_ts(t0 - 3600), text="new talk")
    assert archive_conversations(project).archived == 2
    create_backup(project)
    settle(project)
    project.close()
    path = project.layout.db("conversations_archive")
    _lose(path, how)
    add_conversations(project, 1, when=clock.to_ts(t0 - 500 * 86400), text="due")
    project.close()
    repo = project.repo.root
    state = "missing" if how == "deleted" else "empty (0 bytes)"
    error = f"the store's conversations_archive database is {state}: {path}"
    for command in (["conversation", "list", "--status", "archived"],
                    ["conversation", "search", "--archived", "talk"], ["backup", "create"]):
        res = aircher(repo, *command)
        assert res.code == 1, (command, res.out)
        assert res.err.splitlines() == [
            f"error: {error}",
            "hint: `git aircher repair` restores it from the newest backup that holds it (or,"
            " with none, says so and makes it anew)"], command
    res = aircher(repo, "maintain", "--quarterly")  # the archiving run: its step fails
    assert res.code == 1 and f"archive     0      {error}" in res.out, res.out
    assert path.exists() == (how == "emptied") and not (path.exists() and path.stat().st_size)
    assert len(list_backups(project)) == 1
    clock.set_now(t0 + 40 * 86400)  # past backup_retain_days (30)
    assert prune_backups(project) == []
    assert _problems(project, "conversations_archive") == [
        "missing" if how == "deleted" else "unreadable"]
    res = aircher(repo, "repair")
    assert res.code == 0, res.out + res.err
    project.close()
    assert archived_ids(project) == set(old)
    assert aircher(repo, "doctor").code == 0


def test_the_worker_s_scheduled_jobs_neither_remake_a_lost_database_nor_prune_its_backups(
    project: Project,
) -> None:
    """Once the daily tier was due, the worker's scheduled jobs opened every database and so
    made a lost one anew, empty; the scheduled backup copied that empty file, and pruning then
    let the older backups holding its rows go (QA round 24b: 01). While a database the store
    had is lost, the backup job fails (logged) and nothing is pruned."""
    from gitext.lifecycle.backup import prune_backups
    from gitext.lifecycle.schedule import run_due

    original = _fill(project)
    create_backup(project)
    backups = [b.id for b in list_backups(project)]
    path = project.layout.db("conversations")
    path.unlink()
    clock.set_now(clock.epoch() + 40 * 86400)  # past backup_retain_days (30)
    assert {"daily", "backup"} <= set(run_due(project))
    project.close()
    assert not path.exists()
    assert [b.id for b in list_backups(project)] == backups
    assert prune_backups(project) == []
    assert "database is missing" in (project.layout.logs / "storage.log").read_text()
    _repaired(project, {"conversations": original["conversations"]})
    assert len(prune_backups(project)) == 1  # once repaired, the older backup goes as before


KILLED_AFTER_COMMIT = r"""
import os, signal, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA wal_autocheckpoint = 0")
conn.execute("BEGIN IMMEDIATE")
conn.execute("CREATE TEMP TABLE t AS SELECT * FROM conversations LIMIT 1")
conn.execute("UPDATE t SET id = 'committed-in-the-wal', title = 'wal only'")
conn.execute("INSERT INTO conversations SELECT * FROM t")
conn.execute("COMMIT")
os.kill(os.getpid(), signal.SIGKILL)  # before any checkpoint: the row is only in the -wal
"""


def test_committed_wal_frames_lost_are_kept_in_view_and_never_called_0_lost(
    project: Project, aircher: Any,
) -> None:
    """A writer killed before its checkpoint, then its -wal lost: doctor said "7 committed WAL
    frame(s) were lost", repair then "0 lost" although a conversation was gone; and any
    ordinary command run first reset the -shm, after which doctor said healthy (QA round 24b:
    06). Commands now refuse that file in one line; repair says the loss cannot be counted."""
    _fill(project)
    path = project.layout.db("conversations")
    subprocess.run([sys.executable, "-c", KILLED_AFTER_COMMIT, str(path)], check=False)
    path.with_name(path.name + "-wal").unlink()
    repo = project.repo.root
    res = aircher(repo, "conversation", "list", "--all")
    assert res.code == 1, res.out
    (error, hint) = res.err.splitlines()
    assert error.startswith(f"error: {path}: its -wal file is gone: ") and \
        error.endswith("committed WAL frame(s) were lost")
    assert hint.startswith("hint: `git aircher repair`")
    assert aircher(repo, "backup", "create").code == 1  # its copy's open would reset it too
    assert _problems(project, "conversations") == ["wal"], "the evidence must stay"
    res = aircher(repo, "repair")
    assert res.code == 0, res.out + res.err
    (line,) = [ln for ln in res.out.splitlines() if "conversations: salvaged" in ln]
    assert "0 lost" not in line and "conversations" in line.split("rows added to ")[1]
    assert "could not be read, how many is unknown" in line


@pytest.mark.parametrize("kind", ["wal", "journal"])
def test_a_side_file_of_another_database_is_set_aside_and_the_intact_file_kept(
    project: Project, aircher: Any, tmp_path: Path, kind: str,
) -> None:
    """Another database's -wal (or hot rollback journal) beside an intact knowledge.db: doctor
    called the file malformed (or "attempt to write a readonly database"), repair salvaged it
    through the -wal, read 0 rows and kept only the backup's, and the first read-write open (a
    command, the worker, the scheduled backup) copied the -wal into the file, or rolled the
    journal back into it, for good. Now nothing opens the database through it, doctor names it
    and repair moves it aside, keeping the file. (QA round 24b: 03)"""
    import shutil

    repo = project.repo.root
    assert aircher(repo, "decision", "add", "before the backup").code == 0
    create_backup(project)
    assert aircher(repo, "decision", "add", "after the backup").code == 0
    settle(project)
    live = project.layout.db("knowledge")
    side = live.with_name(live.name + ("-wal" if kind == "wal" else "-journal"))
    foreign = side_file_of_another(tmp_path, kind)
    shutil.copyfile(foreign, side)
    live.with_name(live.name + "-shm").unlink(missing_ok=True)
    intact = live.read_bytes()

    for args in (["decision", "list"], ["backup", "create"]):
        res = aircher(repo, *args)
        assert res.code == 1, res.out + res.err
        assert res.err.startswith(f"error: {live}: ") and "is not its own" in res.err, res.err
        assert "unexpected" not in res.err
        assert live.read_bytes() == intact and side.exists()
    assert _problems(project, "knowledge") == [f"stray_{kind}"]
    assert live.read_bytes() == intact and side.exists(), "looking must change nothing"

    report = repair(project)
    project.close()
    assert report.after is not None and report.after.healthy, report.to_json()["after"]
    assert [a.action for a in report.actions if a.database == "knowledge"][0] \
        == ("-wal" if kind == "wal" else "rollback journal") + " set aside"
    kept = list(project.layout.backups.glob(f"damaged-*/core/{side.name}"))
    assert len(kept) == 1 and kept[0].read_bytes() == foreign.read_bytes()
    assert not side.exists() or side.read_bytes() != foreign.read_bytes()
    listed = aircher(repo, "decision", "list")
    assert "before the backup" in listed.out and "after the backup" in listed.out


@pytest.mark.parametrize("source,target", [("conversations", "knowledge"),
                                           ("sessions", "conversations"),
                                           ("knowledge", "sessions")])
def test_a_database_replaced_by_another_of_the_store_is_named_and_restored(
    project: Project, aircher: Any, source: str, target: str,
) -> None:
    """One database copied over another's name (a mistaken `cp`, a restore tool putting files
    back under the wrong names): doctor and repair crashed on tables it lacks ("unexpected
    OperationalError", exit 3), or took its user_version for a newer schema and said to upgrade
    git-aircher, and repair left it. Now the tables tell whose it is: commands and doctor say
    so in one line, and repair keeps it aside and restores the right one from the backup.
    (QA round 24b: 05)"""
    import shutil

    repo = project.repo.root
    add_conversations(project, 2)
    add_sessions(project, 3)
    assert aircher(repo, "decision", "add", "use sqlite").code == 0
    create_backup(project)
    settle(project)
    wrong = project.layout.db(target)
    want = counts(wrong)
    shutil.copyfile(project.layout.db(source), wrong)
    copied = wrong.read_bytes()

    res = aircher(repo, "status")
    assert res.code == 1, res.out + res.err
    assert res.err.startswith(f"error: {wrong} is not the {target} database: it holds the"
                              f" tables of {source}"), res.err
    assert "upgrade" not in res.err and "unexpected" not in res.err
    res = aircher(repo, "doctor")
    assert res.code == 1 and "unexpected" not in res.err, res.out + res.err
    assert f"error: misplaced: {target}: " in res.out
    assert [f.check for f in diagnose(project).problems(target)] == ["misplaced"]
    project.close()

    res = aircher(repo, "repair")
    assert res.code == 0, res.out + res.err
    assert f"({'b'}) {target}: set aside — not this database" in res.out
    assert f"({'b'}) {target}: restored — from backup" in res.out
    project.close()
    # knowledge's search tables are made again from git: the user's rows are what counts.
    mine = {"conversations": ("conversations", "messages"), "sessions": ("sessions",),
            "knowledge": ("project_decisions", "contexts")}[target]
    assert {t: counts(wrong)[t] for t in mine} == {t: want[t] for t in mine}
    kept = list(project.layout.backups.glob(f"damaged-*/core/{wrong.name}"))
    assert [k.read_bytes() for k in kept] == [copied]
    assert aircher(repo, "doctor").code == 0


def test_a_folder_in_a_database_s_place_is_one_error_line_and_repair_sets_it_aside(
    project: Project, aircher: Any,
) -> None:
    """A folder where sessions.db should be: doctor called it "not an SQLite database" to be
    salvaged, and repair then crashed ("unexpected IsADirectoryError", exit 3), as did `backup
    create`. Now commands say so in one line, doctor names it and repair keeps it aside and
    restores the database. (QA round 24b: 07)"""
    repo = project.repo.root
    add_sessions(project, 3)
    create_backup(project)
    settle(project)
    live = project.layout.db("sessions")
    live.unlink()
    live.mkdir()
    (live / "note").write_text("a folder\n")
    for args in (["status"], ["backup", "create"]):
        res = aircher(repo, *args)
        assert res.code == 1, res.out + res.err
        assert res.err.startswith(f"error: {live} is a folder, not a database file\n"), res.err
    assert _problems(project, "sessions") == ["not_a_file"]
    res = aircher(repo, "repair")
    assert res.code == 0, res.out + res.err
    assert "(b) sessions: set aside — not a file" in res.out, res.out
    assert "(b) sessions: restored — from backup" in res.out
    project.close()
    assert counts(live)["sessions"] == 3
    assert len(list(project.layout.backups.glob("damaged-*/core/sessions.db/note"))) == 1
    assert aircher(repo, "doctor").code == 0
