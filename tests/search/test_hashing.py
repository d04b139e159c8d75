"""The default embedder's own feature hashing is scikit-learn's, to the vector.

A process's first few thousand texts are hashed by gitext.search.hashing so that a commit's
background worker does not import scikit-learn (about a second of CPU) for a handful of chunks;
later ones by ``FeatureHasher``. A blob's vector is computed once and reused by every branch, so
the two must agree, or search would rank the same text differently by who embedded it.
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.feature_extraction import FeatureHasher
from sklearn.utils import murmurhash3_32 as sklearn_murmur

from gitext.search import hashing
from gitext.search.embedders import HashEmbedder, _normalise
from gitext.search.tokenize import terms

ROOT = Path(__file__).resolve().parents[2]


def test_murmurhash_is_sklearn_s_for_every_tail_length_and_byte() -> None:
    rng = random.Random(7)
    samples = [b"", b"a", b"ab", b"abc", b"abcd", "h\u00e9llo_w\u00f6rld".encode()]
    samples += [bytes(rng.randrange(256) for _ in range(rng.randrange(0, 41))) for _ in range(3000)]
    mine = [hashing.murmurhash3_32(b) for b in samples]
    assert mine == [int(sklearn_murmur(b, positive=False)) for b in samples]
    assert min(mine) < 0 < max(mine)  # both signs, so the sign rule is exercised


def _rows(texts: list[str]) -> list[dict[str, float]]:
    return [{t: 1.0 + math.log(n) for t, n in Counter(terms(x)).items()} for x in texts]


@pytest.mark.parametrize("dimension", [16, 384, 1000])
def test_hash_rows_is_feature_hasher_on_this_repository_s_code(dimension: int) -> None:
    texts = [p.read_text("utf-8") for p in sorted((ROOT / "gitext" / "search").glob("*.py"))]
    rows = _rows(texts) + [{"zero": 0.0, "kept": 2.5}, {}]
    expected = FeatureHasher(n_features=dimension, input_type="dict",
                             alternate_sign=True).transform(rows).toarray()
    got = hashing.hash_rows(rows, dimension)
    assert got.shape == expected.shape
    assert np.array_equal(got != 0, expected != 0)
    assert np.allclose(got, expected, rtol=0, atol=1e-12)
    assert np.array_equal(_normalise(got), _normalise(expected))
    assert (got < 0).any() and (got > 0).any()


def _fresh_interpreter(code: str) -> Any:
    """What `code` prints as JSON, run where nothing is imported yet (as in a commit's worker)."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    return json.loads(proc.stdout)


def test_a_few_texts_are_embedded_without_importing_sklearn() -> None:
    # A fresh interpreter is what a commit's worker is.
    code = (
        "import json, sys\n"
        "from gitext.search.embedders import HashEmbedder\n"
        "v = HashEmbedder(384).embed(['def reconcile_ledger(rows):', 'class WombatCache:'])\n"
        "print(json.dumps({'sklearn': 'sklearn' in sys.modules, 'v': v.tolist()}))\n"
    )
    out = _fresh_interpreter(code)
    assert out["sklearn"] is False
    texts = ["def reconcile_ledger(rows):", "class WombatCache:"]
    expected = _normalise(FeatureHasher(n_features=384, input_type="dict", alternate_sign=True)
                          .transform(_rows(texts)).toarray())
    assert np.array_equal(np.asarray(out["v"], dtype=np.float32), expected)
    # And in this process, where scikit-learn is loaded, the embedder gives the same.
    assert np.array_equal(HashEmbedder(384).embed(texts), expected)


def test_past_its_share_a_process_hands_hashing_to_sklearn() -> None:
    code = (
        "import json, sys\n"
        "from gitext.search import hashing\n"
        "from gitext.search.embedders import HashEmbedder\n"
        "e = HashEmbedder(64)\n"
        "e.embed(['alpha beta'] * (hashing.SKLEARN_AFTER - 10))\n"
        "before = 'sklearn' in sys.modules\n"
        "e.embed(['gamma delta'] * 20)\n"
        "print(json.dumps([before, 'sklearn' in sys.modules]))\n"
    )
    assert _fresh_interpreter(code) == [False, True]
