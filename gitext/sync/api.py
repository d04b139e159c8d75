"""The sync engine's public entry points (used by the CLI, the worker and lifecycle repair)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

from gitext.project import Project
from gitext.sync import later
from gitext.sync.branches import catch_up_branches
from gitext.sync.drain import drain
from gitext.sync.engine import (
    SyncResult,
    forget_gone_worktrees,
    project_ctx,
    read_deferred,
    sync_worktree,
    touch_worktree,
    view_new_worktrees,
)
from gitext.sync.journal import failed, requeue_failed, waiting_worktrees
from gitext.sync.local import LocalScan
from gitext.sync.slots import journal_slot
from gitext.worktrees import as_recorded, mid_rebase, reconcile

# (phase, done, total): `index` reports its two long phases, "files" and "search".
PhaseProgress = Callable[[str, int, int], None]


@dataclass
class CatchUp:
    events: int
    worktree: SyncResult
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"events": self.events, **asdict(self.worktree), **self.extra}


def catch_up(project: Project, *, full: bool = False, workdir: bool = False,
             analyse: bool = True, progress: Callable[[int, int], None] | None = None,
             local: LocalScan | None = None, branches: bool = False) -> CatchUp:
    """Apply what the journal holds, then read from git whatever the hooks missed: HEAD's
    history, and with `branches` every local branch's (`gitext/sync/branches.py`)."""
    project.require_init()
    # In the worker's slot, all of it: a worker started by the last hook may begin draining the
    # same records now (two drainers interleaving applied a commit's record after a later
    # checkout), or syncing this worktree from the same state to a HEAD git has moved since
    # (the later write would leave files of one HEAD under the state of the other).
    # A worker stuck in that slot (stopped, frozen) fails the catch-up after its wait
    # (`journal_slot`), for a query to answer from the store as it is.
    with journal_slot(project, patient=local is None):
        # Records set aside after failing twice are tried once more here: left in failed/ they
        # would stay there for good, and what they carry that git does not keep (a branch
        # switch) would never be recorded.
        retried = requeue_failed(project.layout.journal)
        root = project.repo.root
        # A query's catch-up leaves history past `history_limit` to the worker (`later`).
        in_query = later.IN_QUERY.set(local is not None)
        try:
            drained = drain(project)
            if drained.busy is not None:
                # Its records wait in the journal, in order, for the lock to go: the error says
                # nothing was written.
                raise drained.busy
            events = drained.applied
            result = sync_worktree(project, root, full=full, workdir=workdir, analyse=analyse,
                                   progress=progress, local=local)
        finally:
            later.IN_QUERY.reset(in_query)
        if local is None and later.pending(project):
            result.commits += read_deferred(project)
        if branches:
            result.commits += catch_up_branches(project, root)
        head = project.repo.head()
        live = project.repo.worktrees()
        # Read after git's own state: a checkout git made before it has its record written. A
        # worktree with records still to apply (made since the drain, in any worktree, or set
        # aside mid-sequence) keeps its row as its records left it, as the hooks' reconcile
        # does: moved to git's branch here, a checkout made during this catch-up (another
        # worktree's, while a long scan ran) found its new branch in the row already when its
        # record came, and its switch was lost (QA round 21b: 03). With hooks off no record
        # comes, and the row follows git here.
        waiting = waiting_worktrees(project.layout.journal)
        # The rebase's records move the row (`mid_rebase`).
        if not mid_rebase(root) and root.resolve() not in waiting:
            touch_worktree(project, root, head)
        proj = project_ctx(project)
        with project.db("knowledge").write() as conn:
            reconcile(conn, proj.id, as_recorded(conn, proj.id, live, waiting),
                      project.config.seconds("storage.sync.inactive_after"))
        forget_gone_worktrees(project, live)
        view_new_worktrees(project, live)
    extra = {"retried": retried, "still_failed": len(failed(project.layout.journal))}
    return CatchUp(events, result, extra if retried else {})


def sync(project: Project, *, full: bool = False) -> CatchUp:
    """`git aircher sync`: the catch-up, then, when it applied anything, the search index and
    relevance brought level with it, as `index` does. The records it applied were a worker's to
    apply, and that worker may have made its last pass already, finding none left: the search
    index then stayed behind until the next query (the soak walk's seed 130 found it). So is a
    search index whose last full update did not cover HEAD: one interrupted (`index` stopped,
    the worker killed in its first pass) left search without those files, and `sync` said all
    was applied. Every local branch's new commits are read too, not only HEAD's: with hooks not
    running, a branch left since kept them unrecorded (QA round 26b: 02)."""
    from gitext.search.stamps import indexed_head

    result = catch_up(project, full=full, branches=True)
    w = result.worktree
    behind = w.head is not None and indexed_head(project, project.repo.root) != w.head
    if result.events or w.commits or w.files or w.removed or behind:
        # The records applied may be any worktree's: the others follow, as after a worker's
        # pass (`sync.elsewhere`).
        _search_and_relevance(project, result, others=True)
    return result


def index(project: Project, progress: PhaseProgress | None = None, *,
          background: bool = False) -> CatchUp:
    """The file index of this worktree from HEAD and the work tree, then (unless `background`,
    which leaves it to the worker) relationships, snippets, search and relevance."""
    result = catch_up(project, workdir=True, analyse=False,
                      progress=partial(progress, "files") if progress else None)
    if background:
        from gitext.hooks.entry import spawn_worker

        spawn_worker(project.repo.root, project.layout.run)
        return result
    _search_and_relevance(project, result, progress)
    return result


def _search_and_relevance(project: Project, result: CatchUp,
                          progress: PhaseProgress | None = None, *, others: bool = False
                          ) -> None:
    """What a query needs after a catch-up, in the worker's heavy slot (it writes vector
    segments); insights and maintenance stay the worker's. `others`: every other worktree's
    search and relevance too, where their views moved."""
    from gitext.relevance import refresh as relevance_refresh
    from gitext.search.indexer import update as search_update
    from gitext.search.indexer import update_if_behind
    from gitext.sync.elsewhere import each_other
    from gitext.sync.worker import ensure_fresh

    def then() -> None:
        result.extra["search"] = search_update(
            project, progress=partial(progress, "search") if progress else None)
        relevance_refresh(project)
        if others:
            each_other(project, "search", update_if_behind)
            each_other(project, "relevance", lambda other, _head: relevance_refresh(other))

    ensure_fresh(project, then=then)


def rebuild_from_git(project: Project) -> None:
    """Drop every git-derived row of file_index.db and rebuild it from git exactly.

    `files` rows stay (their ids are derived from the path, and feedback and access rows hang
    off them); everything read out of git is recomputed for every live worktree.
    """
    project.require_init()
    db = project.db("file_index")
    with db.write() as conn:
        for table in ("file_changes", "file_relationships", "file_snippets", "worktree_files",
                      "commits", "sync_state"):
            conn.execute(f"DELETE FROM {table}")
    from pathlib import Path

    for wt in project.repo.worktrees():
        if wt.bare or wt.prunable or not Path(wt.path).is_dir():
            continue
        sync_worktree(project, Path(wt.path), full=True, analyse=True)
