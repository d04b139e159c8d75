"""A short random walk of everyday git work per seed, the store checked against git every ten
steps (tests/e2e/soak.py; longer walks: `python -m tests.e2e.soak --seed N --ops 400`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.soak import Walk, problems, run, start


@pytest.mark.parametrize("seed", [1, 2])
def test_store_agrees_with_git_along_a_random_walk(tmp_path: Path, seed: int) -> None:
    assert run(tmp_path, seed, ops=40, every=10) == []


def test_the_check_sees_a_store_that_disagrees(tmp_path: Path) -> None:
    """The oracle is not blind: a view row removed behind the store's back is reported."""
    import sqlite3

    walk: Walk = start(tmp_path)
    assert problems(walk) == []
    db = walk.main / ".agents" / "db" / "core" / "file_index.db"
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("DELETE FROM worktree_files WHERE file_id IN"
                     " (SELECT id FROM files WHERE path = 'f1.py')")
    conn.close()
    found = problems(walk)
    assert any("view differs" in line and "f1.py" in line for line in found), found
