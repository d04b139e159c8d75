"""Where a record lands when the caller does not say: this worktree, its branch, its session.

The current context is the active session of this worktree when that session was started on
the branch checked out now, else the branch's worktree context. Records take their
project_id (the project context), worktree_id (`worktrees` row of this directory), session_id
and context_id from it.

Several sessions may be active in one worktree (two agents, each with its own task). A
Project that started one keeps it as its own (`Project.own_session`) while it is active here:
else an agent's records would land in whichever session started last, another agent's. Any
other Project (another process, each CLI command) gets the newest active session here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitext.contexts import (
    Context,
    ensure_worktree_context,
    project_context,
    worktree_context_id,
    write_context_file,
)
from gitext.errors import UsageError
from gitext.project import Project
from gitext.records.values import newest_first
from gitext.worktrees import upsert_worktree, worktree_id


@dataclass(frozen=True)
class CurrentIds:
    project_id: str
    worktree_id: str
    branch_context: Context  # the branch's worktree context
    context: Context  # the session's context when one is active, else branch_context
    session_id: str | None


def require_project_context(project: Project) -> Context:
    project.require_init()
    with project.db("knowledge").read() as conn:
        proj = project_context(conn)
    if proj is None:
        raise UsageError("the store has no project context", hint="run `git aircher init`")
    return proj


def branch_context(project: Project, proj: Context) -> tuple[Context, str]:
    """This worktree's branch context and `worktrees` id, created if the hooks missed them.

    A context is made for the branch HEAD is on; the worktree's row only when it has none."""
    root = project.repo.root
    head = project.repo.head()
    branch, rebasing = head.branch, _rebasing(project) if head.branch is None else None
    if rebasing is not None:
        # HEAD detached to replay commits is the branch being rebased, as git says ("You are
        # currently rebasing branch 'feat'") and the rebase's records take it: as "(detached)"
        # a decision made at a conflict stop was filed away from its branch, and the row of
        # this worktree moved to "(detached)" made the checkout before the rebase a switch
        # from it (QA round 16b: 01, 03). The row is the rebase's records' to move.
        branch = rebasing
    cid = worktree_context_id(proj.id, branch)
    wid = worktree_id(proj.id, root)
    with project.db("knowledge").read() as conn:
        row = conn.execute("SELECT * FROM contexts WHERE id = ?", (cid,)).fetchone()
        known = conn.execute("SELECT 1 FROM worktrees WHERE id = ?", (wid,)).fetchone()
    if row is not None and known is not None:
        return Context.from_row(row), wid
    with project.db("knowledge").write() as conn:
        ctx = ensure_worktree_context(conn, proj, branch, head.commit, root, touch=False)
        # An existing row is its records' to move (docs/sync.md): moved here to a branch
        # `git checkout -b` has just made, the checkout's record, applied after this command,
        # found its new branch in the row already and recorded no switch (QA round 20b: 01).
        if known is None:
            upsert_worktree(conn, proj.id, root, branch, head.commit, touch=False)
    if row is None:
        write_context_file(project.layout.worktree_dir(ctx.name), ctx, root)
    return ctx, wid


def _rebasing(project: Project) -> str | None:
    """The branch a rebase under way in this worktree rebases, or None."""
    from gitext.git.names import readable
    from gitext.sync.journal import rebasing_of

    name = rebasing_of(project.repo.info.git_dir)
    return readable(name.removeprefix("refs/heads/")) if name.startswith("refs/heads/") else None


def active_session_row(
    project: Project, wid: str, branch_ctx_id: str
) -> tuple[str, Context] | None:
    """The newest active session of this worktree started on this branch."""
    with project.db("sessions").read() as sconn:
        rows = sconn.execute(
            "SELECT id, context_id FROM sessions WHERE status = 'active' AND worktree_id = ?"
            " ORDER BY " + newest_first("started_at"),
            (wid,),
        ).fetchall()
    if not rows:
        return _moved_here(project, wid, branch_ctx_id)
    with project.db("knowledge").read() as conn:
        for row in rows:
            ctx = conn.execute(
                "SELECT * FROM contexts WHERE id = ? AND parent_context_id = ?",
                (row["context_id"], branch_ctx_id),
            ).fetchone()
            if ctx is not None:
                return str(row["id"]), Context.from_row(ctx)
    if _renamed(project):
        return active_session_row(project, wid, branch_ctx_id)
    return None


def session_here(
    project: Project, wid: str, branch_ctx_id: str
) -> tuple[str, Context] | None:
    """The session records land in: this Project's own while it is active in this worktree on
    this branch, else the newest active one (active_session_row).

    While its own is active here but started on another branch, records go to the branch's
    context: the newest session on this branch is another agent's, and taking it filed this
    agent's records there and made its `end_session()` end that one (QA round 25d: 01)."""
    own = project.own_session
    if own is not None:
        with project.db("sessions").read() as sconn:
            row = sconn.execute(
                "SELECT context_id FROM sessions WHERE id = ? AND status = 'active'"
                " AND worktree_id = ?", (own, wid)).fetchone()
        if row is not None:
            with project.db("knowledge").read() as conn:
                ctx = conn.execute(
                    "SELECT * FROM contexts WHERE id = ? AND parent_context_id = ?",
                    (row["context_id"], branch_ctx_id)).fetchone()
            if ctx is None and _renamed(project):
                return session_here(project, wid, branch_ctx_id)
            return None if ctx is None else (own, Context.from_row(ctx))
    return active_session_row(project, wid, branch_ctx_id)


def _renamed(project: Project) -> bool:
    """Whether this branch turns out to be one renamed (`git branch -m`, which runs no hook)
    whose active sessions have just moved to it (`follow_rename`). Asked only when this
    worktree has an active session, none of them on this branch; git is asked once per
    reflog file."""
    from gitext.sync.renames import follow_rename

    branch = project.repo.head().branch
    return follow_rename(project, project.repo.root, branch) is not None


def _moved_here(project: Project, wid: str, branch_ctx_id: str) -> tuple[str, Context] | None:
    """The active sessions of this worktree before it was moved here (`git worktree move`, or
    the repository's folder renamed), taken over; the newest one started on this branch is
    returned. A worktree's id is made from its path, so before, the sessions were left behind,
    `session end` found nothing and a new one made two active sessions on the branch.

    A session is this worktree's when its worktree's folder is gone (and git no longer lists
    it: a locked worktree's disk may be away) and it was started on this branch, or that
    worktree last had this branch checked out: git checks a branch out in one worktree at a
    time, so only this one can be where it went. The second rule keeps a session started on
    main before `git switch -c fix` through the move (QA round 16b: 05)."""
    with project.db("knowledge").read() as conn:
        here = conn.execute("SELECT * FROM contexts WHERE id = ?", (branch_ctx_id,)).fetchone()
        branch = Context.from_row(here).git_branch if here is not None else None
        worktrees = {str(r[0]): (str(r[1]), str(r[2])) for r in conn.execute(
            "SELECT id, worktree_path, branch_name FROM worktrees")}
        ours = {str(r[0]) for r in conn.execute(
            "SELECT id FROM contexts WHERE context_type = 'session' AND parent_context_id = ?",
            (branch_ctx_id,))}
    with project.db("sessions").read() as sconn:
        rows = sconn.execute(
            "SELECT id, context_id, worktree_id FROM sessions WHERE status = 'active' AND"
            " worktree_id != ? ORDER BY " + newest_first("started_at"), (wid,)).fetchall()
    if not rows:
        return None
    listed = {w.path.resolve() for w in project.repo.worktrees()}
    taken = []
    for row in rows:
        old_path, old_branch = worktrees.get(str(row["worktree_id"]), (None, None))
        if old_path is None or Path(old_path).is_dir() or Path(old_path).resolve() in listed:
            continue  # still there: another worktree's session, not ours
        # A detached context has no git_branch: detached HEADs are not one per worktree.
        same_branch = branch is not None and old_branch == branch
        if str(row["context_id"]) in ours or same_branch:
            taken.append(row)
    if not taken:
        return None
    with project.db("sessions").write() as sconn:
        sconn.executemany("UPDATE sessions SET worktree_id = ? WHERE id = ?",
                          [(wid, row["id"]) for row in taken])
    for row in taken:
        if str(row["context_id"]) in ours:
            with project.db("knowledge").read() as conn:
                ctx = conn.execute("SELECT * FROM contexts WHERE id = ?",
                                   (row["context_id"],)).fetchone()
            return str(row["id"]), Context.from_row(ctx)
    return None


def current_ids(project: Project) -> CurrentIds:
    proj = require_project_context(project)
    branch, wid = branch_context(project, proj)
    found = session_here(project, wid, branch.id)
    if found is None:
        return CurrentIds(proj.id, wid, branch, branch, None)
    session_id, ctx = found
    return CurrentIds(proj.id, wid, branch, ctx, session_id)


def current_context(project: Project) -> Context:
    """The active session's context in this worktree if there is one, else the branch's."""
    return current_ids(project).context
