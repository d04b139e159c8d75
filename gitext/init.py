"""`git aircher init`: the store, its databases and the context chain of this worktree."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from gitext import clock
from gitext.contexts import (
    Context,
    ensure_global,
    ensure_project,
    ensure_worktree_context,
    mirror_global,
    write_context_file,
)
from gitext.layout import ALL_DATABASES
from gitext.lifecycle.exposure import mend
from gitext.project import Project
from gitext.worktrees import reconcile, upsert_worktree


@dataclass
class InitResult:
    data_dir: str
    created: bool
    excluded: bool
    project_context: str
    worktree_context: str
    worktrees: int
    notes: list[str] = field(default_factory=list)


def init_project(project: Project, *, hooks: bool = True, sync: bool = True) -> InitResult:
    """The store, this worktree's rows and (with ``hooks``) the hooks; with ``sync``, the first
    catch-up too. `index` passes ``sync=False`` and does that catch-up itself, with progress."""
    created = not project.initialized
    from gitext.store_owner import others_store

    # A link that came with the files must not make another repository's store this one's.
    if (other := others_store(project)) is not None:
        from gitext.errors import AircherError

        raise AircherError(other.message(), hint=other.hint())
    if created:
        from gitext.errors import AircherError
        from gitext.store_left import left_behind

        # Moved, in a folder of stores: a new, empty store would hide the old one's records.
        if (left := left_behind(project)) is not None:
            raise AircherError(left.message(), hint=left.hint())
    project.global_layout.ensure()
    project.layout.ensure()
    excluded = mend(project).excluded  # out of git's way: exclude lines, shields
    for name in ALL_DATABASES:
        _ = project.db(name).writer  # opening a database creates and migrates it

    root = project.repo.info.main_root
    with project.db("global").write() as gconn:
        glob = ensure_global(gconn)
    with project.db("knowledge").write() as conn:
        mirror_global(conn, glob)
        proj = ensure_project(conn, glob, root)
        ctx = register_current(project, conn, proj)
        live = project.repo.worktrees()
        reconcile(conn, proj.id, live, project.config.seconds("storage.sync.inactive_after"))
        count = conn.execute(
            "SELECT count(*) FROM worktrees WHERE project_id = ? AND status != 'stale'", (proj.id,)
        ).fetchone()[0]
    from gitext.store_left import mark_repository

    # In a folder of stores the store stays behind when the repository moves: the mark it
    # carries tells its store from another clone's (`gitext/store_left.py`).
    mark_repository(project, proj.id)
    with project.db("global").write() as gconn:
        # The path is this repository's now: a row naming another id there is a repository
        # deleted or moved away since its last `init` (nothing else updates the registry), and
        # `root_path` is UNIQUE, so it would fail the insert below for good.
        gconn.execute("DELETE FROM projects WHERE root_path = ? AND id != ?", (str(root), proj.id))
        gconn.execute(
            "INSERT INTO projects (id, name, root_path, data_dir, created_at, last_seen)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET"
            " last_seen = excluded.last_seen, data_dir = excluded.data_dir,"
            " root_path = excluded.root_path",
            (proj.id, root.name, str(root), str(project.layout.root), clock.now(), clock.now()),
        )
    from gitext.sync.engine import sync_worktree

    notes: list[str] = []
    if hooks:
        from gitext.errors import AircherError
        from gitext.hooks.install import framework_note, install_hooks, tracked_note

        try:
            installed = install_hooks(project.repo.root)
            notes += [n for n in (tracked_note(installed), framework_note(installed)) if n]
        except AircherError as exc:  # the store is still useful; hooks can be fixed after
            notes.append(f"hooks not installed: {exc.message}"
                         + (f"; {exc.hint}" if exc.hint else ""))

    # The first catch-up (the last `history_limit` commits and the whole tree) happens here, so
    # the store is useful at once; hooks keep it current from now on.
    if sync:
        sync_worktree(project, project.repo.root)
    if sync and hooks:
        from gitext.hooks.entry import spawn_worker

        # Parsing and search indexing go on in the background.
        spawn_worker(project.repo.root, project.layout.run)
    return InitResult(
        data_dir=str(project.layout.root),
        created=created,
        excluded=excluded,
        project_context=proj.id,
        worktree_context=ctx.id,
        worktrees=int(count),
        notes=notes,
    )


def register_current(project: Project, conn: sqlite3.Connection, proj: Context) -> Context:
    """This worktree's row and its branch context, touched as active."""
    head = project.repo.head()
    root = project.repo.root
    ctx = ensure_worktree_context(conn, proj, head.branch, head.commit, root)
    upsert_worktree(conn, proj.id, root, head.branch, head.commit, touch=True)
    write_context_file(project.layout.worktree_dir(ctx.name), ctx, root)
    return ctx
