"""The sequence component and the rank fusion that makes `relevant`'s final score."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from gitext.relevance.components import break_ties, follow_last, rank_fusion, sequence
from gitext.relevance.history import History
from tests.conftest import commit
from tests.relevance.conftest import relevant


def paths(rows: list[dict[str, Any]]) -> list[str]:
    return [r["path"] for r in rows]


@pytest.fixture
def follows(empty_repo: Path, aircher: Any) -> Path:
    """a.py is always followed by b.py; c.py changes as often, never right after a.py.

    Each round changes a.py, b.py, c.py, x.py in that order, one file per commit, and the last
    commit changes a.py. c.py changed later than b.py each time, so frequency and recency put it
    first; only the sequence (what came right after a.py) puts b.py first.
    """
    commit(empty_repo, {"a.py": "a = 0\n", "b.py": "b = 0\n", "c.py": "c = 0\n",
                        "x.py": "x = 0\n", "quiet.py": "q = 0\n"}, "start")
    for i in range(1, 4):
        for name in ("a", "b", "c", "x"):
            commit(empty_repo, {f"{name}.py": f"{name} = {i}\n"}, f"work on {name} {i}")
    commit(empty_repo, {"a.py": "a = 4\n"}, "work on a again")
    r = aircher(empty_repo, "index")
    assert r.code == 0, r.err
    return empty_repo


def test_what_follows_the_last_commit_ranks_first(follows: Path, aircher: Any) -> None:
    rows = relevant(aircher, follows)
    files = {r["path"]: r for r in rows}
    b, c = files["b.py"]["components"], files["c.py"]["components"]
    assert c["frequency_score"] > b["frequency_score"]  # frequency alone would put c.py first
    assert c["recency_score"] > b["recency_score"]
    assert b["sequence_score"] == pytest.approx(0.75)  # a.py was followed by b.py 3 times of 4
    assert c["sequence_score"] == 0.0
    assert paths(rows).index("b.py") < paths(rows).index("c.py")
    assert paths(rows)[-1] == "quiet.py"  # changed once, long ago, and never after a.py
    with sqlite3.connect(follows / ".agents/db/core/file_index.db") as conn:
        stored = {r[0]: r[1:] for r in conn.execute(
            "SELECT f.path, s.final_score, s.sequence_score FROM file_relevance_scores s"
            " JOIN files f ON f.id = s.file_id")}
    assert stored["b.py"][0] > stored["c.py"][0]  # the stored final is the fused one too
    assert stored["b.py"][1] == pytest.approx(0.75) and stored["c.py"][1] == 0.0


def test_no_history_ranks_after_any_history(follows: Path, aircher: Any) -> None:
    commit(follows, {"zz_big.py": "".join(f"v{i} = {i}\n" for i in range(3000))}, "a big file")
    commit(follows, {"a.py": "a = 5\n"}, "work on a once more")
    # Only the last 6 commits are loaded: zz_big.py's change is, quiet.py's is not.
    r = aircher(follows, "config", "set", "storage.sync.history_limit", "6")
    assert r.code == 0, r.err
    assert aircher(follows, "index").code == 0
    rows = relevant(aircher, follows)
    files = {r["path"]: r for r in rows}
    quiet = files["quiet.py"]
    assert quiet["components"]["frequency_score"] == 0.0
    assert quiet["components"]["sequence_score"] == 0.0
    assert paths(rows)[-1] == "quiet.py"
    assert quiet["final_score"] < min(r["final_score"] for r in rows if r is not quiet)
    # Without history a large file still outranks a small one: the sum breaks the tie at zero.
    commit(follows, {"small.py": "s = 1\n"}, "a small file")
    assert aircher(follows, "index").code == 0
    r = aircher(follows, "config", "set", "storage.sync.history_limit", "2")
    assert r.code == 0, r.err
    order = paths(relevant(aircher, follows))
    assert order.index("zz_big.py") < order.index("quiet.py")
    assert order.index("small.py") < order.index("zz_big.py")  # small.py has history, zz_big.py not


def test_task_keeps_ranking_by_the_weighted_sum(follows: Path, aircher: Any) -> None:
    # Words no file or message has: search adds nothing and the history decides alone.
    rows = relevant(aircher, follows, "--task", "zebra quokka")
    assert all(r["search_score"] == 0 for r in rows)
    assert paths(rows).index("c.py") < paths(rows).index("b.py")


def test_summed_is_the_previous_final(follows: Path) -> None:
    from gitext.project import Project
    from gitext.relevance.scoring import compute

    with Project.locate(follows, Path.home().parent / "aircher-home") as proj:
        s = compute(proj)
    p = s.parts
    previous = (p["frequency_score"] + p["recency_score"] + 0.2 * p["base_score"]
                + 0.5 * p["dependency_score"] + 2.0 * p["success_correlation"]
                + 0.5 * p["cross_context_boost"])
    assert np.array_equal(s.summed, previous)
    assert not np.array_equal(np.argsort(-s.final), np.argsort(-previous))


def history(rows: list[list[int]], sizes: list[int] | None = None) -> History:
    m = sp.csr_matrix(np.array(rows, dtype=np.float64))
    n = len(rows)
    size = np.array(sizes if sizes is not None else [sum(r) for r in rows], dtype=np.float64)
    return History([f"c{i}" for i in range(n)], [""] * n, [""] * n, m, size)


def test_sequence_estimates_what_follows() -> None:
    # files: 0 1 2. File 0 is followed by 1 twice and by 2 once; the last commit changed 0.
    h = history([[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1], [1, 0, 0]])
    s = sequence(h)
    # The last commits: 0 (weight 1), 2 (1/2), 0 again (1/4); 2 was followed by 0 once of once.
    assert s == pytest.approx([0.5, 1.25 * 2 / 3, 1.25 * 1 / 3])


def test_sequence_ignores_sweeps_and_short_histories() -> None:
    h = history([[1, 0], [0, 1], [1, 0]], sizes=[1, 500, 1])  # the middle commit is a sweep
    assert sequence(h) == pytest.approx([0.0, 0.0])
    assert sequence(history([[1, 1]])) == pytest.approx([0.0, 0.0])


def test_rank_fusion_orders_ties_and_zeros() -> None:
    a = np.array([5.0, 3.0, 3.0, 0.0, 1.0, -2.0])
    b = np.array([0.0, 0.0, 9.0, 0.0, 4.0, 0.0])
    f = rank_fusion(a, b, k=60)
    assert f[0] == pytest.approx(60 / 61)  # first in a, nothing in b
    assert f[1] == pytest.approx(60 / 62)  # ties share the best rank
    assert f[2] == pytest.approx(60 / 62 + 60 / 61)
    assert f[4] == pytest.approx(60 / 64 + 60 / 62)
    assert f[3] == 0.0 and f[5] == 0.0  # scored by no list: no credit at all
    assert np.all(f[[0, 1, 2, 4]] > 0)
    assert f[2] > f[4] > f[0] > f[1]


def test_rank_fusion_depends_on_values_not_file_order() -> None:
    rng = np.random.default_rng(7)
    a = rng.integers(0, 4, 200).astype(np.float64)  # many ties and zeros
    b = rng.integers(0, 3, 200).astype(np.float64)
    perm = rng.permutation(200)
    assert np.array_equal(rank_fusion(a, b)[perm], rank_fusion(a[perm], b[perm]))
    assert np.array_equal(rank_fusion(a, b), rank_fusion(a, b))
    assert len(rank_fusion()) == 0


def test_break_ties_keeps_the_order_and_the_zeros() -> None:
    primary = np.array([2.0, 1.0, 1.0, 0.0, 0.0, 1.5])
    secondary = np.array([0.0, 1.0, 9.0, 50.0, 0.0, 100.0])
    out = break_ties(primary, secondary)
    assert list(np.argsort(-out, kind="stable")) == [0, 5, 2, 1, 3, 4]
    assert out[3] < out[1]  # however large its secondary, nothing crosses a distinct value
    assert np.array_equal(break_ties(primary, np.zeros(6)), primary)


def test_follow_last_moves_a_small_last_commit_below_the_first() -> None:
    # files 0..5; the last commit changed 4 and 5, which the fusion ranks low.
    h = history([[1, 1, 1, 0, 0, 0], [1, 1, 1, 0, 0, 0], [0, 0, 0, 0, 1, 1]])
    fused = np.array([1.9, 1.8, 1.7, 0.0, 0.9, 1.0])
    out = follow_last(fused, h)
    assert list(np.argsort(-out, kind="stable")) == [0, 5, 4, 1, 2, 3]
    assert out[0] == fused[0] and np.array_equal(out[[1, 2, 3]], fused[[1, 2, 3]])
    # The first file stays first when it is one of the last commit's files too.
    first_is_last = np.array([1.0, 1.8, 1.7, 0.0, 0.9, 2.0])
    assert list(np.argsort(-follow_last(first_is_last, h), kind="stable")) == [5, 4, 1, 2, 0, 3]


def test_follow_last_leaves_sweeps_and_empty_histories() -> None:
    fused = np.array([1.9, 1.8, 1.7, 0.0, 0.9, 1.0])
    six = history([[1, 1, 1, 0, 0, 0], [0, 0, 0, 0, 1, 1]], sizes=[3, 6])  # 4 more files gone
    assert np.array_equal(follow_last(fused, six), fused)
    none = History([], [], [], sp.csr_matrix((0, 6)), np.zeros(0))  # no commit yet
    assert np.array_equal(follow_last(fused, none), fused)
