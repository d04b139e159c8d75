"""A short random walk of everyday git work per seed, the store checked against git halfway and
at the end (tests/e2e/soak.py; longer walks: `python -m tests.e2e.soak --seed N --ops 400`).
30 steps and two checks, not 40 and four: the suite must stay within 10 minutes on 2 cores, and
a check (every worktree's view, chain and search against git) costs more than ten steps."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.soak import Walk, problems, run, start


# Seed 5 with `link` takes the store's link into `git stash --all` at step 21.
@pytest.mark.parametrize(("seed", "serve", "link"), [(1, False, False), (2, True, False),
                                                     (5, False, True)])
def test_store_agrees_with_git_along_a_random_walk(tmp_path: Path, seed: int, serve: bool,
                                                   link: bool,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """With `serve`, queries go through the warm query server, as they do for users, and each
    answer must equal the same query run in-process. With `link`, the store is a symlink to a
    folder outside the repository, which the walk's sweeps take away."""
    if serve:
        runtime = tmp_path / "runtime"
        runtime.mkdir(mode=0o700)
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
        monkeypatch.setenv("AIRCHER_SERVE", "1")
    found = run(tmp_path, seed, ops=30, every=15, serve=serve, link=link)
    assert found == [], "\n".join(found)  # every line: pytest's diff shows only the first


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
