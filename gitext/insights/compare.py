"""`git aircher compare A B`: two branches (or worktrees, or contexts) side by side.

Git gives the commits each side has, the diff between them with line counts, the files both
sides changed since their merge base and the conflicts a merge would leave. The store adds each
context's conversations, sessions, decisions and patterns, and its top relevant files
(`file_relevance_scores` when the relevance engine has rows for the context, at the side's
commit as `relevant --context` ranks them, else the files changed most often on that side
since the merge base). The JSON shape is in docs/records.md.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gitext.contexts import Context, project_context
from gitext.errors import AircherError
from gitext.git import compare as gc
from gitext.git.repo import list_worktrees
from gitext.git.skipped import not_checked_out
from gitext.index.secrets import redact_text
from gitext.project import Project
from gitext.records.conversations import list_conversations
from gitext.records.decisions import list_decisions
from gitext.records.lookup import (
    AmbiguousContext,
    branch_of,
    commit_gone,
    context_names,
    family,
    find,
    unknown,
)
from gitext.records.patterns import list_patterns
from gitext.records.sessions import list_sessions

RECENT_COMMITS = 50


@dataclass
class Side:
    name: str  # what the user typed
    ref: str  # the branch (or revision) compared
    commit: str
    context_id: str | None
    context_name: str | None
    commits: list[dict[str, str]] = field(default_factory=list)  # only on this side, newest first
    changed_since_base: list[str] = field(default_factory=list)
    conversations: list[dict[str, Any]] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    patterns: list[dict[str, Any]] = field(default_factory=list)
    # How many of each the context has; the lists above hold the first `top`. Without it the
    # table gave the cut as the count, "decisions 10" for a branch with 15 (QA round 25d: 07).
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("conversations", "sessions", "decisions", "patterns"), 0))
    relevant_files: list[dict[str, Any]] = field(default_factory=list)
    relevant_source: str = "none"  # relevance | changes | recent | none


@dataclass
class Comparison:
    a: Side
    b: Side
    merge_base: str | None
    # No merge base found because a shallow clone's boundary cuts the history: it is unknown,
    # not absent (unrelated histories), and so is what a merge would do.
    merge_base_unknown: bool
    a_ahead: int  # commits on A and not on B
    b_ahead: int  # commits on B and not on A
    diff: list[dict[str, Any]]
    diff_totals: dict[str, int]
    diff_truncated: bool
    both_changed: list[str]
    conflicts: list[str] | None
    relevant_overlap: list[str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Target:
    name: str
    ref: str
    commit: str
    context: Context | None


def _at_worktree(root: Path, name: str) -> tuple[str, str | None] | None:
    """(branch or detached commit, its commit) of the worktree at path `name`."""
    try:
        wanted = Path(name).resolve()
    except (OSError, ValueError):
        return None
    for wt in list_worktrees(root):
        if wt.path == wanted:
            if wt.branch:
                return wt.branch, gc.resolve_branch(root, wt.branch)
            if wt.head:
                return wt.head, gc.resolve_commit(root, wt.head)
    return None


def _target(project: Project, conn: sqlite3.Connection, name: str) -> _Target:
    root = project.repo.root
    ambiguous = None
    try:
        ctx = find(conn, name)
    except AmbiguousContext as exc:
        # A revision still may be what it names (an abbreviated commit id): git is asked next.
        ctx, ambiguous = None, exc
    branch_ctx = None
    if ctx is not None and ctx.context_type in ("worktree", "session"):
        branch_ctx = branch_of(conn, ctx) or ctx
        ref = branch_ctx.git_branch or branch_ctx.git_commit or ""
        # The branch itself: a tag of the same name would win a bare `rev-parse`.
        commit = (gc.resolve_branch(root, ref) if branch_ctx.git_branch
                  else gc.resolve_commit(root, ref) if ref else None)
        if commit is None and branch_ctx.git_commit:
            commit = gc.resolve_commit(root, branch_ctx.git_commit)
        if commit is not None:
            return _Target(name, ref, commit, branch_ctx)
    # A local branch before git's order, which prefers a tag of the same name.
    commit = gc.resolve_branch(root, name) or gc.resolve_commit(root, name)
    ref = name
    if commit is None:
        at = _at_worktree(root, name) if "/" in name or name.startswith(".") else None
        if at is not None:
            ref, commit = at
    if commit is None:
        unborn = _unborn_branch(root, ref, branch_ctx)
        if unborn is not None:
            raise AircherError(
                f"branch {unborn!r} has no commits yet",
                hint="commit on it first; there is nothing to compare before that")
    if commit is None and branch_ctx is not None:
        raise commit_gone(name, branch_ctx, "compare a branch or commit git still has")
    if commit is None and ambiguous is not None:
        raise ambiguous
    if commit is None:
        raise unknown("branch, worktree or context", name,
                      sorted(set(context_names(conn)) | set(gc.local_branches(root))))
    proj = project_context(conn)
    row = None
    if proj is not None:
        row = conn.execute(
            "SELECT * FROM contexts WHERE context_type = 'worktree' AND git_branch = ?"
            " AND parent_context_id = ?", (ref, proj.id)
        ).fetchone()
    return _Target(name, ref, commit, Context.from_row(row) if row else None)


def _unborn_branch(root: Path, ref: str, ctx: Context | None) -> str | None:
    """The branch of `ref` (or of the context) when a worktree has it checked out with no
    commit yet (a new repository, `git switch --orphan`): git has no commit for it, and none
    was ever removed."""
    names = {ref} | ({ctx.git_branch} if ctx is not None and ctx.git_branch else set())
    for wt in list_worktrees(root):
        if wt.branch in names and wt.head is None and not wt.bare:
            return wt.branch
    return None


def _relevant_from_git(root: Path, commit: str, base: str | None, top: int,
                       hidden: set[str]) -> tuple[list[dict[str, Any]], str]:
    source = "changes"
    commits = gc.log(root, [commit], [base] if base else [], limit=None, with_files=True) \
        if base and base != commit else []
    if not commits:
        source = "recent"
        commits = gc.log(root, [commit], limit=RECENT_COMMITS, with_files=True)
    # Only files the side has: a file renamed or deleted there is no file to look at, nor one
    # outside the sparse checkout.
    there = gc.paths_at(root, commit) - hidden
    counts = Counter(f for c in commits for f in set(c.files) if f in there)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    if not ranked:
        return [], "none"
    most = ranked[0][1]
    return [{"path": p, "score": round(n / most, 4), "changes": n} for p, n in ranked], source


def _fill_side(project: Project, conn: sqlite3.Connection, side: Side, ctx: Context | None,
               base: str | None, other: str, top: int, hidden: set[str],
               base_unknown: bool = False) -> None:
    root = project.repo.root
    if base_unknown:
        # The commits the other side lacks are known (those the clone has); what changed since
        # a merge base no one can see is not.
        side.commits = [{"sha": c.sha, "subject": redact_text(c.subject)}
                        for c in gc.log(root, [side.commit], [other], limit=top * 2)]
    elif base is not None and base != side.commit:
        # Subjects as the store keeps commit messages: a key committed past the guard is not
        # handed to an agent here either.
        side.commits = [{"sha": c.sha, "subject": redact_text(c.subject)}
                        for c in gc.log(root, [side.commit], [base], limit=top * 2)]
        side.changed_since_base = sorted(gc.changed_files(root, base, side.commit))
    elif base is None:
        # Unrelated histories: every commit not on the other side is this side's own, and git
        # merges them from the empty tree, so each file of the side counts as changed.
        side.commits = [{"sha": c.sha, "subject": redact_text(c.subject)}
                        for c in gc.log(root, [side.commit], [other], limit=top * 2)]
        side.changed_since_base = sorted(gc.changed_files(root, None, side.commit))
    if ctx is not None:
        ids = family(conn, ctx)
        convs = list_conversations(project, context_ids=ids, limit=None)
        sessions = list_sessions(project, context_ids=[ctx.id], limit=None)
        decisions = list_decisions(project, status=None, context_ids=ids, limit=None)
        patterns = list_patterns(project, context_ids=ids, limit=None)
        side.counts = {"conversations": len(convs), "sessions": len(sessions),
                       "decisions": len(decisions), "patterns": len(patterns)}
        side.conversations = [
            {"id": c.id, "title": c.title, "context_type": c.context_type,
             "updated_at": c.updated_at, "messages": c.message_count,
             "total_tokens": c.total_tokens}
            for c in convs[:top]
        ]
        side.sessions = [
            {"id": s.id, "task_type": s.task_type, "task_description": s.task_description,
             "status": s.status, "started_at": s.started_at}
            for s in sessions[:top]
        ]
        side.decisions = [
            {"id": d.id, "title": d.title, "decision_type": d.decision_type,
             "status": d.status, "made_at": d.made_at}
            for d in decisions[:top]
        ]
        side.patterns = [
            {"id": p.id, "pattern_type": p.pattern_type, "description": p.description,
             "confidence_score": p.confidence_score,
             "effectiveness_rating": p.effectiveness_rating, "trusted": p.trusted}
            for p in patterns[:top]
        ]
        from gitext.relevance.rank import context_files

        scored = context_files(project, ctx, side.commit, top, hidden)
        if scored:
            side.relevant_files = [{"path": p, "score": round(s, 4), "changes": None}
                                   for p, s in scored]
            side.relevant_source = "relevance"
    if not side.relevant_files:
        side.relevant_files, side.relevant_source = _relevant_from_git(
            root, side.commit, base, top, hidden)


def compare(project: Project, a: str, b: str, *, top: int = 10,
            max_files: int = 500) -> Comparison:
    """Compare A and B (branch names, context names or ids, worktree paths, revisions)."""
    project.require_init()
    root = project.repo.root
    with project.db("knowledge").read() as conn:
        ta = _target(project, conn, a)
        tb = _target(project, conn, b)
    base = gc.merge_base(root, ta.commit, tb.commit)
    unknown_base = base is None and gc.beyond_shallow(
        root, project.repo.info.common_dir, ta.commit, tb.commit)
    a_ahead, b_ahead = gc.ahead_behind(root, ta.commit, tb.commit)
    entries = gc.diff_numstat(root, ta.commit, tb.commit)
    diff = [{"path": e.path, "old_path": e.old_path, "added": e.added, "deleted": e.deleted,
             "binary": e.binary} for e in entries]
    totals = {"files": len(entries), "added": sum(e.added or 0 for e in entries),
              "deleted": sum(e.deleted or 0 for e in entries)}
    side_a = Side(a, ta.ref, ta.commit, ta.context.id if ta.context else None,
                  ta.context.name if ta.context else None)
    side_b = Side(b, tb.ref, tb.commit, tb.context.id if tb.context else None,
                  tb.context.name if tb.context else None)
    # Files outside this worktree's sparse checkout are named by neither side, as `relevant`
    # names none of them: an agent here cannot open them.
    hidden = not_checked_out(root, project.repo.info.git_dir)
    with project.db("knowledge").read() as conn:
        _fill_side(project, conn, side_a, ta.context, base, tb.commit, top, hidden, unknown_base)
        _fill_side(project, conn, side_b, tb.context, base, ta.commit, top, hidden, unknown_base)
    both = sorted(set(side_a.changed_since_base) & set(side_b.changed_since_base))
    conflicts: list[str] | None
    if unknown_base:
        conflicts = None  # git cannot tell: `merge-tree` would merge from the empty tree
    else:
        conflicts = gc.merge_conflicts(root, ta.commit, tb.commit, unrelated=base is None) \
            if both else []
    overlap = sorted({f["path"] for f in side_a.relevant_files}
                     & {f["path"] for f in side_b.relevant_files})
    return Comparison(side_a, side_b, base, unknown_base, a_ahead, b_ahead, diff[:max_files],
                      totals, len(diff) > max_files, both, conflicts, overlap)
