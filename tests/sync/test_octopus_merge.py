"""An octopus merge (`git merge o1 o2`) brings in several branches: each gives its knowledge to
the branch merged into, as a merge of one does. Before, git's action (`merge o1 o2`) and the
commit's message ("Merge branches 'o1' and 'o2'") named none, and no transfer was recorded
(QA round 26b: 03)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitext.sync.commits import merged_branches
from tests.conftest import commit, git, run_git_aircher
from tests.sync.helpers import failures, query, wait_idle


def _branches_with_decisions(live: Path) -> None:
    for branch in ("o1", "o2"):
        git(live, "checkout", "-q", "-b", branch, "main")
        commit(live, {f"{branch}.py": f"{branch} = 1\n"}, branch)
        assert run_git_aircher(live, "decision", "add", f"decision on {branch}").code == 0
    git(live, "checkout", "-q", "main")


def _transfers(live: Path) -> list[tuple[object, ...]]:
    return query(live, "knowledge",
                 "SELECT s.name, t.name, json_extract(r.metadata, '$.via') FROM"
                 " context_relationships r JOIN contexts s ON s.id = r.source_context_id"
                 " JOIN contexts t ON t.id = r.target_context_id"
                 " WHERE r.relationship_type = 'knowledge_transfer' ORDER BY s.name")


def _decisions_on_main(live: Path) -> set[str]:
    r = run_git_aircher(live, "context", "insights", "--min-confidence", "0", "--json")
    assert r.code == 0, r.err
    return {b for b in ("o1", "o2") if f"decision on {b}" in r.out}


def test_octopus_merge_transfers_from_each_branch(live: Path) -> None:
    _branches_with_decisions(live)
    git(live, "merge", "-q", "--no-edit", "o1", "o2")
    wait_idle(live)
    assert [(s, t) for s, t, _ in _transfers(live)] == [("o1", "main"), ("o2", "main")]
    assert _decisions_on_main(live) == {"o1", "o2"}
    assert failures(live) == ""


def test_octopus_merge_made_with_hooks_off_is_read_from_its_message(live: Path,
                                                                     tmp_path: Path) -> None:
    _branches_with_decisions(live)
    wait_idle(live)
    off = tmp_path / "no-hooks"
    off.mkdir()
    git(live, "-c", f"core.hooksPath={off}", "merge", "-q", "--no-edit", "o1", "o2")
    assert git(live, "log", "-1", "--format=%s") == "Merge branches 'o1' and 'o2'\n"
    assert run_git_aircher(live, "sync").code == 0
    assert _transfers(live) == [("o1", "main", "merge"), ("o2", "main", "merge")]
    assert _decisions_on_main(live) == {"o1", "o2"}
    assert json.loads(run_git_aircher(live, "sync", "--json").out)["commits"] == 0


@pytest.mark.parametrize(("message", "names"), [
    ("Merge branch 'x' into y", ["x"]),
    ("Merge branches 'a', 'b' and 'c' into main", ["a", "b", "c"]),
    ("Merge remote-tracking branches 'origin/a' and 'origin/b'\n\nbody", ["origin/a", "origin/b"]),
    ("Merge branch 'a', remote-tracking branch 'origin/b', tag 'v1'", ["a", "origin/b"]),
    ("Merge branch 'x' of https://example.com/r.git", ["x"]),
    ("Merge tag 'v1.0'", []),
    ("Merge commit 'abc123'", []),
    ("Merge pull request #1 from a/b", []),
])
def test_merge_messages_name_their_branches(message: str, names: list[str]) -> None:
    assert merged_branches(message) == names
