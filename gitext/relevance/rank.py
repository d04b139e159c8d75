"""`git aircher relevant`: relevance alone, or fused with a search for the task.

Without a task, files rank by their final relevance score (``scoring.compute``). With a task, a
file's score is its hybrid search score (content, vectors and the commit messages that describe
it), scaled so the best is 1, plus ``RELEVANCE_WEIGHT`` times the components' weighted sum
(``Scores.summed``) scaled the same way: the task decides, history breaks the near-ties a task
leaves.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from gitext.contexts import Context
from gitext.errors import UsageError
from gitext.project import Project

RELEVANCE_WEIGHT = 0.3


@dataclass(frozen=True)
class RelevantFile:
    path: str
    score: float
    final_score: float
    search_score: float
    components: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _scaled(x: Any) -> Any:
    top = float(np.max(x)) if len(x) else 0.0
    return x / top if top > 0 else np.zeros_like(x)


def _order(paths: list[str], score: Any, hidden: set[str]) -> Any:
    """Indexes of ``paths`` best first (ties by path), the hidden ones left out."""
    order = np.lexsort((np.array(paths, dtype=object).astype(str), -score))
    if hidden:
        order = np.array([i for i in order if paths[i] not in hidden], dtype=np.intp)
    return order


def context_files(project: Project, context: Context, commit: str, top: int,
                  hidden: set[str]) -> list[tuple[str, float]] | None:
    """(path, final score) of the ``top`` files of ``context`` at ``commit`` (its branch's
    tip), as `relevant --context` ranks them, ``hidden`` left out (files outside the sparse
    checkout, as `relevant` leaves them out); None when the relevance engine has not scored
    the context yet.

    The stored scores serve when they are up to date at ``commit`` (``scoring.up_to_date``:
    computed there, and no feedback since). A context no worktree is on is refreshed by
    nothing (the worker refreshes the worktree an event came from), so scores stored before
    its last commit (`git commit` and at once `git checkout -b feat`) are computed again at
    ``commit``, as `relevant` computes them, and not stored: they are ``commit``'s, not a
    worktree's."""
    from gitext.relevance.scoring import compute, up_to_date

    try:
        with project.db("file_index").read() as conn:
            rows = conn.execute(
                "SELECT f.path, r.final_score FROM file_relevance_scores r"
                " JOIN files f ON f.id = r.file_id WHERE r.context_id = ?",
                (context.id,)).fetchall()
            current = bool(rows) and up_to_date(conn, context.id, commit)
    except sqlite3.OperationalError:  # the relevance engine's schema may still be moving
        return None
    if not rows:
        return None
    if current:
        paths = [r[0] for r in rows]
        final = np.array([float(r[1] or 0.0) for r in rows])
    else:
        scores = compute(project, context, commit=commit)
        paths, final = scores.paths, scores.final
    return [(paths[i], float(final[i])) for i in _order(paths, final, hidden)[:top]]


def _tip_elsewhere(project: Project, ctx: Context, name: str) -> str | None:
    """The commit of a named context's branch when this worktree is on another: its files and
    history are that commit's, as `compare` ranks them. Scored on this worktree's files, a
    feature branch's own files were missing from its answer and main's shown in their place.
    None: the context is this worktree's or has no branch (the project's). When git has
    neither its branch nor its last commit any more (deleted, then `git gc`), the error
    `compare` gives: this worktree's files answered in its name, exit 0 and no word."""
    from gitext.git.compare import resolve_branch, resolve_commit
    from gitext.records.lookup import commit_gone

    if not ctx.git_branch or ctx.git_branch == project.repo.head().branch:
        return None
    root = project.repo.root
    tip = resolve_branch(root, ctx.git_branch) or (
        resolve_commit(root, ctx.git_commit) if ctx.git_commit else None)
    if tip is None:
        raise commit_gone(name, ctx, "name a context whose branch or commit git still has")
    return tip


def relevant(project: Project, *, top: int = 10, task: str | None = None,
             context: str | None = None, notes: list[str] | None = None) -> list[RelevantFile]:
    """The ``top`` files by relevance, or for ``task``; what the task's search had to do
    without (vectors an embedder failed to give) is added to ``notes``."""
    from gitext.relevance.scoring import compute, current_context

    if top < 1:
        raise UsageError("--top must be at least 1")
    project.require_init()
    taken: list[str] = []
    if task is not None:
        from gitext.search.query_index import take_in_local_changes

        take_in_local_changes(project, notes=taken)
    else:
        from gitext.sync.local import take_in_local_changes as into_view

        into_view(project)  # files being edited are candidates, and count as the latest work
    from gitext.git.skipped import not_checked_out

    # Files outside a sparse checkout keep their scores (history, co-change) but are never
    # named: an agent cannot open them.
    hidden = not_checked_out(project.repo.root, project.repo.info.git_dir)
    ctx = current_context(project, context)
    tip = _tip_elsewhere(project, ctx, context) if context else None
    scores = compute(project, ctx, commit=tip)
    n = len(scores.paths)
    search = np.zeros(n)
    if task is not None:
        from gitext.search.hybrid import clean_query, file_scores, query_notes

        text = clean_query(task)
        if not text.strip():
            raise UsageError("empty --task", hint="describe the task in a few words")
        scored: list[str] = []
        found = file_scores(project, text, history=scores.history, paths=scores.paths,
                            notes=scored, hidden=hidden)
        if notes is not None:
            notes.extend(query_notes(taken, scored))
        index = {p: i for i, p in enumerate(scores.paths)}
        for path, (s, _) in found.items():
            i = index.get(path)
            if i is not None:
                search[i] = s
        # The weighted sum, not the rank-fused final: measured on the development set, search
        # fused with the final score lost about 0.015 recall@10 and MRR@10 against the sum.
        fused = _scaled(search) + RELEVANCE_WEIGHT * _scaled(np.maximum(scores.summed, 0.0))
    else:
        fused = scores.final
    order = _order(scores.paths, fused, hidden)[:top]
    out = []
    for i in order:
        parts = {k: round(float(v[i]), 6) for k, v in scores.parts.items()}
        out.append(RelevantFile(scores.paths[i], round(float(fused[i]), 6),
                                round(float(scores.final[i]), 6), round(float(search[i]), 6),
                                parts))
    return out
