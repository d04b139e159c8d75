"""Files described by history: a task is matched against past commit messages, and the files
the most similar commits changed gain (the "similar reports" signal of bug localisation,
e.g. BugLocator, Zhou et al., ICSE 2012).

A commit message is a human summary of its change set, written in the words a task uses
("fix redirect loop with relative Location header") rather than the words of the code; it bridges
the vocabulary gap that content search alone cannot.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import scipy.sparse as sp

from gitext.relevance.history import MAX_TRANSACTION, History
from gitext.search.tokenize import terms

SIMILAR_COMMITS = 50  # the most similar past commits that vote for their files


def _tfidf(rows: list[Counter[str]], vocab: dict[str, int]) -> Any:
    indptr = [0]
    idx: list[int] = []
    val: list[float] = []
    for counts in rows:
        for term, n in counts.items():
            j = vocab.get(term)
            if j is not None:
                idx.append(j)
                val.append(1.0 + float(np.log(n)))
        indptr.append(len(idx))
    return sp.csr_matrix((np.asarray(val), np.asarray(idx, dtype=np.int64), np.asarray(indptr)),
                         shape=(len(rows), len(vocab)))


def similar_commit_scores(history: History, query: str) -> Any:
    """Per file: sum over the most similar past commits of similarity / sqrt(files changed)."""
    n_files = history.changes.shape[1]
    qcounts = Counter(terms(query))
    if history.n_commits == 0 or not qcounts:
        return np.zeros(n_files)
    docs = [Counter(terms(m)) for m in history.messages]
    vocab: dict[str, int] = {}
    for counts in docs:
        for term in counts:
            vocab.setdefault(term, len(vocab))
    if not vocab:
        return np.zeros(n_files)
    x = _tfidf(docs, vocab)
    df = np.asarray((x > 0).sum(axis=0)).ravel()
    idf = np.log1p(history.n_commits / (1.0 + df))
    x = x @ sp.diags(idf)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    q = _tfidf([qcounts], vocab) @ sp.diags(idf)
    qn = float(np.sqrt(q.multiply(q).sum()))
    if qn == 0:
        return np.zeros(n_files)
    sims = np.asarray((x @ q.T).todense()).ravel()
    sims = np.divide(sims, norms * qn, out=np.zeros_like(sims), where=norms > 0)
    sizes = history.sizes
    usable = (sizes > 0) & (sizes <= MAX_TRANSACTION) & (sims > 0)
    sims = np.where(usable, sims, 0.0)
    if len(sims) > SIMILAR_COMMITS:
        cut = np.partition(sims, -SIMILAR_COMMITS)[-SIMILAR_COMMITS]
        sims = np.where(sims >= cut, sims, 0.0)
    weights = np.divide(sims, np.sqrt(np.maximum(sizes, 1.0)))
    return np.asarray(history.changes.T @ weights).ravel()
