"""A linked worktree's search and stored scores follow its own commits, whichever worker applied
their records: a worker started in another worktree takes every worktree's records, and must
index and score them there too."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import commit, git, run_git_aircher
from tests.sync.helpers import query, store, wait_idle

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


@pytest.fixture
def stand_in() -> Iterator[int]:
    """A live process for `run/active` to name, standing in for a worker busy elsewhere."""
    proc = subprocess.Popen(["sleep", "120"])
    yield proc.pid
    proc.kill()
    proc.wait()


def _hold(repo: Path, pid: int) -> Path:
    """Hook shims leave their records to the worker the marker names and start none."""
    since = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    marker = store(repo) / "run" / "active"
    marker.write_text(f"{pid}\n{since}\n")
    return marker


def _search(cwd: Path, words: str) -> list[str]:
    r = run_git_aircher(cwd, "search", "--json", "--mode", "text", "--", words)
    assert r.code == 0, r.err
    return [h["path"] for h in json.loads(r.out)]


def test_records_of_a_linked_worktree_taken_by_another_worker(live: Path, stand_in: int) -> None:
    commit(live, {"src/base.py": "def base():\n    return 1\n"}, "base")
    wait_idle(live)
    held = _hold(live, stand_in)
    other = live.parent / "other"
    git(live, "worktree", "add", "-q", "-b", "side", str(other))
    commit(other, {"src/quokka.py": "def quokka_habitat_survey():\n    return 'quokka'\n"},
           "quokka on the side branch")
    assert list((store(live) / "journal").glob("*.ev")), "the records wait for the marker"
    held.unlink()
    commit(live, {"src/main_only.py": "x = 1\n"}, "a commit in the main worktree")
    wait_idle(live)  # its worker, rooted in the main worktree, took the side's records too
    assert _search(other, "quokka habitat")[:1] == ["src/quokka.py"]
    assert "src/quokka.py" not in _search(live, "quokka habitat")
    # The side branch's stored relevance scores were refreshed by that worker too.
    scored = query(live, "file_index", "SELECT count(*) FROM file_relevance_scores s JOIN files f"
                   " ON f.id = s.file_id WHERE f.path = 'src/quokka.py'")
    assert scored == [(1,)]


def test_a_linked_worktree_no_worker_indexed_is_caught_up_by_its_query(
        live: Path, stand_in: int) -> None:
    """No worker has run since the worktree was made (its records applied by `sync`, which
    indexes nothing): its first query indexes what it lacks, a query's share of work."""
    commit(live, {"src/base.py": "def base():\n    return 1\n"}, "base")
    wait_idle(live)
    _hold(live, stand_in)
    other = live.parent / "other"
    git(live, "worktree", "add", "-q", "-b", "side", str(other))
    commit(other, {"src/quokka.py": "def quokka_habitat_survey():\n    return 'quokka'\n"},
           "quokka on the side branch")
    assert run_git_aircher(other, "sync").code == 0
    assert not list((store(live) / "journal").glob("*.ev"))
    assert len(list((store(live) / "run").glob("indexed-*"))) == 1  # the main worktree's
    assert _search(other, "quokka habitat")[:1] == ["src/quokka.py"]
