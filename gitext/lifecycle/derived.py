"""What a backup leaves out: the search index, which git can always give back.

The full-text index (`search_docs`, its FTS5 table, the set-aside versions of `search_orphans`)
and the rows naming vectors (`embedding_metadata`, whose vector files a backup never held) are
made from file contents. They were most of a backup: on git/git 84 of the 97 MB a backup took
after a morning of branch switches, every day for `backup_retain_days`. Emptied in the copy,
they come back after a restore the way they came the first time: the restore drops the search
stamps, and the next query or worker pass indexes what the copy lacks. Leaving them out also
keeps every indexed file's text out of the backups.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from gitext.lifecycle.dbfiles import quote_ident

DERIVED: dict[str, tuple[str, ...]] = {
    "file_index": ("search_docs", "search_orphans"),
    "knowledge": ("embedding_metadata",),
}
# External-content FTS5 tables kept in step with a derived table by its triggers.
_FTS_OF = {"search_docs": "search_fts"}


def derived_tables(database: str) -> tuple[str, ...]:
    return DERIVED.get(database, ())


def empty_derived(path: Path, database: str) -> list[str]:
    """Empty the derived tables of the standalone copy at `path`, then compact it; returns the
    tables emptied (those the copy has)."""
    wanted = derived_tables(database)
    if not wanted:
        return []
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        present = {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table'")}
        tables = [t for t in wanted if t in present]
        if not tables:
            return []
        conn.execute("BEGIN IMMEDIATE")
        # The triggers would replay every row into the FTS index as a delete, one by one; the
        # index is emptied whole instead, and the triggers put back as they were.
        marks = ", ".join("?" * len(tables))
        triggers = conn.execute(
            f"SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND tbl_name IN ({marks})",
            tables,
        ).fetchall()
        for name, _sql in triggers:
            conn.execute(f"DROP TRIGGER {quote_ident(name)}")
        for table in tables:
            conn.execute(f"DELETE FROM {quote_ident(table)}")
            fts = _FTS_OF.get(table)
            if fts is not None and fts in present:
                conn.execute(f"INSERT INTO {quote_ident(fts)} ({quote_ident(fts)})"
                             " VALUES ('delete-all')")
        for _name, sql in triggers:
            conn.execute(sql)
        conn.execute("COMMIT")
        conn.execute("VACUUM")
        return tables
    finally:
        conn.close()
