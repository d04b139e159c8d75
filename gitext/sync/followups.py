"""The heavy work after the journal is drained: parsing what is queued, then the follow-ups
(hook shims, search, relevance, insights, size, the maintenance schedule), each logged rather
than raised."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path

from gitext.errors import GitError
from gitext.lifecycle.exposure import mend
from gitext.lifecycle.schedule import LOOK_EVERY
from gitext.project import Project
from gitext.sync.drain import store_away
from gitext.sync.events import worktree_gone
from gitext.sync.logbook import log

FollowUp = Callable[[Project], object]

# Seconds between two runs of a follow-up: search and relevance follow every change, the
# cross-branch insights and the maintenance schedule need not run after each commit.
# The shims change only when the package does: a look every ten minutes finds an upgrade soon.
THROTTLE = {"insights": 300.0, "lifecycle": LOOK_EVERY, "hooks": 600.0}


def _due(project: Project, name: str) -> bool:
    interval = THROTTLE.get(name, 0.0)
    if interval <= 0:
        return True
    stamp = project.layout.follow_up_stamp(name)
    try:
        # A stamp further ahead than that was touched while the clock was ahead, since put
        # right: it must not hold the follow-up (the maintenance schedule among them) back
        # until the clock catches up.
        if abs(time.time() - stamp.stat().st_mtime) < interval:
            return False
    except FileNotFoundError:
        pass
    stamp.touch()
    return True


def follow_ups() -> list[tuple[str, FollowUp]]:
    """Heavy work after the journal is drained. Imported here, not at the top: the worker
    that only applies a commit's record must not pay for scikit-learn."""
    from gitext.insights.insights import refresh as insights_refresh
    from gitext.lifecycle.limits import check_size
    from gitext.lifecycle.schedule import run_due
    from gitext.relevance import refresh as relevance_refresh
    from gitext.search.indexer import update as search_update
    from gitext.search.indexer import update_if_behind
    from gitext.sync.elsewhere import each_other

    def search(p: Project) -> None:
        search_update(p)
        each_other(p, "search", update_if_behind)

    def relevance(p: Project) -> None:
        relevance_refresh(p)
        each_other(p, "relevance", lambda other, _head: relevance_refresh(other))

    return [
        ("hooks", lambda p: _upgrade_shims(p)),
        # Unthrottled: a worktree's hooks folder that appeared (husky's, at `npm install`), or
        # shims `lefthook install` set aside, run nothing of ours until this look, and it costs
        # one git call per worktree and a few stats per folder.
        ("worktree hooks", lambda p: _cover_worktrees(p)),
        ("search", search),
        ("relevance", relevance),
        ("insights", insights_refresh),
        # After the writes of the pass, before the schedule, which then runs what it asks for;
        # a few stats, here rather than in the hooks, which must stay fast.
        ("size", check_size),
        ("lifecycle", lambda p: run_due(p)),
    ]


def _upgrade_shims(project: Project) -> None:
    from gitext.git.hookdir import HooksOff
    from gitext.hooks.upgrade import refresh_shims

    try:
        done = refresh_shims(project.repo.info.worktree_root).upgraded
    except HooksOff:
        return  # no hooks to keep current; doctor says so
    if done:
        log(project.layout.logs, "storage", "upgraded hook shims: " + ", ".join(done))


def _cover_worktrees(project: Project) -> None:
    from gitext.git.hookdir import HooksOff
    from gitext.hooks.upgrade import cover_worktrees, retake_from_lefthook

    root = project.repo.info.worktree_root
    try:
        done = cover_worktrees(root)
        retaken = retake_from_lefthook(root)
    except HooksOff:
        return
    if done:
        log(project.layout.logs, "storage", "installed hook shims in " + ", ".join(done))
    if retaken:
        log(project.layout.logs, "storage",
            "hook shims put back in front of lefthook's in " + ", ".join(retaken))


def analyse_pending(project: Project) -> int:
    """Relationships and snippets of every queued file, for every worktree that queued some."""
    from gitext.sync.derived import process_pending
    from gitext.sync.engine import project_ctx

    db = project.db("file_index")
    with db.read() as conn:
        roots = [r[0] for r in conn.execute("SELECT DISTINCT worktree_path FROM analysis_pending")]
    if not roots:
        return 0
    from gitext.records.docs_analysis import refresh_docs

    proj = project_ctx(project)

    def docs(changed: list[tuple[str, str, str]], removed: list[str]) -> None:
        refresh_docs(project, changed, removed=removed)

    done = 0
    for root in roots:
        if Path(root).is_dir():
            done += process_pending(db, proj.id, Path(root), docs=docs)
        else:  # a removed worktree: nothing left to analyse there
            with db.write() as conn:
                conn.execute("DELETE FROM analysis_pending WHERE worktree_path = ?", (root,))
    return done


def idle_priority() -> None:
    """Run only on a CPU nothing else wants (Linux `SCHED_IDLE`; a no-op elsewhere).

    The heavy follow-ups (parsing, search, relevance: seconds of CPU after a commit) at nice 19
    still took a share of a core from the next `git commit`; an idle-class process takes none.
    A process cannot leave the idle class again, so only the background worker calls this.
    """
    setter = getattr(os, "sched_setscheduler", None)
    policy = getattr(os, "SCHED_IDLE", None)
    if setter is not None and policy is not None:
        with contextlib.suppress(OSError):
            setter(0, policy, os.sched_param(0))


def heavy(project: Project, steps: list[tuple[str, FollowUp]]) -> None:
    """Parse what is queued, then the follow-ups, each logged rather than raised."""
    if store_away(project):
        return
    # A store made by an older version gets its exclude lines and shields at its next event
    # (after that, one small read and a stat per folder).
    with contextlib.suppress(OSError, GitError):
        mend(project)
    analyse_pending(project)
    for name, step in steps:
        if _gone(project, thorough=False):
            return
        if not _due(project, name):
            continue
        try:
            step(project)
        except Exception as exc:
            if _gone(project, thorough=True):
                return
            log(project.layout.logs, "storage", f"{name} follow-up failed", exc)


def _gone(project: Project, *, thorough: bool) -> bool:
    """The worktree this worker serves was removed (`rm -r` of a linked worktree): its
    follow-ups have nothing to work on, and the next event elsewhere does its own. Between
    steps a look for `.git` is enough; after a failure, ask git. A store gone away stops them
    too, with nothing logged: its logs went with it."""
    if store_away(project):
        return True
    root = project.repo.root
    if (root / ".git").exists() and not (thorough and worktree_gone(project, root)):
        return False
    log(project.layout.logs, "storage", f"{root}: the worktree was removed;"
        " its follow-ups are left")
    return True
