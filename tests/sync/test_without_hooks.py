"""What git does without telling the hooks: a branch renamed, a worktree removed while its
record or its follow-ups are still being applied. Each case was found by the random walk in
tests/e2e/soak.py; here each is made to happen deterministically."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from gitext.sync.drain import drain
from gitext.sync.followups import follow_ups, heavy
from tests.conftest import commit, git, open_project, run_git_aircher
from tests.sync.helpers import failures, query, store, wait_idle


def _doctor(repo: Path) -> None:
    r = run_git_aircher(repo, "doctor", "--quick")
    assert r.code == 0, r.out


def _record(wt: Path) -> None:
    """A post-commit record as the shim writes it, with no worker started to apply it."""
    from gitext.sync.journal import Event, append

    with open_project(wt) as project:
        head = (project.repo.info.git_dir / "HEAD").read_text().strip()
        append(project.layout.journal, Event("post-commit", str(wt.resolve()), head))


def test_relevance_after_a_rename_no_event_has_seen_stores_no_orphans(live: Path) -> None:
    from gitext.relevance import refresh

    wait_idle(live)
    git(live, "branch", "-m", "main", "renamed")
    # What a worker still busy with the last commit does next, after the rename.
    with open_project(live) as project:
        refresh(project)
    _doctor(live)
    names = {r[0] for r in query(live, "knowledge", "SELECT name FROM contexts")}
    assert "renamed" not in names
    commit(live, {"after.txt": "x\n"}, "after the rename")  # the next event meets the branch
    wait_idle(live)
    cid = query(live, "knowledge", "SELECT id FROM contexts WHERE name = 'renamed'")
    assert cid
    stored = query(live, "file_index", "SELECT count(*) FROM file_relevance_scores"
                   " WHERE context_id = ?", cid[0][0])
    assert stored[0][0] > 0
    _doctor(live)


def test_feedback_on_a_branch_no_event_has_seen_makes_its_context(live: Path) -> None:
    wait_idle(live)
    git(live, "branch", "-m", "main", "renamed")
    r = run_git_aircher(live, "feedback", "README.md", "--useful", "1")
    assert r.code == 0, r.err
    cid = query(live, "knowledge", "SELECT id FROM contexts WHERE name = 'renamed'")
    assert cid
    access = query(live, "file_index", "SELECT context_id FROM file_access_patterns")
    assert access == [(cid[0][0],)]
    _doctor(live)


def _remove_half_way(wt: Path) -> None:
    # `git worktree remove` deletes the folder's files first: `.git` is gone, the folder not
    # yet. Applying a record then fails inside git, as it did in the walk.
    (wt / ".git").unlink()


@pytest.mark.parametrize("remove", [_remove_half_way, shutil.rmtree],
                         ids=["while-applied", "before"])
def test_record_of_a_removed_worktree_marks_it_stale_and_fails_nothing(
        live: Path, tmp_path: Path, remove: Callable[[Path], None]) -> None:
    wt = tmp_path / "wt"
    git(live, "worktree", "add", "-q", "-b", "side", str(wt))
    wait_idle(live)
    _record(wt)
    remove(wt)
    with open_project(live) as project:
        assert drain(project).applied == 1
    assert failures(live) == ""
    assert not [p for p in (store(live) / "journal").rglob("*.ev")]
    status = query(live, "knowledge", "SELECT status FROM worktrees WHERE worktree_path = ?",
                   str(wt.resolve()))
    assert status == [("stale",)]


def test_follow_ups_of_a_worktree_removed_meanwhile_are_left_quietly(live: Path,
                                                                      tmp_path: Path) -> None:
    wt = tmp_path / "wt"
    git(live, "worktree", "add", "-q", "-b", "side", str(wt))
    commit(wt, {"side.txt": "s\n"}, "side")
    wait_idle(live)
    with open_project(wt) as project:
        git(live, "worktree", "remove", "--force", str(wt))
        heavy(project, follow_ups())
    assert failures(live) == ""
    assert "its follow-ups are left" in (store(live) / "logs" / "storage.log").read_text()


def test_a_sync_that_applies_a_workers_records_leaves_search_current(live: Path,
                                                                     tmp_path: Path) -> None:
    """The sync took a commit's record first, and the worker it belonged to had already made
    its last pass (found by the walk, seed 130 --serve): the sync brings search level itself,
    in every worktree whose records it applied, not only its own."""
    other = tmp_path / "other"
    git(live, "worktree", "add", "-q", "-b", "side", str(other))
    wait_idle(live)
    (live / "kettle.py").write_text("def brew():\n    return 'zebrafish tea'\n")
    git(live, "add", "kettle.py")
    subprocess.run(["git", "commit", "-q", "-m", "kettle"], cwd=live, check=True,
                   env={**os.environ, "AIRCHER_SKIP": "1"})  # no worker for it
    _record(live)
    r = run_git_aircher(other, "sync")  # in the other worktree: it applies main's record
    assert r.code == 0, r.err
    blob = git(live, "rev-parse", "HEAD:kettle.py").strip()
    assert ("kettle.py", blob) in set(query(live, "file_index",
                                            "SELECT path, blob FROM search_docs"))


def test_a_view_moved_during_the_follow_ups_gets_another_pass(
        live: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Records another process applied while the worker's follow-ups ran (a second worker,
    which gave way to this one; a `sync` that also parsed what they queued) leave nothing in
    the journal or the parsing queue, yet search ran on the views as they were before: the
    worker must look again (the walk, seed 130 --serve)."""
    from gitext.sync import worker
    from gitext.sync.api import catch_up

    other = tmp_path / "other"
    git(live, "worktree", "add", "-q", "-b", "side", str(other))
    wait_idle(live)
    moved: list[bool] = []

    def commit_elsewhere(p: object) -> None:
        if moved:
            return
        (other / "heron.py").write_text("def heron_nest_survey():\n    return 'reeds'\n")
        git(other, "add", "heron.py")
        subprocess.run(["git", "commit", "-q", "-m", "heron"], cwd=other, check=True,
                       env={**os.environ, "AIRCHER_SKIP": "1"})
        with open_project(other) as there:
            catch_up(there)  # applied and parsed by someone else, after search ran
        moved.append(True)

    real = worker.follow_ups
    monkeypatch.setattr(worker, "follow_ups", lambda: [*real(), ("elsewhere", commit_elsewhere)])
    # The pass runs here, in pytest's own process: not in the idle class, which it could not
    # leave again.
    monkeypatch.setattr(worker, "idle_priority", lambda: None)
    with open_project(live) as project:
        worker.run_worker(project)
    assert moved
    blob = git(other, "rev-parse", "HEAD:heron.py").strip()
    assert ("heron.py", blob) in set(query(live, "file_index",
                                           "SELECT path, blob FROM search_docs"))
