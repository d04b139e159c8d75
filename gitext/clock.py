"""The library's notion of now, in SQLite's CURRENT_TIMESTAMP format (UTC), so rows written by
SQLite defaults and by us compare as text. Tests and the CLI may pin it."""

from __future__ import annotations

import time
from datetime import UTC, datetime

_fixed: float | None = None

# The first and the last second a clock may be set to (0001-01-01 00:00:00 and
# 9999-01-01 00:00:00 UTC). A timestamp can name up to 9999-12-31 23:59:59, but code adds
# intervals to now (a relevance score expires a day later, a cached entry its TTL): a clock in
# the year's last day crashed them ("year 10000 is out of range", QA round 21a: 04), so the
# last year is left as headroom. Spans longer than that go through `later`, which gives None.
FIRST_EPOCH = -62135596800.0
LAST_EPOCH = 253370764800.0

# A time recorded later than now by more than this was written while the clock was ahead (a VM
# or container started with a wrong date, then put right): trusted, it would stand in the
# future for as long as the clock was wrong. Within it, a clock set back a little (NTP) is no
# such case.
AHEAD_SLACK = 3600.0


def set_now(epoch: float | None) -> None:
    global _fixed
    _fixed = epoch


def pinned() -> bool:
    """Whether the clock is set (AIRCHER_NOW, a test) rather than the system's."""
    return _fixed is not None


def representable(seconds: float) -> bool:
    """Whether `seconds` (epoch) is a time the clock may be set to: one `to_ts` can write with
    a year to spare (see LAST_EPOCH); nan and the infinities are not."""
    return FIRST_EPOCH <= seconds <= LAST_EPOCH


def epoch() -> float:
    return time.time() if _fixed is None else _fixed


def ahead(at: float) -> bool:
    """Whether a time recorded as `at` is later than now by more than AHEAD_SLACK: written
    while the clock was ahead, so neither "recent" nor "newest" (docs/lifecycle.md)."""
    return at > epoch() + AHEAD_SLACK


def now() -> str:
    return to_ts(epoch())


def to_ts(seconds: float) -> str:
    # isoformat, not strftime: glibc writes the year 500 as "500", which sorts after "2026"
    # as text, so a cutoff that far back would have taken every row for older than it.
    return datetime.fromtimestamp(seconds, UTC).isoformat(" ")[:19]


def ago(seconds: float) -> str:
    """The timestamp `seconds` before now, for `… < ago(span)` cutoffs. A span reaching past
    the first time a timestamp can name (999999 days: a common way to say "never") gives "",
    which no timestamp is less than: nothing is that old, everything is kept."""
    try:
        return to_ts(epoch() - seconds)
    except (OverflowError, ValueError, OSError):
        return ""


def later(seconds: float) -> str | None:
    """The timestamp `seconds` from now, or None when that is past the last one a timestamp
    can name (year 9999): an expiry that far off is no expiry."""
    try:
        return to_ts(epoch() + seconds)
    except (OverflowError, ValueError, OSError):
        return None


def from_ts(text: str) -> float:
    return datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
