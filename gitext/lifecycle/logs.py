"""The store's logs: storage.log, worktree.log and performance.log, rotated by size.

Every line starts with the library's clock (`gitext.clock`, UTC) and a level, so `health` can
count errors and slow queries in a time window, and tests with a pinned clock see pinned times.
Rotated files are gzip-compressed as they rotate. RotatingFileHandler is not process-safe: two
processes rotating at once may lose a few lines, never corrupt a database; logs are diagnostics.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import logging.handlers
import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gitext import clock
from gitext.folders import store_folder
from gitext.layout import ProjectLayout

LOG_NAMES = ("storage", "worktree", "performance")
MAX_BYTES = 2_000_000
BACKUP_COUNT = 3

_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) ([A-Z]+) (.*)$")
# The sync engine's logbook (gitext/sync/logbook.py) wrote "<time> [<pid>] <message>" with no
# level before session 19; its failures are the lines that say so.
_PID_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \[\d+\] (.*)$")
_FAILURE = re.compile(r"\b(fail(ed|ure)?|error)\b", re.IGNORECASE)
_lock = threading.Lock()
_handlers: dict[Path, logging.Handler] = {}


class _ClockFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info:
            text += " | " + self.formatException(record.exc_info).replace("\n", " | ")
        return f"{clock.now()} {record.levelname} {text}"


class _QuietHandler(logging.handlers.RotatingFileHandler):
    """A log that cannot be written (a full disk, a file size limit, a folder taken away) is
    left unwritten: logging's default prints "--- Logging error ---" and a traceback to stderr
    for each line, some 800 lines for one `maintain --all` on a full disk."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        if self.stream is not None:
            # A stream whose write failed may hold the line still, to fail again at close.
            with contextlib.suppress(OSError, ValueError):
                self.stream.close()
            self.stream = None


def _gzip_rotator(source: str, dest: str) -> None:
    with open(source, "rb") as src, gzip.open(dest, "wb") as out:
        shutil.copyfileobj(src, out)
    os.remove(source)


def log_path(layout: ProjectLayout, name: str) -> Path:
    return layout.logs / f"{name}.log"


def get_logger(layout: ProjectLayout, name: str) -> logging.Logger:
    """The logger writing `<store>/logs/<name>.log` (one handler per file per process)."""
    if name not in LOG_NAMES:
        raise ValueError(f"unknown log {name!r}")
    path = log_path(layout, name)
    logger = logging.getLogger(f"gitext.store.{abs(hash(str(layout.root))):x}.{name}")
    with _lock:
        if path not in _handlers:
            try:
                store_folder(layout.root, path.parent)
            except OSError:  # the store went (`gitext.folders`): its logs with it
                gone = logging.getLogger("gitext.store.gone")
                gone.propagate = False
                if not gone.handlers:
                    gone.addHandler(logging.NullHandler())
                return gone
            handler = _QuietHandler(
                path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8", delay=True
            )
            handler.namer = lambda default: default + ".gz"
            handler.rotator = _gzip_rotator
            handler.setFormatter(_ClockFormatter())
            _handlers[path] = handler
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            # Library logs never reach the root logger: a CLI run must print nothing extra.
            logger.propagate = False
    return logger


def close_loggers() -> None:
    """Release every log file (tests, and before a store is moved or restored)."""
    with _lock:
        for path, handler in list(_handlers.items()):
            for logger in list(logging.Logger.manager.loggerDict.values()):
                if isinstance(logger, logging.Logger) and handler in logger.handlers:
                    logger.removeHandler(handler)
            handler.close()
            del _handlers[path]


@dataclass(frozen=True)
class LogEntry:
    at: float
    level: str
    message: str


def read_entries(path: Path, since: float | None = None,
                 until: float | None = None) -> Iterator[LogEntry]:
    """Entries of one log file (plain or .gz), oldest first, dated from `since` to `until`
    when given; lines not ours are skipped."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                entry = _parse(line.rstrip("\n"))
                if entry is not None and (since is None or entry.at >= since) and (
                        until is None or entry.at <= until):
                    yield entry
    except (FileNotFoundError, OSError, EOFError):
        return


def _parse(line: str) -> LogEntry | None:
    m = _LINE.match(line)
    if m:
        return LogEntry(clock.from_ts(m.group(1)), m.group(2), m.group(3))
    m = _PID_LINE.match(line)
    if m:
        level = "ERROR" if _FAILURE.search(m.group(2)) else "INFO"
        return LogEntry(clock.from_ts(m.group(1)), level, m.group(2))
    return None


def recent_files(layout: ProjectLayout, name: str) -> list[Path]:
    """The live log file and its newest rotation (ours is gzipped, the sync logbook's plain):
    enough for a 24-hour window in practice."""
    base = log_path(layout, name)
    rotated = [base.with_name(base.name + suffix) for suffix in (".1.gz", ".1")]
    return [p for p in (*rotated, base) if p.exists()]
