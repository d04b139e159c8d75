"""The library's notion of now, in SQLite's CURRENT_TIMESTAMP format (UTC), so rows written by
SQLite defaults and by us compare as text. Tests and the CLI may pin it."""

from __future__ import annotations

import time
from datetime import UTC, datetime

_fixed: float | None = None


def set_now(epoch: float | None) -> None:
    global _fixed
    _fixed = epoch


def epoch() -> float:
    return time.time() if _fixed is None else _fixed


def now() -> str:
    return to_ts(epoch())


def to_ts(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def from_ts(text: str) -> float:
    return datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
