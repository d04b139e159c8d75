"""Checking what callers hand the record API, and the JSON columns' one encoding.

Every check raises UsageError naming the field, so a bad value from an agent (or an import
line) is one clear message, never a half-written row or a sqlite3 traceback.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Sequence
from typing import Any

from gitext.errors import UsageError


def dump(value: Any, field: str = "value") -> str | None:
    """A JSON column's text: compact, UTF-8, no NaN; None stays SQL NULL."""
    if value is None:
        return None
    try:
        out = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        out.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"{field} is not valid Unicode (lone surrogates)") from None
    except (TypeError, ValueError, RecursionError) as exc:
        raise UsageError(f"{field} is not JSON-serialisable: {exc}") from None
    return out


# What json.dumps leaves raw with ensure_ascii=False and a terminal still acts on: DEL and the
# C1 controls (U+009B is CSI). They can only stand inside a JSON string, where `\u009b` is the
# same value, so a program reads the text exactly and a terminal shown the stream is not driven.
_RAW_CONTROL = re.compile("[\x7f-\x9f]")


def showable_json(text: str) -> str:
    """JSON text (json.dumps with ensure_ascii=False) with DEL and C1 written as escapes."""
    return _RAW_CONTROL.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def load(text: Any) -> Any:
    """A JSON column's value; text that is not JSON (written by another tool) comes back as is."""
    if text is None or not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):  # 1e999: a JSON number no float holds
        raise ValueError(f"{literal} is out of range")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_or_text(raw: str) -> Any:
    """`raw` parsed as JSON (RFC 8259), else the text itself: how a KEY=VALUE option reads.

    Python's parser also takes NaN, Infinity and numbers out of a float's range, which are not
    JSON and which the store then refused to write: `--pref k=NaN` stopped the session start
    instead of keeping "NaN" as text (QA round 22d: 07)."""
    try:
        return json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
    except (ValueError, RecursionError):
        return raw


def text(
    value: Any, field: str, *, required: bool = False, max_len: int | None = None
) -> str | None:
    if value is None:
        if required:
            raise UsageError(f"{field} is required")
        return None
    if not isinstance(value, str):
        raise UsageError(f"{field} must be a string, got {type(value).__name__}")
    if required and not value.strip():
        raise UsageError(f"{field} must not be empty")
    if max_len is not None and len(value) > max_len:
        raise UsageError(f"{field} is longer than {max_len} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"{field} is not valid Unicode (lone surrogates)") from None
    return value


def req_text(value: Any, field: str, *, max_len: int | None = None) -> str:
    out = text(value, field, required=True, max_len=max_len)
    assert out is not None
    return out


def choice(value: Any, field: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise UsageError(f"{field} must be one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def integer(value: Any, field: str, *, minimum: int | None = 0) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{field} must be an integer, got {value!r}")
    if not -(2**63) <= value < 2**63:
        raise UsageError(f"{field} is out of range: {value}")
    if minimum is not None and value < minimum:
        raise UsageError(f"{field} must be at least {minimum}, got {value}")
    return value


def count(value: Any, field: str) -> int | None:
    """A number of tokens, messages or bytes: 0 or more. One check for the record API and the
    import, which took negative ones the API refuses (QA round 22d: 06)."""
    return integer(value, field, minimum=0)


def cost(value: Any, field: str) -> float | None:
    """Money spent: 0 or more, for the record API and the import alike (as `count`)."""
    return number(value, field, lo=0.0)


def number(
    value: Any, field: str, *, lo: float | None = None, hi: float | None = None
) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UsageError(f"{field} must be a finite number, got {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise UsageError(f"{field} must be {_bounds(lo, hi)}, got {value}")
    return float(value)


def _bounds(lo: float | None, hi: float | None) -> str:
    """The allowed range in words; an open end is left out rather than shown as 'None'."""
    if lo is not None and hi is not None:
        return f"between {lo:g} and {hi:g}"
    if lo is not None:
        return f"at least {lo:g}"
    return f"at most {hi:g}"


def fraction(value: Any, field: str) -> float | None:
    return number(value, field, lo=0.0, hi=1.0)


def uuid_text(value: Any, field: str) -> str:
    """A canonical UUID string (what every record id is)."""
    if not isinstance(value, str):
        raise UsageError(f"{field} must be a UUID string, got {value!r}")
    try:
        canonical = str(uuid.UUID(value))
    except ValueError:
        raise UsageError(f"{field} is not a UUID: {value[:60]!r}") from None
    if canonical != value:
        raise UsageError(f"{field} must be a lower-case hyphenated UUID, got {value!r}")
    return value


# ASCII digits only: strptime's take any script's ("２０２０-01-01"), which sort apart from ours.
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?")


def timestamp(value: Any, field: str) -> str | None:
    """'YYYY-MM-DD HH:MM:SS' (SQLite's CURRENT_TIMESTAMP form), optionally with a fraction.

    Nothing else: timestamps are UTC and compared as text, so a 'T', a 'Z' or an offset
    ("+09:00", read as UTC by retention, 9 hours off) or any text after the seconds was stored
    as it came when only the first 19 characters were checked (QA round 20c: 09)."""
    if value is None:
        return None
    from gitext.clock import from_ts

    problem = f"{field} must be a 'YYYY-MM-DD HH:MM:SS' timestamp, got {str(value)[:40]!r}"
    if not isinstance(value, str) or not _TIMESTAMP.fullmatch(value):
        raise UsageError(problem)
    try:
        from_ts(value)
    except ValueError:
        raise UsageError(problem) from None
    return value


def str_list(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise UsageError(f"{field} must be a list of strings")
    out = []
    for item in value:
        if not isinstance(item, str):
            raise UsageError(f"{field} must be a list of strings, got an item {item!r}")
        out.append(item)
    return out


def newest_first(*columns: str, alias: str = "") -> str:
    """ORDER BY terms for a "newest first" list: `columns` descending, then the later insertion.

    Timestamps are whole seconds and an agent makes several records in one: a tie broken by
    the random UUID put the newest first only by chance, and `--limit 1` kept a random one
    (QA round 22d: 02). Insertion order (rowid) is what "newest" means within a second, as
    the current session has always been chosen."""
    prefix = f"{alias}." if alias else ""
    return ", ".join([*(f"{prefix}{c} DESC" for c in columns), f"{prefix}rowid DESC"])


def row_limit(value: Any) -> int:
    """A list's `limit` other than None (all): 1 or more. 0 and negatives gave one row, where
    the CLI's `--limit 0` means all and SQLite's negative LIMIT none at all (QA round 26e saw
    it); an agent passing 0 now learns what it asked for is not a limit."""
    checked = integer(value, "limit", minimum=1)
    if checked is None:
        raise UsageError("limit must be an integer; None (all) is not one here")
    return checked


def filtered(base: str, where: list[str], params: list[Any], order: str,
             limit: int | None) -> tuple[str, list[Any]]:
    """`base` with the conditions ANDed, ordered, and limited (`row_limit`)."""
    sql = base + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY " + order
    if limit is not None:
        return sql + " LIMIT ?", [*params, row_limit(limit)]
    return sql, list(params)
