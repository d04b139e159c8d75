"""Numbered SQL migrations, versioned by PRAGMA user_version, each applied in one transaction."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from gitext import __version__
from gitext.errors import SchemaError
from gitext.resources import data_dir

# What to do about a store written by a newer git-aircher: nothing here can read it safely.
UPGRADE_HINT = "upgrade git-aircher (./install.sh in its checkout)"
_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    path: Path

    def statements(self) -> list[str]:
        return split_sql(self.path.read_text("utf-8"))


@cache
def migrations(db: str) -> tuple[Migration, ...]:
    folder = data_dir("schemas") / db
    found = []
    for path in folder.glob("*.sql"):
        m = _NAME.match(path.name)
        if m:
            found.append(Migration(int(m.group(1)), path))
    found.sort(key=lambda m: m.version)
    for expected, mig in enumerate(found, start=1):
        if mig.version != expected:
            raise SchemaError(f"schemas/{db}: migration {expected:03d} is missing")
    return tuple(found)


def latest_version(db: str) -> int:
    found = migrations(db)
    return found[-1].version if found else 0


DATABASES = ("conversations", "conversations_archive", "knowledge", "file_index", "sessions",
             "global")


def schema_levels() -> str:
    """Each database's schema version this code migrates to, as `--version` says them: two
    installs of one release number are told apart by what they can open."""
    return ", ".join(f"{db} {latest_version(db)}" for db in DATABASES)


def split_sql(script: str) -> list[str]:
    """Whole statements of a script (triggers with inner semicolons stay whole)."""
    statements: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                statements.append(buf.strip())
            buf = ""
    if buf.strip() and not all(
        ln.strip().startswith("--") or not ln.strip() for ln in buf.splitlines()
    ):
        raise SchemaError(f"unterminated SQL statement: {buf.strip()[:60]}")
    return statements


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, db: str, label: str) -> int:
    """Bring ``conn`` to the newest schema of ``db``; returns the version reached.

    Safe against another process migrating at the same time: the version is read again under
    the write lock, so each migration runs once.
    """
    from gitext.store.identity import refuse_other

    target = latest_version(db)
    current = user_version(conn)
    refuse_other(conn, db, current, label)  # another database's version says nothing of ours
    _refuse_newer(current, target, label)
    while current < target:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = user_version(conn)
            _refuse_newer(current, target, label)
            if current < target:
                mig = migrations(db)[current]
                for stmt in mig.statements():
                    conn.execute(stmt)
                conn.execute(f"PRAGMA user_version = {mig.version}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        current = user_version(conn)
    return current


def _refuse_newer(current: int, target: int, label: str) -> None:
    if current > target:
        raise SchemaError(
            f"{label} has schema version {current}; this git-aircher ({__version__}) knows up"
            f" to {target}",
            hint=UPGRADE_HINT,
        )
