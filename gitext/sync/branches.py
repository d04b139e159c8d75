"""`git aircher sync`'s look at every local branch, not only HEAD's.

With hooks not running (`AIRCHER_SKIP=1`, `core.hooksPath` moved by a tool), commits made on a
branch HEAD has left since were recorded by nothing: the catch-up walks from HEAD, and the
branch's context kept its old commit until the branch was checked out again, while doctor
said they would be recorded "at `git aircher sync`" (QA round 26b: 02). The checkouts made
meanwhile are not in git's refs, and are not made up here.

The cost is what is new: one `for-each-ref`, one indexed look for the tips, and a walk only
from a tip the store has not seen, down to what it has.
"""

from __future__ import annotations

from pathlib import Path

from gitext.contexts import worktree_context_id
from gitext.git.history import object_exists
from gitext.git.names import readable
from gitext.git.run import git
from gitext.project import Project
from gitext.sync.commits import known
from gitext.sync.engine import project_ctx, read_history


def catch_up_branches(project: Project, root: Path) -> int:
    """Every local branch's commits the store lacks, recorded as a catch-up records HEAD's
    (their merges giving knowledge to that branch), and each branch context that exists moved
    to its branch's tip; returns how many commits were recorded."""
    tips = _branch_tips(root)
    if not tips:
        return 0
    proj = project_ctx(project)
    with project.db("file_index").read() as conn:
        seen = known(conn, sorted(set(tips.values())))
        synced = [r[0] for r in conn.execute(
            "SELECT DISTINCT head FROM sync_state WHERE head IS NOT NULL")]
    # Where a walk stops: what the store has read (a branch tip it knows, a worktree's HEAD).
    stops = sorted(seen | {h for h in synced if h not in seen and object_exists(root, h)})
    recorded = 0
    for branch, tip in sorted(tips.items()):
        if tip in seen:
            continue
        recorded += read_history(project, tip, stops, str(root), branch)
        seen.add(tip)
        stops.append(tip)  # a branch stacked on this one walks only its own commits
    with project.db("knowledge").write() as conn:
        for branch, tip in tips.items():
            # Only contexts there are: a branch made with `git branch` (or checked out with
            # hooks off) has none until an event meets it (docs/sync.md).
            conn.execute("UPDATE contexts SET git_commit = ? WHERE id = ? AND"
                         " git_commit IS NOT ?", (tip, worktree_context_id(proj.id, branch), tip))
    return recorded


def _branch_tips(root: Path) -> dict[str, str]:
    """Each local branch (as the store names it) and its commit."""
    out = git(["for-each-ref", "--format=%(objectname) %(refname:lstrip=2)", "refs/heads/"],
              root).stdout.decode("utf-8", "surrogateescape")
    tips: dict[str, str] = {}
    for line in out.splitlines():
        sha, _, name = line.partition(" ")
        if name:
            tips[readable(name)] = sha
    return tips
