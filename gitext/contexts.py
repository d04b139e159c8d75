"""The context hierarchy: global > project > worktree (branch) > session.

Every level is a row of `contexts` in knowledge.db; the global row is mirrored from global.db
under the same id, so the parent chain never leaves the file.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from gitext import clock
from gitext.folders import make_folder
from gitext.ids import derived_id
from gitext.layout import legacy_slug

DETACHED = "(detached)"


@dataclass(frozen=True)
class Context:
    id: str
    context_type: str
    name: str
    parent_id: str | None
    path: str | None = None
    git_branch: str | None = None
    git_commit: str | None = None
    status: str = "active"
    last_active: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Context:
        return cls(
            row["id"], row["context_type"], row["name"], row["parent_context_id"], row["path"],
            row["git_branch"], row["git_commit"], row["status"], row["last_active"],
        )


def user_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "user"


def ensure_global(global_conn: sqlite3.Connection) -> Context:
    row = global_conn.execute(
        "SELECT * FROM contexts WHERE context_type = 'global' ORDER BY created_at LIMIT 1"
    ).fetchone()
    if row is not None:
        return Context.from_row(row)
    ctx = Context(derived_id("global", user_name()), "global", "global", None)
    global_conn.execute(
        "INSERT OR IGNORE INTO contexts (id, context_type, name, created_at, last_active)"
        " VALUES (?, 'global', ?, ?, ?)",
        (ctx.id, ctx.name, clock.now(), clock.now()),
    )
    return ctx


def mirror_global(conn: sqlite3.Connection, glob: Context) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO contexts (id, context_type, name, created_at, last_active)"
        " VALUES (?, 'global', ?, ?, ?)",
        (glob.id, glob.name, clock.now(), clock.now()),
    )


def project_context(conn: sqlite3.Connection) -> Context | None:
    row = conn.execute(
        "SELECT * FROM contexts WHERE context_type = 'project' ORDER BY created_at LIMIT 1"
    ).fetchone()
    return None if row is None else Context.from_row(row)


def ensure_project(conn: sqlite3.Connection, glob: Context, root: Path) -> Context:
    found = project_context(conn)
    if found is not None:
        return found
    ctx = Context(derived_id("project", str(root)), "project", root.name, glob.id, str(root))
    conn.execute(
        "INSERT OR IGNORE INTO contexts"
        " (id, context_type, parent_context_id, name, path, created_at, last_active)"
        " VALUES (?, 'project', ?, ?, ?, ?, ?)",
        (ctx.id, glob.id, ctx.name, ctx.path, clock.now(), clock.now()),
    )
    return ctx


def worktree_context_id(project_id: str, branch: str | None) -> str:
    return derived_id("worktree-context", project_id, branch or DETACHED)


def ensure_worktree_context(
    conn: sqlite3.Connection,
    project: Context,
    branch: str | None,
    commit: str | None,
    path: Path,
    *,
    touch: bool = True,
) -> Context:
    """The branch's context, created the first time the branch is seen, moved to `commit`."""
    name = branch or DETACHED
    cid = worktree_context_id(project.id, branch)
    now = clock.now()
    conn.execute(
        "INSERT INTO contexts (id, context_type, parent_context_id, name, path, git_branch,"
        " git_commit, created_at, last_active, status) VALUES (?, 'worktree', ?, ?, ?, ?, ?, ?, ?,"
        " 'active') ON CONFLICT(id) DO UPDATE SET git_commit = excluded.git_commit,"
        " path = excluded.path, last_active = CASE WHEN ? THEN excluded.last_active"
        " ELSE contexts.last_active END,"
        " status = CASE WHEN ? THEN 'active' ELSE contexts.status END",
        (cid, project.id, name, str(path), branch, commit, now, now, touch, touch),
    )
    row = conn.execute("SELECT * FROM contexts WHERE id = ?", (cid,)).fetchone()
    return Context.from_row(row)


def find_context(conn: sqlite3.Connection, name: str) -> Context | None:
    row = conn.execute(
        "SELECT * FROM contexts WHERE name = ? OR id = ? ORDER BY"
        " CASE context_type WHEN 'worktree' THEN 0 WHEN 'session' THEN 1 ELSE 2 END LIMIT 1",
        (name, name),
    ).fetchone()
    return None if row is None else Context.from_row(row)


def chain(conn: sqlite3.Connection, context_id: str) -> list[Context]:
    """The context and its ancestors, global first."""
    rows = conn.execute(
        "WITH RECURSIVE up(id, depth) AS (SELECT ?, 0 UNION ALL"
        " SELECT c.parent_context_id, up.depth + 1 FROM contexts c JOIN up ON c.id = up.id"
        " WHERE c.parent_context_id IS NOT NULL AND up.depth < 16)"
        " SELECT contexts.* FROM up JOIN contexts USING (id) ORDER BY up.depth DESC",
        (context_id,),
    ).fetchall()
    return [Context.from_row(r) for r in rows]


def write_context_file(folder: Path, ctx: Context, worktree_path: Path) -> None:
    """`.agents/worktrees/<branch>/context.json`: the branch context for tools that read files."""
    if not folder.exists():
        _adopt_legacy_folder(folder, ctx)
    # Made level by level below the store, never the store itself: one that went away while a
    # worker applied a checkout (its link taken by a sweep) is not made again, empty.
    make_folder(folder / "cache", folder.parent.parent)
    data = {
        "context_id": ctx.id,
        "name": ctx.name,
        "branch": ctx.git_branch,
        "commit": ctx.git_commit,
        "parent_context_id": ctx.parent_id,
        "worktree_path": str(worktree_path),
        "updated_at": clock.now(),
    }
    # A temp name of this process's own: the worker and a command may write it at once, and a
    # shared one would be renamed away under the other.
    tmp = folder / f"context.json.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(data, indent=2) + "\n", "utf-8")
    tmp.replace(folder / "context.json")


def _adopt_legacy_folder(folder: Path, ctx: Context) -> None:
    """Move this branch's folder from its old, possibly shared, name (see `layout.slug`).

    The old folder is taken only when its context.json names this very context, so a folder
    that two branches shared stays with the one that wrote it last; the other starts afresh.
    """
    old = folder.parent / legacy_slug(ctx.name)
    if old == folder:
        return
    try:
        owner = json.loads((old / "context.json").read_text("utf-8")).get("context_id")
    except (OSError, ValueError, AttributeError):
        return
    if owner != ctx.id:
        return
    # Another process may have moved it first, or made the new folder: either way it is there.
    with contextlib.suppress(OSError):
        old.rename(folder)
