"""Each relevance component as a vector over the worktree's files, computed with numpy/scipy.

* frequency: changes decayed per first-parent commit (``success_correlation_decay_rate``, the
  weight of a change ``d`` commits ago is ``rate ** d``), plus accesses decayed per day.
* recency: how many commits ago the file last changed, as ``(rate ** 4) ** age``: 1 for the
  files HEAD changed, fading within a few dozen commits.
* dependency: personalised PageRank over ``file_relationships`` and recent co-change, started
  from the recent work, so a file the recent work imports (or that changes with it) gains.
* base: a size prior, ``log(1 + lines)``: larger files take more of the changes.
* success correlation: feedback on the file, +1 useful .. -1 useless, decayed per day.
* cross-context boost: the related contexts' scores, weighted by the relationship's strength.
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


def size_prior(line_counts: Any) -> Any:
    return np.log1p(np.maximum(np.asarray(line_counts, dtype=np.float64), 0.0))


def decayed_by_day(ages_days: Any, values: Any, rate: float) -> Any:
    return np.asarray(values, dtype=np.float64) * np.power(rate, np.asarray(ages_days, float))
