"""Turning git's state into table rows, for one worktree at a time.

Everything here is a catch-up from git itself: an event says *where* to look, git says *what*
is there. So a lost, replayed or reordered event can never leave the store wrong, only late.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from gitext import clock
from gitext.contexts import (
    Context,
    ensure_worktree_context,
    project_context,
    write_context_file,
)
from gitext.errors import AircherError, UsageError
from gitext.git.history import (
    Change,
    CommitMeta,
    ls_tree,
    new_commits,
    object_exists,
    shallow_boundary,
    tree_changes,
)
from gitext.git.names import unusable_path
from gitext.git.objects import is_partial
from gitext.git.repo import Head, Worktree, discover, read_head
from gitext.project import Project
from gitext.search import orphans
from gitext.store.pool import Database
from gitext.sync import commits as commits_mod
from gitext.sync import derived, later, shallow
from gitext.sync.files import (
    GITLINK,
    FileState,
    Progress,
    apply_files,
    apply_view,
    states_from_changes,
    worktree_paths,
)
from gitext.sync.local import LocalScan, forget_local, local_mark, remember_local
from gitext.sync.transfers import record_transfer
from gitext.sync.workdir import Stamp, StatusScan, tree_stamp
from gitext.worktrees import upsert_worktree


@dataclass
class SyncResult:
    worktree: str
    head: str | None
    branch: str | None
    commits: int = 0
    files: int = 0
    removed: int = 0
    derived: int = 0


def project_ctx(project: Project) -> Context:
    with project.db("knowledge").read() as conn:
        ctx = project_context(conn)
    if ctx is None:
        raise UsageError("the store has no project context", hint="run `git aircher init`")
    return ctx


def _state(conn: sqlite3.Connection, root: Path) -> tuple[str | None, list[str]]:
    rows = conn.execute("SELECT worktree_path, head FROM sync_state").fetchall()
    mine = next((r["head"] for r in rows if r["worktree_path"] == str(root)), None)
    tips = sorted({r["head"] for r in rows if r["head"]})
    return mine, tips


def sync_worktree(
    project: Project, root: Path, *, full: bool = False, workdir: bool = False,
    analyse: bool = False, progress: Progress | None = None, local: LocalScan | None = None,
) -> SyncResult:
    """Bring this worktree's view, its new commits and their file changes into the store.

    ``local``: the work tree's state as a query just read it, with the paths it may have
    undone (implies ``workdir``): it saves listing the work tree again and the whole of HEAD.
    """
    if not workdir or local is not None:
        return _sync_worktree(project, root, full=full, workdir=workdir, analyse=analyse,
                              progress=progress, local=local)
    # The work tree's `git status` runs while HEAD's tree and the new commits are listed. (The
    # stamp before it: git moving the worktree from then to the scan's end leaves it unused.)
    git_dir = discover(root).git_dir
    started = (git_dir, tree_stamp(git_dir), StatusScan(root))
    try:
        return _sync_worktree(project, root, full=full, workdir=workdir, analyse=analyse,
                              progress=progress, started=started)
    finally:
        started[2].close()


def _sync_worktree(
    project: Project, root: Path, *, full: bool, workdir: bool, analyse: bool,
    progress: Progress | None, local: LocalScan | None = None,
    started: tuple[Path, Stamp, StatusScan] | None = None,
) -> SyncResult:
    proj = project_ctx(project)
    db = project.db("file_index")
    head = read_head(root)
    result = SyncResult(str(root), head.commit, head.branch)
    limit = project.config.integer("storage.sync.history_limit")
    with db.read() as conn:
        old, tips = _state(conn, root)
    shas: list[str] = []
    changes = []
    listing = False
    cut = shallow_boundary(project.repo.info.common_dir)
    deep = shallow.look(db, root, cut, head.commit, limit)
    if head.commit is not None:
        live_tips = [t for t in tips if object_exists(root, t)] if not full else []
        shas = _walk(db, root, head.commit, live_tips, limit, full=full)
        if len(shas) > limit and later.IN_QUERY.get():
            # The worker reads them (`read_deferred`).
            later.defer(project, root, head.commit, live_tips, head.branch)
            shas = []
        if old and not full and object_exists(root, old):
            changes = tree_changes(root, old, head.commit)
        else:
            changes = tree_changes(root, None, head.commit)
            listing = True
    elif old:
        # An unborn branch after one with commits (`git switch --orphan`): an empty view.
        listing = True
    shas = shallow.to_read(shas, deep)
    present, removed = states_from_changes(changes)
    if local is not None:
        stamp = local.stamp
        if stamp != tree_stamp(discover(root).git_dir):
            # git moved the worktree while the query read it: the next query looks again.
            local, workdir = None, False
    elif started is not None:
        git_dir, stamp, status = started
        scan = status.states()
        # (HEAD asked too: with `core.logAllRefUpdates` off a commit leaves no reflog line.)
        if stamp != tree_stamp(git_dir) or read_head(root).commit != head.commit:
            workdir = False  # as above: the next event, or `index`, looks again
    if workdir or local is not None:
        extra, gone = (local.states, local.removed) if local else scan
        remember_local(project, root, gone, held=bool(extra), stamp=stamp)
        by_path = {s.path: s for s in present}
        for s in extra:
            by_path[s.path] = s
        present = list(by_path.values())
        removed = [*removed, *gone]
        if head.commit is not None and not listing:
            only = local.maybe_undone if local else None
            back, stray = _undone(db, root, head.commit, present, removed, only)
            present += back
            removed += stray
    elif head.commit and not listing and (mark := local_mark(project, root)) is not None \
            and mark.stamp != tree_stamp(discover(root).git_dir):
        # git has touched the worktree since the view took in its local changes (committed
        # them, checked other files out over them; HEAD may even be back where it was): they
        # describe a work tree that is gone. HEAD's version again; the next query looks.
        back, stray = _undone(db, root, head.commit, present, removed,
                              _held_local(db, root) | mark.removed)
        present += back
        removed += stray
        forget_local(project, root)
    listed = (head.commit, changes) if listing and head.commit else None
    history = _History.read(root, shas, listed, cut)
    with db.write() as conn:
        if deep:
            shallow.forget(conn, deep)
        if listing:
            # A full listing replaces the view: what it does not name is gone from this worktree.
            now_paths = {s.path for s in present}
            removed = [*removed, *(worktree_paths(conn, root) - now_paths)]
        lines = apply_files(db, conn, proj.id, root, present, progress)
        apply_view(db, conn, proj.id, root, present, removed)
        # Text versions this view holds again come back into the search index with it.
        orphans.revive(conn, str(root))
        history.write(db, conn, proj.id, str(root), lines, {s.path for s in present},
                      mark=not listing)
        if listing:
            # Everything is new to this worktree: one queue row says so.
            derived.queue_everything(conn, str(root))
            # No relevance_dirty row per file: a new HEAD has every score recomputed anyway.
            derived.queue(db, conn, str(root), [], removed)
        else:
            derived.queue(db, conn, str(root), [s.path for s in present], removed)
            _mark_dirty(db, conn, proj.id, [s.path for s in present] + removed)
        conn.execute(
            "INSERT INTO sync_state (worktree_path, head, branch, synced_at, view_token)"
            " VALUES (?, ?, ?, ?, random()) ON CONFLICT(worktree_path) DO UPDATE SET"
            " head = excluded.head, branch = excluded.branch, synced_at = excluded.synced_at,"
            " view_token = excluded.view_token",
            (str(root), head.commit, head.branch, clock.now()),
        )
    history.record_merges(project, proj, head.branch)
    if analyse:
        from gitext.sync.followups import analyse_pending

        result.derived = analyse_pending(project)
    result.commits = len(history.metas)
    result.files, result.removed = len(present), len(removed)
    return result


def _held_local(db: Database, root: Path) -> set[str]:
    """Paths the view holds as changed in the work tree (edited, added, untracked)."""
    with db.read() as conn:
        return {str(r[0]) for r in conn.execute(
            "SELECT f.path FROM worktree_files w JOIN files f ON f.id = w.file_id"
            " WHERE w.worktree_path = ? AND coalesce(w.git_status, 'clean') != 'clean'",
            (str(root),))}


def _undone(
    db: Database, root: Path, commit: str, present: list[FileState], removed: list[str],
    only: set[str] | None = None,
) -> tuple[list[FileState], list[str]]:
    """What the store still holds as the work tree's own change and no longer is one (an edit
    undone, a deleted file restored, an untracked file removed): HEAD's version again, or
    gone. `git status` names only what differs now, so this compares the view with HEAD.
    (The whole of HEAD: a file deleted locally left the view, so looking up only the rows held
    as changed would miss it coming back. A query knows those paths, from the view and from
    what the last work-tree sync dropped, and passes them as ``only``.)"""
    covered = {s.path for s in present}.union(removed)
    if only is not None and not only - covered:
        return [], []
    sql = ("SELECT f.path, w.content_hash, w.git_status FROM worktree_files w JOIN files f"
           " ON f.id = w.file_id WHERE w.worktree_path = ?")
    args: tuple[str, ...] = (str(root),)
    if only is not None:
        sql += " AND f.path IN (SELECT value FROM json_each(?))"
        args += (json.dumps(sorted(only)),)
    with db.read() as conn:
        stored = {r[0]: (r[1], r[2]) for r in conn.execute(sql, args)}
    back: list[FileState] = []
    in_tree: set[str] = set()
    for e in ls_tree(root, commit, sorted(only - covered) if only is not None else None):
        in_tree.add(e.path)
        if e.mode != GITLINK and e.path not in covered and stored.get(e.path) != (e.blob,
                                                                                  "clean"):
            back.append(FileState(e.path, e.mode, e.blob, "clean"))
    return back, [p for p in stored if p not in in_tree and p not in covered]


def forget_gone_worktrees(project: Project, live: list[Worktree]) -> None:
    """A worktree git no longer has (removed, pruned): its file view and sync position go, and
    a path no other worktree has becomes 'deleted'. Its history stays."""
    keep = {str(w.path.resolve()) for w in live if not w.bare and not w.prunable}
    db = project.db("file_index")
    with db.read() as conn:
        known = [r[0] for r in conn.execute("SELECT worktree_path FROM sync_state")]
    # (A folder that still holds a `.git` is a worktree whatever a listing said.)
    gone = [p for p in known if p not in keep and not (Path(p) / ".git").exists()]
    if not gone:
        return
    from gitext.records.docs_analysis import is_doc_path, refresh_docs

    proj = project_ctx(project)
    held: set[str] = set()
    with db.write() as conn:
        for path in gone:
            paths = worktree_paths(conn, Path(path))
            held |= paths
            apply_view(db, conn, proj.id, Path(path), [], paths)
            conn.execute("DELETE FROM sync_state WHERE worktree_path = ?", (path,))
            conn.execute("DELETE FROM analysis_pending WHERE worktree_path = ?", (path,))
        # What no live worktree has: as for a `git rm`, its documentation rows go too (the
        # worker's analysis, which drops them for a removed file, never sees these).
        orphaned = [p for p in held if is_doc_path(p) and conn.execute(
            "SELECT 1 FROM worktree_files w JOIN files f ON f.id = w.file_id"
            " WHERE f.path = ? LIMIT 1", (p,)).fetchone() is None]
    if orphaned:
        refresh_docs(project, [], removed=orphaned)
    for path in gone:  # its small state files in run/
        for kind, suffix in (("indexed", ""), ("local-removed", ".json")):
            project.layout.run_file(kind, Path(path), suffix).unlink(missing_ok=True)


def view_new_worktrees(project: Project, live: list[Worktree]) -> None:
    """Build the view of a worktree git lists and the store has none for. `git worktree add`
    runs post-checkout there, whose record builds it; `git worktree move` (or a folder moved
    and `git worktree repair`) runs no hook, so the new path stayed empty (doctor:
    index_behind_git, its files 'deleted') until a command ran inside it. A sync from git, as
    that record's: whichever of the two comes first, the other finds nothing left to do."""
    with project.db("file_index").read() as conn:
        known = {r[0] for r in conn.execute("SELECT worktree_path FROM sync_state")}
    for wt in live:
        root = wt.path.resolve()
        if wt.bare or wt.prunable or str(root) in known or unusable_path(str(root)):
            continue
        if not (root / ".git").exists():  # a locked worktree whose folder is away
            continue
        try:
            sync_worktree(project, root)
        except AircherError:
            continue  # removed meanwhile: the next event's reconcile forgets it


def _mark_dirty(db: Database, conn: sqlite3.Connection, project_id: str, paths: list[str]) -> None:
    from gitext.sync.files import file_id

    now = clock.now()
    db.executemany(
        conn,
        "INSERT OR REPLACE INTO relevance_dirty (file_id, marked_at)"
        " SELECT ?, ? WHERE EXISTS (SELECT 1 FROM files WHERE id = ?)",
        ((file_id(project_id, p), now, file_id(project_id, p)) for p in paths),
    )


def _walk(db: Database, root: Path, head: str, tips: list[str], limit: int, *,
          full: bool = False) -> list[str]:
    """The commits from `head` back to `tips` (`new_commits`), less those the store has, unless
    `full` asks for them again."""
    shas = new_commits(root, head, tips, limit)
    if shas and not full:
        with db.read() as conn:
            seen = commits_mod.known(conn, shas)
        shas = [s for s in shas if s not in seen]
    return shas


@dataclass
class _History:
    """Commits read from git, then recorded: their rows in the caller's transaction (a catch-up
    writes them with the view), the knowledge transfers of their merges after it. A catch-up
    and the reading of what a query deferred (`read_deferred`) both record commits this way,
    so the same commits leave the same rows whichever of them met them."""

    root: Path
    metas: list[CommitMeta]
    blobs: bool

    @classmethod
    def read(cls, root: Path, shas: list[str], listed: tuple[str, list[Change]] | None,
             cut: frozenset[str]) -> _History:
        # A partial clone fetches what it lacks: read none. (Asked in `root`: the worker's own
        # worktree may be gone by the time it applies another one's record.)
        blobs = not is_partial(root)
        return cls(root, commits_mod.read_commits(root, shas, listed, cut, blobs=blobs), blobs)

    def write(self, db: Database, conn: sqlite3.Connection, project_id: str, worktree: str,
              lines: dict[str, int], known_paths: set[str], *, mark: bool) -> None:
        """`lines`: line counts of blobs read already (the view's), spared a second read."""
        commits_mod.count_root_lines(self.root, self.metas, lines, read=self.blobs)
        commits_mod.ingest(db, conn, project_id, worktree, self.metas, known_paths, mark=mark)

    def record_merges(self, project: Project, proj: Context, branch: str | None) -> None:
        """Merge commits name the branch they brought in: that is a knowledge transfer into
        `branch` (HEAD's when the commits were met), when the merged branch is still a local
        branch or has a context here (`gitext/sync/merges.py`, as for the post-merge hook). A
        first sync would otherwise make an empty context for every long-gone branch old merges
        name (`pr/212`, `origin/6.x-maintenance`, …)."""
        if branch is None:
            return
        merged = [(meta, name) for meta in self.metas if len(meta.parents) >= 2
                  for name in commits_mod.merged_branches(meta.message)]
        if not merged:
            return
        from gitext.sync.merges import branches, transfer_source

        with project.db("knowledge").read() as conn:
            known = {r[0] for r in conn.execute(
                "SELECT id FROM contexts WHERE context_type = 'worktree'")}
        live = branches(self.root)
        sources: list[str] = []
        for meta, name in merged:
            if source := transfer_source(name, proj.id, live, known):
                record_transfer(project, proj, source, branch, meta.sha, "merge")
                if source not in sources:
                    sources.append(source)
        # What the merged branch learned comes along too, as at post-merge: a merge stopped on
        # conflicts runs no post-merge, only its commit's post-commit, and one made with hooks
        # off is met by a catch-up; both recorded the relationship alone (QA round 15b: 01).
        # Once per branch: a transfer takes everything the branch has, and repeats nothing.
        from gitext.insights.transfer import transfer

        for source in sources:
            if source != branch:
                with contextlib.suppress(UsageError):
                    transfer(project, source, branch)


def touch_worktree(project: Project, root: Path, head: Head) -> Context:
    """The worktree row and its branch context, now active at `head`."""
    proj = project_ctx(project)
    with project.db("knowledge").write() as conn:
        ctx = ensure_worktree_context(conn, proj, head.branch, head.commit, root)
        upsert_worktree(conn, proj.id, root, head.branch, head.commit, touch=True)
    write_context_file(project.layout.worktree_dir(ctx.name), ctx, root)
    from gitext.sync.renames import follow_rename

    follow_rename(project, root, head.branch)
    return ctx


def read_deferred(project: Project) -> int:
    """The commits queries left to the worker (`later`), read and recorded as the catch-up
    that deferred them would have (`_History`); returns how many. Already recorded ones are
    skipped, so reading a deferral twice costs a walk, no rows."""
    repo = project.repo.root  # commits are the repository's, whichever worktree deferred them
    total = 0
    for path, lines in later.entries(project):
        for line in lines:
            head = str(line.get("head") or "")
            if not head or not object_exists(repo, head):
                continue  # rewritten and collected since: nothing of it left to read
            tips = [str(t) for t in line.get("tips") or [] if object_exists(repo, str(t))]
            branch = line.get("branch")
            total += read_history(project, head, tips, str(line.get("worktree") or repo),
                                  str(branch) if branch else None)
        path.unlink(missing_ok=True)
    return total


def read_history(project: Project, head: str, tips: list[str], worktree: str,
                 branch: str | None) -> int:
    """The commits from `head` back to `tips` that the store lacks, recorded as a catch-up
    records them, their merges transferring into `branch`; returns how many."""
    proj = project_ctx(project)
    db = project.db("file_index")
    repo = project.repo.root
    limit = project.config.integer("storage.sync.history_limit")
    cut = shallow_boundary(project.repo.info.common_dir)
    history = _History.read(repo, _walk(db, repo, head, tips, limit), None, cut)
    with db.write() as conn:
        history.write(db, conn, proj.id, worktree, {}, set(), mark=True)
    history.record_merges(project, proj, branch)
    return len(history.metas)


def read_left_behind(project: Project, root: Path, commit: str | None,
                     branch: str | None) -> int:
    """The history of a commit a record names that HEAD has left since (`git commit` on feat,
    then at once `git checkout main`): the catch-up walks from where HEAD is now, and feat's
    new commits stayed unrecorded until something walked feat again, so `relevant --context
    feat` and `compare` ranked feat without them. Returns how many were recorded."""
    if not commit:
        return 0
    with project.db("file_index").read() as conn:
        if commits_mod.known(conn, [commit]):
            return 0  # the common case: the catch-up from HEAD met it
        _, tips = _state(conn, root)
    repo = project.repo.root
    if not object_exists(repo, commit):
        return 0  # rewritten and collected since
    return read_history(project, commit, [t for t in tips if object_exists(repo, t)],
                        str(root), branch)
