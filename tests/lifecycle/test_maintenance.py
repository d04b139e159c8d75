"""`git aircher maintain`, and maintenance never blocking a hook's write."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from gitext import clock
from gitext.lifecycle.maintenance import TIERS, run_maintenance
from gitext.lifecycle.schedule import run_due
from gitext.project import Project
from tests.lifecycle.conftest import open_project
from tests.lifecycle.util import add_conversations, add_sessions, counts

MAINTAINER = r"""
import os, sys, pathlib
from gitext.project import Project
from gitext.lifecycle.maintenance import TIERS, run_maintenance
repo, stop = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
project = Project.locate(repo, pathlib.Path(os.environ["AIRCHER_HOME"]), os.environ)
rounds = 0
while not stop.exists():
    report = run_maintenance(project, TIERS)
    assert report.ok, report.to_json()
    rounds += 1
    if rounds == 1:
        print("running", flush=True)
print(rounds, flush=True)
"""


def test_maintenance_never_blocks_a_hook_write(project: Project, tmp_path: Path) -> None:
    add_conversations(project, 60, messages=10)
    with project.db("conversations").write() as conn:
        conn.execute("DELETE FROM messages WHERE rowid % 2 = 0")  # free pages to vacuum
    project.close()
    stop = tmp_path / "stop"
    child = subprocess.Popen(
        [sys.executable, "-c", MAINTAINER, str(project.repo.root), str(stop)],
        stdout=subprocess.PIPE, text=True, env=os.environ.copy(),
    )
    writes = 0
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "running"
        hook = open_project(project.repo.root)  # another process's view: normal busy_timeout
        try:
            for _ in range(25):
                add_sessions(hook, 1)
                with hook.db("file_index").write() as conn:
                    conn.execute("INSERT INTO file_access_patterns (id, access_type)"
                                 " VALUES (?, 'read')", (f"a{writes}",))
                add_conversations(hook, 1, messages=1)
                writes += 1
        finally:
            hook.close()
    finally:
        stop.touch()
        out, _ = child.communicate(timeout=120)
    assert child.returncode == 0, out
    assert int(out.strip().splitlines()[-1]) >= 1
    assert writes == 25
    assert counts(project.layout.db("sessions"))["sessions"] == 25


def test_maintain_cli_dry_run_then_real(project: Project, aircher: object) -> None:
    clock.set_now(1_800_000_000.0)
    with project.db("sessions").write() as conn:
        conn.execute("INSERT INTO sessions (id) VALUES ('s')")
        conn.execute("INSERT INTO session_cache (id, session_id, cache_key, expires_at)"
                     " VALUES ('c', 's', 'k', '2000-01-01 00:00:00')")
    project.close()
    run = aircher
    res = run(project.repo.root, "maintain", "--daily", "--dry-run", "--json")  # type: ignore[operator]
    assert res.code == 0, res.err
    data = json.loads(res.out)
    assert data["dry_run"] and data["tiers"] == ["daily"]
    cache = next(t for t in data["tasks"] if t["task"] == "session_cache")
    assert cache["count"] == 1
    assert counts(project.layout.db("sessions"))["session_cache"] == 1
    res = run(project.repo.root, "maintain", "--daily", "--weekly")  # type: ignore[operator]
    assert res.code == 0 and "session_cache" in res.out and "vacuum" in res.out
    assert counts(project.layout.db("sessions"))["session_cache"] == 0


def test_maintain_without_flags_runs_what_is_due(project: Project, aircher: object) -> None:
    clock.set_now(1_800_000_000.0)
    res = aircher(project.repo.root, "maintain", "--json")  # type: ignore[operator]
    assert json.loads(res.out)["tiers"] == ["daily", "weekly"]
    run_due(project)
    project.close()
    res = aircher(project.repo.root, "maintain")  # type: ignore[operator]
    assert res.code == 0 and "nothing is due" in res.out


def test_every_tier_runs_cleanly_on_a_fresh_store(project: Project) -> None:
    report = run_maintenance(project, TIERS)
    assert report.ok, report.to_json()
    assert [t.tier for t in report.tasks].count("monthly") == 2
    search = next(t for t in report.tasks if t.task == "search_index")
    assert search.count == 1 and search.detail.startswith("search index rebuilt: 0 unreadable")


def test_weekly_maintenance_removes_attachment_files_no_row_refers_to(project: Project) -> None:
    """Conversations deleted before delete_conversation took their files (QA round 10c: 05)
    left them for good: weekly maintenance removes such files, and only those."""
    from gitext.lifecycle.doctor import diagnose
    from gitext.records import AttachmentInput, add_message, read_attachment, start_conversation

    conv = start_conversation(project, "p")
    add_message(project, conv.id, "user", "a", attachments=[AttachmentInput("file", data=b"gone")])
    with project.db("conversations").write() as conn:  # as an earlier delete_conversation did
        conn.execute("DELETE FROM conversations WHERE id = ?", (conv.id,))
    conv = start_conversation(project, "p")
    kept = add_message(project, conv.id, "user", "b",
                       attachments=[AttachmentInput("file", data=b"kept")]).attachments[0]
    other = project.layout.attachments / "notes.txt"
    other.write_text("not ours to judge")
    before = sorted(p for p in project.layout.attachments.rglob("*") if p.is_file())
    assert len(before) == 3

    def attachments(dry: bool) -> int:
        report = run_maintenance(project, ["weekly"], dry_run=dry)
        assert report.ok, report.to_json()
        return next(t.count for t in report.tasks if t.task == "attachments")

    assert attachments(True) == 1
    found = [f for f in diagnose(project).findings if f.check == "attachment_files"]
    assert [f.severity for f in found] == ["info"] and "1 attachment file" in found[0].message
    assert sorted(p for p in project.layout.attachments.rglob("*") if p.is_file()) == before
    assert attachments(False) == 1
    left = sorted(p for p in project.layout.attachments.rglob("*") if p.is_file())
    assert len(left) == 2 and other in left
    assert read_attachment(project, kept.id) == b"kept"
    assert attachments(False) == 0


def test_statistics_of_small_tables_are_not_kept(tmp_path: Path) -> None:
    """`init` runs the weekly tier on an empty store: ANALYZE wrote "files: 1 row", and for a week
    the planner scanned `files` once for each row of a join, so taking one large commit's 900
    files out of the analysis queue held file_index.db's write lock for 13 s and `sync` failed
    behind it (QA round 23: 05). Small tables now keep no statistics, and the join is planned
    on the indexes."""
    import sqlite3

    from tests.conftest import git, run_git_aircher

    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "a.py").write_text("a = 1\n")
    git(repo, "add", "a.py")
    git(repo, "commit", "-q", "-m", "one")
    assert run_git_aircher(repo, "init").code == 0
    assert run_git_aircher(repo, "maintain", "--weekly").code == 0
    conn = sqlite3.connect(repo / ".agents" / "db" / "core" / "file_index.db")
    try:
        has_stats = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone()
        small = conn.execute("SELECT tbl, stat FROM sqlite_stat1").fetchall() if has_stats else []
        assert [row for row in small if int(str(row[1]).split()[0]) < 1000] == []
        plan = " | ".join(str(r[3]) for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT w.content_hash FROM worktree_files w JOIN files f"
            " ON f.id = w.file_id WHERE w.worktree_path = 'x' AND f.path = 'y'"))
    finally:
        conn.close()
    assert "SCAN f" not in plan, plan


def test_maintain_header_names_failed_steps(project: Project, aircher: object) -> None:
    # A step that failed printed "done" above the table; only the exit status told.
    run = aircher
    assert run(project.repo.root, "config", "set",  # type: ignore[operator]
               "storage.sqlite.busy_timeout", "100ms").code == 0
    project.close()
    holder = sqlite3.connect(project.layout.db("knowledge"), isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        res = run(project.repo.root, "maintain", "--weekly")  # type: ignore[operator]
    finally:
        holder.close()
    header = res.out.splitlines()[0]
    assert res.code == 1, res
    assert "done" not in header and "failed" in header, header
    assert "knowledge.db is busy" in res.out


def test_a_dry_run_counts_what_the_run_will_do_in_its_order(project: Project) -> None:
    """The monthly tier's dry run counted the compression of backups its daily tier removes
    first (QA round 26d: 03): the dry run said 10 copies, the run compressed none."""
    from gitext.lifecycle.backup import create_backup, list_backups

    t0 = 1_800_000_000.0
    for age in (100, 60, 10, 1):
        clock.set_now(t0 - age * 86400)
        create_backup(project)
    clock.set_now(t0)

    def tasks(dry: bool) -> dict[str, tuple[int, str]]:
        report = run_maintenance(project, ["daily", "weekly", "monthly"], dry_run=dry)
        assert report.ok, report.to_json()
        return {t.task: (t.count, t.detail) for t in report.tasks}

    dry = tasks(True)
    assert len(list_backups(project)) == 4  # a dry run changes nothing
    real = tasks(False)
    assert dry["backups"] == real["backups"] and real["backups"][0] == 2
    copies = len(list_backups(project)[-1].databases)  # the 10-day-old one, left to compress
    assert dry["compress"][0] == real["compress"][0] == copies > 0
    # A step a dry run cannot count says so, rather than a number the run will not match.
    assert dry["checkpoint"] == (0, "WAL pages checkpointed into the databases: not counted"
                                    " in a dry run")
