"""Once per store: what was indexed before file contents were redacted, taken out again.

A store written before `secrets.redact` holds a key committed in an ordinary file (before the
guard was installed, by someone else, with `--no-verify`) in its full text, vector previews,
snippets and documentation notes, and one written in a commit message in `commits.message`.
Migration file_index/008 leaves a row in `pending_scrubs`; the first full search update after
it reads every indexed version again and takes out each that holds a key, is named like a
secret, or can no longer be read (its terms, vectors, snippets and notes). Those files are
parsed again at once, redacted, and the update that called it indexes them again as it does
any file it lacks; other worktrees' stamps are dropped so their next update does the same.
Commit messages and snippets are redacted in place. Then the row goes: a crash before that
only means the work is done again.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from gitext import clock
from gitext.git.objects import read_files
from gitext.index.secrets import is_secret_path, redact, redact_text
from gitext.project import Project
from gitext.store.pool import Database

NAME = "credentials"
BATCH = 2000


def pending(project: Project, name: str = NAME) -> bool:
    """Whether the one-time clean-up `name` (a row of `pending_scrubs`) is still to run."""
    with project.db("file_index").read() as conn:
        return conn.execute("SELECT 1 FROM pending_scrubs WHERE name = ?",
                            (name,)).fetchone() is not None


def scrub(project: Project) -> int:
    """Take out the indexed versions that hold a key; returns how many. Call in the heavy slot
    (it rewrites search rows and vectors)."""
    if not pending(project):
        return 0
    from gitext.search.maintenance import forget_vectors
    from gitext.search.stamps import forget_indexed

    root = project.repo.root
    fdb, kdb = project.db("file_index"), project.db("knowledge")
    with fdb.read() as conn:
        pairs = {(r[0], r[1]) for r in conn.execute(
            "SELECT path, blob FROM search_docs UNION SELECT path, blob FROM search_orphans")}
        worktrees = [r[0] for r in conn.execute("SELECT worktree_path FROM sync_state")]
    with kdb.read() as kconn:
        pairs |= {(r[0], r[1]) for r in kconn.execute(
            "SELECT DISTINCT file_path, content_hash FROM embedding_metadata"
            " WHERE content_hash IS NOT NULL")}
        # Docs named like secrets that `knowledge docs refresh` once read (QA round 26d: 02):
        # search never indexed them, so no version above names them.
        named = {r[0] for r in kconn.execute("SELECT file_path FROM documentation_files")
                 if is_secret_path(r[0])}
    bad = _holding_keys(root, sorted(pairs))
    blobs = {b for _, b in bad}
    paths = {p for p, _ in bad}
    with _wiping(kdb), kdb.write() as kconn:
        kdb.executemany(kconn, "DELETE FROM embedding_metadata WHERE content_hash = ?",
                        ((b,) for b in blobs))
        kdb.executemany(kconn, "DELETE FROM documentation_files WHERE file_path = ?",
                        ((p,) for p in paths | named))
        # Notes of files search never reads (over 1 MiB), insights and transfers made of
        # commit messages (as terms, lower-cased), previews of versions kept.
        _redact_everywhere(kconn)
    if bad:
        with _wiping(kdb):
            forget_vectors(project)  # the vectors leave their files now, not at a compaction
    with _wiping(fdb), fdb.write() as conn:
        fdb.executemany(conn, "DELETE FROM search_docs WHERE path = ? AND blob = ?", bad)
        fdb.executemany(conn, "DELETE FROM search_orphans WHERE path = ? AND blob = ?", bad)
        if bad:
            # FTS5 keeps a deleted row's terms in its older segments until they are merged.
            conn.execute("INSERT INTO search_fts (search_fts) VALUES ('optimize')")
        fdb.executemany(conn, "DELETE FROM file_snippets WHERE file_id IN (SELECT id FROM"
                        " files WHERE path = ?)", ((p,) for p in paths))
        # Parsed again, redacted: snippets, relationships and documentation notes.
        fdb.executemany(
            conn, "INSERT OR IGNORE INTO analysis_pending (worktree_path, path, queued_at)"
            " SELECT w.worktree_path, f.path, ? FROM worktree_files w JOIN files f"
            " ON f.id = w.file_id WHERE f.path = ?", ((clock.now(), p) for p in paths))
        _redact_everywhere(conn)  # snippets, commit messages, …
        conn.execute("DELETE FROM pending_scrubs WHERE name = ?", (NAME,))
    for worktree in worktrees:
        forget_indexed(project, Path(worktree))
    if paths:
        from gitext.sync.followups import analyse_pending

        analyse_pending(project)  # their snippets and notes now, not at the next commit
    return len(bad)


@contextlib.contextmanager
def _wiping(db: Database) -> Iterator[None]:
    """What is deleted meanwhile is overwritten, not left in free pages or in the WAL file,
    where anyone reading the database file would still find it."""
    conn = db.writer
    before = conn.execute("PRAGMA secure_delete").fetchone()[0]
    conn.execute("PRAGMA secure_delete = ON")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA secure_delete = {int(before)}")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _holding_keys(root: Path, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (path, blob) versions whose content holds a key, or whose name now says it is a
    secret (`.envrc`), or that cannot be read to tell (a work tree edit since gone, a blob
    pruned): those are taken out too, and indexed again from what the views hold now."""
    bad = [p for p in pairs if is_secret_path(p[0])]
    pairs = [p for p in pairs if not is_secret_path(p[0])]
    for i in range(0, len(pairs), BATCH):
        chunk = pairs[i : i + BATCH]
        contents = dict(read_files(root, chunk))
        for path, blob in chunk:
            data = contents.get(blob)
            if data is None or redact(data) is not data:
                bad.append((path, blob))
    return bad


# Columns that name things (paths, branches, ids, hashes): a key there is the name itself, and
# changing it would break what refers to it.
_NAMES = frozenset({"path", "old_path", "new_path", "file_path", "worktree_path", "name",
                    "branch_name", "git_branch", "blob", "sha", "git_commit", "first_parent",
                    "parents"})
# The search index is taken care of version by version above (its terms are rebuilt).
_SKIPPED = ("search_", "pending_scrubs", "sqlite_")
# Case-insensitive LIKE: the literal starts of every key pattern, a cheap filter before the
# exact check.
_LIKELY = ("%akia%", "%gh%\\_%", "%github\\_pat\\_%", "%sk-%", "%xox%", "%aiza%",
           "%private key%", "%npm\\_%", "%pypi-age%", "%glpat-%", "%:\\_auth%",
           "%:\\_password%", "%putty-user-key-file-%")


def _redact_everywhere(conn: sqlite3.Connection) -> None:
    """Every text column of every table of this database, keys in any case redacted in place."""
    tables = [str(r[0]) for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'")]
    for table in tables:
        if table.startswith(_SKIPPED):
            continue
        info = conn.execute(f"PRAGMA table_info('{table}')").fetchall()
        keys = [str(r[1]) for r in sorted(info, key=lambda r: r[5]) if r[5]] or ["rowid"]
        for row in info:
            column, kind = str(row[1]), str(row[2] or "").upper()
            if column in _NAMES or column.endswith(("_id", "_hash")) or column == "id":
                continue
            if kind and not any(t in kind for t in ("TEXT", "CHAR", "CLOB", "JSON")):
                continue
            _redact_column(conn, table, keys, column)


def _redact_column(conn: sqlite3.Connection, table: str, keys: list[str], column: str) -> None:
    likely = " OR ".join(f'"{column}" LIKE ? ESCAPE \'\\\'' for _ in _LIKELY)
    key_list = ", ".join(f'"{k}"' if k != "rowid" else k for k in keys)
    rows = conn.execute(f'SELECT {key_list}, "{column}" FROM "{table}" WHERE {likely}',
                        _LIKELY).fetchall()
    where = " AND ".join(f'"{k}" = ?' if k != "rowid" else "rowid = ?" for k in keys)
    for row in rows:
        text = row[len(keys)]
        if not isinstance(text, str):
            continue
        done = redact_text(text, any_case=True)
        if done is not text:
            conn.execute(f'UPDATE "{table}" SET "{column}" = ? WHERE {where}',
                         (done, *row[: len(keys)]))
