"""`git am` runs post-applypatch for each commit it makes, and no post-commit: its commits were
never recorded, doctor flagged a plain `git am` and, once the branch was left, said "healthy"
with them still missing (QA round 26b: 01)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import commit, git, head, run_git_aircher
from tests.sync.helpers import failures, query, wait_idle


def _patches(live: Path) -> list[str]:
    """Two commits on main as patches, and branch p checked out where they are not, on a
    commit of its own (so `git am` makes new commits, not the ones main has)."""
    commit(live, {"src/one.py": "one = 1\n"}, "one")
    commit(live, {"src/two.py": "two = 2\n"}, "two")
    out = live.parent / "patches"
    git(live, "format-patch", "-q", "-2", "main", "-o", str(out))
    git(live, "checkout", "-q", "-b", "p", "main~2")
    commit(live, {"p.txt": "p\n"}, "p's own")
    wait_idle(live)
    return sorted(str(p) for p in out.iterdir())


def _recorded(live: Path, sha: str) -> bool:
    return query(live, "file_index", "SELECT count(*) FROM commits WHERE sha = ?", sha) == [(1,)]


def _context_commit(live: Path, branch: str) -> object:
    rows = query(live, "knowledge", "SELECT git_commit FROM contexts WHERE"
                 " context_type = 'worktree' AND git_branch = ?", branch)
    return rows[0][0] if rows else None


def test_git_am_commits_are_recorded_by_its_hook(live: Path) -> None:
    patches = _patches(live)
    git(live, "am", "-q", *patches)
    tip = head(live)
    first = git(live, "rev-parse", "HEAD~1").strip()
    wait_idle(live)

    assert _recorded(live, first) and _recorded(live, tip)
    paths = {r[0] for r in query(live, "file_index", "SELECT new_path FROM file_changes"
                                 " WHERE git_commit IN (?, ?)", first, tip)}
    assert paths == {"src/one.py", "src/two.py"}
    assert _context_commit(live, "p") == tip
    doctor = run_git_aircher(live, "doctor")
    assert "index_behind_git" not in doctor.out and "hooks_missing" not in doctor.out, doctor.out
    assert failures(live) == ""


def test_a_checkout_reads_the_commits_of_the_branch_it_leaves(live: Path) -> None:
    """Commits no record named (here `git am` with our part skipped, as with a shim installed
    before post-applypatch was one of ours) are read when HEAD leaves their branch, not left
    unrecorded until the branch is checked out again."""
    patches = _patches(live)
    env = {**os.environ, "AIRCHER_SKIP": "1"}
    subprocess.run(["git", "am", "-q", *patches], cwd=live, env=env, check=True,
                   stdin=subprocess.DEVNULL, capture_output=True)
    tip = head(live)
    wait_idle(live)
    assert not _recorded(live, tip)  # nothing of ours ran

    git(live, "checkout", "-q", "main")
    wait_idle(live)
    assert _recorded(live, tip) and _recorded(live, git(live, "rev-parse", "p~1").strip())
    assert _context_commit(live, "p") == tip
    assert failures(live) == ""
