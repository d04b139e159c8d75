"""A query after a far checkout or during a large first index: it waits for the worker only
when that buys a whole answer, and says when its answer may miss files (QA round 10a: 02, 04)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import gitext.sync.local
import gitext.sync.slots
from gitext.search import hybrid
from gitext.search.query_index import BUILDING
from tests.conftest import commit, git, open_project


@pytest.fixture
def no_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRCHER_SKIP", "1")  # checkouts the worker has not indexed yet


def _search(repo: Path, query: str) -> tuple[list[str], list[str]]:
    notes: list[str] = []
    with open_project(repo) as project:
        hits = hybrid.search(project, query, top=5, mode="text", notes=notes)
    return [h.path for h in hits], notes


def test_back_on_a_branch_indexed_before_the_answer_waits_for_nothing(
        empty_repo: Path, aircher: Any, no_hooks: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every version the checkout brought is in the index already: the query used to wait for
    the worker's pass all the same (5-16 s after a far checkout on git.git)."""
    commit(empty_repo, {"main.py": "def mainline():\n    return 'heron'\n"}, "main")
    git(empty_repo, "switch", "-q", "-c", "side")
    commit(empty_repo, {"side.py": "def sideline():\n    return 'egret'\n"}, "side")
    assert aircher(empty_repo, "init").code == 0
    assert aircher(empty_repo, "index").code == 0
    git(empty_repo, "switch", "-q", "main")
    assert aircher(empty_repo, "index").code == 0  # main indexed; side's versions set aside
    git(empty_repo, "switch", "-q", "side")

    real = gitext.sync.slots.worker_lock

    @contextmanager
    def no_waiting(project: Any, *, name: str = "worker", **kwargs: Any) -> Iterator[bool]:
        # The catch-up to the new HEAD takes the journal's slot, free here at once; the
        # worker's pass is the heavy slot's.
        if name == "heavy":
            raise AssertionError("the query waited for the worker's slot")
        with real(project, name=name, **kwargs) as mine:
            yield mine

    monkeypatch.setattr(gitext.sync.slots, "worker_lock", no_waiting)
    assert _search(empty_repo, "egret") == (["side.py"], [])


def test_an_answer_missing_a_far_checkout_s_files_says_so(
        empty_repo: Path, aircher: Any, no_hooks: None, monkeypatch: pytest.MonkeyPatch) -> None:
    commit(empty_repo, {"main.py": "def mainline():\n    return 'heron'\n"}, "main")
    assert aircher(empty_repo, "init").code == 0
    assert aircher(empty_repo, "index").code == 0
    git(empty_repo, "switch", "-q", "-c", "far")
    commit(empty_repo, {f"far{i}.py": f"def far{i}():\n    return 'ibis'\n" for i in range(4)},
           "far")
    monkeypatch.setattr(gitext.sync.local, "MAX_LOCAL_FILES", 2)  # more than a query's share
    paths, notes = _search(empty_repo, "heron")
    assert paths == ["main.py"] and notes == [BUILDING]


def test_an_answer_during_a_large_first_index_says_so(
        empty_repo: Path, aircher: Any, no_hooks: None, monkeypatch: pytest.MonkeyPatch) -> None:
    commit(empty_repo, {f"m{i}.py": f"def m{i}():\n    return 'stork'\n" for i in range(4)},
           "many")
    assert aircher(empty_repo, "init").code == 0  # no worker: the first index never ran
    monkeypatch.setattr(gitext.sync.local, "MAX_LOCAL_FILES", 2)
    _paths, notes = _search(empty_repo, "stork")
    assert notes == [BUILDING]
