"""Each relevance component as a vector over the worktree's files, computed with numpy/scipy.

* frequency: changes decayed per first-parent commit (``success_correlation_decay_rate``, the
  weight of a change ``d`` commits ago is ``rate ** d``), plus accesses decayed per day.
* recency: how many commits ago the file last changed, as ``(rate ** 4) ** age``: 1 for the
  files HEAD changed, fading within a few dozen commits.
* dependency: personalised PageRank over ``file_relationships`` and recent co-change, started
  from the recent work, so a file the recent work imports (or that changes with it) gains.
* sequence: what the history changed right after commits like the last ones, a first-order
  model of consecutive change sets (the files of commit t -> the files of commit t + 1).
* base: a size prior, ``log(1 + lines)``: larger files take more of the changes.
* success correlation: feedback on the file, +1 useful .. -1 useless, decayed per day.
* cross-context boost: the related contexts' scores, weighted by the relationship's strength.

``rank_fusion`` combines lists whose scales do not compare (decayed counts, probabilities);
``follow_last`` then moves the files of a small last commit up to just below the fused first.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from gitext.relevance.history import MAX_TRANSACTION, History

FAST = 4.0  # recency decays this many times faster than frequency (0.95 -> 0.81 per commit)
PAGERANK_DAMPING = 0.5  # low: relevance spreads one or two hops from the recent work, not far
PAGERANK_STEPS = 20
COCHANGE_WINDOW = 300  # commits whose change sets couple files for the dependency graph
SEQUENCE_LAST = 3  # the last commits whose files predict the next change set (weights 1, 1/2, 1/4)
FUSION_K = 60.0  # reciprocal rank fusion constant (Cormack et al. 2009); flat in 30..200 on DEV
# What first place in one list adds to the fused score (about 1): the unit in which anything
# added to the fusion (feedback, other contexts) is weighed, so it neither vanishes nor swamps.
FUSED_UNIT = FUSION_K / (FUSION_K + 1.0)
LAST_COMMIT_MAX = 5  # a last commit of at most this many files has its files moved up


def commit_weights(n: int, rate: float) -> Any:
    """rate ** age per commit, oldest first (age 0 = HEAD)."""
    ages = np.arange(n - 1, -1, -1, dtype=np.float64)
    return np.power(rate, ages)


def frequency(history: History, rate: float) -> Any:
    if history.n_commits == 0:
        return np.zeros(history.changes.shape[1])
    return np.asarray(history.changes.T @ commit_weights(history.n_commits, rate)).ravel()


def recency(history: History, rate: float) -> Any:
    """(rate ** FAST) ** commits since the file last changed: 1 for HEAD's files, 0 if never."""
    n_files = history.changes.shape[1]
    if history.n_commits == 0:
        return np.zeros(n_files)
    stamped = sp.diags(np.arange(1, history.n_commits + 1, dtype=np.float64)) @ history.changes
    last = np.asarray(stamped.max(axis=0).todense()).ravel()  # 1-based commit, 0 = never
    age = history.n_commits - last
    return np.where(last > 0, np.power(rate**FAST, age), 0.0)


def dependency(history: History, edges: Any, seed: Any, rate: float) -> Any:
    """Personalised PageRank over import/test/document links plus recent co-change.

    ``edges``: sparse files x files adjacency of ``file_relationships`` (source -> target).
    ``seed``: the recent-work vector the walk restarts from.
    """
    n = history.changes.shape[1]
    if n == 0 or not np.any(seed):
        return np.zeros(n)
    graph = edges + edges.T  # a test depends on its module and the module on its test
    graph = graph + _cochange(history, rate)
    graph = sp.csr_matrix(graph)
    graph.setdiag(0)
    graph.eliminate_zeros()
    out_weight = np.asarray(graph.sum(axis=1)).ravel()
    inv = np.divide(1.0, out_weight, out=np.zeros_like(out_weight), where=out_weight > 0)
    walk = sp.diags(inv) @ graph  # row-stochastic where a file has links
    p = seed / seed.sum()
    r = p.copy()
    for _ in range(PAGERANK_STEPS):
        r = (1 - PAGERANK_DAMPING) * p + PAGERANK_DAMPING * (walk.T @ r)
    top = r.max()
    return r / top if top > 0 else r


def _cochange(history: History, rate: float) -> Any:
    """Files x files: how often (decayed) two files changed in one small change set."""
    n = history.changes.shape[1]
    start = max(0, history.n_commits - COCHANGE_WINDOW)
    m = history.changes[start:]
    small = history.sizes[start:] <= MAX_TRANSACTION
    weights = commit_weights(history.n_commits, rate)[start:] * small
    if m.shape[0] == 0:
        return sp.csr_matrix((n, n))
    weighted = sp.diags(weights) @ m
    co = (m.T @ weighted).tocsr()
    co.setdiag(0)
    co.eliminate_zeros()
    return co


def sequence(history: History) -> Any:
    """Per file: how likely it changes in the commit after ones like the last ``SEQUENCE_LAST``.

    For each file ``a`` of the last commits (weights halving with age), ``P(b in commit t + 1 |
    a in commit t)`` estimated over every consecutive pair of small change sets in the loaded
    history, summed over ``a``. Undecayed on purpose: transitions are sparse and the whole loaded
    history (``storage.sync.history_limit`` commits) estimates them better than its recent part;
    recency is the frequency component's job. What this catches and frequency cannot: the test
    written after its module, the changelog after a fix, the release files after a version bump.
    """
    n_files = history.changes.shape[1]
    n = history.n_commits
    if n < 2 or n_files == 0:
        return np.zeros(n_files)
    # Sweeps (reformatting, renames of a package) say nothing about what follows what.
    small = (np.asarray(history.sizes) <= MAX_TRANSACTION).astype(np.float64)
    m = sp.csr_matrix(history.changes, dtype=np.float64)
    before = sp.diags(small[:-1]) @ m[:-1]  # antecedent change sets, commit t
    after = sp.diags(small[1:]) @ m[1:]  # what followed each of them, commit t + 1
    ages = np.arange(min(SEQUENCE_LAST, n))
    recent = np.asarray(m[n - 1 - ages].T @ np.power(0.5, ages)).ravel()
    seen = np.asarray(before.sum(axis=0)).ravel()  # times each file was an antecedent
    per_file = np.divide(recent, seen, out=np.zeros(n_files), where=seen > 0)
    # sum_a recent[a] / seen[a] * #(a in t and b in t + 1): two sparse products, never the
    # files x files transition matrix, which is dense-ish for a busy file.
    return np.asarray(after.T @ (before @ per_file)).ravel()


def rank_fusion(*scores: Any, k: float = FUSION_K) -> Any:
    """Reciprocal rank fusion: per list, ``k / (k + rank)``, so a list's first file adds ~1.

    Ranks, not values: the lists have unrelated scales and tails. Files a list ties share its
    best rank, so the result depends on the values only, never on the order of the files. A
    file a list scores <= 0 gets nothing from it: "never changed" is not a rank, and a file no
    list knows stays below every file some list does.
    """
    if not scores:
        return np.zeros(0)
    out = np.zeros(len(scores[0]))
    for values in scores:
        x = np.asarray(values, dtype=np.float64)
        order = np.argsort(-x, kind="stable")
        negated = -x[order]  # sorted ascending: searchsorted finds where each value's ties start
        ranks = np.empty(len(x))
        ranks[order] = np.searchsorted(negated, negated, side="left") + 1
        out += np.where(x > 0, k / (k + ranks), 0.0)
    return out


def break_ties(primary: Any, secondary: Any) -> Any:
    """``primary``, its ties ordered by ``secondary``, never reordering distinct values.

    The positive part of ``secondary``, scaled to [0, 1], adds under half of the smallest gap
    between distinct ``primary`` values, so the result stays one number per file (it is stored)
    and sorts as (primary, secondary) would, but for rounding where that gap is tiny.
    """
    x = np.asarray(primary, dtype=np.float64)
    if len(x) == 0:
        return x
    levels = np.unique(x)
    gap = float(np.diff(levels).min()) if len(levels) > 1 else 1.0
    y = np.maximum(np.asarray(secondary, dtype=np.float64), 0.0)
    top = float(y.max())
    if top <= 0:
        return x.copy()
    return x + 0.49 * gap * (y / top)


def follow_last(fused: Any, history: History, most: int = LAST_COMMIT_MAX) -> Any:
    """``fused`` with the files of a small last commit moved up, to just below its first file.

    A commit of a few files is often followed by another on the same files (the fix, its test,
    the review's changes). The fusion ranks such a file by its whole history, so one new to
    the history sits below the long-busy files. Its first place is kept: that file is the
    best of both lists, often the changelog, and moving it down cost MRR@10 (docs/search.md).
    Order is kept among the moved files and among the others; only their interleaving changes.
    """
    x = np.array(fused, dtype=np.float64)
    n = history.n_commits
    if n == 0 or len(x) == 0 or not 0 < history.sizes[n - 1] <= most:
        return x
    last = np.asarray(history.changes[n - 1].todense()).ravel() > 0
    top = int(np.argmax(x))  # the first of tied files, as the final order (by path) has it
    moved, others = last.copy(), ~last
    moved[top] = others[top] = False
    if not moved.any():
        return x
    best = float(x[top])
    floor = float(x[others].max()) if others.any() else 0.0
    gap = max(best - floor, 0.0)
    # Into (floor, best): above every file outside the last commit, below the first, in the
    # order they had (a file already above that band keeps its score).
    band = floor + gap * (0.5 + 0.49 * np.clip(x[moved] / best, 0.0, 1.0)) if best > 0 else x[moved]
    x[moved] = np.maximum(x[moved], band)
    return x


def size_prior(line_counts: Any) -> Any:
    return np.log1p(np.maximum(np.asarray(line_counts, dtype=np.float64), 0.0))


def decayed_by_day(ages_days: Any, values: Any, rate: float) -> Any:
    return np.asarray(values, dtype=np.float64) * np.power(rate, np.asarray(ages_days, float))
