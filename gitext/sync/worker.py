"""The one background worker per project: drains the journal, then does the heavy follow-ups.

A lock file keeps it single. A hook that finds the lock taken just leaves its record: the worker
holding the lock looks at the journal again before it lets go, and once more after.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gitext.errors import GitError, StoreBusyError, WorkerBusyError
from gitext.folders import store_folder, store_there
from gitext.lifecycle.exposure import mend
from gitext.lifecycle.schedule import LOOK_EVERY
from gitext.project import Project
from gitext.resources import code_fingerprint
from gitext.sync import journal
from gitext.sync.events import apply_event, in_sequence, reconcile_from_main, worktree_gone
from gitext.sync.logbook import log
from gitext.sync.routing import Router

DEFERRABLE = ("post-commit", "post-checkout")


def _busy(ev: journal.Event) -> bool:
    root = Path(ev.cwd)
    return root.is_dir() and in_sequence(root)


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


@contextlib.contextmanager
def worker_lock(project: Project, *, wait: bool, name: str = "worker",
                within: float = 0.0) -> Iterator[bool]:
    """One of the project's worker slots; with wait=False, False when someone else has it
    (after trying for `within` seconds).

    Two slots: "worker" applies the journal (fast, so a commit is visible within a second),
    "heavy" parses files and runs follow-ups (a first index of a large repository takes
    minutes, and must not hold back the next commit's record).
    """
    lock_path = project.layout.run / f"{name}.lock"
    store_folder(project.layout.root, lock_path.parent)  # never the store itself
    deadline = time.monotonic() + within
    with lock_path.open("a") as fh:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.05)
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# Seconds a command waits for the journal's slot (`sync`, `index`, a query's catch-up) before
# it gives up: applying records takes a fraction of a second, so a holder past this is most
# likely stuck (stopped in a debugger, a frozen container, a hung file system call), and a
# query must not hang with it. docs/search.md: the query waits for the worker up to 10 s.
SLOT_WAIT = 10.0


@contextlib.contextmanager
def journal_slot(project: Project) -> Iterator[None]:
    """The "worker" slot, for a command that applies the journal itself; WorkerBusyError,
    naming the worker, when someone else holds it past SLOT_WAIT. Waited for with no limit,
    a worker stopped in its slot made `search`, `sync` and `index` hang for good, without a
    word (QA round 22a: 02)."""
    with worker_lock(project, wait=False, within=SLOT_WAIT) as mine:
        if not mine:
            raise _slot_taken(project)
        yield


def _slot_taken(project: Project) -> WorkerBusyError:
    run = project.layout.run
    pid = None
    if worker_alive(run):
        with contextlib.suppress(OSError, ValueError):
            pid = int((run / "active").read_text().split("\n", 1)[0])
    held = f"for more than {SLOT_WAIT:g} s; nothing was applied"
    if pid is None:  # a `sync` or `index` elsewhere holds it, and names itself nowhere
        return WorkerBusyError(
            f"another git-aircher process has held the store's journal {held}",
            hint="try again once the other `git aircher sync` or `index` is done")
    return WorkerBusyError(
        f"the background worker (pid {pid}) has held the store's journal {held}",
        hint=f"try again in a moment; if pid {pid} stays stuck (stopped, in a debugger, a"
        f" frozen container), end it (`kill -9 {pid}`): a record it was applying stays in"
        " the journal for the next")


def drain_all(project: Project) -> Drained:
    total = Drained()
    while True:
        one = drain(project)
        total.applied += one.applied
        total.waiting, total.stuck = one.waiting, one.stuck
        total.busy = total.busy or one.busy
        if one.applied == 0:
            return total


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


def _pending_analysis(project: Project) -> bool:
    with project.db("file_index").read() as conn:
        return conn.execute("SELECT 1 FROM analysis_pending LIMIT 1").fetchone() is not None


def marker() -> str:
    """The `run/active` text: pid on the first line (all that shims before this format read),
    the process's start time on the second. A killed worker's pid answers `kill -0` while it is
    a zombie (until its parent reaps it: never, under a container's bare init) and after the pid
    is reused; the shims compare the start time and state in /proc to tell it from a worker."""
    pid = os.getpid()
    try:
        since = _proc_stat(pid)[19].decode()
    except (OSError, IndexError):
        since = ""  # no /proc: `kill -0` alone
    return f"{pid}\n{since}\n"


def _proc_stat(pid: int) -> list[bytes]:
    """/proc/PID/stat's fields after the command name: the state first, the start time 20th."""
    with open(f"/proc/{pid}/stat", "rb") as fh:
        return fh.read().rsplit(b")", 1)[1].split()


def slot_held(run: Path, name: str) -> bool:
    """Whether someone holds worker slot `name` now (`git aircher index` in the foreground holds
    "heavy" without being the worker `run/active` names); only looks, never takes it."""
    try:
        fd = os.open(run / f"{name}.lock", os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # and with it the shared lock, if it was taken
    return False


def worker_alive(run: Path) -> bool:
    """Whether the worker `run/active` names is still at work: what the shims ask before they
    leave a record to it, in Python, for those that only look (doctor)."""
    try:
        pid_text, since = ((run / "active").read_text().split("\n") + [""])[:2]
        pid = int(pid_text)
    except (OSError, ValueError):
        return False
    try:
        fields = _proc_stat(pid)
        return fields[0] != b"Z" and (not since or fields[19].decode() == since)
    except (OSError, IndexError):
        if os.path.exists("/proc/self/stat"):
            return False  # /proc knows no such process
    try:  # no /proc: `kill -0` alone
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: alive
    return True


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
    `marker`): hook shims then add their record without starting another worker. The marker
    goes before the last look at the journal, so a record written after that look finds no
    marker and starts a worker of its own.
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
        active.write_text(marker())
        try:
            applied, gave_way, left = _passes(project, with_follow_ups, patience)
            total += applied
        finally:
            with contextlib.suppress(FileNotFoundError):
                if active.read_text().split("\n", 1)[0] == str(os.getpid()):
                    active.unlink()
        # Gave way: another worker holds both slots and makes this same last check itself.
        # Records a busy database held back past our patience are the next worker's.
        if gave_way or not _news(project, left):
            return total


def _news(project: Project, left: set[Path]) -> bool:
    """Whether the journal holds a record other than those this worker left to the next."""
    return any(ev.path not in left for ev in journal.pending(project.layout.journal))


def _passes(project: Project, with_follow_ups: bool,
            patience: _Patience) -> tuple[int, bool, set[Path]]:
    """(events applied, whether we gave way to a worker that holds both slots, records left in
    the journal for a busy database)."""
    from gitext.lifecycle.runstate import store_shared

    total = 0
    while True:
        if store_away(project):
            return total, True, set()
        moved = False
        drained = Drained()
        with store_shared(project.layout) as free:
            if not free:
                # a restore or repair holds the store: records wait for it
                return total, True, set()
            took = False
            with worker_lock(project, wait=False) as mine:
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
                with worker_lock(project, wait=False, name="heavy") as mine:
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
            return total, False, drained.waiting
        if not (_free(project, "worker") or _free(project, "heavy")):
            return total, True, drained.waiting
        if not took and not moved and not _pending_analysis(project) \
                and not _slot_comes_free(project):
            # Only records are left, and the journal's slot has been another's all along: its
            # holder applies them and looks again itself. Going round meanwhile ran the
            # follow-ups again and again, for as long as that holder kept the slot.
            return total, True, drained.waiting


SLOT_PATIENCE = 60.0  # seconds a worker waits for the journal's slot before it leaves


def _slot_comes_free(project: Project) -> bool:
    deadline = time.monotonic() + SLOT_PATIENCE
    while not _free(project, "worker"):
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


def _free(project: Project, name: str) -> bool:
    with worker_lock(project, wait=False, name=name) as got:
        return got


def ensure_fresh(project: Project, then: Callable[[], object] | None = None) -> None:
    """What a query needs before it reads: every event applied and every file analysed; then,
    still in the heavy slot, `then` (the index command's search and relevance update).

    Waits for running workers rather than racing them; search and relevance bring themselves
    up to date where they are called. The follow-up runs in the slot because it writes vector
    segments: outside it, a worker's compaction could drop a segment it is writing.
    """
    with journal_slot(project):
        busy = drain_all(project).busy
    if busy is not None:
        raise busy  # the records wait in the journal, in order
    with worker_lock(project, wait=True, name="heavy"):
        analyse_pending(project)
        if then is not None:
            then()
