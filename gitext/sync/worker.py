"""The one background worker per project: drains the journal, then does the heavy follow-ups.

A lock file keeps it single. A hook that finds the lock taken just leaves its record: the worker
holding the lock looks at the journal again before it lets go, and once more after.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable
from pathlib import Path

from gitext.project import Project
from gitext.sync import journal
from gitext.sync.events import apply_event, in_sequence
from gitext.sync.logbook import log


def drain(project: Project) -> int:
    """Apply every complete journal record, oldest first; returns how many were applied."""
    jdir = project.layout.journal
    deferred = jdir / "deferred"
    applied = 0
    for ev in journal.pending(jdir):
        root = Path(ev.cwd)
        if ev.hook in ("post-commit", "post-checkout") and root.is_dir() and in_sequence(root):
            # Mid-rebase or cherry-pick: post-rewrite (or the next event) does it all at once.
            deferred.mkdir(exist_ok=True)
            if ev.path is not None:
                os.replace(ev.path, deferred / ev.path.name)
            continue
        _apply_logged(project, ev)
        applied += 1
    for ev in journal.pending(deferred):
        root = Path(ev.cwd)
        if root.is_dir() and in_sequence(root):
            continue
        _apply_logged(project, ev)
        applied += 1
    return applied


def _apply_logged(project: Project, ev: journal.Event) -> None:
    try:
        apply_event(project, ev)
    except Exception as exc:
        # The record is set aside, not retried forever; git still has the facts and the next
        # event's catch-up (or `git aircher sync`) brings the store level again.
        log(project.layout.logs, "storage", f"failed to apply {ev.hook} in {ev.cwd}", exc)
        if ev.path is not None:
            failed = ev.path.parent / "failed"
            failed.mkdir(exist_ok=True)
            with contextlib.suppress(OSError):
                os.replace(ev.path, failed / ev.path.name)
        return
    journal.done(ev)


FollowUp = Callable[[Project], object]


def follow_ups() -> list[tuple[str, FollowUp]]:
    """Heavy work after the journal is drained, each step optional until its part is installed."""
    steps: list[tuple[str, FollowUp]] = []
    try:
        from gitext.search.indexer import update as search_update

        steps.append(("search", lambda p: search_update(p)))
    except ImportError:
        pass
    try:
        from gitext.relevance import refresh as relevance_refresh

        steps.append(("relevance", relevance_refresh))
    except ImportError:
        pass
    try:
        from gitext.insights.insights import refresh as insights_refresh

        steps.append(("insights", insights_refresh))
    except ImportError:
        pass
    try:
        from gitext.lifecycle.schedule import run_due

        steps.append(("lifecycle", lambda p: run_due(p)))
    except ImportError:
        pass
    return steps


def run_worker(project: Project, *, heavy: bool = True) -> int:
    """Drain until the journal is empty; returns the number of events applied."""
    lock_path = project.layout.run / "worker.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    total = 0
    while True:
        with lock_path.open("a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return total  # the running worker will see our record
            fh.truncate(0)
            fh.write(str(os.getpid()))
            fh.flush()
            while True:
                n = drain(project)
                total += n
                if n == 0:
                    break
            if heavy:
                for name, step in follow_ups():
                    try:
                        step(project)
                    except Exception as exc:
                        log(project.layout.logs, "storage", f"{name} follow-up failed", exc)
            fcntl.flock(fh, fcntl.LOCK_UN)
        if not journal.pending(project.layout.journal):
            return total
