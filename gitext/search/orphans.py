"""Text versions no view holds, set aside (`search_orphans`) rather than dropped at once.

The sweep of every full search update moves out of the index the versions no worktree's view
holds, and drops them an hour later; a sync that puts one back in a view brings it back with
the view, in the same transaction. Views leave versions and come back to them (an edit undone,
a checkout and back, another worktree's update running between a commit and a checkout)
faster than the stamp of what is indexed (`run/indexed-*`) can tell, and nothing would index
such a version again. Kept out of `search_fts`, set-aside versions weigh nothing in BM25.
Imported by the sync engine: nothing here may cost an import.
"""

from __future__ import annotations

import sqlite3

from gitext import clock

# Seconds a version no view holds is kept aside. Branch switches and undone edits come back
# within minutes; kept out of the FTS index meanwhile, it weighs nothing in BM25.
ORPHAN_GRACE = 3600.0

_DOC_COLUMNS = "path, blob, n_terms, line_count, path_terms, symbol_terms, body_terms, indexed_at"
_HELD = ("EXISTS (SELECT 1 FROM worktree_files w JOIN files f ON f.id = w.file_id"
         " WHERE f.path = {t}.path AND w.content_hash = {t}.blob{where})")


def drop_unreferenced(conn: sqlite3.Connection, grace: float = ORPHAN_GRACE) -> int:
    """Set aside the versions no worktree holds (their terms would skew every BM25 statistic),
    bring back those a view holds again, and drop those set aside for `grace` seconds; returns
    how many left the index."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS unheld (id INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM temp.unheld")
    conn.execute("INSERT INTO temp.unheld SELECT id FROM search_docs d WHERE NOT "
                 + _HELD.format(t="d", where=""))
    conn.execute(f"INSERT OR REPLACE INTO search_orphans ({_DOC_COLUMNS}, since)"
                 f" SELECT {_DOC_COLUMNS}, ? FROM search_docs"
                 " WHERE id IN (SELECT id FROM temp.unheld)", (clock.now(),))
    left = conn.execute(
        "DELETE FROM search_docs WHERE id IN (SELECT id FROM temp.unheld)").rowcount
    conn.execute("DELETE FROM temp.unheld")
    revive(conn)
    conn.execute("DELETE FROM search_orphans WHERE since <= ?",
                 (clock.ago(grace),))
    return left


def revive(conn: sqlite3.Connection, worktree: str | None = None) -> int:
    """Set-aside versions a view holds again (of `worktree`, or any) back into the index: a
    sync calls this in the transaction that changes the view, so what it holds is searchable
    without reading or tokenizing anything."""
    where = "" if worktree is None else " AND w.worktree_path = ?"
    args: tuple[str, ...] = () if worktree is None else (worktree,)
    held = _HELD.format(t="o", where=where)
    if conn.execute(f"SELECT 1 FROM search_orphans o WHERE {held} LIMIT 1", args).fetchone() \
            is None:
        return 0
    back = conn.execute(f"INSERT OR IGNORE INTO search_docs ({_DOC_COLUMNS})"
                        f" SELECT {_DOC_COLUMNS} FROM search_orphans o WHERE {held}",
                        args).rowcount
    conn.execute(f"DELETE FROM search_orphans AS o WHERE {held}", args)
    return back
