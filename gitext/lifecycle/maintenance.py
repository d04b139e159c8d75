"""Maintenance tiers (spec: "Cleanup and Maintenance"):

- daily: expired session_cache entries, temp files, unfinished or expired backups;
- weekly: file version history pruned, incremental vacuum, statistics (ANALYZE), WAL checkpoint,
  code-aware search terms of messages, attachment files no message refers to removed;
- monthly: search indexes rebuilt, old data compressed (old backups, old crash logs);
- quarterly: old conversations archived, embeddings of blobs no tree uses removed.

Every step works in short transactions; one failing step is reported and the others still run.
"""

from __future__ import annotations

import contextlib
import gzip
import shutil
import sqlite3
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from gitext.lifecycle.logs import get_logger
from gitext.project import Project
from gitext.store.pool import Database
from gitext.store.space import NoRoomError, no_room_error

TIERS = ("daily", "weekly", "monthly", "quarterly")
OLD_DATA = 7 * 86400.0  # backups and crash logs older than a week get compressed
_VACUUM_STEP = 256  # pages freed per transaction


@dataclass
class TaskResult:
    tier: str
    task: str
    count: int
    detail: str
    error: str | None = None


@dataclass
class MaintenanceReport:
    tiers: list[str]
    dry_run: bool
    tasks: list[TaskResult] = field(default_factory=list)
    # The first step that found no room (a full disk, a file size limit): the command's error.
    no_room: NoRoomError | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return all(t.error is None for t in self.tasks)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("no_room", None)
        return {**data, "ok": self.ok}


@dataclass
class Pass:
    """One run of the tiers as its steps see it: a dry run, and what its earlier steps removed
    or, in a dry run, would have, so that a later step counts what the real run will find
    (a dry run counted the compression of backups its daily tier removes first: QA round
    26d: 03)."""

    dry: bool
    backups_gone: set[str] = field(default_factory=set)


@contextlib.contextmanager
def _databases(project: Project) -> Iterator[list[tuple[str, Database]]]:
    from gitext.lifecycle.archive import open_archive
    from gitext.lifecycle.dbfiles import ARCHIVE_DB, store_databases
    from gitext.lifecycle.loss import has_archive

    dbs = [(name, project.db(name)) for name in store_databases(project) if name != ARCHIVE_DB]
    dbs.append(("global", project.db("global")))
    if has_archive(project):
        with open_archive(project) as archive:
            yield [*dbs, (ARCHIVE_DB, archive)]
    else:
        yield dbs


# --- daily --------------------------------------------------------------------------------------


def _session_cache(project: Project, run: Pass) -> tuple[int, str]:
    from gitext.lifecycle.retention import expire_session_cache

    return expire_session_cache(project, dry_run=run.dry), "expired session_cache entries"


def _sessions(project: Project, run: Pass) -> tuple[int, str]:
    from gitext.records.sessions import count_idle_sessions, expire_sessions

    idle = project.config.seconds("storage.lifecycle.session_expire_after")
    if run.dry:
        return count_idle_sessions(project, idle), "idle sessions expired"
    return expire_sessions(project, idle), "idle sessions expired"


def _temp_files(project: Project, run: Pass) -> tuple[int, str]:
    from gitext.lifecycle.retention import remove_temp_files

    return remove_temp_files(project, dry_run=run.dry), "temporary files and folders"


def _backups(project: Project, run: Pass) -> tuple[int, str]:
    from gitext.lifecycle.backup import prune_backups

    gone = prune_backups(project, dry_run=run.dry)
    run.backups_gone.update(gone)
    return len(gone), "backups past backup_retain_days or unfinished" + (
        f": {', '.join(gone)}" if gone else ""
    )


# --- weekly -------------------------------------------------------------------------------------


def _file_versions(project: Project, run: Pass) -> tuple[int, str]:
    from gitext.lifecycle.retention import prune_file_versions

    return prune_file_versions(project, dry_run=run.dry), "file_changes past the retention policy"


def _vacuum_one(db: Database, dry: bool) -> int:
    with db.read() as conn:
        free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
        mode = int(conn.execute("PRAGMA auto_vacuum").fetchone()[0])
    if dry or free == 0 or mode != 2:  # 2 = INCREMENTAL; FULL vacuums by itself, NONE cannot
        return free if mode == 2 else 0
    freed = 0
    while True:
        with db.write() as conn:
            before = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
            conn.execute(f"PRAGMA incremental_vacuum({_VACUUM_STEP})").fetchall()
            after = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
        freed += before - after
        if after == 0 or after >= before:
            return freed


def _vacuum(project: Project, run: Pass) -> tuple[int, str]:
    with _databases(project) as dbs:
        freed = {name: _vacuum_one(db, run.dry) for name, db in dbs}
    shown = ", ".join(f"{n} {c}" for n, c in freed.items() if c)
    # What the steps before it free (file history pruned) is free only in a real run.
    return sum(freed.values()), "free pages returned to the file system" + (
        f" ({shown})" if shown else ""
    ) + ("; a dry run counts those free now, not those the steps before would free"
         if run.dry else "")


# Below this many rows a table's statistics only mislead: the weekly tier runs at `init`, and
# "files: 1 row" kept for a week made the planner scan `files` once for every row of a join
# (12.8 s to take one large commit's 900 files out of the analysis queue, the worker holding
# file_index.db's write lock all along; QA round 23: 05). Without statistics the planner
# takes the indexes.
SMALL_TABLE = 1000


def _forget_small_tables(conn: sqlite3.Connection) -> None:
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
        conn.execute("DELETE FROM sqlite_stat1 WHERE CAST(stat AS INTEGER) < ?", (SMALL_TABLE,))
        conn.execute("ANALYZE sqlite_master")  # this connection plans with what is left


def _analyze(project: Project, run: Pass) -> tuple[int, str]:
    with _databases(project) as dbs:
        if not run.dry:
            for _name, db in dbs:
                with db.write() as conn:
                    # Bounded: statistics from a sample of each index, not a scan of every row.
                    conn.execute("PRAGMA analysis_limit = 400")
                    conn.execute("ANALYZE")
                    _forget_small_tables(conn)
        return len(dbs), "databases with refreshed statistics (ANALYZE)"


def _checkpoint(project: Project, run: Pass) -> tuple[int, str]:
    if run.dry:
        # The steps before it write to the WAL in a real run and not in a dry one, and SQLite
        # tells how many pages a checkpoint moves only by making one: no honest count here.
        return 0, "WAL pages checkpointed into the databases: not counted in a dry run"
    pages = 0
    with _databases(project) as dbs:
        for _name, db in dbs:
            with db.read() as conn:
                # PASSIVE never waits for readers or writers.
                row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                pages += 0 if row is None else max(0, int(row[2]))
    return pages, "WAL pages checkpointed into the databases"


# --- monthly ------------------------------------------------------------------------------------


def _search_index(project: Project, run: Pass) -> tuple[int, str]:
    from gitext.search.rebuild import rebuild

    if run.dry:
        return 1, "search index would be rebuilt"
    return 1, f"search index rebuilt: {rebuild(project)}"


def _compress(project: Project, run: Pass) -> tuple[int, str]:
    from gitext.lifecycle.backup import compress_old_backups

    # Not the backups the daily tier of this run removed, or in a dry run would have.
    count = compress_old_backups(project, OLD_DATA, dry_run=run.dry, skip=run.backups_gone)
    logs = project.layout.logs
    if logs.is_dir():
        for path in logs.glob("crash-*.log"):
            if path.stat().st_mtime < time.time() - OLD_DATA:
                count += 1
                if not run.dry:
                    with path.open("rb") as src, gzip.open(f"{path}.gz", "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    path.unlink()
    return count, "old backup copies and crash logs compressed"


# --- quarterly ----------------------------------------------------------------------------------


def _archive(project: Project, run: Pass) -> tuple[int, str]:
    from gitext.lifecycle.archive import archive_conversations

    res = archive_conversations(project, dry_run=run.dry)
    extra = f"; {res.kept_changed} changed while copied, kept live" if res.kept_changed else ""
    if res.gone_meanwhile:
        extra += f"; {res.gone_meanwhile} left the store while copied, archive copy kept"
    count = res.candidates if run.dry else res.archived
    return count, f"conversations archived{extra}"


def _attachments(project: Project, run: Pass) -> tuple[int, str]:
    from gitext.records.attachments import remove_unreferenced

    return remove_unreferenced(project, dry_run=run.dry), "attachment files no message refers to"


def _message_terms(project: Project, run: Pass) -> tuple[int, str]:
    from gitext.records.fts import add_missing_terms

    added = add_missing_terms(project, dry_run=run.dry)
    return added, "messages given their code-aware search terms"


def _embeddings(project: Project, run: Pass) -> tuple[int, str]:
    from gitext.lifecycle.retention import remove_unused_embeddings

    gone = remove_unused_embeddings(project, dry_run=run.dry)
    return gone, "embedding rows of blobs no tree uses"


Step = Callable[[Project, Pass], tuple[int, str]]
STEPS: dict[str, list[tuple[str, Step]]] = {
    "daily": [("session_cache", _session_cache), ("sessions", _sessions),
              ("temp_files", _temp_files),
              ("backups", _backups)],
    "weekly": [("file_versions", _file_versions), ("vacuum", _vacuum), ("analyze", _analyze),
               ("checkpoint", _checkpoint), ("message_terms", _message_terms),
               ("attachments", _attachments)],
    "monthly": [("search_index", _search_index), ("compress", _compress)],
    "quarterly": [("archive", _archive), ("embeddings", _embeddings)],
}


def run_maintenance(
    project: Project, tiers: Sequence[str], *, dry_run: bool = False
) -> MaintenanceReport:
    """Run the steps of each tier, in order; `dry_run` counts what would go and changes nothing."""
    project.require_init()
    report = MaintenanceReport([t for t in TIERS if t in tiers], dry_run)
    log = get_logger(project.layout, "storage")
    run = Pass(dry_run)
    for tier in report.tiers:
        for name, step in STEPS[tier]:
            try:
                count, detail = step(project, run)
            except Exception as exc:  # one broken step must not stop the others
                log.error("maintenance %s/%s failed: %s | %s", tier, name, exc,
                          traceback.format_exc().replace("\n", " | "))
                # SQLite's bare "disk I/O error" says nothing of the full disk behind it.
                full = no_room_error(exc, name, [project.layout.core])
                report.tasks.append(TaskResult(tier, name, 0, "failed",
                                               full.message if full is not None else f"{exc}"))
                report.no_room = report.no_room or full
                continue
            report.tasks.append(TaskResult(tier, name, count, detail))
            if not dry_run and count:
                log.info("maintenance %s/%s: %d %s", tier, name, count, detail)
    return report
