"""What is due, and running it: no cron, the background worker calls `run_due` after each batch
of git events, and a command that finds a job due starts the worker (`start_if_due`).

Last-run times live in `<store>/run/lifecycle.json`; a job runs when its interval has passed
since it last ran (never twice in one interval), under a non-blocking lock so two workers never
run the same job at once. Intervals: daily 1 day; weekly `storage.sqlite.optimize_interval`;
monthly `storage.embeddings.rebuild_interval`; quarterly 90 days; backup `backup_interval` when
backups are enabled; health `storage.monitoring.health_check_interval`.

The first time the scheduler sees a store, monthly and quarterly work is not run but dated from
then: a store minutes old has nothing to compress or archive. A last run recorded more than an
hour in the future (the clock was ahead, then put right) counts as none: the job is due, or for
monthly and quarterly work dated from now.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from gitext import clock
from gitext.lifecycle.runstate import read_json, state_path, try_lock, updating
from gitext.project import Project

STATE = "lifecycle.json"
QUARTER = 90 * 86400.0
DAY = 86400.0
ORDER = ("health", "daily", "weekly", "monthly", "quarterly", "backup")
_DATED_FROM_FIRST_SIGHT = ("monthly", "quarterly")
_REQUEST_MIN_GAP = 3600.0  # a size-triggered request reruns maintenance at most hourly
# A last run later than now by more than this was recorded while the clock was ahead (a VM or
# container started with a wrong date, then put right): trusted, it would keep every job, the
# backup among them, from running until the clock caught up. It counts as no record. Within
# it, a clock set back a little (NTP) does not run a job twice.
_FUTURE_SLACK = clock.AHEAD_SLACK
# How often the worker looks at the schedule (its "lifecycle" follow-up): a command starts a
# worker for it no more often, however many commands run.
LOOK_EVERY = 60.0
# The jobs a command starts the worker for: health alone (every 5 minutes) is not worth a
# process; it runs with them, and after every git event.
_WORTH_A_WORKER = ("daily", "weekly", "monthly", "quarterly", "backup")


def backup_settings(project: Project) -> tuple[bool, float]:
    """(enabled, interval), each from the key of its pair in force (`Config.used`)."""
    cfg = project.config
    return cfg.flag(cfg.used("storage.backup.enabled")), \
        cfg.seconds(cfg.used("storage.backup.backup_interval"))


def intervals(project: Project) -> dict[str, float | None]:
    """Seconds between runs of each job; None = disabled."""
    cfg = project.config
    enabled, every = backup_settings(project)
    return {
        "health": cfg.seconds("storage.monitoring.health_check_interval"),
        "daily": DAY,
        "weekly": cfg.seconds("storage.sqlite.optimize_interval"),
        "monthly": cfg.seconds("storage.embeddings.rebuild_interval"),
        "quarterly": QUARTER,
        "backup": every if enabled else None,
    }


def load_state(project: Project) -> dict[str, object]:
    return read_json(state_path(project.layout, STATE))


def _last_runs(state: dict[str, object], now: float) -> dict[str, float]:
    """Recorded last runs, without those too far in the future to have happened."""
    raw = state.get("last_run")
    if not isinstance(raw, dict):
        return {}
    return {str(k): float(v) for k, v in raw.items()
            if isinstance(v, int | float) and v <= now + _FUTURE_SLACK}


def due(project: Project, now: float | None = None) -> list[str]:
    """Jobs whose interval has passed (without running or recording anything)."""
    now = clock.epoch() if now is None else now
    state = load_state(project)
    last = _last_runs(state, now)
    requested = state.get("requested")
    out: list[str] = []
    for name, every in intervals(project).items():
        if every is None:
            continue
        when = last.get(name)
        if when is None:
            if name not in _DATED_FROM_FIRST_SIGHT:
                out.append(name)
        elif now - when >= every or (
            isinstance(requested, list) and name in requested and now - when >= _REQUEST_MIN_GAP
        ):
            out.append(name)
    return [n for n in ORDER if n in out]


def request(project: Project, *jobs: str) -> None:
    """Ask for jobs to run at the next `run_due` (e.g. a database past max_db_size)."""
    with updating(state_path(project.layout, STATE)) as state:
        have = state.get("requested")
        current = set(have) if isinstance(have, list) else set()
        state["requested"] = sorted(current | set(jobs))


def _job(name: str) -> Callable[[Project], object]:
    if name == "health":
        from gitext.lifecycle.health import check

        return check
    if name == "backup":
        from gitext.lifecycle.backup import create_backup, prune_backups

        def backup(project: Project) -> object:
            info = create_backup(project)
            prune_backups(project)
            return info.id

        return backup
    from gitext.lifecycle.maintenance import run_maintenance

    return lambda project: run_maintenance(project, [name])


def run_due(project: Project, *, now: float | None = None) -> list[str]:
    """Run whatever maintenance, backup and health check is due; returns what ran.

    Returns [] at once when another process is already running scheduled work.
    """
    if not project.initialized:
        return []
    now = clock.epoch() if now is None else now
    path = state_path(project.layout, STATE)
    ran: list[str] = []
    with try_lock(project.layout.run / "lifecycle.lock") as got:
        if not got:
            return []
        with updating(path) as state:
            last = _last_runs(state, now)
            for name in _DATED_FROM_FIRST_SIGHT:
                last.setdefault(name, now)
            state["last_run"] = last
            # From when a store without a backup is late for one (`backup_overdue`).
            if not isinstance(state.get("first_seen"), int | float) \
                    or state["first_seen"] > now + _FUTURE_SLACK:
                state["first_seen"] = now
        names = due(project, now)
        for name in names:
            error: str | None = None
            try:
                _job(name)(project)
            except Exception as exc:  # a failing job is logged and retried next interval
                error = f"{type(exc).__name__}: {exc}"
                _log_failure(project, name, exc)
            _record(project, name, now, error)
            ran.append(name)
    return ran


def record(project: Project, names: list[str], *, now: float | None = None) -> None:
    """Record jobs run outside the scheduler (`git aircher maintain`) as it records its own,
    so neither runs them again within their interval."""
    now = clock.epoch() if now is None else now
    for name in names:
        _record(project, name, now, None)


def _record(project: Project, name: str, now: float, error: str | None) -> None:
    with updating(state_path(project.layout, STATE)) as state:
        last = _last_runs(state, now)
        last[name] = now
        state["last_run"] = last
        errors = state.get("errors") if isinstance(state.get("errors"), dict) else {}
        assert isinstance(errors, dict)
        if error is None:
            errors.pop(name, None)
        else:
            errors[name] = {"at": now, "error": error}
        state["errors"] = errors
        requested = state.get("requested")
        if isinstance(requested, list) and name in requested:
            requested.remove(name)


def _log_failure(project: Project, name: str, exc: BaseException) -> None:
    try:
        from gitext.lifecycle.logs import get_logger

        get_logger(project.layout, "storage").error(
            "scheduled %s failed: %s | %s", name, exc, traceback.format_exc().replace("\n", " | ")
        )
    except OSError:
        pass


def start_if_due(project: Project) -> bool:
    """Start the background worker when a job other than the health check is due; True when
    one was started. Without it nothing scheduled ran between git events: days of
    conversations recorded through commands or the API got no backup, and idle sessions were
    not expired (QA round 20c: 05). Cheap enough for every command: two stats, then one small
    JSON file once a minute at most; it never waits for the worker."""
    from gitext.hooks.entry import spawn_worker

    run = project.layout.run
    started = run / "lifecycle.started"
    wall = time.time()  # the stamps are files: their times are the system's
    for stamp in (project.layout.follow_up_stamp("lifecycle"), started):
        try:
            # A stamp further off than that, either way, was made while the clock was wrong.
            if abs(wall - stamp.stat().st_mtime) < LOOK_EVERY:
                return False
        except FileNotFoundError:
            pass
        except OSError:
            return False
    if not any(job in _WORTH_A_WORKER for job in due(project)):
        return False
    try:
        started.touch()
    except OSError:  # no run/ (a store being removed), or not ours to write
        return False
    spawn_worker(project.repo.root, project.layout.run)
    return True


def backup_overdue(project: Project, now: float | None = None) -> str | None:
    """What `status` and `health` say when backups are on and the newest is older than twice
    `backup_interval` (or there is none, the scheduler having first seen the store that long
    ago): a backup missed once may be a machine that was off; twice is worth a word."""
    enabled, every = backup_settings(project)
    if not enabled:
        return None
    now = clock.epoch() if now is None else now
    newest = newest_backup(project.layout.backups, now)
    if newest is None:
        first = load_state(project).get("first_seen")
        if not isinstance(first, int | float) or now - first <= 2 * every:
            return None
        return (f"no backup has been made in {_span(now - first)} (backups are due every"
                f" {_span(every)}; `git aircher backup create` makes one now)")
    if now - newest <= 2 * every:
        return None
    return (f"the last backup is {_span(now - newest)} old (backups are due every"
            f" {_span(every)}; `git aircher backup create` makes one now)")


def newest_backup(folder: Path, now: float) -> float | None:
    """When the newest finished backup was made, by folder names (`<UTC time>[-n]`, the
    manifest written last): a listing, no manifest read. One dated further ahead than
    `_FUTURE_SLACK` was made while the clock was ahead and tells nothing of now."""
    from gitext.lifecycle.backup import MANIFEST

    newest = None
    try:
        names = [entry.name for entry in folder.iterdir()]
    except OSError:
        return None
    for name in names:
        try:
            made = datetime.strptime(name[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
        if made <= now + _FUTURE_SLACK and (newest is None or made > newest) \
                and (folder / name / MANIFEST).exists():
            newest = made
    return newest


def _span(seconds: float) -> str:
    if seconds >= 2 * DAY:
        return f"{seconds / DAY:.0f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} hours"
    return f"{max(1, round(seconds / 60))} minutes"
