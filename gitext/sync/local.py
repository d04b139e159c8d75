"""The work tree as it is now, for queries: uncommitted edits, new files and local deletions.

Hooks see commits and checkouts, not edits. A query that runs after the user (or an agent)
changed files asks git what is uncommitted and, only when that differs from the store's view,
takes it in as `git aircher index` would. It also catches up when HEAD is not where the store
last synced this worktree: a commit made where no hook ran (an IDE's own git library,
`AIRCHER_SKIP`, hooks turned off) or a worker killed before it applied the record would
otherwise be missing from answers until the next event, as would the history a fetch brought
into a shallow clone (`shallow`). On a tree whose changes are already in the view the cost is
one `git status` and one `git rev-parse` (plus one `git hash-object` when there are changes).
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from gitext.errors import GitError, WorkerBusyError
from gitext.folders import store_folder
from gitext.git.run import git
from gitext.project import Project
from gitext.sync import shallow
from gitext.sync.files import FileState
from gitext.sync.logbook import log
from gitext.sync.workdir import Stamp, hashed_states, tree_stamp, workdir_status

# Past this many uncommitted files (an unignored build folder, a vendored tree), queries stop
# taking them in on every call: hashing them all each time would cost more than the query.
# `git aircher index` still takes them in, and a query still catches up with HEAD.
MAX_LOCAL_FILES = 1000


@dataclass(frozen=True)
class LocalScan:
    """The work tree as a query just read it, for the sync that takes it in."""

    states: list[FileState]  # files it changes or adds, with their blob ids
    removed: list[str]  # files it deletes
    maybe_undone: set[str]  # paths whose local change may have been undone since the last look
    stamp: Stamp  # `tree_stamp` before the look: the sync takes it in only if it still holds


@dataclass(frozen=True)
class LocalChanges:
    changed: set[str]  # paths whose view entry this call changed
    local: set[str]  # every path the work tree changes or adds, as the view has it now
    head: str | None = None  # the commit the view is at now (None: not looked at)


def take_in_local_changes(project: Project) -> LocalChanges:
    """Bring the view level with the work tree.

    A git that cannot answer (a damaged index, a repository mid-surgery) does not fail the
    query: it answers from the store as it is, and the failure goes to the log. So does a
    worker stuck in the journal's slot past its wait (`journal_slot`).
    """
    project.require_init()
    try:
        return _take_in(project)
    except GitError as exc:
        log(project.layout.logs, "storage", "failed to take in the work tree's changes", exc)
        return LocalChanges(set(), set())
    except WorkerBusyError as exc:
        log(project.layout.logs, "storage", "a query answered from the store as it is: "
            + exc.message)
        return LocalChanges(set(), set())


def _take_in(project: Project) -> LocalChanges:
    root = project.repo.root
    stamp = tree_stamp(project.repo.info.git_dir)
    head = _head_commit(root)
    listed, removed = workdir_status(root)
    if len(listed) + len(removed) > MAX_LOCAL_FILES:
        return _head_only(project, root, head)
    states = hashed_states(root, listed)
    wanted = {s.path: (s.blob, s.status) for s in states}
    with project.db("file_index").read() as conn:
        synced = _synced_head(conn, root)
        deepened = shallow.pending(conn, project.repo.info.common_dir)
        view = {str(r[0]): (r[1], r[2]) for r in conn.execute(
            "SELECT f.path, w.content_hash, w.git_status FROM worktree_files w"
            " JOIN files f ON f.id = w.file_id WHERE w.worktree_path = ?"
            " AND coalesce(w.git_status, 'clean') != 'clean'", (str(root),))}
        still_there = {str(r[0]) for r in conn.execute(
            "SELECT f.path FROM worktree_files w JOIN files f ON f.id = w.file_id"
            " WHERE w.worktree_path = ? AND f.path IN (SELECT value FROM json_each(?))",
            (str(root), json.dumps(removed)))} if removed else set()
    # A local deletion leaves the view; once the file is back (`git checkout -- f`) git no
    # longer names it, so the view's own record of what it dropped tells.
    restored = remembered_removed(project, root) - set(removed)
    if (view == wanted and not still_there and not restored and synced == head
            and not deepened and not _records_waiting(project, root)):
        return LocalChanges(set(), set(wanted), head)
    from gitext.hooks.entry import spawn_worker
    from gitext.sync.api import catch_up

    # Right after a commit this waits for the worker applying its record (catch_up takes the
    # worker's slot), so the answer includes the commit.
    maybe_undone = {p for p in view if p not in wanted} | restored
    result = catch_up(project, analyse=False,
                      local=LocalScan(states, removed, maybe_undone, stamp)).worktree
    # Parsing the changed files (imports, snippets) is the worker's, as after a commit.
    spawn_worker(root, project.layout.run)
    changed = {p for p in wanted if view.get(p) != wanted[p]}
    gone = {p for p in view if p not in wanted}
    return LocalChanges(changed | gone | still_there | restored, set(wanted), result.head)


def _head_only(project: Project, root: Path, head: str | None) -> LocalChanges:
    """Too many local files to take in on every query; a commit the store missed still is."""
    with project.db("file_index").read() as conn:
        synced = _synced_head(conn, root)
        deepened = shallow.pending(conn, project.repo.info.common_dir)
    if synced == head and not deepened and not _records_waiting(project, root):
        return LocalChanges(set(), set(), head)
    from gitext.hooks.entry import spawn_worker
    from gitext.sync.api import catch_up

    result = catch_up(project, analyse=False).worktree
    spawn_worker(root, project.layout.run)
    return LocalChanges(set(), set(), result.head)


def _records_waiting(project: Project, root: Path) -> bool:
    """Whether the journal holds records of this worktree no worker has applied yet.

    HEAD where the view is says nothing of them: after `checkout X; checkout Y; checkout X`
    the view is still at X when the worker has not yet applied the last two, and a query that
    answered then had the view moved under it to Y, and back, by the worker: about a third of
    its hits on redis, with no warning (QA round 26a: 01). The catch-up applies them first.
    Records set aside mid-rebase (`deferred/`) wait for its end whatever a query does."""
    from gitext.sync.journal import pending

    here = root.resolve()
    return any(Path(ev.cwd).resolve() == here for ev in pending(project.layout.journal))


def _synced_head(conn: sqlite3.Connection, root: Path) -> str | None:
    row = conn.execute("SELECT head FROM sync_state WHERE worktree_path = ?",
                       (str(root),)).fetchone()
    return row[0] if row else None


def _head_commit(root: Path) -> str | None:
    out = git(["rev-parse", "-q", "--verify", "HEAD^{commit}"], root, check=False).stdout
    return out.decode().strip() or None


def _mark_path(project: Project, root: Path) -> Path:
    return project.layout.run_file("local-removed", root, ".json")


@dataclass(frozen=True)
class LocalMark:
    """What the last work-tree sync left in the view as the work tree's own changes."""

    removed: set[str]  # files it dropped as deleted in the work tree
    stamp: Stamp | None  # `tree_stamp` of that look (None: a record from an older version)


def remember_local(project: Project, root: Path, removed: list[str], *, held: bool,
                   stamp: Stamp) -> None:
    """Written by every work-tree sync: the paths it dropped as deleted, and the worktree's
    stamp, whenever it left any local change in the view (`held`: edited, added or untracked
    rows). A later sync that finds git has touched the worktree since puts those back to
    HEAD's version (`engine.sync_worktree`)."""
    path = _mark_path(project, root)
    if not removed and not held:
        path.unlink(missing_ok=True)
        return
    store_folder(project.layout.root, path.parent)  # run/, never the store itself
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"removed": sorted(removed), "stamp": list(stamp)}), "utf-8")
    os.replace(tmp, path)


def forget_local(project: Project, root: Path) -> None:
    _mark_path(project, root).unlink(missing_ok=True)


def local_mark(project: Project, root: Path) -> LocalMark | None:
    try:
        data = json.loads(_mark_path(project, root).read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return LocalMark(set(), None)
    if isinstance(data, list):  # before the stamp was kept: the removed paths alone
        return LocalMark({p for p in data if isinstance(p, str)}, None)
    if not isinstance(data, dict):
        return LocalMark(set(), None)
    removed = data.get("removed")
    stamp = data.get("stamp")
    return LocalMark(
        {p for p in removed if isinstance(p, str)} if isinstance(removed, list) else set(),
        tuple(int(x) for x in stamp) if isinstance(stamp, list)
        and all(isinstance(x, int) for x in stamp) else None)


def remembered_removed(project: Project, root: Path) -> set[str]:
    mark = local_mark(project, root)
    return mark.removed if mark else set()
