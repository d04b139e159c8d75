"""Backups: consistent online copies, a manifest written last, verify, atomic restore, pruning."""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gitext import clock
from gitext.errors import AircherError
from gitext.lifecycle.backup import BackupInfo, create_backup, list_backups, prune_backups
from gitext.lifecycle.restore import extract, restore_backup, verify_backup
from gitext.project import Project
from tests.conftest import commit
from tests.lifecycle.util import add_conversations, add_sessions, counts, integrity, rot_backup_copy

WRITER = r"""
import sqlite3, sys, uuid, pathlib
path, stop = sys.argv[1], pathlib.Path(sys.argv[2])
conn = sqlite3.connect(path, isolation_level=None, timeout=30)
conn.execute("PRAGMA busy_timeout = 30000")
n = 0
while not stop.exists():
    conn.execute("BEGIN IMMEDIATE")
    cid = str(uuid.uuid4())
    conn.execute("INSERT INTO conversations (id, provider) VALUES (?, 'w')", (cid,))
    for i in range(5):
        conn.execute("INSERT INTO messages (id, conversation_id, role, content)"
                     " VALUES (?, ?, 'user', ?)", (str(uuid.uuid4()), cid, "z" * 500))
    conn.execute("COMMIT")
    n += 1
    if n == 20:
        print("writing", flush=True)
print(n, flush=True)
"""


def test_create_verify_restore_round_trip(project: Project) -> None:
    add_conversations(project, 5)
    add_sessions(project, 3)
    info = create_backup(project)
    folder = Path(info.path)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["id"] == info.id
    names = {d["name"] for d in manifest["databases"]}
    assert {"conversations", "knowledge", "file_index", "sessions", "global"} <= names
    conv = info.db("conversations")
    assert conv is not None and conv.rows["conversations"] == 5 and conv.rows["messages"] == 15
    assert conv.quick_check == "ok" and len(conv.sha256) == 64
    assert verify_backup(project, info.id).ok

    add_conversations(project, 7)
    result = restore_backup(project, info.id)
    assert "conversations" in result.restored and "global" not in result.restored
    live = counts(project.layout.db("conversations"))
    assert live["conversations"] == 5 and live["messages"] == 15
    # The replaced files are kept aside, with the rows written after the backup.
    kept = Path(result.replaced_dir) / "core" / "conversations.db"
    assert kept.exists()
    # The restored store is usable at once (migrations, WAL, writes).
    add_conversations(project, 1)
    assert counts(project.layout.db("conversations"))["conversations"] == 6


def test_backup_while_another_process_writes(project: Project, tmp_path: Path) -> None:
    add_conversations(project, 3)
    project.close()
    stop = tmp_path / "stop"
    db = project.layout.db("conversations")
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(stop)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "writing"
        backups = [create_backup(project) for _ in range(3)]
    finally:
        stop.touch()
        out, _ = writer.communicate(timeout=60)
    assert writer.returncode == 0 and int(out.strip()) >= 20
    for info in backups:
        copy = info.db("conversations")
        assert copy is not None and copy.quick_check == "ok"
        # Each copy is one snapshot: every conversation has all 5 of its messages.
        extracted = tmp_path / f"{info.id}.db"
        extract(info, copy, extracted)
        assert integrity(extracted) == "ok"
        got = counts(extracted)
        assert got["conversations"] == copy.rows["conversations"]
        assert got["messages"] == 9 + 5 * (got["conversations"] - 3)
    last = backups[-1]
    restore_backup(project, last.id)
    assert integrity(db) == "ok"
    restored = counts(db)
    copy = last.db("conversations")
    assert copy is not None
    assert restored["conversations"] == copy.rows["conversations"]
    assert restored["messages"] == copy.rows["messages"]


def test_large_copies_are_compressed_and_still_verify(project: Project, tmp_path: Path) -> None:
    add_conversations(project, 10)
    project.config.values["storage.backup.compression_threshold"] = "1KB"
    info = create_backup(project)
    copy = info.db("conversations")
    assert copy is not None and copy.compressed and copy.file.endswith(".db.gz")
    with gzip.open(Path(info.path) / copy.file) as fh:
        assert fh.read(16) == b"SQLite format 3\x00"
    assert verify_backup(project, info.id).ok
    add_conversations(project, 2)
    restore_backup(project, info.id)
    assert counts(project.layout.db("conversations"))["conversations"] == 10


def test_verify_detects_a_damaged_copy(project: Project, aircher: object) -> None:
    info = create_backup(project)
    copy = info.db("sessions")
    assert copy is not None
    path = Path(info.path) / copy.file
    data = bytearray(path.read_bytes())
    data[5000] ^= 0xFF
    path.write_bytes(bytes(data))
    result = verify_backup(project, info.id)
    assert not result.ok
    assert any("sessions" in p and "checksum" in p for p in result.problems)
    res = aircher(project.repo.root, "backup", "verify", info.id)  # type: ignore[operator]
    assert res.code == 1 and "FAILED" in res.out


def test_failed_restore_leaves_the_live_store_untouched(project: Project) -> None:
    add_conversations(project, 4)
    info = create_backup(project)
    add_conversations(project, 2)
    project.close()
    # The second copy to be staged is broken: the first must not have been put in place.
    names = [c.name for c in info.databases]
    broken = info.databases[names.index("sessions")]
    (Path(info.path) / broken.file).write_bytes(b"not a database at all")
    before = {p.name: p.read_bytes() for p in project.layout.core.iterdir() if p.suffix == ".db"}
    with pytest.raises(AircherError, match="failed verification"):
        restore_backup(project, info.id)
    after = {p.name: p.read_bytes() for p in project.layout.core.iterdir() if p.suffix == ".db"}
    assert after == before
    assert not [p for p in project.layout.core.iterdir() if ".restore-" in p.name]
    assert counts(project.layout.db("conversations"))["conversations"] == 6


def test_restoring_a_backup_made_before_the_archive_sets_the_archive_aside(
        project: Project, aircher: Any) -> None:
    """A backup made before the first archiving run has no copy of the conversations archive;
    its restore swapped in the four databases and left the archive made since, so the
    conversations archived since were back live *and* still archived (doctor:
    archived_and_live). The store is now the backup's: the archive goes aside with the
    replaced files. A restore of some databases only (repair's) leaves it. (QA round 20c: 04)"""
    from gitext.lifecycle.archive import archive_conversations, archived_ids
    from gitext.lifecycle.doctor import diagnose

    old = add_conversations(project, 2, when=clock.to_ts(time.time() - 400 * 86400))
    info = create_backup(project)
    assert info.db("conversations_archive") is None
    assert archive_conversations(project).archived == 2
    archive = project.layout.db("conversations_archive")

    restore_backup(project, info.id, only=["sessions"])
    assert archived_ids(project) == set(old)

    r = aircher(project.repo.root, "backup", "restore", info.id)
    assert r.code == 0, r.err
    assert "set aside conversations_archive: the backup has no copy of it" in r.out
    assert not archive.exists() and archived_ids(project) == set()
    assert counts(project.layout.db("conversations"))["conversations"] == 2
    replaced = sorted(project.layout.backups.glob("replaced-*"))[-1]
    assert (replaced / "core" / "conversations_archive.db").is_file()  # nothing destroyed
    assert not [f for f in diagnose(project).problems() if f.check == "archived_and_live"]


def test_incomplete_backups_are_ignored_then_cleaned(project: Project) -> None:
    good = create_backup(project)
    partial = project.layout.backups / "20200101T000000Z"
    partial.mkdir()
    (partial / "conversations.db").write_bytes(b"half a copy")
    old = time.time() - 3 * 86400
    os.utime(partial, (old, old))
    assert [b.id for b in list_backups(project)] == [good.id]
    assert prune_backups(project, dry_run=True) == [partial.name]
    assert partial.exists()
    assert prune_backups(project) == [partial.name]
    assert not partial.exists() and Path(good.path).exists()


def test_pruning_by_age_keeps_the_newest_good_backup(project: Project) -> None:
    t0 = 1_800_000_000.0
    clock.set_now(t0)
    b1 = create_backup(project)
    clock.set_now(t0 + 10 * 86400)
    b2 = create_backup(project)
    clock.set_now(t0 + 40 * 86400)
    b3 = create_backup(project)
    assert [b.id for b in list_backups(project)] == [b3.id, b2.id, b1.id]
    assert prune_backups(project) == [b1.id]  # 40 days old; b2 is exactly 30 days: kept
    clock.set_now(t0 + 200 * 86400)
    assert prune_backups(project) == [b2.id]  # b3 is old too, but it is the newest good one
    assert [b.id for b in list_backups(project)] == [b3.id]
    # Files a restore set aside go once they are as old as a backup would be.
    clock.set_now(t0 + 201 * 86400)
    replaced = Path(restore_backup(project, b3.id).replaced_dir)
    assert prune_backups(project) == []
    clock.set_now(t0 + 240 * 86400)
    assert prune_backups(project) == [replaced.name]
    assert not replaced.exists()


def test_a_backup_dated_while_the_clock_was_ahead_is_not_the_newest(project: Project) -> None:
    """Backups were ordered by the date the clock of the moment gave: one taken with the clock
    a year ahead (then put right) stayed "newest" for good, so `repair` restored it over the
    real latest backup (the work since was lost) and pruning kept it as the newest one ok when
    made while the real newest went (QA round 20c: 02)."""
    from gitext.lifecycle.backup import ok_when_made
    from gitext.lifecycle.repair import repair
    from tests.lifecycle.util import settle

    t0 = 1_800_000_000.0
    add_conversations(project, 1)
    clock.set_now(t0 + 365 * 86400)
    ahead = create_backup(project)
    clock.set_now(t0)
    add_conversations(project, 2, title="since the clock was put right")
    latest = create_backup(project)
    assert [b.id for b in list_backups(project)] == [latest.id, ahead.id]
    assert [b.id for b in ok_when_made(project, "conversations")] == [latest.id, ahead.id]

    clock.set_now(t0 + 86400)
    settle(project)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{project.layout.db('conversations')}{suffix}").unlink(missing_ok=True)
    report = repair(project)
    project.close()
    assert [a.detail for a in report.actions if a.action == "restored"] == [
        f"from backup {latest.id}"]
    assert counts(project.layout.db("conversations"))["conversations"] == 3

    # Made before `latest`, it is at least as old: it goes with the backups of that age, and
    # `latest` stays as the newest one ok when made.
    clock.set_now(t0 + 40 * 86400)
    assert prune_backups(project) == [ahead.id]
    assert [b.id for b in list_backups(project)] == [latest.id]


def test_backups_from_before_their_order_was_recorded_distrust_a_date_in_the_future(
        project: Project) -> None:
    """Manifests written before backups recorded the order they were made in: one dated more
    than an hour later than now comes after the others (QA round 20c: 02)."""
    t0 = 1_800_000_000.0
    clock.set_now(t0 + 365 * 86400)
    ahead = create_backup(project)
    clock.set_now(t0)
    older = create_backup(project)
    clock.set_now(t0 + 3600)
    latest = create_backup(project)
    for info in (ahead, older, latest):
        manifest = Path(info.path) / "manifest.json"
        data = json.loads(manifest.read_text())
        data.pop("seq")
        manifest.write_text(json.dumps(data))
    assert [b.id for b in list_backups(project)] == [latest.id, older.id, ahead.id]


def test_backup_cli(project: Project, aircher: object) -> None:
    add_conversations(project, 2)
    run = aircher  # type: ignore[assignment]
    res = run(project.repo.root, "backup", "create", "--json")  # type: ignore[operator]
    assert res.code == 0, res.err
    made = json.loads(res.out)
    res = run(project.repo.root, "backup", "list", "--json")  # type: ignore[operator]
    assert [b["id"] for b in json.loads(res.out)] == [made["id"]]
    res = run(project.repo.root, "backup", "verify", made["id"], "--json")  # type: ignore[operator]
    assert res.code == 0 and json.loads(res.out)["ok"] is True
    add_conversations(project, 3)
    project.close()
    res = run(project.repo.root, "backup", "restore", made["id"])  # type: ignore[operator]
    assert res.code == 0, res.err
    assert "restored" in res.out
    assert counts(project.layout.db("conversations"))["conversations"] == 2


def test_an_unknown_backup_id_is_bad_input(project: Project, aircher: object) -> None:
    """`backup verify|restore <unknown id>` exited 1, which scripts read as "the backup failed
    verification"; every other unknown id exits 2 (QA round 24c: 07)."""
    run = aircher
    for verb in ("verify", "restore"):
        res = run(project.repo.root, "backup", verb, "nope")  # type: ignore[operator]
        assert (res.code, res.err) == (2, "error: no backup 'nope'\nhint: `git aircher backup"
                                          " list` shows them\n")


def test_backup_copies_are_standalone_files(project: Project, tmp_path: Path) -> None:
    info = create_backup(project)
    copy = info.db("knowledge")
    assert copy is not None and not copy.compressed
    conn = sqlite3.connect(Path(info.path) / copy.file)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    finally:
        conn.close()


def test_search_after_a_restore_finds_what_was_committed_since(project: Project,
                                                               aircher: Any) -> None:
    """The restored index predates the commits made since its backup; the search stamp that
    said HEAD was fully indexed must not survive it (QA round 3: 11)."""
    repo = project.repo.root
    info = create_backup(project)
    commit(repo, {"later.txt": "okapi lantern\n"}, "after the backup")
    res = aircher(repo, "search", "--json", "okapi lantern")
    assert [h["path"] for h in json.loads(res.out)] == ["later.txt"]  # stamps HEAD as indexed
    project.close()
    restore_backup(project, info.id)
    res = aircher(repo, "search", "--json", "okapi lantern")
    assert res.code == 0, res.err
    assert [h["path"] for h in json.loads(res.out)] == ["later.txt"]


def test_a_backup_older_than_a_compaction_restores_searchable_vectors(
        project: Project, aircher: Any) -> None:
    """Backups hold the databases, not the vector segments: a compaction since the copy was
    made deleted the segments its rows name. The restore must count those blobs as not
    embedded, so they are embedded again, and compaction must not fail on them
    (QA round 6: 04, 05)."""
    from gitext.search.embedders import embedder_for
    from gitext.search.maintenance import compact

    repo = project.repo.root
    commit(repo, {"otter.py": "def otter_den_locator(river):\n    return river.banks\n"})
    assert aircher(repo, "index").code == 0
    info = create_backup(project)
    commit(repo, {"heron.py": "def heron_nest_survey(marsh):\n    return marsh.reeds\n"})
    assert aircher(repo, "index").code == 0
    compact(project, embedder_for(project))  # every segment the backup names is gone
    project.close()
    restore_backup(project, info.id)

    res = aircher(repo, "search", "--json", "--mode", "vector", "otter den locator")
    assert res.code == 0, res.err
    assert [h["path"] for h in json.loads(res.out)][:1] == ["otter.py"]
    doctor = aircher(repo, "doctor", "--json")
    assert "embeddings" not in {f["check"] for f in json.loads(doctor.out)["findings"]}
    assert compact(project, embedder_for(project))["kept"] >= 2


def _sessions_copy(project: Project) -> tuple[BackupInfo, Path, bytearray]:
    """A new backup, its copy of sessions.db and that copy's bytes, to damage."""
    info = create_backup(project)
    copy = info.db("sessions")
    assert copy is not None
    path = Path(info.path) / copy.file
    return info, path, bytearray(path.read_bytes())


def test_a_damaged_copy_is_named_by_restore_and_not_called_good_by_list(
        project: Project, aircher: Any) -> None:
    """Restore said "failed verification (ok)", the integrity result, for a checksum mismatch;
    `list` said "yes" under "good" for a backup `verify` failed (QA round 3: 14)."""
    repo = project.repo.root
    info, path, data = _sessions_copy(project)
    data[-10] ^= 0xFF  # in place, same size: past the pages SQLite checks
    path.write_bytes(bytes(data))
    project.close()
    res = aircher(repo, "backup", "restore", info.id)
    assert res.code == 1
    assert "sessions failed verification (checksum mismatch)" in res.err
    res = aircher(repo, "backup", "list")
    assert res.code == 0 and "ok when made" in res.out and "yes" not in res.out
    path.write_bytes(bytes(data[:4096]))
    res = aircher(repo, "backup", "list")
    assert "sessions: size differs from the manifest" in res.out
    listed = json.loads(aircher(repo, "backup", "list", "--json").out)[0]
    assert listed["ok_when_made"] is False
    assert listed["damage"] == "sessions: size differs from the manifest"


def test_list_json_claims_only_what_a_look_tells(project: Project, aircher: Any) -> None:
    """`backup list --json` said "good": true for a backup whose copy was changed in place,
    which `verify` fails: list reads no copy, so it says "ok_when_made" (QA round 5: 05). The
    manifest judges nothing either: it once carried "good": true whatever became of its
    copies."""
    repo = project.repo.root
    info, path, data = _sessions_copy(project)
    for i in range(200, 4000):
        data[i] ^= 0xFF  # in place, same size
    path.write_bytes(bytes(data))
    project.close()
    assert aircher(repo, "backup", "verify", info.id).code == 1
    listed = json.loads(aircher(repo, "backup", "list", "--json").out)[0]
    assert "good" not in listed
    assert listed["ok_when_made"] is True and listed["damage"] is None
    manifest = json.loads((Path(info.path) / "manifest.json").read_text())
    assert not {"good", "ok_when_made", "damage"} & set(manifest)


def _rows(path: Path, table: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def test_backups_leave_out_the_search_index_and_a_restore_rebuilds_it(
        project: Project, aircher: Any) -> None:
    """The text index and the vector rows were most of a backup (84 of 97 MB on git/git), made
    again every day; git gives them back, so the copies hold them empty and the search after a
    restore indexes the store again, vectors too."""
    repo = project.repo.root
    commit(repo, {"otter.py": "def otter_den_locator(river):\n    return river.banks\n"})
    assert aircher(repo, "index").code == 0
    live = project.layout.db("file_index")
    assert _rows(live, "search_docs") > 0
    info = create_backup(project)
    folder = Path(info.path)
    fi, kn = info.db("file_index"), info.db("knowledge")
    assert fi is not None and kn is not None
    assert fi.left_out == ["search_docs", "search_orphans"]
    assert kn.left_out == ["embedding_metadata"]
    assert fi.rows["search_docs"] == 0 and kn.rows["embedding_metadata"] == 0
    assert fi.rows["files"] > 0 and fi.rows["commits"] > 0  # the rest is all there
    assert _rows(folder / fi.file, "search_fts") == 0
    conn = sqlite3.connect(folder / fi.file)
    try:  # the FTS index agrees with its emptied table, and the triggers are back
        conn.execute("INSERT INTO search_fts (search_fts) VALUES ('integrity-check')")
        triggers = {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'search_docs'")}
    finally:
        conn.close()
    assert triggers == {"search_docs_ai", "search_docs_ad", "search_docs_au"}
    assert _rows(live, "search_docs") > 0  # the live store keeps its index
    manifest = json.loads((folder / "manifest.json").read_text())
    listed = {d["name"]: d["left_out"] for d in manifest["databases"]}
    assert listed["file_index"] == ["search_docs", "search_orphans"]
    assert list_backups(project)[0].db("file_index").left_out == fi.left_out  # type: ignore[union-attr]
    assert verify_backup(project, info.id).ok

    project.close()
    restore_backup(project, info.id)
    for mode in ("text", "vector"):
        res = aircher(repo, "search", "--json", "--mode", mode, "otter den locator")
        assert res.code == 0, res.err
        assert [h["path"] for h in json.loads(res.out)][:1] == ["otter.py"], mode
    doctor = aircher(repo, "doctor", "--json")
    assert doctor.code == 0, doctor.out


def _lose_knowledge(project: Project) -> None:
    project.close()
    live = project.layout.db("knowledge")
    for path in (live, live.with_name(live.name + "-wal"), live.with_name(live.name + "-shm")):
        path.unlink(missing_ok=True)


def test_a_backup_whose_manifest_is_damaged_is_listed_and_its_copies_used(
    project: Project, aircher: Any,
) -> None:
    """The newest backup's manifest.json cut short (a crash, a full disk), its copies intact:
    taken for an interrupted backup, it was left out of `backup list`, `verify` said to let the
    daily tier delete it (which it did), and repair of a lost knowledge.db restored the older
    backup, losing the decision only the newest held. Now it is listed with its damage named,
    verify checks its copies by integrity_check, and repair uses them, saying so. (QA round
    24b: 04)"""
    repo = project.repo.root
    older = create_backup(project)
    assert aircher(repo, "decision", "add", "only in the newest backup").code == 0
    newest = create_backup(project)
    (Path(newest.path) / "manifest.json").write_bytes(
        (Path(newest.path) / "manifest.json").read_bytes()[:100])
    day_old = time.time() - 2 * 86400
    os.utime(newest.path, (day_old, day_old))  # as old as an interrupted one the daily tier drops

    assert [b.id for b in list_backups(project)] == [newest.id, older.id]
    listed = aircher(repo, "backup", "list")
    assert f"{newest.id}  " in listed.out and "manifest.json cannot be read" in listed.out
    assert newest.id not in prune_backups(project, dry_run=True)
    res = aircher(repo, "backup", "verify", newest.id)
    assert res.code == 1 and "problem: manifest.json cannot be read" in res.out, res.out
    assert "maintain" not in res.out + res.err

    _lose_knowledge(project)
    res = aircher(repo, "repair")
    assert res.code == 0, res.out + res.err
    assert f"(b) knowledge: restored — from backup {newest.id}; its manifest.json cannot be" \
        " read, the copy passed integrity_check" in res.out, res.out
    assert "only in the newest backup" in aircher(repo, "decision", "list").out


def test_repair_says_why_it_passed_over_a_newer_backup(project: Project, aircher: Any) -> None:
    """Repair restored an older backup without a word about the newer one it passed over.
    (QA round 24b: 04)"""
    repo = project.repo.root
    older = create_backup(project)
    newest = create_backup(project)
    rot_backup_copy(newest, "knowledge")
    _lose_knowledge(project)
    res = aircher(repo, "repair")
    assert res.code == 0, res.out + res.err
    line = next(ln for ln in res.out.splitlines() if "knowledge: restored" in ln)
    assert f"from backup {older.id}; passed over newer {newest.id} (knowledge failed" \
        " verification (checksum mismatch" in line, line
