"""A query right after checkouts the worker has not applied yet."""

from __future__ import annotations

import fcntl
import json
import time
from pathlib import Path
from typing import Any

import pytest

from gitext.search import query_index
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


def test_a_query_that_waited_in_vain_for_the_worker_says_its_answer_may_lack_files(
        live: Path, aircher: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker still indexing a far checkout when the query's wait ran out: the answer
    lacked what it had not indexed yet and said nothing (QA round 26a: 01, 33 of 197 files on
    redis). It now says the index is still being built."""
    commit(live, {"src/base.py": "def base():\n    return 1\n"}, "base")
    wait_idle(live)
    monkeypatch.setattr(query_index, "LOCAL_WAIT", 0.3)
    with (store(live) / "run" / "heavy.lock").open("a") as slot:
        fcntl.flock(slot, fcntl.LOCK_EX)  # the worker's heavy pass, busy elsewhere
        commit(live, {"src/narwhal.py": "def narwhal_tusk_length():\n    return 3\n"}, "n")
        deadline = time.monotonic() + 60
        while list((store(live) / "journal").glob("*.ev")):  # the record is applied meanwhile
            assert time.monotonic() < deadline
            time.sleep(0.05)
        r = aircher(live, "search", "--json", "--mode", "text", "narwhal tusk")
    assert r.code == 0, r.err
    assert r.err.startswith("warning: the search index is still being built"), r.err
    assert "src/narwhal.py" not in [h["path"] for h in json.loads(r.out)]
