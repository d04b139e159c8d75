"""What is read out of changed files: relationships (imports, tests, documents) and snippets."""

from __future__ import annotations

import sqlite3

from gitext import clock
from gitext.ids import derived_id
from gitext.index.relationships import find_relationships
from gitext.index.snippets import extract_snippets
from gitext.store.pool import Database
from gitext.sync.files import FileState, file_id

MAX_ANALYSED = 1024 * 1024  # parsing a multi-megabyte file on a hook path is not worth it


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def refresh(
    db: Database,
    conn: sqlite3.Connection,
    project_id: str,
    changed: list[FileState],
    removed: list[str],
    repo_files: set[str],
) -> int:
    """Replace relationships and snippets of changed files; drop those of removed ones."""
    frozen = frozenset(repo_files)
    now = clock.now()
    sources = [file_id(project_id, s.path) for s in changed] + [
        file_id(project_id, p) for p in removed
    ]
    db.executemany(conn, "DELETE FROM file_relationships WHERE source_file_id = ?",
                   ((f,) for f in sources))
    db.executemany(conn, "DELETE FROM file_snippets WHERE file_id = ?", ((f,) for f in sources))
    rel_rows = []
    snip_rows = []
    for s in changed:
        if s.content is None or len(s.content) > MAX_ANALYSED:
            continue
        text = _text(s.content)
        src = file_id(project_id, s.path)
        for rel in find_relationships(s.path, text, frozen):
            tgt = file_id(project_id, rel.target)
            rel_rows.append((derived_id("rel", src, tgt, rel.kind), src, tgt, rel.kind, now, now))
        for i, sn in enumerate(extract_snippets(s.path, text)):
            snip_rows.append((derived_id("snippet", src, str(i)), src, sn.kind, sn.content,
                              sn.line_start, sn.line_end, now))
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
