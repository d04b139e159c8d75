"""`context refresh` works from git as it is when it runs, records still in the journal
included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import commit, git, run_git_aircher
from tests.sync.helpers import mark_active, store, wait_idle

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def test_refresh_applies_the_records_a_worker_has_not_yet(live: Path, sleeper: int) -> None:
    """Run right after commits, before the worker had applied their records (QA round 26c
    saw it in its script for 02), `context refresh` found none of the branches they made and
    no co-change, and said "0 rows written" as if git held nothing new. It now applies what the
    journal holds first, as `sync` does."""
    wait_idle(live)
    mark_active(live, sleeper)  # a worker at work elsewhere: the hooks leave it the records
    for branch in ("x", "y"):
        git(live, "switch", "-q", "-c", branch, "main")
        commit(live, {"src/app.py": f"print('{branch}')\n", "src/cli.py": f"# {branch}\n"},
               f"{branch}: app and cli")
    git(live, "switch", "-q", "main")
    assert list((store(live) / "journal").glob("*.ev")), "the records wait for the marker"
    r = run_git_aircher(live, "context", "refresh", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["written"] > 0
    listed = run_git_aircher(live, "knowledge", "patterns", "list", "--json")
    co = [p for p in json.loads(listed.out) if p["pattern_type"] == "co_change"]
    assert co and "src/app.py and src/cli.py change together" in co[0]["description"], co
    assert not list((store(live) / "journal").glob("*.ev"))
