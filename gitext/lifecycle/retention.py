"""Retention: what the `[storage.lifecycle]` policy says may go, removed in short transactions.

Each function takes `dry_run` and returns how many rows or files went (or would go). Deletes run
in batches of `_BATCH` rows per transaction so a hook waiting for the write lock waits for one
batch at most, never for the whole clean-up.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from gitext import clock
from gitext.layout import ProjectLayout
from gitext.project import Project
from gitext.sync.journal import broken

_BATCH = 500
TEMP_MAX_AGE = 86400.0  # temp and cache files untouched for a day are no longer in use
BROKEN_RECORD_MAX_AGE = 30 * 86400.0  # journal records cut short, reported by doctor meanwhile


def _delete_in_batches(project: Project, db: str, select_rowids: str, params: tuple[object, ...],
                       table: str) -> int:
    total = 0
    while True:
        with project.db(db).write() as conn:
            rowids = [r[0] for r in conn.execute(f"{select_rowids} LIMIT {_BATCH}", params)]
            if not rowids:
                return total
            conn.execute(
                f"DELETE FROM {table} WHERE rowid IN ({','.join('?' * len(rowids))})", rowids
            )
            total += len(rowids)


def _count(project: Project, db: str, select_rowids: str, params: tuple[object, ...]) -> int:
    with project.db(db).read() as conn:
        return int(conn.execute(f"SELECT count(*) FROM ({select_rowids})", params).fetchone()[0])


def expire_session_cache(project: Project, *, dry_run: bool = False) -> int:
    sql = "SELECT rowid FROM session_cache WHERE expires_at IS NOT NULL AND expires_at < ?"
    params: tuple[object, ...] = (clock.now(),)
    if dry_run:
        return _count(project, "sessions", sql, params)
    return _delete_in_batches(project, "sessions", sql, params, "session_cache")


def prune_file_versions(project: Project, *, dry_run: bool = False) -> int:
    """file_changes beyond `file_version_max_count` per file *and* older than
    `file_version_retention_days`, outside the history relevance reads.

    Both, not either: most real histories are older than the retention window, so age alone
    must never empty it; the newest `file_version_max_count` changes of every file always stay.
    And never a change of the last `storage.sync.history_limit` first-parent commits behind a
    synced HEAD: relevance learns from those commits whole (what changed together, what came
    next), and a busy file's older changes taken out of them changed its rankings."""
    cfg = project.config
    keep = max(1, cfg.integer("storage.lifecycle.file_version_max_count"))
    cutoff = clock.ago(cfg.integer("storage.lifecycle.file_version_retention_days") * 86400)
    window = max(1, cfg.integer("storage.sync.history_limit"))
    sql = (
        "WITH RECURSIVE chain(sha, n) AS (SELECT head, 0 FROM sync_state"
        " WHERE head IS NOT NULL AND head != '' UNION"
        " SELECT c.first_parent, chain.n + 1 FROM commits c JOIN chain ON c.sha = chain.sha"
        " WHERE c.first_parent IS NOT NULL AND c.first_parent != '' AND chain.n + 1 < ?)"
        " SELECT rowid FROM (SELECT rowid, changed_at, git_commit, row_number() OVER"
        " (PARTITION BY file_id ORDER BY changed_at DESC, rowid DESC) AS n FROM file_changes)"
        " WHERE n > ? AND changed_at < ?"
        " AND (git_commit IS NULL OR git_commit NOT IN (SELECT sha FROM chain))"
    )
    params: tuple[object, ...] = (window, keep, cutoff)
    if dry_run:
        return _count(project, "file_index", sql, params)
    return _delete_in_batches(project, "file_index", sql, params, "file_changes")


def _old(path: Path, max_age: float) -> bool:
    try:
        return path.stat().st_mtime < time.time() - max_age
    except FileNotFoundError:
        return False


def temp_files(project: Project) -> list[Path]:
    """Files and folders that are only ever temporary, untouched for a day.

    Cache folders (content/cache, db/cache, each worktree's cache/), leftovers of atomic writes
    (*.tmp, *.partial), staged database files of an interrupted restore or salvage, scratch
    folders of an interrupted backup verification, and folders of sessions that have ended;
    journal records cut short, a month after.
    """
    layout = project.layout
    found: list[Path] = []
    caches = [layout.content / "cache", layout.db_cache]
    if layout.worktrees.is_dir():
        caches.extend(p / "cache" for p in layout.worktrees.iterdir() if p.is_dir())
    for folder in caches:
        if folder.is_dir():
            found.extend(p for p in folder.iterdir() if _old(p, TEMP_MAX_AGE))
    for pattern in ("*.tmp", "*.partial", ".*.restore-*", ".*.salvage-*", ".verify-*"):
        for path in _store_entries(layout, pattern):
            if layout.backups in path.parents and pattern.startswith("*."):
                continue  # backups manage their own unfinished folders
            if _old(path, TEMP_MAX_AGE):
                found.append(path)
    # Records cut short: doctor reports them first (`journal_broken`), so they stay a month.
    found.extend(p for p in broken(layout.journal) if _old(p, BROKEN_RECORD_MAX_AGE))
    found.extend(_ended_session_dirs(project))
    return sorted(set(found))


def _store_entries(layout: ProjectLayout, pattern: str) -> Iterator[Path]:
    """What matches ``pattern`` in the store's own folders and at its top: a store an earlier
    version made directly in a shared data_dir has other repositories' stores beside them."""
    yield from layout.root.glob(pattern)
    for folder in layout.folders():
        yield from folder.rglob(pattern)


def _ended_session_dirs(project: Project) -> list[Path]:
    folder = project.layout.sessions
    if not folder.is_dir():
        return []
    # (`.git` is the folder's shield against `git clean`, not a session.)
    dirs = [p for p in folder.iterdir() if p.is_dir() and p.name not in ("active", ".git")]
    if not dirs:
        return []
    with project.db("sessions").read() as conn:
        # Ended by `session end` (inactive) is as over as expired: only expired ones went, so
        # every task ended by hand left its folder for good (QA round 20c: 08). A status
        # this version does not know is taken for live.
        live = {r[0] for r in conn.execute(
            "SELECT id FROM sessions WHERE coalesce(status, '') NOT IN ('inactive', 'expired')")}
    return [p for p in dirs if p.name not in live and _old(p, TEMP_MAX_AGE)]


def remove_temp_files(project: Project, *, dry_run: bool = False) -> int:
    found = temp_files(project)
    if not dry_run:
        for path in found:
            with contextlib.suppress(FileNotFoundError):
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink()
    return len(found)


def unused_embedding_hashes(project: Project) -> set[str]:
    """content_hash values of embedding_metadata that no live tree or index holds any more."""
    from gitext.git.blobs import head_commits, live_blob_ids

    root = project.repo.root
    if not head_commits(root):
        return set()  # no commit anywhere: nothing can be judged unused
    live = live_blob_ids(root)
    with project.db("knowledge").read() as conn:
        used = {r[0] for r in conn.execute(
            "SELECT DISTINCT content_hash FROM embedding_metadata WHERE content_hash IS NOT NULL"
        )}
    return used - live


def remove_unused_embeddings(project: Project, *, dry_run: bool = False) -> int:
    """Metadata rows of unused blobs, then their vectors (`forget_vectors` rewrites the
    segments without them)."""
    hashes = sorted(unused_embedding_hashes(project))
    if not hashes:
        return 0
    if dry_run:
        with project.db("knowledge").read() as conn:
            return sum(
                int(conn.execute(
                    f"SELECT count(*) FROM embedding_metadata WHERE content_hash IN"
                    f" ({','.join('?' * len(part))})", part,
                ).fetchone()[0])
                for part in _chunks(hashes)
            )
    removed = 0
    for part in _chunks(hashes):
        with project.db("knowledge").write() as conn:
            marks = ",".join("?" * len(part))
            cur = conn.execute(
                f"DELETE FROM embedding_metadata WHERE content_hash IN ({marks})", part
            )
            removed += cur.rowcount
    if removed:
        from gitext.search.maintenance import forget_vectors

        forget_vectors(project)
    return removed


def _chunks(items: list[str], size: int = _BATCH) -> list[list[str]]:
    return [items[i:i + size] for i in range(0, len(items), size)]

