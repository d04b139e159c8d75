"""Exact nearest neighbours with scikit-learn's brute-force ``NearestNeighbors``.

How it is called decides its speed (benchmarks/knn_bench.py, docs/search.md):

* ``metric='cosine'`` normalises a copy of every fitted vector on every call, then runs the
  generic chunked pairwise path: about 10x a plain ``X @ q``.
* ``metric='euclidean'`` (the same order as cosine on unit vectors) goes through the Cython
  ``ArgKmin`` reduction, which recomputes the squared norms of all fitted vectors on each call
  (unless they are handed in as ``Y_norm_squared``) and, for float32, upcasts every chunk to
  float64 before its GEMM: three to five times the memory traffic of one float32 GEMV for a single
  query, though close to numpy for a batch, where the GEMM dominates.
* ``metric='precomputed'``: the distances of a query batch to every vector are one float32
  GEMM/GEMV (``1 - Q @ X.T``, cosine distance of unit vectors) and the estimator does the exact
  brute-force k-selection over them. That is within a few percent of numpy, single or batched,
  and returns the same neighbours. This is what ``ExactIndex`` does.

Vectors are kept unit-length, float32 and C-contiguous, so no call copies or converts them; the
estimator is fitted once per index and reused; validation that re-scans inputs is switched off
(``assume_finite``) because every vector was checked when it was stored.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]


def as_unit_rows(matrix: Any) -> F32:
    """float32, C-contiguous, each non-zero row of length 1 (a no-op for stored vectors)."""
    out = np.ascontiguousarray(matrix, dtype=np.float32)
    if out.ndim == 1:
        out = out.reshape(1, -1)
    norms = np.linalg.norm(out, axis=1)
    if not np.allclose(norms[norms > 0], 1.0, atol=1e-3):
        out = out.copy()
        norms[norms == 0] = 1.0
        out /= norms[:, None]
    return out


class ExactIndex:
    """Brute-force cosine kNN over unit vectors, served by ``NearestNeighbors``."""

    def __init__(self, vectors: Any) -> None:
        import scipy.sparse as sp
        from sklearn.neighbors import NearestNeighbors

        self.vectors = as_unit_rows(vectors) if len(vectors) else np.zeros((0, 1), np.float32)
        n = self.vectors.shape[0]
        # With a precomputed metric the estimator only needs to know how many items there are;
        # a sparse identity says so in O(n) memory.
        self._nn = NearestNeighbors(algorithm="brute", metric="precomputed")
        if n:
            self._nn.fit(sp.identity(n, format="csr", dtype=np.float32))

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    def search(self, queries: Any, k: int) -> tuple[F32, npt.NDArray[np.intp]]:
        """(similarities, indices) of the k nearest rows per query, best first."""
        import sklearn

        q = as_unit_rows(queries)
        n = len(self)
        k = min(k, n)
        if k <= 0 or q.shape[0] == 0:
            return (np.zeros((q.shape[0], 0), np.float32), np.zeros((q.shape[0], 0), np.intp))
        dist = q @ self.vectors.T
        np.subtract(1.0, dist, out=dist)
        np.maximum(dist, 0.0, out=dist)  # rounding can make 1 - cos(0) slightly negative
        with sklearn.config_context(assume_finite=True):
            d, idx = self._nn.kneighbors(dist, n_neighbors=k, return_distance=True)
        return (1.0 - d).astype(np.float32, copy=False), idx
