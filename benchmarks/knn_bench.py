"""Exact kNN: scikit-learn NearestNeighbors, called several ways, against plain numpy.

    .venv/bin/python benchmarks/knn_bench.py [--n 100000] [--dim 384] [--k 10] [--repeat 30]

Same vectors for every method (float32, unit length), same run, same queries. The numpy
yardstick is `X @ q` then `argpartition` (plus a sort of the k found). Each method's time is the
median over `--repeat` runs of one query, and of one batch of `--batch` queries; each run of a
method is paired with a numpy run just before it and the ratio is method median / numpy median
of those pairs (the machine is shared: pairing keeps a load change from favouring either).
"same" says whether the top-k indices equal numpy's, in order. The last row is what
`gitext.search.knn.ExactIndex` (the search path) does.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def numpy_knn(X: np.ndarray, Q: np.ndarray, k: int) -> np.ndarray:
    sims = Q @ X.T
    part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(sims, part, axis=1).argsort(axis=1)[:, ::-1]
    return np.take_along_axis(part, order, axis=1)


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    fn()  # warm up: first-touch of pages, thread pools, lazy imports
    times = []
    result = None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def paired(fn: Callable[[], Any], base: Callable[[], Any], repeat: int
           ) -> tuple[float, float, Any]:
    """Median times of ``fn`` and ``base`` measured alternately, so a change in the machine's
    load (it is shared) hits both alike."""
    fn()
    base()
    mine, theirs = [], []
    result = None
    for _ in range(repeat):
        t = time.perf_counter()
        base()
        theirs.append(time.perf_counter() - t)
        t = time.perf_counter()
        result = fn()
        mine.append(time.perf_counter() - t)
    return statistics.median(mine), statistics.median(theirs), result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--naive", action="store_true",
                    help="also time the slow naive ways (cosine / euclidean on a fitted model)")
    args = ap.parse_args()

    from sklearn.neighbors import NearestNeighbors

    from gitext.search.knn import ExactIndex

    rng = np.random.default_rng(args.seed)
    X = rng.standard_normal((args.n, args.dim), dtype=np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    Q = rng.standard_normal((args.batch, args.dim), dtype=np.float32)
    Q /= np.linalg.norm(Q, axis=1, keepdims=True)
    q1 = Q[:1]
    k = args.k

    truth1 = numpy_knn(X, q1, k)
    truthb = numpy_knn(X, Q, k)
    # label, single ms, single ratio, batch ms, batch ratio, same neighbours as numpy
    rows: list[tuple[str, float, float, float, float, bool]] = []
    base1, _ = timed(lambda: numpy_knn(X, q1, k), args.repeat)
    baseb, _ = timed(lambda: numpy_knn(X, Q, k), max(3, args.repeat // 3))
    rows.append(("numpy X@q + argpartition", base1, 1.0, baseb, 1.0, True))

    def add(label: str, single: Callable[[], Any], batch: Callable[[], Any]) -> None:
        t1, n1, r1 = paired(single, lambda: numpy_knn(X, q1, k), args.repeat)
        tb, nb, rb = paired(batch, lambda: numpy_knn(X, Q, k), max(3, args.repeat // 3))
        same = bool(np.array_equal(r1, truth1) and np.array_equal(rb, truthb))
        rows.append((label, t1, t1 / n1, tb, tb / nb, same))

    if args.naive:
        nn_cos = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(X)
        add("NN cosine (naive)", lambda: nn_cos.kneighbors(q1, return_distance=False),
            lambda: nn_cos.kneighbors(Q, return_distance=False))
        nn_euc = NearestNeighbors(n_neighbors=k, metric="euclidean", algorithm="brute").fit(X)
        add("NN euclidean, unit vectors", lambda: nn_euc.kneighbors(q1, return_distance=False),
            lambda: nn_euc.kneighbors(Q, return_distance=False))
        ones = np.ones(args.n)

        def with_norms(queries: np.ndarray) -> Any:
            # ArgKmin pops Y_norm_squared from the params it is given: hand it in every call.
            nn_euc.effective_metric_params_ = {"Y_norm_squared": ones}
            return nn_euc.kneighbors(queries, return_distance=False)

        add("NN euclidean + cached norms", lambda: with_norms(q1), lambda: with_norms(Q))

    index = ExactIndex(X)
    add("ExactIndex (NN as used)", lambda: index.search(q1, k)[1],
        lambda: index.search(Q, k)[1])

    width = max(len(r[0]) for r in rows)
    print(f"{args.n} x {args.dim} float32, k={k}, batch={args.batch}, median of {args.repeat}")
    print(f"{'method':<{width}}  {'1 query ms':>10}  {'ratio':>6}  {'batch ms':>9}  {'ratio':>6}"
          "  same")
    for label, t1, ratio1, tb, ratiob, same in rows:
        print(f"{label:<{width}}  {t1 * 1e3:>10.2f}  {ratio1:>6.2f}  {tb * 1e3:>9.2f}"
              f"  {ratiob:>6.2f}  {'yes' if same else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
