"""A repository `rm -rf`'d while its background worker runs stays deleted."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from gitext.lifecycle.backup import create_backup
from gitext.lifecycle.exposure import mend
from gitext.lifecycle.logs import get_logger
from gitext.lifecycle.runstate import state_path, try_lock, updating
from gitext.sync import journal
from gitext.sync.logbook import log
from gitext.sync.slots import worker_lock
from tests.conftest import open_project, run_git_aircher

STORE_PARTS = ("db", "logs", "run", "content", "journal")

# Where `rm -rf` may have got to when a step of the worker makes its next write: it takes the
# entries of a folder in the order the file system lists them, so the repository's `.git` may
# go before its store or after it.
GONE: dict[str, Callable[[Path], list[Path]]] = {
    "the repository": lambda repo: [repo],
    "its .git (the store next)": lambda repo: [repo / ".git"],
    "its store (.git next)": lambda repo: [repo / ".agents"],
    "half its store": lambda repo: [repo / ".agents" / p for p in STORE_PARTS],
}


@pytest.mark.parametrize("where", GONE)
def test_a_step_under_way_when_the_repository_goes_makes_none_of_it_again(
        repo: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """A worker (or its maintenance step) still running when its repository was `rm -rf`'d
    wrote into the deleted path again: a log line, `run/lifecycle.json` and its lock, `mend()`'s
    exclude lines and shields made their folders with their parents, so `rm` failed ("Directory
    not empty") or the folder was back afterwards, and `git clone` to that name refused it. Now
    each write makes a folder only below one that is there, and in the store only while it is
    there: the steps give up, and what went stays gone (QA round 22c: 03)."""
    monkeypatch.setenv("AIRCHER_SKIP", "1")  # no worker of init's: this test is the worker
    assert run_git_aircher(repo, "init").code == 0
    project = open_project(repo)  # the worker's, opened before the folder goes
    layout = project.layout
    _ = project.repo.info, project.config  # what it had read by then
    gone = GONE[where](repo)
    for path in gone:
        shutil.rmtree(path)

    def lifecycle_state() -> None:
        with updating(state_path(layout, "lifecycle.json")) as state:
            state["last_run"] = {"daily": 1.0}

    def lifecycle_lock() -> None:
        with try_lock(layout.run / "lifecycle.lock"):
            pass

    def slot() -> None:
        with worker_lock(project, wait=False):
            pass

    steps: list[Callable[[], object]] = [
        lambda: log(layout.logs, "storage", "a follow-up failed"),
        lambda: get_logger(layout, "storage").error("a scheduled job failed"),
        lifecycle_state,
        lifecycle_lock,
        slot,
        lambda: mend(project),
        lambda: journal.append(layout.journal, journal.Event("post-commit", str(repo))),
        lambda: create_backup(project),
    ]
    for step in steps:
        # Giving up is all a step may do: the worker takes an OSError for "nothing to do".
        with contextlib.suppress(OSError, Exception):
            step()
    if repo.is_dir():  # and the worker itself, as a hook starts it
        run_git_aircher(repo, "hook", "run")
    back = [str(p.relative_to(repo.parent)) for p in gone if p.exists()]
    assert back == [], f"made again: {back}"
    project.close()
