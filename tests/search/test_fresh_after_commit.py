"""A query answers for HEAD as it is: a commit the hooks never saw (an IDE's own git library,
`AIRCHER_SKIP`, a worker killed before it applied the record) or that the worker has not
indexed yet is in the answer, without an event or `git aircher sync` first."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitext.sync import local
from tests.conftest import VENV_BIN, commit, run_git_aircher
from tests.sync.helpers import store, wait_idle


def _paths(repo: Path, command: str, *args: str) -> list[str]:
    r = run_git_aircher(repo, command, "--json", *args)
    assert r.code == 0, r.err
    return [h["path"] for h in json.loads(r.out)]


def test_a_commit_no_hook_saw_is_searched_and_ranked(live: Path) -> None:
    commit(live, {"src/base.py": "def base():\n    return 1\n"}, "base")
    wait_idle(live)
    os.environ["AIRCHER_SKIP"] = "1"  # as if an IDE's git library made the commit
    try:
        commit(live, {"src/okapi.py": "def okapi_migration_route():\n    return 'okapi'\n"},
               "okapi without hooks")
    finally:
        del os.environ["AIRCHER_SKIP"]
    assert _paths(live, "search", "--mode", "text", "--", "okapi migration")[:1] == \
        ["src/okapi.py"]
    assert "src/okapi.py" in _paths(live, "relevant", "--top", "3")
    wait_idle(live)
    assert run_git_aircher(live, "doctor", "--quick").code == 0  # and the store is level


def _search_while_heavy_is_held(repo: Path, meanwhile: Callable[[], object],
                                words: str) -> list[str]:
    """Hold the worker's heavy slot, do `meanwhile`, start a search: it must still be waiting
    half a second later; then free the slot and return what it found."""
    with (store(repo) / "run" / "heavy.lock").open("a") as slot:
        fcntl.flock(slot, fcntl.LOCK_EX)  # the worker's heavy pass, busy elsewhere
        meanwhile()
        search = subprocess.Popen(
            [str(VENV_BIN / "git-aircher"), "search", "--json", "--mode", "text", "--", words],
            cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        assert search.poll() is None, "the search answered without waiting for the index"
        fcntl.flock(slot, fcntl.LOCK_UN)
    out, err = search.communicate(timeout=60)
    assert search.returncode == 0, err
    return [h["path"] for h in json.loads(out)]


def test_search_right_after_a_commit_waits_for_its_indexing(live: Path) -> None:
    """The worker applies a commit's record at once but indexes it a moment later, in its heavy
    slot; a search in between waits for that slot, and indexes the commit itself when the
    worker left it undone."""
    commit(live, {"src/base.py": "def base():\n    return 1\n"}, "base")
    wait_idle(live)

    def narwhal_committed_and_applied() -> None:
        commit(live, {"src/narwhal.py": "def narwhal_tusk_length():\n    return 3\n"},
               "narwhal")
        deadline = time.monotonic() + 60
        while list((store(live) / "journal").glob("*.ev")):  # the record is applied meanwhile
            assert time.monotonic() < deadline
            time.sleep(0.05)

    found = _search_while_heavy_is_held(live, narwhal_committed_and_applied, "narwhal tusk")
    assert found[:1] == ["src/narwhal.py"]


def test_the_first_commit_of_a_new_repository_is_searched_at_once(empty_repo: Path) -> None:
    """Nothing was ever indexed here (`init` before any commit): a search right after the first
    commit waits for the worker's first, small index instead of answering from nothing."""
    assert run_git_aircher(empty_repo, "init").code == 0
    found = _search_while_heavy_is_held(
        empty_repo,
        lambda: commit(empty_repo, {"src/ibex.py": "def ibex_horn_ridges():\n    return 4\n"},
                       "ibex"),
        "ibex horn")
    assert found[:1] == ["src/ibex.py"]


def _interrupted_first_index(repo: Path, aircher: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store whose files are recorded and whose first search index never finished, as `index`
    stopped or the worker killed in its first pass leave it: `init` with no worker started."""
    files: dict[str, str | bytes] = {f"src/m{i}.py": f"def m{i}():\n    return {i}\n"
                                     for i in range(3)}
    commit(repo, {**files, "src/tapir.py": "def tapir_snout_reach():\n    return 5\n"}, "many")
    monkeypatch.setenv("AIRCHER_SKIP", "1")
    assert aircher(repo, "init").code == 0
    monkeypatch.delenv("AIRCHER_SKIP")
    assert not list((store(repo) / "run").glob("indexed-*"))


def test_an_interrupted_first_index_is_finished_by_a_worker_the_query_starts(
        repo: Path, aircher: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over 1,000 files a query does not index them all itself, and left them to a worker that
    was never started again: every search answered from the empty index, and doctor said
    healthy (QA round 3: 02). Here the threshold is lowered to stand for such a repository."""
    _interrupted_first_index(repo, aircher, monkeypatch)
    monkeypatch.setattr(local, "MAX_LOCAL_FILES", 2)
    doctor = aircher(repo, "doctor")
    assert doctor.code == 1
    assert "search_incomplete" in doctor.out and "full index is unfinished" in doctor.out
    aircher(repo, "search", "--mode", "text", "--", "tapir snout")  # answers at once; starts one
    wait_idle(repo)
    r = aircher(repo, "search", "--json", "--mode", "text", "--", "tapir snout")
    assert [h["path"] for h in json.loads(r.out)][:1] == ["src/tapir.py"]
    assert aircher(repo, "doctor").code == 0


def test_doctor_counts_as_a_query_does_and_sees_a_foreground_index(
        repo: Path, aircher: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """QA round 5: a query's limit counts each file twice with embeddings on (its text and its
    vectors), while doctor counted files once, so between half the limit and the limit doctor
    said a query would finish the index and no query did (03); and `git aircher index`
    running in the foreground holds the heavy slot without being the worker `run/active`
    names, and doctor said no one was at it (02)."""
    from gitext.sync.slots import worker_lock
    from tests.conftest import open_project

    _interrupted_first_index(repo, aircher, monkeypatch)
    files = 4  # src/m0..m2.py and src/tapir.py, none with text yet
    monkeypatch.setattr(local, "MAX_LOCAL_FILES", files)  # once: within; twice: beyond
    doctor = aircher(repo, "doctor")
    assert doctor.code == 1 and "search_incomplete" in doctor.out, doctor.out
    project = open_project(repo)
    try:
        with worker_lock(project, wait=True, name="heavy"):
            doctor = aircher(repo, "doctor")
    finally:
        project.close()
    assert "search_incomplete" not in doctor.out, doctor.out


def test_sync_finishes_an_interrupted_first_index(
        repo: Path, aircher: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _interrupted_first_index(repo, aircher, monkeypatch)
    monkeypatch.setenv("AIRCHER_SKIP", "1")  # `sync` alone, no worker
    assert aircher(repo, "sync").code == 0
    assert list((store(repo) / "run").glob("indexed-*"))
