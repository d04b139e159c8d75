"""The one exception family of the library.

The CLI turns an ``AircherError`` into ``error: …`` (and ``hint: …``) with its exit code; anything
else is a bug and gets exit 3 with a log file.
"""

from __future__ import annotations

import sqlite3


class AircherError(Exception):
    """A failure the user can understand and usually fix."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(AircherError):
    """Bad input: an argument, a config value, a place where the command cannot run."""

    exit_code = 2


class ConfigError(UsageError):
    """A config file or value that cannot be used."""


class NotARepositoryError(UsageError):
    """Run outside a git work tree, or in a bare repository."""


class UnusablePathError(UsageError):
    """A repository or worktree whose path the store cannot keep (not UTF-8, a newline)."""


class SchemaError(AircherError):
    """A database whose schema this version cannot work with."""


class GitError(AircherError):
    """git itself failed."""


class StoreBusyError(AircherError, sqlite3.OperationalError):
    """Another process held a database's write lock longer than busy_timeout; nothing was
    written. Still an OperationalError, as SQLite's own "database is locked" was, for code
    that catches that."""


class WorkerBusyError(AircherError):
    """Another process (the background worker, a `sync`) held the slot that applies the
    journal past the wait a command allows it; nothing was applied."""


class QueryTimeoutError(AircherError, sqlite3.OperationalError):
    """A read query ran past storage.performance.query_timeout and SQLite stopped it. An
    OperationalError too, as SQLite's own "interrupted" was."""
