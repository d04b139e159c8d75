"""A linked worktree's search and stored scores follow its own commits, whichever worker applied
their records: a worker started in another worktree takes every worktree's records, and must
index and score them there too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitext.sync.api import catch_up
from tests.conftest import commit, git, open_project, run_git_aircher
from tests.sync.helpers import mark_active, query, store, wait_idle

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def _search(cwd: Path, words: str) -> list[str]:
    r = run_git_aircher(cwd, "search", "--json", "--mode", "text", "--", words)
    assert r.code == 0, r.err
    return [h["path"] for h in json.loads(r.out)]


def test_records_of_a_linked_worktree_taken_by_another_worker(live: Path, sleeper: int) -> None:
    commit(live, {"src/base.py": "def base():\n    return 1\n"}, "base")
    wait_idle(live)
    held = mark_active(live, sleeper)
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
        live: Path, sleeper: int) -> None:
    """No worker has run since the worktree was made (its records applied by a catch-up,
    which indexes nothing): its first query indexes what it lacks, a query's share of work."""
    commit(live, {"src/base.py": "def base():\n    return 1\n"}, "base")
    wait_idle(live)
    mark_active(live, sleeper)
    other = live.parent / "other"
    git(live, "worktree", "add", "-q", "-b", "side", str(other))
    commit(other, {"src/quokka.py": "def quokka_habitat_survey():\n    return 'quokka'\n"},
           "quokka on the side branch")
    with open_project(other) as project:
        catch_up(project)
    assert not list((store(live) / "journal").glob("*.ev"))
    assert len(list((store(live) / "run").glob("indexed-*"))) == 1  # the main worktree's
    assert _search(other, "quokka habitat")[:1] == ["src/quokka.py"]
