"""The `worktrees` table kept in step with `git worktree list`."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path

from gitext import clock
from gitext.contexts import DETACHED
from gitext.git.repo import Worktree
from gitext.ids import derived_id


def worktree_id(project_id: str, path: Path) -> str:
    return derived_id("worktree", project_id, str(path))


@dataclass(frozen=True)
class WorktreeRow:
    id: str
    branch_name: str
    worktree_path: str
    git_commit: str | None
    status: str
    last_active: str


def upsert_worktree(
    conn: sqlite3.Connection,
    project_id: str,
    path: Path,
    branch: str | None,
    commit: str | None,
    *,
    touch: bool,
) -> str:
    wid = worktree_id(project_id, path)
    now = clock.now()
    conn.execute(
        "INSERT INTO worktrees (id, project_id, branch_name, worktree_path, git_commit,"
        " created_at, last_active, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'active')"
        " ON CONFLICT(id) DO UPDATE SET branch_name = excluded.branch_name,"
        " git_commit = excluded.git_commit, status = 'active',"
        " last_active = CASE WHEN ? THEN excluded.last_active ELSE worktrees.last_active END",
        (wid, project_id, branch or DETACHED, str(path), commit, now, now, touch),
    )
    return wid


def enter_worktree(
    conn: sqlite3.Connection,
    project_id: str,
    path: Path,
    branch: str | None,
    commit: str | None,
) -> str:
    """The row of a worktree moved to from elsewhere (`worktree switch`), now active. It is
    made at `branch` and `commit` only when the store has none: an existing row keeps the
    branch and commit its own records gave it, as git may be ahead of them (docs/sync.md).
    Moved to git's branch of the moment, it made a checkout whose record was still waiting
    (`git checkout -b feat` there, then `worktree switch feat`) a switch from feat to itself,
    and that switch was never recorded (QA round 21b: 01)."""
    wid = worktree_id(project_id, path)
    now = clock.now()
    conn.execute(
        "INSERT INTO worktrees (id, project_id, branch_name, worktree_path, git_commit,"
        " created_at, last_active, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'active')"
        " ON CONFLICT(id) DO UPDATE SET status = 'active', last_active = excluded.last_active",
        (wid, project_id, branch or DETACHED, str(path), commit, now, now),
    )
    return wid


def mid_rebase(root: Path) -> bool:
    """Whether the worktree at `root` is in a rebase (its git dir holds the rebase's state).
    Its row's branch is then the rebase's records' to move, not whatever reads HEAD: the
    detached HEAD of a rebase is no branch of the user's, and records applied after it read
    the branch left from the row (QA round 15c: 05)."""
    dot = root / ".git"
    try:
        if dot.is_dir():
            git_dir = dot
        else:
            named = dot.read_text("utf-8").strip().removeprefix("gitdir: ")
            git_dir = root / named  # an absolute path stays as it is
    except (OSError, UnicodeDecodeError):
        return False
    from gitext.sync.journal import rebase_dir

    return rebase_dir(git_dir) is not None


def as_recorded(
    conn: sqlite3.Connection, project_id: str, live: list[Worktree],
    waiting: set[Path] | None = None,
) -> list[Worktree]:
    """`live`, with each worktree in `waiting` (resolved paths: records of it still to apply;
    None: every worktree, as a record's own reconcile takes them) that has a row given that
    row's branch and commit: the records move it, and git may be ahead of them. Moved to git's
    branch first, a checkout whose record was waiting found its new branch in the row already,
    and recorded a switch from it to itself (docs/sync.md)."""
    if waiting is not None and not waiting:
        return live
    rows = {str(Path(r[0]).resolve()): (r[1], r[2]) for r in conn.execute(
        "SELECT worktree_path, branch_name, git_commit FROM worktrees WHERE project_id = ?",
        (project_id,))}
    recorded = []
    for wt in live:
        mine = waiting is None or wt.path.resolve() in waiting
        row = rows.get(str(wt.path.resolve())) if mine else None
        if row is not None:
            wt = replace(wt, branch=None if row[0] == DETACHED else row[0], head=row[1])
        recorded.append(wt)
    return recorded


def reconcile(
    conn: sqlite3.Connection,
    project_id: str,
    live: list[Worktree],
    inactive_after: float,
) -> None:
    """Rows for every live worktree; gone or prunable ones 'stale', idle ones 'inactive'."""
    seen: set[str] = set()
    for wt in live:
        if wt.bare:
            continue
        if wt.locked and not wt.prunable and not wt.path.exists():
            # Locked while its folder is away (a disk not mounted): git keeps it, so does the
            # store, as it was.
            seen.add(worktree_id(project_id, wt.path))
            continue
        if wt.prunable or not wt.path.exists():
            continue
        if wt.branch is None and mid_rebase(wt.path):
            wid = worktree_id(project_id, wt.path)
            if conn.execute("SELECT 1 FROM worktrees WHERE id = ?", (wid,)).fetchone():
                seen.add(wid)
                continue
        seen.add(upsert_worktree(conn, project_id, wt.path, wt.branch, wt.head, touch=False))
    rows = conn.execute(
        "SELECT id, last_active, status FROM worktrees WHERE project_id = ?", (project_id,)
    ).fetchall()
    cutoff = clock.ago(inactive_after)
    for row in rows:
        if row["id"] not in seen:
            if row["status"] != "stale":
                conn.execute("UPDATE worktrees SET status = 'stale' WHERE id = ?", (row["id"],))
        elif row["last_active"] < cutoff and row["status"] == "active":
            conn.execute("UPDATE worktrees SET status = 'inactive' WHERE id = ?", (row["id"],))


def list_rows(conn: sqlite3.Connection, project_id: str) -> list[WorktreeRow]:
    rows = conn.execute(
        "SELECT id, branch_name, worktree_path, git_commit, status, last_active FROM worktrees"
        " WHERE project_id = ? ORDER BY worktree_path",
        (project_id,),
    ).fetchall()
    return [WorktreeRow(*tuple(r)) for r in rows]
