"""Health (spec: "Monitoring and Health Checks"): sizes and growth, disk usage, slow queries,
cache effectiveness, error rates. `check` is the full report the worker runs every
health_check_interval; `warnings` is the cheap subset `status` shows.

Cache hit rates: the session cache records no hits (sessions.db has no column for them), so it
is reported as live/expired entries, and hits only if a `hit_count`/`hits` column appears.
Embedding reuse is measured over what the worktrees hold: of the file views (one per worktree
and path) whose blob has vectors, the share served by vectors embedded for another view, i.e.
1 - embedded blobs / views. Counting embedding_metadata rows instead would say nothing: a blob's
chunks get one row each however many branches and paths show it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from gitext import clock
from gitext.config import ignored_lines
from gitext.layout import ProjectLayout
from gitext.lifecycle.dbfiles import store_databases
from gitext.lifecycle.logs import LogEntry, get_logger, read_entries, recent_files
from gitext.lifecycle.runstate import read_json, state_path, write_json
from gitext.lifecycle.schedule import backup_overdue
from gitext.project import Project
from gitext.status import file_size

STATE = "health.json"
WINDOW = 86400.0
_SAMPLE_GAP = 3600.0  # keep one size sample per hour...
_MAX_SAMPLES = 24 * 14  # ...for two weeks
_SLOW_WARN = 10  # slow queries a day before `status` mentions them
_SLOW = re.compile(r"slow-query ([0-9.]+)s db=(\S+)( by=worker)? sql=(.*?) params=")


@dataclass
class DbHealth:
    name: str
    size_bytes: int
    growth_bytes_per_day: float | None
    over_limit: bool


@dataclass
class HealthReport:
    checked_at: str
    store_bytes: int
    databases: list[DbHealth]
    disk: dict[str, Any]
    slow_queries: dict[str, Any]
    cache: dict[str, Any]
    errors: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _store_size(layout: ProjectLayout) -> int:
    """The store's own entries: a store an earlier version made directly in a shared data_dir
    has other repositories' stores beside them."""
    size = sum(_dir_size(folder) for folder in layout.folders())
    with contextlib.suppress(OSError):
        size += layout.config.lstat().st_size
    return size


def _dir_size(root: os.PathLike[str] | str) -> int:
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
    return total


def disk_usage(project: Project) -> dict[str, Any]:
    usage = shutil.disk_usage(project.layout.root)
    fraction = usage.used / usage.total if usage.total else 0.0
    threshold = project.config.number("storage.monitoring.disk_usage_alert_threshold")
    return {
        "total": usage.total, "used": usage.used, "free": usage.free,
        "used_fraction": round(fraction, 4), "threshold": threshold, "alert": fraction > threshold,
    }


def _growth(history: list[dict[str, Any]], name: str, size: int, now: float) -> float | None:
    """Bytes per day, against the oldest sample of the last week at least an hour old."""
    for sample in history:
        at = float(sample.get("at", 0))
        if now - 7 * 86400 <= at <= now - _SAMPLE_GAP and name in sample.get("sizes", {}):
            days = (now - at) / 86400
            return (size - int(sample["sizes"][name])) / days
    return None


def _history(samples: object) -> list[dict[str, Any]]:
    """The size samples worth keeping. One dated in the future (taken while the clock was
    ahead, then put right) is dropped: new samples are added an hour after the last one, so
    it stopped the history, and growth with it, until the clock caught up (QA round 20c: 06)."""
    if not isinstance(samples, list):
        return []
    kept = []
    for sample in samples:
        with contextlib.suppress(TypeError, ValueError):
            if isinstance(sample, dict) and not clock.ahead(float(sample.get("at", 0))):
                kept.append(sample)
    return kept


def _window(now: float) -> tuple[float, float]:
    """The last 24 hours, closed above too: a line logged while the clock was ahead (then put
    right) is no line of the last day, however far ahead it is dated; counted, it stood as
    "errors in the logs in 24h" until the clock caught up (QA round 20c: 07)."""
    return now - WINDOW, now + clock.AHEAD_SLACK


def slow_queries(project: Project, now: float) -> dict[str, Any]:
    cfg = project.config
    found: list[dict[str, Any]] = []
    for path in recent_files(project.layout, "performance"):
        for entry in read_entries(path, *_window(now)):
            m = _SLOW.search(entry.message)
            if m:
                found.append({"at": clock.to_ts(entry.at), "seconds": float(m.group(1)),
                              "db": m.group(2), "sql": m.group(4),
                              "background": bool(m.group(3))})
    found.sort(key=lambda q: q["seconds"], reverse=True)
    return {
        "logging": cfg.flag("storage.monitoring.query_performance_logging"),
        "threshold_seconds": cfg.seconds("storage.monitoring.slow_query_threshold"),
        "count_24h": len(found),
        "background_24h": sum(q["background"] for q in found),
        "slowest": found[:5],
    }


def error_rates(project: Project, now: float) -> dict[str, Any]:
    logs = project.layout.logs
    by_log: dict[str, int] = {}
    names = sorted({p.name.split(".")[0] for p in logs.glob("*.log*")}) if logs.is_dir() else []
    for name in names:
        if name == "performance" or name.startswith("crash-"):
            continue
        entries: list[LogEntry] = []
        for path in recent_files(project.layout, name):
            entries.extend(read_entries(path, *_window(now)))
        by_log[name] = sum(1 for e in entries if e.level in ("ERROR", "CRITICAL"))
    crashes = 0
    if logs.is_dir():
        since, until = _window(time.time())  # file times come from the system clock
        crashes = sum(1 for p in logs.glob("crash-*.log*") if since <= p.stat().st_mtime <= until)
    total = sum(by_log.values()) + crashes
    return {"window_hours": 24, "by_log": by_log, "crash_logs": crashes,
            "total": total, "per_hour": round(total / 24, 3)}


def cache_rates(project: Project) -> dict[str, Any]:
    with project.db("sessions").read() as conn:
        cols = {r[1] for r in conn.execute("PRAGMA table_info(session_cache)")}
        total, expired = conn.execute(
            "SELECT count(*), coalesce(sum(expires_at IS NOT NULL AND expires_at < ?), 0)"
            " FROM session_cache", (clock.now(),),
        ).fetchone()
        hit_col = next((c for c in ("hit_count", "hits") if c in cols), None)
        hits = None
        if hit_col is not None:
            hits = int(conn.execute(f"SELECT coalesce(sum({hit_col}), 0) FROM session_cache")
                       .fetchone()[0])
    with project.db("knowledge").read() as conn:
        embedded = {h for (h,) in conn.execute(
            "SELECT DISTINCT content_hash FROM embedding_metadata WHERE content_hash IS NOT NULL")}
    with project.db("file_index").read() as conn:
        per_blob = [n for h, n in conn.execute(
            "SELECT content_hash, count(*) FROM worktree_files"
            " WHERE content_hash IS NOT NULL GROUP BY content_hash") if h in embedded]
    views, blobs = sum(per_blob), len(per_blob)
    return {
        "session_cache": {
            "entries": int(total), "expired": int(expired), "hits": hits,
            "note": None if hit_col else "hits not recorded by the session cache",
        },
        "embedding_reuse": {
            "views": views, "embedded_blobs": blobs,
            "rate": round(1 - blobs / views, 4) if views else None,
        },
    }


def _schedule_errors(project: Project) -> list[str]:
    errors = read_json(state_path(project.layout, "lifecycle.json")).get("errors")
    if not isinstance(errors, dict):
        return []
    return [f"scheduled {name} failed: {info.get('error')}" for name, info in sorted(errors.items())
            if isinstance(info, dict)]


def check(project: Project, *, record: bool = True) -> HealthReport:
    """The full health report; with `record`, the size sample is kept and warnings logged."""
    project.require_init()
    now = clock.epoch()
    path = state_path(project.layout, STATE)
    state = read_json(path)
    history = _history(state.get("history"))
    limit = project.config.size("storage.max_db_size")
    # The archive too (when there is one): it grows as conversations age and counts toward the
    # same limit.
    sizes = {name: file_size(db) for name, db in store_databases(project).items()}
    dbs = [DbHealth(n, s, _growth(history, n, s, now), s > limit) for n, s in sizes.items()]
    report = HealthReport(
        checked_at=clock.to_ts(now),
        store_bytes=_store_size(project.layout),
        databases=dbs,
        disk=disk_usage(project),
        slow_queries=slow_queries(project, now),
        cache=cache_rates(project),
        errors=error_rates(project, now),
    )
    recorded = _warnings_of(report, limit)
    report.warnings = _cheap_warnings(project) + recorded
    if record:
        if not history or now - float(history[-1].get("at", 0)) >= _SAMPLE_GAP:
            history.append({"at": now, "sizes": sizes})
        # Only what `warnings` cannot recompute cheaply is kept for it.
        state = {"history": history[-_MAX_SAMPLES:], "last": {"at": now, "warnings": recorded}}
        write_json(path, state)
        if report.warnings:
            get_logger(project.layout, "storage").warning("health: %s", "; ".join(report.warnings))
    return report


def _disk_line(disk: dict[str, Any]) -> str:
    return f"disk {disk['used_fraction']:.0%} full (alert above {disk['threshold']:.0%})"


def _size_line(name: str) -> str:
    return f"{name}.db is past storage.max_db_size"


def _warnings_of(report: HealthReport, limit: int) -> list[str]:
    """Warnings from the full report that `_cheap_warnings` does not already give."""
    out: list[str] = []
    for db in report.databases:
        if not db.over_limit and db.growth_bytes_per_day and db.growth_bytes_per_day > 0:
            days = (limit - db.size_bytes) / db.growth_bytes_per_day
            if days < 30:
                out.append(f"{db.name}.db reaches storage.max_db_size in ~{days:.0f} days")
    slow = report.slow_queries
    mine = slow["count_24h"] - slow["background_24h"]  # the worker's are not the user's wait
    if mine >= _SLOW_WARN:
        out.append(f"{mine} slow queries in 24h (see logs/performance.log)")
    if report.errors["total"]:
        out.append(f"{report.errors['total']} errors in the logs in 24h")
    return out


def _cheap_warnings(project: Project) -> list[str]:
    """Disk, sizes and failed scheduled jobs: a few stat calls and one small JSON file."""
    out: list[str] = []
    try:
        disk = disk_usage(project)
        if disk["alert"]:
            out.append(_disk_line(disk))
    except OSError:
        pass
    limit = project.config.size("storage.max_db_size")
    out.extend(_size_line(name) for name, db in store_databases(project).items()
               if file_size(db) > limit)
    out.extend(_schedule_errors(project))
    overdue = backup_overdue(project)
    if overdue:
        out.append(overdue)
    out.extend(message for message, _ in ignored_lines(project.config))
    return out


def warnings(project: Project) -> list[str]:
    """Cheap: stat calls and two small JSON files. What `git aircher status` shows in one line:
    disk and sizes as they are now, plus what the last health check found (if recent)."""
    if not project.initialized:
        return []
    out = _cheap_warnings(project)
    last = read_json(state_path(project.layout, STATE)).get("last")
    if isinstance(last, dict):
        interval = project.config.seconds("storage.monitoring.health_check_interval")
        at = float(last.get("at", 0))
        # A check made while the clock was ahead is not recent: its warnings stood until then.
        if clock.epoch() - at <= max(2 * interval, 3600) and not clock.ahead(at):
            out.extend(w for w in last.get("warnings", []) if isinstance(w, str))
    return list(dict.fromkeys(out))
