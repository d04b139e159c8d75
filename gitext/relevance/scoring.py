"""File relevance per context: the components combined, stored in ``file_relevance_scores``.

``compute`` is a pure read: every component for every file of the worktree, vectorised.
``refresh`` stores the current worktree context's scores and clears ``relevance_dirty``; it runs
after `git aircher index` and in the background worker, and only when something changed (a
dirty file, a new HEAD, new feedback) or the stored scores expired.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from gitext import clock
from gitext.contexts import Context, project_context, worktree_context_id
from gitext.errors import UsageError
from gitext.ids import derived_id
from gitext.project import Project
from gitext.relevance import components as comp
from gitext.relevance.feedback import Scope, feedback_scope, feedback_vector
from gitext.relevance.history import History, load_history

# How the components add up in the weighted sum (what `relevant --task` uses). Frequency and
# recency are decayed change counts (a file changed in each of the last commits scores about
# 1/(1 - rate)); the others are in [0, 1] or [-1, 1].
BASE_WEIGHT = 0.2
DEPENDENCY_WEIGHT = 0.5
SUCCESS_WEIGHT = 2.0
CROSS_WEIGHT = 0.5
# The final score fuses ranks (see ``compute``); feedback and the cross-context boost are added
# on that scale, in units of what first place in one fused list is worth (``comp.FUSED_UNIT``).
# Fully useful feedback (+1) is worth one more first place: the file rises clearly, to about
# where files active in both lists are, but it does not pass the most active ones, and a small
# feedback does not lift a never-touched file over a strongly active one. Useless feedback (-1)
# takes one first place away. A related context's best file is worth half a first place.
FUSED_SUCCESS_WEIGHT = 1.0
FUSED_CROSS_WEIGHT = 0.5
# Files with uncommitted changes are what the user is working on now: worth three first places,
# more than the best file of both lists (two), so they lead; only that file with fully useful
# feedback reaches them.
FUSED_LOCAL_WEIGHT = 3.0
ACCESS_WEIGHT = 1.0
TTL_SECONDS = 86_400.0  # scores older than this are recomputed even if nothing was marked


@dataclass
class Scores:
    context: Context
    head: str | None
    paths: list[str]
    file_ids: list[str]
    parts: dict[str, Any]  # component name -> numpy vector over paths
    final: Any  # what `relevant` without a task ranks by, and what is stored
    history: History | None = None
    # The weighted sum of every component (the final score before rank fusion): what
    # `relevant --task` fuses with search, where it does better than the fused score.
    summed: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def ranked(self, top: int) -> list[int]:
        order = np.lexsort((np.array(self.paths), -self.final))
        return [int(i) for i in order[:top]]


def current_context(project: Project, name: str | None = None) -> Context:
    return _current(project, name)[0]


def _current(project: Project, name: str | None = None) -> tuple[Context, bool]:
    """The named context, else this branch's; and whether it has a row (a branch no event has
    met yet, e.g. renamed by `git branch -m`, has none: queries still read it)."""
    with project.db("knowledge").read() as conn:
        if name:
            # What every --context takes (docs/records.md): a session's id and unique id
            # prefixes too, which `relevant` and `feedback` refused as unknown contexts.
            from gitext.records.lookup import context_names, find, unknown, unmet_branch

            ctx = find(conn, name)
            if ctx is not None:
                return ctx, True
            # A branch no event has met yet: its scores are computed, as on a renamed one.
            unmet = unmet_branch(project, conn, name)
            if unmet is None:
                raise unknown("context", name, context_names(conn))
            return unmet, False
        proj = project_context(conn)
        if proj is None:
            raise UsageError("this store has no project context",
                             hint="run `git aircher init` first")
        head = project.repo.head()
        cid = worktree_context_id(proj.id, head.branch)
        row = conn.execute("SELECT * FROM contexts WHERE id = ?", (cid,)).fetchone()
    if row is not None:
        return Context.from_row(row), True
    return Context(cid, "worktree", head.branch or "(detached)", proj.id,
                   str(project.repo.root), head.branch, head.commit), False


def _files(conn: sqlite3.Connection, worktree: str) -> list[tuple[str, str, int, bool]]:
    """(path, id, lines, whether the work tree changes it) for every text file in view."""
    rows = conn.execute(
        "SELECT f.path, f.id, coalesce(f.line_count, 0),"
        " coalesce(w.git_status, 'clean') != 'clean' FROM worktree_files w"
        " JOIN files f ON f.id = w.file_id WHERE w.worktree_path = ?"
        " AND coalesce(f.is_binary, 0) = 0 AND coalesce(f.permissions, '') NOT IN"
        " ('120000', '160000') ORDER BY f.path", (worktree,)).fetchall()
    return [(r[0], r[1], int(r[2]), bool(r[3])) for r in rows]


def _files_at(conn: sqlite3.Connection, root: Path, commit: str
              ) -> list[tuple[str, str, int, bool]]:
    """As ``_files``, for the files of ``commit``'s tree the index knows: a branch no worktree
    here is on has no view of its own, and none of its files is being edited."""
    from gitext.git.compare import paths_at

    rows = conn.execute(
        "SELECT f.path, f.id, coalesce(f.line_count, 0) FROM files f"
        " WHERE f.path IN (SELECT value FROM json_each(?))"
        " AND coalesce(f.is_binary, 0) = 0 AND coalesce(f.permissions, '') NOT IN"
        " ('120000', '160000') ORDER BY f.path",
        (json.dumps(sorted(paths_at(root, commit))),)).fetchall()
    return [(r[0], r[1], int(r[2]), False) for r in rows]


def compute(project: Project, context: Context | None = None, *,
            commit: str | None = None) -> Scores:
    """Every component for every file of this worktree, for ``context``; with ``commit`` (the
    tip of a branch this worktree is not on), for the files and history of that commit."""
    project.require_init()
    ctx = context or current_context(project)
    worktree = str(project.repo.root)
    here = project.repo.head().commit
    head = commit or here
    rate = project.config.number("storage.lifecycle.success_correlation_decay_rate")
    limit = project.config.integer("storage.sync.history_limit")
    scope = feedback_scope(project, ctx)
    with project.db("file_index").read() as conn:
        files = (_files_at(conn, project.repo.root, commit) if commit and commit != here
                 else _files(conn, worktree))
        paths = [f[0] for f in files]
        ids = [f[1] for f in files]
        history = load_history(conn, head, paths, limit)
        edges = _edges(conn, ids)
        access = _access(conn, ids, paths, rate, scope, history)
        cross = _cross(project, conn, ids, ctx)
    lines = np.array([f[2] for f in files], dtype=np.float64)
    local = np.array([f[3] for f in files], dtype=np.float64)
    frequency = comp.frequency(history, rate) + ACCESS_WEIGHT * access
    # A file edited in the work tree is the newest change there is: as recent as HEAD's files,
    # and a seed of the dependency walk (what it imports matters too).
    recency = np.maximum(comp.recency(history, rate), local)
    dependency = comp.dependency(history, edges, recency, rate)
    sequence = comp.sequence(history)
    base = comp.size_prior(lines)
    success = feedback_vector(project, paths, rate, scope, history)
    history_sum = frequency + recency + BASE_WEIGHT * base + DEPENDENCY_WEIGHT * dependency
    summed = history_sum + SUCCESS_WEIGHT * success + CROSS_WEIGHT * cross
    # Without a task, the ranks of what changed lately (frequency) and of what usually comes
    # next (sequence) are fused: the two have unrelated scales, and on 3 x 150 development
    # commits the fusion beat the weighted sum by +0.013 recall@10 and +0.024 MRR@10
    # (docs/search.md). The sum still orders the files the fusion ties (the same change counts,
    # or no history at all), so recency, dependencies and size still separate those.
    fused = comp.break_ties(comp.rank_fusion(frequency, sequence), history_sum)
    # Then the files of a small last commit, right below the fusion's first: on 13
    # repositories recall@10 +0.009 and MRR@10 +0.006 over the fusion alone (docs/search.md).
    fused = comp.follow_last(fused, history)
    final = fused + comp.FUSED_UNIT * (FUSED_SUCCESS_WEIGHT * success
                                       + FUSED_CROSS_WEIGHT * cross + FUSED_LOCAL_WEIGHT * local)
    parts = {"base_score": base, "frequency_score": frequency, "recency_score": recency,
             "dependency_score": dependency, "success_correlation": success,
             "cross_context_boost": cross, "sequence_score": sequence}
    return Scores(ctx, head, paths, ids, parts, final, history, summed=summed)


def _edges(conn: sqlite3.Connection, ids: list[str]) -> Any:
    index = {f: i for i, f in enumerate(ids)}
    rows = conn.execute("SELECT source_file_id, target_file_id, coalesce(strength, 1.0)"
                        " FROM file_relationships").fetchall()
    pairs = [(index[s], index[t], w) for s, t, w in rows if s in index and t in index]
    n = len(ids)
    if not pairs:
        return sp.csr_matrix((n, n))
    src, dst, w = zip(*pairs, strict=True)
    return sp.csr_matrix((np.asarray(w, float), (src, dst)), shape=(n, n))


def _access(conn: sqlite3.Connection, ids: list[str], paths: list[str], rate: float,
            scope: Scope, history: History) -> Any:
    """Accesses per file recorded in the scope's contexts, each decayed by its age in days.
    A row names the file id of the path as it was then: renames since are followed, as for
    feedback, to today's file."""
    index = {f: i for i, f in enumerate(ids)}
    out = np.zeros(len(ids))
    now = clock.epoch()
    rows = conn.execute(
        "SELECT file_id, accessed_at, context_id FROM file_access_patterns").fetchall()
    if history.rename_at:
        path_of = dict(conn.execute(
            "SELECT id, path FROM files WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted({r[0] for r in rows})),)).fetchall())
        id_of = dict(zip(paths, ids, strict=True))
        rows = [(id_of.get(history.name_now(path_of[f], t), f) if f in path_of else f, t, c)
                for f, t, c in rows]
    hits = [(index[f], (now - clock.from_ts(t)) / 86_400.0) for f, t, c in rows
            if f in index and t and scope.counts(c)]
    if hits:
        where, ages = zip(*hits, strict=True)
        np.add.at(out, np.asarray(where), comp.decayed_by_day(np.maximum(ages, 0), 1.0, rate))
    return out


def _cross(project: Project, conn: sqlite3.Connection, ids: list[str], ctx: Context) -> Any:
    """The stored final scores of related contexts, by relationship strength, scaled to <= 1."""
    out = np.zeros(len(ids))
    with project.db("knowledge").read() as kconn:
        related = kconn.execute(
            "SELECT target_context_id, strength FROM context_relationships"
            " WHERE source_context_id = ? UNION ALL SELECT source_context_id, strength"
            " FROM context_relationships WHERE target_context_id = ?", (ctx.id, ctx.id)).fetchall()
    if not related:
        return out
    index = {f: i for i, f in enumerate(ids)}
    for other, strength in related:
        rows = conn.execute("SELECT file_id, final_score FROM file_relevance_scores"
                            " WHERE context_id = ?", (other,)).fetchall()
        vec = np.zeros(len(ids))
        for f, s in rows:
            if f in index:
                vec[index[f]] = s or 0.0
        top = vec.max() if len(vec) else 0.0
        if top > 0:
            out += float(strength or 0.0) * vec / top
    return np.clip(out, 0.0, 1.0)


def refresh(project: Project) -> None:
    """Recompute and store the current worktree context's scores when anything changed."""
    if not project.initialized:
        return
    ctx, stored = _current(project)
    if not stored:
        # HEAD is on a branch no event has met yet (`git branch -m` runs no hook): scores kept
        # for a context with no row would be orphans. The next event makes the context, and
        # `relevant` computes its scores itself meanwhile.
        return
    db = project.db("file_index")
    head = project.repo.head().commit
    with db.read() as conn:
        if up_to_date(conn, ctx.id, head):
            return
        upto = conn.execute("SELECT coalesce(max(rowid), 0) FROM relevance_dirty").fetchone()[0]
    store(project, compute(project, ctx), dirty_upto=int(upto))


def up_to_date(conn: sqlite3.Connection, context_id: str, head: str | None) -> bool:
    """Whether the context's stored scores can stand for fresh ones at ``head``: computed there,
    not expired, and no dirty mark waiting (feedback given, a file taken in since). The one
    rule for every reader of stored scores: `compare` served them on head and age alone, so a
    file fed back stayed where it was there while `relevant` moved it (QA round 26g: 01)."""
    if conn.execute("SELECT 1 FROM relevance_dirty LIMIT 1").fetchone() is not None:
        return False
    last = conn.execute("SELECT metadata, calculated_at FROM file_relevance_scores"
                        " WHERE context_id = ? LIMIT 1", (context_id,)).fetchone()
    return last is not None and fresh(last[0], last[1], head)


def fresh(metadata: str | None, calculated_at: str | None, head: str | None) -> bool:
    """Whether stored scores (one row's ``metadata`` and ``calculated_at``) were computed at
    ``head`` and have not expired."""
    try:
        meta = json.loads(metadata or "{}")
    except ValueError:
        return False
    age = clock.epoch() - clock.from_ts(calculated_at) if calculated_at else TTL_SECONDS + 1
    return bool(meta.get("head") == head and age < TTL_SECONDS)


def store(project: Project, scores: Scores, *, dirty_upto: int | None = None) -> int:
    """Write the scores; clear the dirty marks they took in: those up to `dirty_upto` (the
    last rowid before they were computed; a mark made meanwhile gets a higher one and stays
    for the next refresh), or all of them."""
    now = clock.now()
    expires = clock.to_ts(clock.epoch() + TTL_SECONDS)
    meta = json.dumps({"head": scores.head})
    ctx = scores.context
    p = scores.parts
    rows = [
        (derived_id("relevance", fid, ctx.id), fid, ctx.id, ctx.context_type,
         float(p["base_score"][i]), float(p["frequency_score"][i]), float(p["recency_score"][i]),
         float(p["dependency_score"][i]), float(p["success_correlation"][i]),
         float(p["cross_context_boost"][i]), float(p["sequence_score"][i]),
         float(scores.final[i]), now, expires, meta)
        for i, fid in enumerate(scores.file_ids)
    ]
    db = project.db("file_index")
    with db.write() as conn:
        conn.execute("DELETE FROM file_relevance_scores WHERE context_id = ?", (ctx.id,))
        db.executemany(
            conn,
            "INSERT OR REPLACE INTO file_relevance_scores (id, file_id, context_id, context_type,"
            " base_score, frequency_score, recency_score, dependency_score, success_correlation,"
            " cross_context_boost, sequence_score, final_score, calculated_at, expires_at,"
            " metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        if dirty_upto is None:
            conn.execute("DELETE FROM relevance_dirty")
        else:
            conn.execute("DELETE FROM relevance_dirty WHERE rowid <= ?", (dirty_upto,))
    return len(rows)

