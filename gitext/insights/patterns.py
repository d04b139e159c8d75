"""Patterns across branches: files that change together on several branches, and the
`context patterns --across-worktrees` view of success_patterns.

A co-change pattern is a pair of files changed in the same commit on two or more branch
contexts (commits only that branch has, so shared history does not count for everyone).
Refresh records each as a success_patterns row of pattern_type 'co_change' and links the
branches that share one by a 'shared_pattern' relationship.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gitext.contexts import Context, chain
from gitext.git.compare import CommitInfo
from gitext.project import Project
from gitext.records import values as v

MAX_FILES_PER_COMMIT = 30  # a commit touching more is a sweep (rename, reformat), not a pattern
MIN_BRANCHES = 2


@dataclass
class BranchWork:
    ctx: Context
    commit: str
    commits: list[CommitInfo] = field(default_factory=list)  # only this branch has them


@dataclass(frozen=True)
class CoChange:
    files: tuple[str, str]
    branches: tuple[str, ...]  # context ids, in the order of the input
    commits: dict[str, int]  # context id -> commits of that branch with both files


def co_changes(branches: Sequence[BranchWork]) -> list[CoChange]:
    seen: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for work in branches:
        for commit in work.commits:
            files = sorted(set(commit.files))
            if len(files) < 2 or len(files) > MAX_FILES_PER_COMMIT:
                continue
            for pair in itertools.combinations(files, 2):
                per = seen[pair]
                per[work.ctx.id] = per.get(work.ctx.id, 0) + 1
    order = {w.ctx.id: i for i, w in enumerate(branches)}
    out = []
    for pair, per in sorted(seen.items()):
        if len(per) >= MIN_BRANCHES:
            ids = tuple(sorted(per, key=lambda c: order[c]))
            out.append(CoChange(pair, ids, dict(per)))
    return out


def _shape(rows: list[Any], names: dict[str, tuple[str, str]],
           least: int) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        applicable = v.load(r["applicable_contexts"])
        applicable = applicable if isinstance(applicable, list) else []
        out.append({
            "id": r["id"],
            "pattern_type": r["pattern_type"],
            "description": r["description"],
            "confidence_score": r["confidence_score"],
            "effectiveness_rating": r["effectiveness_rating"],
            "usage_count": r["usage_count"],
            "trusted": int(r["usage_count"] or 0) >= least,
            "discovered_in": names.get(r["discovered_in_context"], (None, None))[0],
            "discovered_in_context": r["discovered_in_context"],
            "applicable_contexts": [
                {"id": c, "name": names.get(c, (None, None))[0]} for c in applicable
                if isinstance(c, str)
            ],
            "cross_context_effectiveness": v.load(r["cross_context_effectiveness"]),
        })
    return out


def patterns_across_worktrees(
    project: Project, *, pattern_type: str | None = None, limit: int | None = 100
) -> list[dict[str, Any]]:
    """success_patterns discovered in branch (or session) contexts, with their per-context
    effectiveness and the names of the contexts involved (`limit` None: all)."""
    sql = ("SELECT p.* FROM success_patterns p JOIN contexts c ON c.id = p.discovered_in_context"
           " WHERE c.context_type IN ('worktree', 'session')")
    params: list[Any] = []
    if pattern_type is not None:
        sql += " AND p.pattern_type = ?"
        params.append(pattern_type)
    from gitext.records.patterns import min_samples, ranking

    least = min_samples(project)
    with project.db("knowledge").read() as conn:
        names = {r["id"]: (r["name"], r["context_type"]) for r in conn.execute(
            "SELECT id, name, context_type FROM contexts")}
        # SQLite: a negative LIMIT is none.
        rows = conn.execute(f"{sql} ORDER BY {ranking(least, 'p.')} LIMIT ?",
                            [*params, -1 if limit is None else v.row_limit(limit)]).fetchall()
    return _shape(rows, names, least)


def context_patterns(
    project: Project,
    *,
    across_worktrees: bool = False,
    pattern_type: str | None = None,
    limit: int | None = 100,
) -> list[dict[str, Any]]:
    """Patterns for the current context: discovered in, or applicable to, its chain (global,
    project, branch) or the branch's sessions; or every branch's with `across_worktrees`."""
    if across_worktrees:
        return patterns_across_worktrees(project, pattern_type=pattern_type, limit=limit)
    from gitext.records.current import current_ids
    from gitext.records.lookup import family
    from gitext.records.patterns import list_patterns, min_samples

    cur = current_ids(project)
    with project.db("knowledge").read() as conn:
        ids = list(dict.fromkeys([c.id for c in chain(conn, cur.context.id)]
                                 + family(conn, cur.branch_context)))
        names = {r["id"]: (r["name"], r["context_type"]) for r in conn.execute(
            "SELECT id, name, context_type FROM contexts")}
    found = list_patterns(project, context_ids=ids, pattern_type=pattern_type, limit=limit)
    shaped = [p.to_json() for p in found]
    for item in shaped:
        item["applicable_contexts"] = item["applicable_contexts"] or []
    return _shape(shaped, names, min_samples(project))
