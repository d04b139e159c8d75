"""Applying the journal: every complete record, oldest first, each worktree's in git's order.

Records of a rebase or cherry-pick under way are set aside until it ends; a record that meets a
busy database stays, with every later one of its worktree, for the next try.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from gitext.errors import StoreBusyError
from gitext.folders import store_folder, store_there
from gitext.project import Project
from gitext.resources import code_fingerprint
from gitext.sync import journal
from gitext.sync.events import (
    apply_event,
    reconcile_from_main,
    sequence_under_way,
    worktree_gone,
)
from gitext.sync.logbook import log
from gitext.sync.routing import Router

# post-applypatch: `git rebase --apply` replays each commit through `git am`.
DEFERRABLE = ("post-applypatch", "post-commit", "post-checkout")


def _busy(ev: journal.Event) -> bool:
    """Whether the record is one of a rebase's or cherry-pick's under way in its worktree.

    A shim marks each record it writes during a rebase (`seq`), so one without the mark was
    written before the rebase began; a cherry-pick makes no checkout, and its shims mark
    nothing, so its post-commits are told by the state alone. Before, any record found during
    a sequence waited for its end: `git checkout -b work; git cherry-pick A B` (stopped on a
    conflict) or `git checkout -b work; git rebase -i` (stopped at an `edit`) run in a row,
    and a worker that got to the checkout after the sequence began left the worktree on the
    branch it had left until the sequence ended, while a quicker worker recorded the switch at
    once (QA round 24d: 03)."""
    root = Path(ev.cwd)
    if not root.is_dir():
        return False
    under_way = sequence_under_way(root)
    if under_way is None:
        return False
    return bool(ev.sequence) or (under_way == "cherry-pick" and ev.hook == "post-commit")


def store_away(project: Project) -> bool:
    """The store is not there any more: a store linked to another disk whose link `git clean
    -fdx` or `git stash --all` took while this process ran. Anything written now would make a
    new store where the link was (every folder made with its parents), which `git stash pop`
    then refuses to replace and the next command would take for the store. Nothing is lost by
    stopping: git keeps the facts, and the next event once the link is back catches up."""
    return not store_there(project.layout.root)


@dataclass
class Drained:
    """What a drain did: records applied, and those a busy database held back."""

    applied: int = 0
    # Records left where they are (the journal, `deferred/`) because a database was busy:
    # the one that met it and every later record of its worktree, so that they still apply
    # in git's order.
    waiting: set[Path] = field(default_factory=set)
    busy: StoreBusyError | None = None  # the first such error
    stuck: set[str] = field(default_factory=set)  # their worktrees (the records' `cwd`)

    def wait(self, ev: journal.Event) -> None:
        self.stuck.add(ev.cwd)
        if ev.path is not None:
            self.waiting.add(ev.path)


def drain(project: Project) -> Drained:
    """Apply every complete journal record, oldest first.

    Mid-rebase or cherry-pick, post-commit and post-checkout records are set aside
    (`journal/deferred/`) and applied once the sequence has ended. They are older than anything
    still in the journal, so they go first, and a worktree with records set aside keeps its
    later ones behind them: each worktree's records apply in the order git wrote them. A
    rebase's post-rewrite ends its sequence (git may not have cleaned up its state yet).
    A record that meets a busy database stays, and so does every later one of its worktree
    (`Drained.waiting`), for the next try.
    """
    jdir = project.layout.journal
    deferred = jdir / "deferred"
    result = Drained()
    held = _release(project, deferred, result)
    router = Router(project)
    for ev in journal.pending(jdir):
        if not router.keep(ev):  # another repository's, through a shared hooks folder
            continue
        if ev.cwd in result.stuck:
            result.wait(ev)
            continue
        if ev.hook == "post-rewrite" and ev.args[:1] == ["rebase"] and ev.cwd in held:
            _release(project, deferred, result, ending=ev.cwd)
            held.discard(ev.cwd)
            if ev.cwd in result.stuck:
                result.wait(ev)
                continue
        elif ev.cwd in held or (ev.hook in DEFERRABLE and _busy(ev)):
            store_folder(project.layout.root, deferred)
            if ev.path is not None:
                try:
                    journal.move_into(ev.path, deferred)
                except FileNotFoundError:
                    continue  # a drainer outside the worker's slot took it
            held.add(ev.cwd)
            continue
        if store_away(project):
            break
        _apply_counted(project, ev, result)
    if held:  # a sequence that ended while this pass ran
        _release(project, deferred, result)
    return result


def _release(project: Project, deferred: Path, result: Drained,
             ending: str | None = None) -> set[str]:
    """Apply the records set aside whose sequence has ended (all of worktree `ending`'s, whose
    post-rewrite is next), counted in `result`; returns the worktrees still held."""
    held: set[str] = set()
    for ev in journal.pending(deferred):
        if ending is not None and ev.cwd != ending:
            continue
        if ev.cwd in result.stuck:
            result.wait(ev)
            continue
        if ev.cwd in held or (ending is None and _busy(ev)):
            held.add(ev.cwd)
            continue
        _apply_counted(project, ev, result)
    return held


def _apply_counted(project: Project, ev: journal.Event, result: Drained) -> None:
    busy = _apply_logged(project, ev)
    if busy is None:
        result.applied += 1
        return
    result.wait(ev)
    result.busy = result.busy or busy


RETRY_AFTER = 0.2  # seconds before the one more try a record gets after a failure


def _apply_logged(project: Project, ev: journal.Event) -> StoreBusyError | None:
    """Apply one record and take it out of the journal (or set it aside if it fails twice);
    a database another process holds locked leaves it where it is, and is returned."""
    for attempt in (1, 2):
        try:
            apply_event(project, ev)
        except StoreBusyError as exc:
            # Not a failure of the record: nothing was written, and it applies once the lock
            # is gone (busy_timeout has already waited). Set aside, its later records applied
            # without it, a branch switch was lost, or recorded after the switches git made
            # later, when `sync` tried it again (QA round 22a: 01).
            return exc
        except Exception as exc:
            if worktree_gone(project, Path(ev.cwd)):
                # Its worktree was removed while we applied it (`rm -r` of a linked worktree):
                # what applies to a gone worktree is only that it is gone, as for a record
                # found late.
                log(project.layout.logs, "storage", f"{ev.hook} in {ev.cwd}: the worktree was"
                    " removed meanwhile")
                with contextlib.suppress(Exception):
                    reconcile_from_main(project)
                journal.done(ev)
                return None
            if attempt == 1:
                # One more try first: a failure may pass (a git child killed, as the random
                # walk's SIGKILLs did to one between its fork and exec; a lock held a moment
                # too long). Applying a record again is safe: a worker killed mid-record
                # leaves it to the next.
                time.sleep(RETRY_AFTER)
                continue
            # The record is set aside, not retried forever; git still has the facts and the
            # next event's catch-up (or `git aircher sync`) brings the store level again.
            log(project.layout.logs, "storage", f"failed to apply {ev.hook} in {ev.cwd}", exc)
            if ev.path is not None:
                with contextlib.suppress(OSError):
                    journal.set_aside(ev.path, code_fingerprint())
            return None
        journal.done(ev)
        return None
    return None


def drain_all(project: Project) -> Drained:
    total = Drained()
    while True:
        one = drain(project)
        total.applied += one.applied
        total.waiting, total.stuck = one.waiting, one.stuck
        total.busy = total.busy or one.busy
        if one.applied == 0:
            return total
