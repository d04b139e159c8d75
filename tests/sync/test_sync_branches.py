"""`git aircher sync` reads every local branch's new commits, not only HEAD's: with hooks not
running, a branch left since kept its commits unrecorded and its context at its old commit,
though doctor said they were "not recorded until `git aircher sync`" (QA round 26b: 02)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import commit, git, run_git_aircher
from tests.sync.helpers import failures, query, wait_idle


def _context(live: Path, branch: str) -> list[tuple[object, ...]]:
    return query(live, "knowledge", "SELECT git_commit FROM contexts WHERE"
                 " context_type = 'worktree' AND git_branch = ?", branch)


def _recorded(live: Path, sha: str) -> bool:
    return query(live, "file_index", "SELECT count(*) FROM commits WHERE sha = ?", sha) == [(1,)]


def test_sync_reads_every_local_branch_made_with_hooks_off(live: Path, tmp_path: Path) -> None:
    for branch in ("feat", "topic"):
        git(live, "checkout", "-q", "-b", branch, "main")
    git(live, "checkout", "-q", "main")
    wait_idle(live)
    switches = query(live, "knowledge", "SELECT count(*) FROM context_switches")
    contexts = query(live, "knowledge", "SELECT count(*) FROM contexts")

    off = tmp_path / "no-hooks"  # a team's hooks folder, without ours
    off.mkdir()
    git(live, "config", "core.hooksPath", str(off))
    git(live, "checkout", "-q", "topic")
    topic = commit(live, {"topic.py": "t = 1\n"}, "topic work")
    git(live, "checkout", "-q", "feat")
    first = commit(live, {"feat.py": "f = 1\n"}, "feat 1")
    git(live, "merge", "-q", "--no-ff", "-m", "Merge branch 'topic' into feat", "topic")
    git(live, "checkout", "-q", "-b", "later")  # made while hooks were off: no context
    later = commit(live, {"later.py": "l = 1\n"}, "later 1")
    git(live, "checkout", "-q", "main")
    commit(live, {"main.py": "m = 1\n"}, "main 1")
    feat = git(live, "rev-parse", "feat").strip()

    r = run_git_aircher(live, "sync", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["commits"] == 5  # topic's, feat's two, later's, main's

    for sha in (topic, first, feat, later):
        assert _recorded(live, sha), sha
    assert _context(live, "feat") == [(feat,)]
    assert _context(live, "topic") == [(topic,)]
    assert _context(live, "later") == []  # a checkout with hooks off is not made up
    # The merge on feat gives topic's knowledge to feat, as a catch-up of HEAD's history does.
    assert query(live, "knowledge", "SELECT count(*) FROM context_relationships r"
                 " JOIN contexts s ON s.id = r.source_context_id JOIN contexts t"
                 " ON t.id = r.target_context_id WHERE r.relationship_type ="
                 " 'knowledge_transfer' AND s.git_branch = 'topic' AND t.git_branch = 'feat'"
                 ) == [(1,)]
    assert query(live, "knowledge", "SELECT count(*) FROM context_switches") == switches
    assert query(live, "knowledge", "SELECT count(*) FROM contexts") == contexts

    again = run_git_aircher(live, "sync", "--json")  # nothing new: nothing read
    assert json.loads(again.out)["commits"] == 0
    assert failures(live) == ""
