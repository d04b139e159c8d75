"""A store git-aircher may not write: `chmod -R a-w`, a read-only mount, an immutable flag, a
store owned by another user.

Every command writes as it reads (it takes in what git did first: the journal, a catch-up, its
locks), so such a store is a fact of the user's environment, not damage and not a bug: one
`error:` line that says so and where, never a crash log or a salvage advice. The hooks drop
their records in silence (hooks/post-commit); `git aircher sync` catches up once it is writable.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from gitext.errors import AircherError

HINT = "the store is not writable: check its permissions (git-aircher updates it as it answers)"


def denied(exc: BaseException, database: Path | None = None) -> bool:
    """Whether `exc` is a write the file system refused (not a missing or damaged file)."""
    if isinstance(exc, PermissionError):
        return True
    if isinstance(exc, OSError):
        return exc.errno == errno.EROFS
    if isinstance(exc, sqlite3.DatabaseError):
        # SQLite says "unable to open" when it cannot make a WAL database's -shm beside it.
        return "readonly database" in str(exc) or (
            database is not None and "unable to open" in str(exc)
            and bool(unwritable([database, database.parent])))
    return False


def not_writable(exc: BaseException, where: Path | str | None = None) -> AircherError:
    if isinstance(exc, OSError):
        where = where or exc.filename
        why = exc.strerror or str(exc)
    else:
        why = str(exc)
    return AircherError(f"cannot write {where}: {why}" if where else f"cannot write: {why}",
                        hint=HINT)


def unwritable(paths: list[Path]) -> list[Path]:
    """Those of `paths` that exist and that this process may not write (access(2): a read-only
    file system or an immutable flag stops root too; modes do not)."""
    return [p for p in paths if p.exists() and not os.access(p, os.W_OK)]
