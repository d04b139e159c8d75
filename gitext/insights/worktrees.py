"""`git aircher worktree list|switch`: every git worktree and every branch context, and moving
between them.

`switch NAME` never changes directory itself (a child process cannot): when a linked worktree
has branch NAME it returns that worktree's path, for `cd "$(git aircher worktree switch NAME)"`,
and records a `context_switches` row. Otherwise it runs `git switch NAME` here, and the
post-checkout hook records that switch (so it is not recorded twice).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from gitext import clock
from gitext.contexts import ensure_worktree_context, project_context, user_name
from gitext.errors import UsageError
from gitext.git import compare as gc
from gitext.git.names import readable
from gitext.git.run import git
from gitext.ids import new_id
from gitext.project import Project
from gitext.records.current import current_ids, require_project_context
from gitext.records.lookup import unknown
from gitext.worktrees import enter_worktree, worktree_id


def live_branches(project: Project) -> set[str]:
    """The branches a branch context can be current for: every local branch, and every branch
    checked out in a worktree (`git switch --orphan` before its first commit has no ref and is
    still where work happens)."""
    checked_out = {w.branch for w in project.repo.worktrees() if not w.bare and w.branch}
    return set(gc.local_branches(project.repo.root)) | checked_out


def shown_status(stored: str, branch: str | None, live: set[str]) -> str:
    """A branch context's status as `worktree list` and `context show` give it: `stale` once its
    branch is gone (deleted, renamed), which no write records; the detached context has none."""
    return stored if branch is None or branch in live else "stale"


def worktree_view(project: Project) -> dict[str, Any]:
    """Live worktrees (with their stored status) and branch contexts (with record counts)."""
    proj = require_project_context(project)
    root = project.repo.root
    live = [w for w in project.repo.worktrees() if not w.bare]
    branches = gc.local_branches(root)
    with project.db("knowledge").read() as conn:
        stored = {r["id"]: r for r in conn.execute(
            "SELECT * FROM worktrees WHERE project_id = ?", (proj.id,))}
        contexts = conn.execute(
            "SELECT * FROM contexts WHERE context_type = 'worktree' AND parent_context_id = ?"
            " ORDER BY last_active DESC, name", (proj.id,)).fetchall()
        parents = {r[0]: r[1] for r in conn.execute(
            "SELECT id, parent_context_id FROM contexts WHERE context_type = 'session'")}
    with project.db("conversations").read() as conn:
        conv_counts: dict[str, int] = {}
        for cid, n in conn.execute(
            "SELECT context_id, count(*) FROM conversations GROUP BY context_id"
        ):
            key = parents.get(cid, cid)
            conv_counts[key] = conv_counts.get(key, 0) + int(n)
    with project.db("sessions").read() as conn:
        sess: dict[str, list[int]] = {}
        for cid, status in conn.execute("SELECT context_id, status FROM sessions"):
            counts = sess.setdefault(parents.get(cid, ""), [0, 0])
            counts[0] += 1
            counts[1] += status == "active"
    trees = []
    seen = set()
    for wt in live:
        wid = worktree_id(proj.id, wt.path)
        seen.add(wid)
        row = stored.get(wid)
        away = not wt.path.exists() and not wt.locked  # locked: away on purpose, kept by git
        status = "stale" if wt.prunable or away else (
            row["status"] if row is not None else "active")
        trees.append({"id": wid, "path": str(wt.path), "branch": wt.branch, "head": wt.head,
                      "status": status,
                      "last_active": row["last_active"] if row is not None else None,
                      "current": wt.path == root, "locked": wt.locked})
    for wid, row in stored.items():
        if wid not in seen:
            trees.append({"id": wid, "path": row["worktree_path"], "branch": row["branch_name"],
                          "head": row["git_commit"], "status": "stale",
                          "last_active": row["last_active"], "current": False,
                          "locked": False})
    # Where each branch is checked out; "" is the detached context's, which every worktree on
    # a detached HEAD shares (this one first).
    checked_out: dict[str, list[str]] = {}
    for w in sorted(live, key=lambda w: w.path != root):
        checked_out.setdefault(w.branch or "", []).append(str(w.path))
    ctx_rows = []
    existing = set(branches) | set(checked_out)
    for r in contexts:
        branch = r["git_branch"]
        total, active = sess.get(r["id"], [0, 0])
        ctx_rows.append({
            "id": r["id"], "name": r["name"], "branch": branch,
            "commit": branches.get(branch or "", r["git_commit"]),
            "status": shown_status(r["status"], branch, existing),
            "last_active": r["last_active"],
            "worktree_path": next(iter(checked_out.get(branch or "", [])), None),
            "worktree_paths": checked_out.get(branch or "", []),
            "conversations": conv_counts.get(r["id"], 0), "sessions": total,
            "active_sessions": active,
        })
    head = project.repo.head()
    return {"current": {"worktree_path": str(root), "branch": head.branch},
            "worktrees": trees, "contexts": ctx_rows}


@dataclass(frozen=True)
class SwitchResult:
    action: str  # 'worktree': go to `path`; 'switched': `git switch` ran here
    path: str
    branch: str
    context_id: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def switch(project: Project, name: str) -> SwitchResult:
    project.require_init()
    root = project.repo.root
    if not name or name.startswith("-"):
        raise UsageError(f"not a branch name: {name!r}")
    # The store names branches as `readable` shows them; git needs the bytes it has.
    raw, name = gc.raw_branch(root, name), readable(name)
    live = [w for w in project.repo.worktrees() if not w.bare and w.branch and not w.prunable]
    target = next((w for w in live if w.branch == name), None)
    if target is not None:
        here = current_ids(project)
        with project.db("knowledge").write() as conn:
            proj = project_context(conn)
            assert proj is not None
            ctx = ensure_worktree_context(conn, proj, name, target.head, target.path)
            enter_worktree(conn, proj.id, target.path, name, target.head)
            if ctx.id != here.context.id and target.path != root:
                conn.execute(
                    "INSERT INTO context_switches (id, from_context_id, to_context_id,"
                    " switch_reason, switched_at, user_id, metadata) VALUES (?, ?, ?,"
                    " 'worktree switch', ?, ?, ?)",
                    (new_id(), here.context.id, ctx.id, clock.now(), user_name(),
                     json.dumps({"from_worktree": str(root), "to_worktree": str(target.path)})),
                )
        return SwitchResult("worktree", str(target.path), name, ctx.id)
    branches = gc.local_branches(root)
    remote = [r for r in _remote_branches(project) if r.split("/", 1)[-1] == name]
    if name not in branches and len(remote) != 1:
        candidates = sorted(set(branches) | {w.branch for w in live if w.branch})
        raise unknown("branch", name, candidates)
    git(["switch", "--quiet", raw], root)
    return SwitchResult("switched", str(root), name, None)


def _remote_branches(project: Project) -> list[str]:
    out = git(["for-each-ref", "--format=%(refname:short)", "refs/remotes/"],
              project.repo.root).stdout.decode("utf-8", "replace")  # names as read_head's
    return [line for line in out.splitlines() if line and not line.endswith("/HEAD")]
