"""A query's share of indexing: the work tree's uncommitted files, and a HEAD the worker has
not indexed yet, taken in before `search` or `relevant` answers.

A query indexes at most `MAX_LOCAL_FILES` files itself; more is the background worker's, which
it starts when none is at work, and the answer then says the index is still being built.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitext.git.names import storable
from gitext.git.objects import is_partial
from gitext.git.run import git
from gitext.project import Project
from gitext.search import sparse
from gitext.search.indexer import LATER, Vectors, lacking, update
from gitext.search.stamps import forget_indexed, indexed_head, remember_indexed, view_token

if TYPE_CHECKING:
    from gitext.sync.local import LocalChanges


# Seconds a query waits for the background worker before it answers without the local files.
LOCAL_WAIT = 10.0
# Said with an answer given while the worker still indexes far more than a query's share.
BUILDING = ("the search index is still being built for this checkout: results may miss files"
            " until the background worker has indexed them")


def take_in_local_changes(project: Project, *, vectors: Vectors = "try",
                          notes: list[str] | None = None) -> set[str]:
    """The work tree's uncommitted state in the view and, where this process may, in the
    index; returns the paths that changed.

    `vectors`: "later" for a query that needs none (text search); with "try", an embedder that
    fails (an endpoint down) does not fail the query: the files' text is indexed, their vectors
    are left for a later update, and why goes to `notes`.

    The index must also hold what HEAD has: the worker indexes a commit a moment after it
    applied its record, and a search in between (an agent committing, then searching) would
    miss the commit's new content. `run/indexed-*` says which HEAD the last full update covered;
    when it is not the view's, the query waits for the worker, and indexes what differs itself
    if the worker did not (no hook ran, or the worker was killed).

    When the background worker is busy, the query waits for it a few seconds (it is usually
    finishing the last commit's follow-ups), but not for a first index of a large repository,
    which takes minutes: the view already lists the changed files, and the worker indexes them
    on its next pass.
    """
    from gitext.sync.local import take_in_local_changes as into_view

    found = into_view(project)
    root = project.repo.root
    done = indexed_head(project, root)
    widened = done is not None and sparse.widened(project, root)
    if widened:
        # `git sparse-checkout add` brought blobs the last update had to leave out: a full
        # update again, here if the view is small, else by the worker.
        forget_indexed(project, root)
        done = None
    try:
        _index_for_query(project, found, done, vectors, notes)
    finally:
        if widened and indexed_head(project, root) is None:
            from gitext.hooks.entry import spawn_worker

            spawn_worker(root, project.layout.run)
    return found.changed


def _index_for_query(project: Project, found: LocalChanges, done: str | None,
                     vectors: Vectors, notes: list[str] | None) -> None:
    from gitext.sync.local import MAX_LOCAL_FILES
    from gitext.sync.slots import worker_lock

    root = project.repo.root
    behind = found.head is not None and done is not None and done != found.head
    # Never fully indexed here: a linked worktree whose first records a worker started
    # elsewhere took (its pass covers this worktree soon), or a first index still running.
    # Worth a wait only when that index is small (a first commit in a new repository, searched
    # at once); a large one takes minutes, and the query answers from what there is.
    never = found.head is not None and done is None
    if not (found.local or found.changed or behind or never):
        return
    wait = LOCAL_WAIT if found.local or found.changed or behind or (
        never and _view_size(project, root) <= MAX_LOCAL_FILES) else 0.0
    unsure = never and not wait  # a large first index: answered from what there is
    if behind and not (found.local or found.changed):
        # A checkout: the worker's pass indexes what it brought, which for a far one takes
        # longer than a query should wait (10-16 s on git.git). Back on a branch indexed
        # before, nothing is lacking and the answer is whole now; with more than a query's
        # share lacking, it answers at once and says so.
        lacking = _lacking_text(project, root)
        if not lacking:
            return
        if lacking > MAX_LOCAL_FILES:
            wait, unsure = 0.0, True
    if unsure and notes is not None:
        notes.append(BUILDING)
    token = view_token(project, root)  # the view `found` describes, or one just after
    with worker_lock(project, wait=False, name="heavy", within=wait) as mine:
        if not mine:
            # A worker holds the slot, and its pass ends with the full update; waited for in
            # vain (a far checkout takes it longer than a query waits), the answer lacks what
            # it has not indexed yet, and says so. Before, it said nothing: 33 of 197 files
            # on redis after a checkout there and back (QA round 26a: 01).
            if notes is not None and BUILDING not in notes and _lacking_text(project, root):
                notes.append(BUILDING)
            return
        if not _index_here(project, found, token, vectors, notes):
            return
    # More than a query's share, and no worker at it (none was started, or one was killed in
    # its first pass): without one, search would lack those files until the next commit.
    from gitext.hooks.entry import spawn_worker

    spawn_worker(root, project.layout.run)


def _index_here(project: Project, found: LocalChanges, token: int | None, vectors: Vectors,
                notes: list[str] | None) -> bool:
    """A query's share of the indexing, in the heavy slot; True when a full update is still due
    (more than that share), which is the worker's."""
    from gitext.sync.local import MAX_LOCAL_FILES

    root = project.repo.root
    # `changed` holds what the look put back to HEAD's version (an edit undone): a full update
    # while it was edited may have dropped that version as unreferenced, and HEAD has not
    # moved, so nothing else would index it again.
    need = set(found.local) | found.changed
    head = found.head
    done = indexed_head(project, root)  # the worker's pass may have just covered it
    if done is None and "skipped" not in _note(
            update(project, most=MAX_LOCAL_FILES, vectors=vectors), notes):
        return False
    behind = head is not None and done is not None and done != head
    # None: nothing to catch up, or too much for a query (history rewritten, a large pull
    # without hooks).
    moved = (_changed_between(root, done, head)
             if head is not None and done is not None and done != head else None)
    if moved is not None:
        need |= moved
    complete = True
    if need:  # indexes what is not indexed yet
        complete = not _note(update(project, only=need, vectors=vectors), notes).get(
            "vectors_deferred")
    # Vectors left out: no stamp, so the next query or the worker's pass computes them.
    if (moved is not None and head is not None and complete
            and view_token(project, root) == token):
        remember_indexed(project, root, head)
    return done is None or (behind and moved is None)


def _note(result: dict[str, Any], notes: list[str] | None) -> dict[str, Any]:
    """An embedder's failure, for the caller to show (vectors left for later by choice are not
    worth a word)."""
    why = result.get("vectors_deferred")
    if why and why != LATER and notes is not None and why not in notes:
        notes.append(why)
    return result


def _lacking_text(project: Project, root: Path) -> int:
    """How many versions of this worktree's view the full-text index lacks."""
    with project.db("file_index").read() as conn:
        return len(lacking(project, conn, None)[1])


def _view_size(project: Project, root: Path) -> int:
    """The files of this worktree's view a first index has to read."""
    with project.db("file_index").read() as conn:
        size = int(conn.execute("SELECT count(*) FROM worktree_files WHERE worktree_path = ?",
                                (str(root),)).fetchone()[0])
        if not is_partial(root):  # spares reading every path: nothing is left out
            return size
        pairs = conn.execute(
            "SELECT f.path, w.content_hash FROM worktree_files w JOIN files f ON f.id = w.file_id"
            " WHERE w.worktree_path = ?", (str(root),)).fetchall()
    return size - len(sparse.left_out(root, project.repo.info.git_dir, pairs))


def _changed_between(root: Path, old: str, new: str) -> set[str] | None:
    """Paths that differ between two commits; None past a query's share of the work."""
    from gitext.sync.local import MAX_LOCAL_FILES

    proc = git(["diff", "--name-only", "-z", "--no-renames", old, new], root, check=False)
    if proc.returncode != 0:
        return None
    paths = {name for p in proc.stdout.split(b"\0")
             if p and storable(name := p.decode("utf-8", "surrogateescape"))}
    return paths if len(paths) <= MAX_LOCAL_FILES else None
