"""The one background worker per project: drains the journal, then does the heavy follow-ups.

A lock file keeps it single. A hook that finds the lock taken just leaves its record: the worker
holding the lock looks at the journal again before it lets go, and once more after.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from gitext.folders import store_folder
from gitext.project import Project
from gitext.resources import code_fingerprint
from gitext.sync import journal, slots
from gitext.sync.drain import Drained, drain_all, store_away
from gitext.sync.followups import analyse_pending, follow_ups, heavy, idle_priority
from gitext.sync.logbook import log

# Why a worker left before the journal was empty: another process held its slots, or the store
# was gone or held (a restore, a repair).
GaveWay = Literal["slots", "store"] | None


def _pending_analysis(project: Project) -> bool:
    with project.db("file_index").read() as conn:
        return conn.execute("SELECT 1 FROM analysis_pending LIMIT 1").fetchone() is not None


# A record held back by a busy database (another process holding its write lock: a sqlite3
# shell, a backup tool, a long write) is tried again after a pause, for a while; past that it
# stays in the journal for the next event's worker, a query's or `sync`'s catch-up.
BUSY_PAUSE = 1.0
BUSY_PATIENCE = 60.0


class _Patience:
    """How long this worker keeps coming back to records a busy database held back: counted
    from the first it met, once for the worker's whole run."""

    def __init__(self) -> None:
        self.until: float | None = None

    def left(self) -> bool:
        now = time.monotonic()
        if self.until is None:
            self.until = now + BUSY_PATIENCE
        return now < self.until


def run_worker(project: Project, *, with_follow_ups: bool = True) -> int:
    """Apply the journal, then (if no other process is at it) the heavy work; returns events
    applied. Loops until nothing is left that this process could do.

    While it runs, `run/active` holds its pid (and, where /proc has it, its start time: see
    `marker`): hook shims then add their record without starting another worker. The shim that
    started it wrote the marker already; a marker naming another worker still at work is left
    to that one (`take_marker`). The marker goes before the last look at the journal, so a
    record written after that look finds no marker and starts a worker of its own. That holds
    for a worker that gave way too: the holder of the slots looks at the journal once it lets
    go, and when both are free by the time our marker is gone, it may have looked already, so
    we look ourselves.
    """
    from gitext.lifecycle import querylog

    querylog.BACKGROUND = True
    active = project.layout.run / "active"
    total = 0
    patience = _Patience()
    while True:
        if store_away(project):
            return total
        store_folder(project.layout.root, active.parent)
        slots.take_marker(active.parent)
        try:
            applied, gave_way, left = _passes(project, with_follow_ups, patience)
            total += applied
        finally:
            with contextlib.suppress(FileNotFoundError):
                if active.read_text().split("\n", 1)[0] == str(os.getpid()):
                    active.unlink()
        # Records a busy database held back past our patience are the next worker's.
        if gave_way == "store" or not _news(project, left):
            return total
        # Gave way to another process that holds a slot: it makes this same last check
        # itself once it lets go. Before, the records a shim left to our marker between that
        # holder's last look and our leaving waited for the next event.
        if gave_way == "slots" and not (slots.slot_free(project, "worker")
                                        and slots.slot_free(project, "heavy")):
            return total


def _news(project: Project, left: set[Path]) -> bool:
    """Whether the journal holds a record other than those this worker left to the next."""
    return any(ev.path not in left for ev in journal.pending(project.layout.journal))


def _passes(project: Project, with_follow_ups: bool,
            patience: _Patience) -> tuple[int, GaveWay, set[Path]]:
    """(events applied, whether we gave way: "slots" to a worker that holds them, "store" to a
    store gone or held by a restore or repair; records left in the journal for a busy
    database)."""
    from gitext.lifecycle.runstate import store_shared

    total = 0
    while True:
        if store_away(project):
            return total, "store", set()
        moved = False
        drained = Drained()
        with store_shared(project.layout) as free:
            if not free:
                # a restore or repair holds the store: records wait for it
                return total, "store", set()
            took = False
            with slots.worker_lock(project, wait=False) as mine:
                if mine:
                    took = True
                    if journal.failed(project.layout.journal):
                        journal.retry_others(project.layout.journal, code_fingerprint())
                    drained = drain_all(project)
                    total += drained.applied
                    if drained.busy is None:
                        _read_deferred(project)
            # While records wait for a database to be free, the follow-ups would only meet it
            # busy too; they run once those records are applied or left.
            again = drained.busy is not None and patience.left()
            if not again:
                with slots.worker_lock(project, wait=False, name="heavy") as mine:
                    if mine:
                        if with_follow_ups:
                            idle_priority()
                        before = _views(project)
                        heavy(project, follow_ups() if with_follow_ups else [])
                        # A view that moved while the follow-ups ran (records another process
                        # applied, a query's look) was searched and scored as it was before:
                        # the worker that applied them gave way to us, and a `sync` or query
                        # may have parsed what they queued, so nothing else says another pass
                        # is due.
                        moved = with_follow_ups and _views(project) != before
        if again:
            time.sleep(BUSY_PAUSE)  # out of both slots: a `sync` or query may apply them
            continue
        if drained.busy is not None:
            log(project.layout.logs, "storage",
                f"{len(drained.waiting)} records of {', '.join(sorted(drained.stuck))} left in"
                f" the journal for the next event, query or sync: {drained.busy.message}")
        # Records that arrived while we worked, or files they queued, are ours to take too:
        # the worker that found our locks taken has already left.
        if not _news(project, drained.waiting) and not _pending_analysis(project) \
                and not moved:
            return total, None, drained.waiting
        if not (slots.slot_free(project, "worker") or slots.slot_free(project, "heavy")):
            return total, "slots", drained.waiting
        if not took and not moved and not _pending_analysis(project) \
                and not _slot_comes_free(project):
            # Only records are left, and the journal's slot has been another's all along: its
            # holder applies them and looks again itself. Going round meanwhile ran the
            # follow-ups again and again, for as long as that holder kept the slot.
            return total, "slots", drained.waiting


SLOT_PATIENCE = 60.0  # seconds a worker waits for the journal's slot before it leaves


def _slot_comes_free(project: Project) -> bool:
    deadline = time.monotonic() + SLOT_PATIENCE
    while not slots.slot_free(project, "worker"):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
    return True


def _read_deferred(project: Project) -> None:
    """History a query left to the worker (`gitext.sync.later`)."""
    from gitext.sync import later

    if later.pending(project):
        from gitext.sync.engine import read_deferred

        read_deferred(project)


def _views(project: Project) -> set[tuple[str, int | None]]:
    """Every worktree's view as of now (`sync_state.view_token`, new at each sync)."""
    with project.db("file_index").read() as conn:
        return {(str(r[0]), r[1]) for r in conn.execute(
            "SELECT worktree_path, view_token FROM sync_state")}


def ensure_fresh(project: Project, then: Callable[[], object] | None = None) -> None:
    """What a query needs before it reads: every event applied and every file analysed; then,
    still in the heavy slot, `then` (the index command's search and relevance update).

    Waits for running workers rather than racing them; search and relevance bring themselves
    up to date where they are called. The follow-up runs in the slot because it writes vector
    segments: outside it, a worker's compaction could drop a segment it is writing.
    """
    with slots.journal_slot(project, patient=True):
        busy = drain_all(project).busy
    if busy is not None:
        raise busy  # the records wait in the journal, in order
    with slots.worker_lock(project, wait=True, name="heavy"):
        analyse_pending(project)
        if then is not None:
            then()
