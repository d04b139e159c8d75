"""A renamed branch keeps what its context knew.

git runs no hook for `git branch -m old new`; the next event simply finds HEAD (or a checkout)
on a branch without a context. Context ids derive from branch names, so the old context is not
renamed in place (every table points at its id): the new context is linked to it by a
'knowledge_transfer' (`via: rename`) and receives its patterns, decisions and insights, as a
merge would give them. Each branch context is looked at once per reflog file
(`origin_checked` in its metadata holds the file's device and inode), and only then does git
get asked, so ordinary events cost one small read and one stat. git appends to a reflog in
place; a rename moves the old branch's reflog onto the new name, so `git branch -M x y` onto a
branch that had a context already is seen as well (a one-time check could not see it: y's
context had been looked at when y was new). `git gc` rewrites reflogs, and costs one more
look per branch; a transfer made twice writes nothing new.
"""

from __future__ import annotations

import re
from pathlib import Path

from gitext.contexts import worktree_context_id
from gitext.git.run import git
from gitext.project import Project

_RENAMED = re.compile(r"^Branch: renamed refs/heads/(.+) to refs/heads/(.+)$")


def renamed_from(root: Path, branch: str) -> str | None:
    """The branch `branch` was renamed from, as its reflog says (the newest rename)."""
    proc = git(["reflog", "show", "--format=%gs", f"refs/heads/{branch}", "--"], root,
               check=False)
    for line in proc.stdout.decode("utf-8", "replace").splitlines():  # as read_head names
        m = _RENAMED.match(line)
        if m and m.group(2) == branch:
            return m.group(1)
    return None


def follow_rename(project: Project, root: Path, branch: str | None) -> str | None:
    """Give `branch`'s context the knowledge of the context of the branch it was renamed from,
    and its active sessions; returns that branch when a transfer was made."""
    if branch is None:
        return None
    from gitext.git.compare import local_branches
    from gitext.sync.engine import project_ctx
    from gitext.sync.transfers import transfer_knowledge

    proj = project_ctx(project)
    cid = worktree_context_id(proj.id, branch)
    mark = _reflog_mark(project, branch)
    with project.db("knowledge").read() as conn:
        row = conn.execute(
            "SELECT json_extract(metadata, '$.origin_checked') FROM contexts WHERE id = ?",
            (cid,)).fetchone()
    # Without a reflog file (the reftable format, reflogs off) each context is looked at once.
    if row is None or (row[0] == mark if mark is not None else bool(row[0])):
        return None
    old = renamed_from(root, branch)
    made = None
    if old and old != branch and old not in local_branches(root):
        with project.db("knowledge").read() as conn:
            known = conn.execute("SELECT 1 FROM contexts WHERE id = ?",
                                 (worktree_context_id(proj.id, old),)).fetchone()
        if known:
            transfer_knowledge(project, proj, old, branch, None, "rename")
            made = old
    with project.db("knowledge").write() as conn:
        if made is not None:
            # A session goes on under the new name: left under the old branch's context, it
            # was no longer this branch's, and records went to the branch (QA round 26c saw
            # it). Ended sessions stay with the history they were part of.
            conn.execute(
                "UPDATE contexts SET parent_context_id = ? WHERE parent_context_id = ? AND"
                " context_type = 'session' AND status = 'active'",
                (cid, worktree_context_id(proj.id, made)))
        conn.execute(
            "UPDATE contexts SET metadata = json_set(coalesce(metadata, '{}'),"
            " '$.origin_checked', coalesce(?, json('true'))) WHERE id = ?", (mark, cid))
    return made


def _reflog_mark(project: Project, branch: str) -> str | None:
    """Which file `branch`'s reflog is (device and inode), or None when it has none."""
    path = project.repo.info.common_dir / "logs" / "refs" / "heads" / branch
    try:
        st = path.stat()
    except (OSError, ValueError):
        return None
    return f"{st.st_dev}:{st.st_ino}"
