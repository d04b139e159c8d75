"""One thing doctor found: which check, how bad, in which database, and what repair or the
user does about it. Its own module, so the modules that hold the checks need not import doctor."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Finding:
    check: str
    severity: str
    database: str | None
    message: str
    repair: str | None = None
    hint: str | None = None  # what the user does where repair does nothing
