"""Which of the store's databases a file is, told by its tables.

A database file copied over another's name (a mistaken `cp`, a restore tool putting files back
under the wrong names) was taken for the one its name says: its user_version, another
database's, read as a schema "newer than this git-aircher knows" with the hint to upgrade,
an older one would have been migrated with the wrong migrations, and doctor read it for
tables it lacks and crashed (QA round 24b: 05). The tables a database holds say whose it is:
each database's migrations make tables no other's do (the archive's are conversations.db's
first ones, and only its later ones tell those two apart, hence the version).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from functools import cache

from gitext.errors import SchemaError
from gitext.store.migrate import DATABASES, migrations

DOCTOR_HINT = "`git aircher doctor` checks the store and says what to do"
_CREATE = re.compile(
    r"\bCREATE\s+(?:VIRTUAL\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?[\"`\[]?(\w+)", re.IGNORECASE)


@cache
def _made_by(db: str) -> tuple[frozenset[str], ...]:
    """The tables each migration of `db` creates, in order."""
    return tuple(frozenset(_CREATE.findall(m.path.read_text("utf-8"))) for m in migrations(db))


def tables_made(db: str, version: int) -> frozenset[str]:
    """The tables `db` has at schema `version` (its latest, past that)."""
    return frozenset().union(*_made_by(db)[:max(0, version)])


def owner(tables: Iterable[str], db: str, version: int) -> str:
    """The database whose tables at `version` these are most nearly (by the share of the two
    sets they have in common; tables no migration makes, full-text shadow tables and any a
    user added, do not count); `db` itself when no other fits better."""
    known = frozenset().union(*(tables_made(d, version) for d in DATABASES))
    have = set(tables) & known

    def fit(d: str) -> float:
        made = tables_made(d, version)
        return len(have & made) / len(have | made) if have | made else 0.0

    best = max(DATABASES, key=lambda d: (fit(d), d == db))
    return best if fit(best) > fit(db) else db


def file_tables(conn: sqlite3.Connection) -> list[str]:
    return [str(r[0]) for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]


def refuse_other(conn: sqlite3.Connection, db: str, version: int, label: str) -> None:
    """Raise when the database on `conn` is another of the store's databases than `db`."""
    if version <= 0:
        return  # a new file: nothing in it yet
    other = owner(file_tables(conn), db, version)
    if other != db:
        raise SchemaError(
            f"{label} is not the {db} database: it holds the tables of {other} (a copy put in"
            " its place?)", hint=DOCTOR_HINT)
