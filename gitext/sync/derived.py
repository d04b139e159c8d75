"""What is read out of changed files: relationships (imports, tests, documents) and snippets.

Recording a change is cheap; parsing the file is not. So sync only queues changed paths in
`analysis_pending`, and `process_pending` (run by the worker, and by any query that needs the
results first) reads and parses them in batches.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gitext import clock
from gitext.git.objects import read_files
from gitext.ids import derived_id
from gitext.index.languages import is_binary
from gitext.index.relationships import find_relationships
from gitext.index.secrets import is_secret_path, redact
from gitext.index.snippets import extract_snippets
from gitext.store.pool import Database
from gitext.sync.files import GITLINK, SYMLINK, FileState, file_id

MAX_ANALYSED = 1024 * 1024  # parsing a multi-megabyte file on a hook path is not worth it


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def queue(db: Database, conn: sqlite3.Connection, root: str, present: list[str],
          removed: list[str]) -> None:
    now = clock.now()
    db.executemany(
        conn,
        "INSERT OR REPLACE INTO analysis_pending (worktree_path, path, removed, queued_at)"
        " VALUES (?, ?, ?, ?)",
        [(root, p, 0, now) for p in present] + [(root, p, 1, now) for p in removed],
    )


# The path of the one row that queues every file of a worktree (a first listing): writing
# 50,000 queue rows took 5% of a first index, and is the worker's job, not the command's.
EVERYTHING = ""


def queue_everything(conn: sqlite3.Connection, root: str) -> None:
    conn.execute("INSERT OR REPLACE INTO analysis_pending (worktree_path, path, removed,"
                 " queued_at) VALUES (?, ?, 0, ?)", (root, EVERYTHING, clock.now()))


def _expand(db: Database, key: str) -> None:
    marked = "SELECT 1 FROM analysis_pending WHERE worktree_path = ? AND path = ?"
    with db.read() as conn:  # no write lock taken on the usual path, where there is no marker
        if conn.execute(marked, (key, EVERYTHING)).fetchone() is None:
            return
    with db.write() as conn:
        if conn.execute(marked, (key, EVERYTHING)).fetchone() is None:
            return
        conn.execute(
            "INSERT OR REPLACE INTO analysis_pending (worktree_path, path, removed, queued_at)"
            " SELECT ?, f.path, 0, ? FROM worktree_files w JOIN files f ON f.id = w.file_id"
            " WHERE w.worktree_path = ?", (key, clock.now(), key))
        conn.execute("DELETE FROM analysis_pending WHERE worktree_path = ? AND path = ?",
                     (key, EVERYTHING))


def pending_count(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute("SELECT count(*) FROM analysis_pending").fetchone()[0])


DocSink = Callable[[list[tuple[str, str, str]], list[str]], object]


# Files per write transaction: the worker holds file_index.db's write lock for each, and a
# `sync` or hook write waits behind it (2,000 held it ~4 s for a 900-file commit; 400, ~1 s).
BATCH = 400


def process_pending(db: Database, project_id: str, root: Path, batch: int = BATCH,
                    docs: DocSink | None = None) -> int:
    """Analyse what is queued for this worktree, a batch per transaction; returns files done.

    `docs` receives the changed (path, blob id, text) and removed paths of each batch, for the
    documentation_files rows kept in knowledge.db.
    """
    done = 0
    key = str(root)
    _expand(db, key)
    repo_files: frozenset[str] | None = None  # one set for every batch: resolvers index it once
    while True:
        with db.read() as conn:
            rows = conn.execute(
                "SELECT a.path, a.removed, w.content_hash, f.permissions FROM analysis_pending a"
                " LEFT JOIN files f ON f.path = a.path LEFT JOIN worktree_files w"
                " ON w.file_id = f.id AND w.worktree_path = a.worktree_path"
                " WHERE a.worktree_path = ? LIMIT ?", (key, batch)).fetchall()
            if not rows:
                return done
            if repo_files is None:
                repo_files = frozenset(r[0] for r in conn.execute(
                    "SELECT f.path FROM worktree_files w JOIN files f ON f.id = w.file_id"
                    " WHERE w.worktree_path = ?", (key,)))
        states = [FileState(r[0], r[3] or "100644", r[2], "clean") for r in rows
                  if not r[1] and r[2] is not None]
        removed = [r[0] for r in rows if r[1] or r[2] is None]
        _load(root, states)
        if docs is not None:
            docs([(s.path, s.blob, _text(redact(s.content))) for s in states
                  if s.content is not None],
                 removed)
        analysed = {s.path: s.blob for s in states} | dict.fromkeys(removed, "")
        derived = derive(project_id, states, repo_files)
        with db.write() as conn:
            refresh(db, conn, project_id, states, removed, derived)
            # Only what the view still holds as analysed: a path queued again meanwhile with
            # other content (an edit undone while this read it) is analysed again.
            db.executemany(
                conn, "DELETE FROM analysis_pending WHERE worktree_path = ? AND path = ?"
                " AND coalesce((SELECT w.content_hash FROM worktree_files w JOIN files f"
                " ON f.id = w.file_id WHERE w.worktree_path = ? AND f.path = ?), '') = ?",
                [(key, path, key, path, blob) for path, blob in analysed.items()])
        done += len(rows)


def _load(root: Path, states: list[FileState]) -> None:
    wanted = [(s.path, s.blob) for s in states if s.mode not in (GITLINK, SYMLINK)
              and not is_secret_path(s.path)]
    contents = dict(read_files(root, wanted, max_size=MAX_ANALYSED))
    for s in states:
        data = contents.get(s.blob)
        if data is not None and not is_binary(data):
            s.content = data


def derive(project_id: str, changed: list[FileState], repo_files: frozenset[str]
           ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The relationship and snippet rows of changed files: parsing, done before a write
    transaction is opened (a large commit's files took seconds inside one)."""
    now = clock.now()
    rel_rows: list[tuple[Any, ...]] = []
    snip_rows: list[tuple[Any, ...]] = []
    for s in changed:
        if s.content is None or len(s.content) > MAX_ANALYSED:
            continue
        text = _text(redact(s.content))  # snippets never hold a key
        src = file_id(project_id, s.path)
        for rel in find_relationships(s.path, text, repo_files):
            tgt = file_id(project_id, rel.target)
            rel_rows.append((derived_id("rel", src, tgt, rel.kind), src, tgt, rel.kind, now, now))
        for i, sn in enumerate(extract_snippets(s.path, text)):
            snip_rows.append((derived_id("snippet", src, str(i)), src, sn.kind, sn.content,
                              sn.line_start, sn.line_end, now))
    return rel_rows, snip_rows


def refresh(
    db: Database,
    conn: sqlite3.Connection,
    project_id: str,
    changed: list[FileState],
    removed: list[str],
    rows: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]],
) -> int:
    """Replace relationships and snippets of changed files with ``rows`` (`derive`'s); drop
    those of removed ones."""
    rel_rows, snip_rows = rows
    sources = [file_id(project_id, s.path) for s in changed] + [
        file_id(project_id, p) for p in removed
    ]
    db.executemany(conn, "DELETE FROM file_relationships WHERE source_file_id = ?",
                   ((f,) for f in sources))
    db.executemany(conn, "DELETE FROM file_snippets WHERE file_id = ?", ((f,) for f in sources))
    db.executemany(
        conn,
        "INSERT OR REPLACE INTO file_relationships (id, source_file_id, target_file_id,"
        " relationship_type, discovered_at, last_verified) VALUES (?, ?, ?, ?, ?, ?)",
        rel_rows,
    )
    db.executemany(
        conn,
        "INSERT OR REPLACE INTO file_snippets (id, file_id, snippet_type, content, line_start,"
        " line_end, last_updated) VALUES (?, ?, ?, ?, ?, ?, ?)",
        snip_rows,
    )
    return len(rel_rows) + len(snip_rows)
