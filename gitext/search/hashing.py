"""Signed feature hashing exactly as scikit-learn's ``FeatureHasher`` does it, without its import.

Importing scikit-learn costs about a second of CPU (``sklearn.utils`` loads ``scipy.stats``). The
background worker that follows a commit embeds a handful of chunks, so that import was most of
what each commit cost in the background. Below ``SKLEARN_AFTER`` texts in a process (a commit, a
small repository's init) the hashing runs here; past it, or once scikit-learn is loaded anyway
(the query server, for ``NearestNeighbors``), ``FeatureHasher`` does it at C speed. Both give the
same vectors: tests/search/test_hashing.py holds this module to scikit-learn's output.

FeatureHasher's rule, for each (term, value) with value != 0: ``h`` = MurmurHash3 (x86, 32 bit,
seed 0) of the term's UTF-8 bytes, as a signed int; the column is ``abs(h) % n`` (for ``h`` =
-2**31, whose abs overflows int32 there, ``(2**31 - 1 - (n - 1)) % n``); the value is negated when
``h`` < 0; values landing in one column add up.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

# Texts hashed here per process before scikit-learn takes over: about 0.3 s of pure Python, where
# its import would cost 0.8-1 s (benchmarks/hashing_bench.py).
SKLEARN_AFTER = 5000

_MASK = 0xFFFFFFFF
# term -> (column, sign) per dimension; a process sees a repository's vocabulary many times over.
_columns: dict[int, dict[str, tuple[int, float]]] = {}
_CACHE_LIMIT = 200_000
_hashed = 0


def murmurhash3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86_32 as a signed 32-bit int (what ``sklearn.utils.murmurhash3_32`` gives
    with ``positive=False``)."""
    h = seed & _MASK
    n = len(data)
    end = n & ~3
    for i in range(0, end, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * 0xCC9E2D51) & _MASK
        k = ((k << 15) | (k >> 17)) & _MASK
        h ^= (k * 0x1B873593) & _MASK
        h = ((h << 13) | (h >> 19)) & _MASK
        h = (h * 5 + 0xE6546B64) & _MASK
    if n & 3:
        k = int.from_bytes(data[end:], "little")
        k = (k * 0xCC9E2D51) & _MASK
        k = ((k << 15) | (k >> 17)) & _MASK
        h ^= (k * 0x1B873593) & _MASK
    h ^= n
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _MASK
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _MASK
    h ^= h >> 16
    return h - (1 << 32) if h & 0x80000000 else h


def _column(term: str, n: int, table: dict[str, tuple[int, float]]) -> tuple[int, float]:
    h = murmurhash3_32(term.encode("utf-8"))
    column = (2147483647 - (n - 1)) % n if h == -2147483648 else abs(h) % n
    hit = (column, 1.0 if h >= 0 else -1.0)
    if len(table) < _CACHE_LIMIT:
        table[term] = hit
    return hit


def hash_rows(rows: Sequence[Mapping[str, float]], n: int) -> npt.NDArray[np.float64]:
    """Dense (len(rows), n) float64: each row's terms hashed into n signed columns."""
    import numpy as np

    global _hashed
    _hashed += len(rows)
    out = np.zeros((len(rows), n), dtype=np.float64)
    table = _columns.setdefault(n, {})
    for r, row in enumerate(rows):
        line = out[r]
        for term, value in row.items():
            if value == 0:
                continue
            column, sign = table.get(term) or _column(term, n, table)
            line[column] += sign * value
    return out


def sklearn_is_cheaper(batch: int) -> bool:
    """True once scikit-learn is loaded, or this process has hashed enough to pay its import."""
    return "sklearn" in sys.modules or _hashed + batch > SKLEARN_AFTER
