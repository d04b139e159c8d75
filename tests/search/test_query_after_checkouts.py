"""A query right after checkouts the worker has not applied yet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import commit, git, run_git_aircher
from tests.sync.helpers import mark_active, store, wait_idle

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def test_a_query_applies_its_worktree_s_records_before_it_answers(
        live: Path, sleeper: int) -> None:
    """`checkout X; checkout main; checkout X` left the view at X, as git's HEAD is, with the
    two records still to apply: the query answered at once, and the worker then moved the view
    to main and back under it (QA round 26a: 01, a third of the hits on redis, no warning).
    The query now applies them first, as it does when HEAD is not where the view is."""
    git(live, "switch", "-q", "-c", "x")
    commit(live, {"src/ferry.py": "def zanzibar_ferry_schedule():\n    return 'dhow'\n"}, "x")
    wait_idle(live)
    mark_active(live, sleeper)  # a worker busy elsewhere: the hooks leave it the records
    git(live, "switch", "-q", "main")
    git(live, "switch", "-q", "x")
    journal = store(live) / "journal"
    assert len(list(journal.glob("*.ev"))) == 2
    r = run_git_aircher(live, "search", "--json", "--mode", "text", "zanzibar ferry")
    assert r.code == 0, r.err
    assert [h["path"] for h in json.loads(r.out)][:1] == ["src/ferry.py"]
    assert not list(journal.glob("*.ev")), "answered with its worktree's records unapplied"
