"""doctor's checks of the store against git and of the hooks' journal: the file index behind a
worktree's HEAD, files search cannot find, journal records set aside or cut short, entries that
are not records, and a stopped background worker."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from gitext.lifecycle.dbfiles import raw_connect
from gitext.lifecycle.findings import Finding
from gitext.project import Project


def _synced_heads(project: Project) -> dict[str, str] | None:
    """worktree path -> the HEAD the file index was last synced to; None: no sync state yet.
    Raises sqlite3.DatabaseError for a file index too damaged to tell (the database checks
    report that)."""
    conn = raw_connect(project.layout.db("file_index"))
    try:
        has = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sync_state'"
        ).fetchone()
        return dict(conn.execute("SELECT worktree_path, head FROM sync_state").fetchall()) \
            if has else None
    finally:
        conn.close()


def _behind(project: Project, synced: dict[str, str]) -> list[tuple[Path, str, str | None]]:
    return [(Path(wt.path), wt.head, synced.get(str(wt.path)))
            for wt in project.repo.worktrees()
            if not (wt.bare or wt.prunable or wt.head is None)
            and synced.get(str(wt.path)) != wt.head]


def _deepened(project: Project) -> bool:
    """Whether a fetch deepened the shallow clone since the last sync (`sync.shallow`)."""
    from gitext.sync.shallow import pending

    conn = raw_connect(project.layout.db("file_index"))
    try:
        return pending(conn, project.repo.info.common_dir)
    except sqlite3.OperationalError:
        return False  # a schema before `grafted`: the next open migrates it, the sync then looks
    finally:
        conn.close()


def behind_worktrees(project: Project) -> list[Path]:
    """Worktrees whose HEAD the file index has not reached (this one too when its shallow
    clone was deepened since)."""
    try:
        synced = _synced_heads(project)
        deepened = _deepened(project)
    except sqlite3.DatabaseError:
        return []
    if synced is None:
        return []
    roots = [root for root, _head, _at in _behind(project, synced)]
    here = Path(project.repo.root)
    return roots + [here] if deepened and here not in roots else roots


def index_freshness(project: Project) -> list[Finding]:
    """HEAD of each worktree against the commit the file index was last synced to."""
    try:
        synced = _synced_heads(project)
    except sqlite3.DatabaseError:
        return []
    if synced is None:
        return [Finding("index_behind_git", "info", "file_index",
                        "unknown: the file index records no sync state yet")]
    found = [Finding("index_behind_git", "warning", "file_index",
                     f"{root}: HEAD {head[:12]}, index synced to {at[:12] if at else 'nothing'}",
                     "caught up from git (as `git aircher sync` there)")
             for root, head, at in _behind(project, synced)]
    with contextlib.suppress(sqlite3.DatabaseError):
        if _deepened(project):
            found.append(Finding("index_behind_git", "warning", "file_index",
                                 "the shallow clone was deepened: history behind its old"
                                 " boundary not read yet", "caught up from git"))
    return found


def search_coverage(project: Project) -> list[Finding]:
    """Files a worktree holds that search cannot find, where its stamp says none is missing or
    where it has none and no worker is indexing it."""
    from gitext.lifecycle.coverage import unsearchable

    try:
        gaps = unsearchable(project)
    except sqlite3.DatabaseError:
        return []
    return [Finding("search_incomplete", "warning", "file_index",
                    f"{g.worktree}: search cannot find {len(g.missing)} of its files"
                    f" ({g.missing[0]}{', …' if len(g.missing) > 1 else ''})"
                    + ("; its full index is unfinished and no worker is at it" if g.unfinished
                       else ""),
                    "search index rebuilt")
            for g in gaps]


def failed_records(project: Project) -> list[Finding]:
    """Records the worker set aside after two failed tries. It never tries them again: until
    `sync` or `repair` does, what they carry that git does not keep (a branch switch) is
    missing from the store, with a log line as the only trace."""
    from gitext import clock
    from gitext.sync.journal import failed, parse

    paths = failed(project.layout.journal)
    if not paths:
        return []
    try:
        oldest = paths[0]
        ev = parse(oldest.read_text("utf-8", errors="surrogateescape"))
        when = clock.to_ts(oldest.stat().st_mtime) + " UTC"
    except OSError:  # a sync took it meanwhile
        return []
    what = f"{ev.hook} in {ev.cwd}" if ev is not None else oldest.name
    count = "1 journal record" if len(paths) == 1 else f"{len(paths)} journal records"
    return [Finding(
        "journal_failed", "warning", None,
        f"{count} could not be applied ({oldest.parent}); the oldest: {what}, {when}",
        "tried again, oldest first, as `git aircher sync` does; those that fail again stay"
        " and logs/storage.log says why",
    )]


def broken_records(project: Project) -> list[Finding]:
    """Records cut short (a crash, or a full disk under the shim's write), set aside as
    `*.broken` after a minute. Nothing can apply them; before, they stayed for good and doctor
    said "healthy" though a branch switch they carried was lost (QA round 22a: 04)."""
    from gitext import clock
    from gitext.sync.journal import broken, hook_of

    paths = broken(project.layout.journal)
    if not paths:
        return []
    try:
        when = clock.to_ts(paths[0].stat().st_mtime) + " UTC"
    except OSError:  # a repair took it meanwhile
        return []
    hooks = {hook_of(p) for p in paths}
    lost = [what for hook, what in (("post-checkout", "a branch switch"),
                                    ("post-rewrite", "a rewrite's old-to-new commits"))
            if hook in hooks]
    count = "1 journal record was" if len(paths) == 1 else f"{len(paths)} journal records were"
    return [Finding(
        "journal_broken", "warning", None,
        f"{count} cut short (a crash, or a full disk) and cannot be applied"
        f" ({project.layout.journal}); the oldest: {hook_of(paths[0])}, {when}. git keeps the"
        " commits and files, which the next event or `git aircher sync` takes in; "
        + (f"what only they carried ({', '.join(lost)}) is missing from the store"
           if lost else "nothing else was in them"),
        "removed (nothing in them can be applied)",
    )]


def journal_strangers(project: Project) -> list[Finding]:
    """Entries in the journal named like records that are not files (a folder: a tool's
    leftover, a half-done copy or restore of the store's files). The worker passes over them;
    before, reading one stopped every drain for good while doctor said "healthy" (QA round
    24b: 07)."""
    from gitext.sync.journal import strangers

    found = strangers(project.layout.journal)
    if not found:
        return []
    count = "1 entry" if len(found) == 1 else f"{len(found)} entries"
    return [Finding(
        "journal_stranger", "warning", None,
        f"{count} of {project.layout.journal} named like a record but not a file (a folder?):"
        f" {found[0].name}{', …' if len(found) > 1 else ''}; the worker passes over such an"
        " entry",
        "moved out of the journal (kept in content/backups/damaged-*)")]


def stopped_worker_findings(project: Project) -> list[Finding]:
    """A stopped background worker: the hooks' records wait for it, unapplied, and `sync`
    fails behind it after its wait; before, doctor said "healthy" and nothing named it."""
    from gitext.sync.slots import stopped_worker

    pid = stopped_worker(project.layout.run)
    if pid is None:
        return []
    return [Finding(
        "worker_stopped", "warning", None,
        f"the background worker (pid {pid}) is stopped (SIGSTOP, a debugger, a suspended"
        " job): the hooks leave their records to it, and they wait in the journal",
        hint=f"let it go on (`kill -CONT {pid}`) or end it (`kill -9 {pid}`): a record it was"
        " applying stays in the journal for the next")]
