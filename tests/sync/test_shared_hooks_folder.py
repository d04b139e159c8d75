"""One hooks folder serving several repositories (`core.hooksPath` in ~/.gitconfig): each
repository's events reach its own store, and a repository without a store stays unrecorded."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import commit, git, run_git_aircher
from tests.sync.helpers import failures, query, store, wait_idle


def _paths(repo: Path) -> set[str]:
    return {str(r[0]) for r in query(repo, "file_index", "SELECT path FROM files")}


def _repo(tmp_path: Path, name: str, shared: Path) -> Path:
    repo = tmp_path / name
    repo.mkdir()
    git(repo, "init", "-q")
    # What a global core.hooksPath does, set per repository so the test's HOME stays clean.
    git(repo, "config", "core.hooksPath", str(shared))
    commit(repo, {f"{name}.py": f"NAME = '{name}'\n"}, f"{name} first")
    return repo


def test_records_of_another_repository_never_enter_this_store(tmp_path: Path) -> None:
    shared = tmp_path / "shared-hooks"
    a = _repo(tmp_path, "alpha", shared)
    b = _repo(tmp_path, "beta", shared)
    assert run_git_aircher(a, "init").code == 0
    wait_idle(a)
    assert "alpha" in (shared / "post-commit").read_text()  # the shims name alpha's journal

    commit(b, {"beta_secret.py": "TOKEN = 'beta only'\n"}, "beta second")
    wait_idle(a)
    assert _paths(a) == {"alpha.py"}
    assert not (b / ".agents").exists()  # beta never asked to be remembered
    assert list((store(a) / "journal").glob("*.ev")) == []

    # beta gets a store: the shared shims now name beta's journal, and alpha's records must
    # still reach alpha's store.
    assert run_git_aircher(b, "init").code == 0
    wait_idle(b)
    assert "beta" in (shared / "post-commit").read_text()
    commit(a, {"alpha_two.py": "X = 2\n"}, "alpha second")
    wait_idle(b)
    wait_idle(a)
    assert _paths(a) == {"alpha.py", "alpha_two.py"}
    assert "alpha_two.py" not in _paths(b)
    assert {"beta.py", "beta_secret.py"} <= _paths(b)
    assert failures(a) == "" and failures(b) == ""
    # Both are healthy: shims naming the other store's journal are current for a shared
    # folder, so doctor does not report them as outdated in the one that installed first
    # (QA round 8: 01; the hint, `hooks install`, only moved the warning to the other).
    for repo in (a, b):
        report = json.loads(run_git_aircher(repo, "doctor", "--json").out)
        assert [f for f in report["findings"] if f["check"] == "hooks_outdated"] == [], repo
    # The last to install with a "\r" in its path: the recorded journal was read cut there
    # (QA round 9: 04).
    odd = _repo(tmp_path, "ga\rmma", shared)
    assert run_git_aircher(odd, "init").code == 0
    assert _outdated(a) == [] and _outdated(b) == []


def _outdated(repo: Path) -> list[dict[str, object]]:
    report = json.loads(run_git_aircher(repo, "doctor", "--json").out)
    return [f for f in report["findings"] if f["check"] == "hooks_outdated"]


def test_shims_naming_a_dead_store_are_outdated(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Stores in a folder of stores: the repository that installed the shared shims last is
    deleted, its store stays, and its journal with it. The shims still name that journal, so
    the others' events went there and were never applied; doctor called the shims current,
    since that journal was there (QA round 9: 06). A store whose repository is gone is none to
    write into."""
    monkeypatch.setenv("AIRCHER_STORAGE_DATA_DIR", str(tmp_path / "stores"))
    shared = tmp_path / "shared-hooks"
    a = _repo(tmp_path, "alpha", shared)
    odd = _repo(tmp_path, "be\rta", shared)
    assert run_git_aircher(a, "init").code == 0
    assert run_git_aircher(odd, "init").code == 0
    assert _outdated(a) == []  # naming a live store's journal, "\r" and all
    shutil.rmtree(odd)
    found = _outdated(a)
    assert len(found) == 1 and "post-commit" in str(found[0]["message"]), found


def test_a_record_handed_on_never_replaces_one_of_its_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Shims name records by their shell's pid, so the store a record is handed on to may
    hold one of the same name, not yet applied: the hand-on moved it over that one, an event
    lost. It takes a name no record there has, as records moved within a journal do."""
    from gitext.project import Project
    from gitext.sync import journal
    from gitext.sync.routing import Router

    shared = tmp_path / "shared-hooks"
    a = _repo(tmp_path, "alpha", shared)
    b = _repo(tmp_path, "beta", shared)
    for repo in (a, b):
        assert run_git_aircher(repo, "init").code == 0
        wait_idle(repo)
    monkeypatch.setenv("AIRCHER_SKIP", "1")  # no worker takes the records while we look
    mine, theirs = store(a) / "journal", store(b) / "journal"
    name = "sh-4242-post-commit.ev"
    waiting = journal.append(mine, journal.Event("post-checkout", str(a), args=["x", "y", "1"]))
    waiting.rename(mine / name)
    stray = journal.append(theirs, journal.Event("post-commit", str(a)))
    stray.rename(theirs / name)
    [ev] = journal.pending(theirs)
    with Project.locate(b, Path(os.environ["AIRCHER_HOME"]), os.environ) as beta:
        assert Router(beta).keep(ev) is False
    assert sorted(e.hook for e in journal.pending(mine)) == ["post-checkout", "post-commit"]
    assert journal.pending(theirs) == []
