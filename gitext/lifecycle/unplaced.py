"""Conversations stored in no context: doctor's `no_context` finding, and repair's mend.

Lists find a conversation by its `project_id` (`conversation list --all`) and its `context_id`
(a branch's or a session's list). Before 76ee8a9 an import took another tool's records without
them, and stored such conversations with NULL there: in no list, not even `--all`, while doctor
said healthy, and their export did not import again (QA round 24a: 02). The ids live in
knowledge.db, so no SQL migration of conversations.db can fill them in; repair does.

Repair puts them in the project's context, not in a branch's: the store is the project's, so
that much is known, whereas which branch a conversation belongs to is the user's call, as for
an import (`conversation import --adopt` says "this one"). A value set is kept, but for a
`context_id` naming no context of knowledge.db (`unknown_context`: its branch's context gone
with a damaged knowledge.db, a record copied from another store): in no list either, as none
lists that context, so it is placed the same way (known, session 22). A `project_id` naming
nothing here is the `orphans` check's (gitext/lifecycle/refs.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gitext.lifecycle.dbfiles import ARCHIVE_DB, raw_connect
from gitext.project import Project

if TYPE_CHECKING:
    from gitext.lifecycle.findings import Finding

DATABASES = ("conversations", ARCHIVE_DB)


def _where(conn: sqlite3.Connection) -> str:
    """Rows in no context. An archive that no copy has reached since conversations gained
    context_id lacks the column (a copy adds it): every row of it is in no context."""
    columns = {r[1] for r in conn.execute("PRAGMA table_info(conversations)")}
    return "project_id IS NULL OR context_id IS NULL" if "context_id" in columns else "1"


def unplaced(project: Project, sound: set[str], unlinking: Sequence[str] = ()
             ) -> dict[str, list[str]]:
    """Ids of conversations in no context, per database (only sound ones are read); with
    `unlinking`, also those of conversations.db whose project is one of these (`repair
    --clean` is about to unlink them)."""
    found: dict[str, list[str]] = {}
    for db in DATABASES:
        path = project.layout.db(db)
        if db not in sound or not path.exists():
            continue
        gone = list(unlinking) if db == "conversations" else []
        also = f" OR project_id IN ({','.join('?' * len(gone))})" if gone else ""
        conn = raw_connect(path)
        try:
            ids = [str(r[0]) for r in conn.execute(
                f"SELECT id FROM conversations WHERE {_where(conn)}{also} ORDER BY id", gone)]
        finally:
            conn.close()
        if ids:
            found[db] = ids
    return found


def _unknown_contexts(conn: sqlite3.Connection, known: set[str]) -> list[str]:
    """The conversations' context_id values that name no context of knowledge.db."""
    columns = {r[1] for r in conn.execute("PRAGMA table_info(conversations)")}
    if "context_id" not in columns:
        return []
    return sorted(str(r[0]) for r in conn.execute(
        "SELECT DISTINCT context_id FROM conversations WHERE context_id IS NOT NULL")
        if str(r[0]) not in known)


def _known_contexts(project: Project) -> set[str]:
    conn = raw_connect(project.layout.db("knowledge"))
    try:
        return {str(r[0]) for r in conn.execute("SELECT id FROM contexts")}
    finally:
        conn.close()


def unknown_context(project: Project, sound: set[str]) -> dict[str, list[str]]:
    """Ids of conversations whose context_id names no context, per database (only sound ones
    are read, and only while knowledge.db, which says which contexts there are, is sound)."""
    if "knowledge" not in sound:
        return {}
    known = _known_contexts(project)
    found: dict[str, list[str]] = {}
    for db in DATABASES:
        path = project.layout.db(db)
        if db not in sound or not path.exists():
            continue
        conn = raw_connect(path)
        try:
            gone = _unknown_contexts(conn, known)
            ids = [str(r[0]) for r in conn.execute(
                f"SELECT id FROM conversations WHERE context_id IN ({','.join('?' * len(gone))})"
                " ORDER BY id", gone)] if gone else []
        finally:
            conn.close()
        if ids:
            found[db] = ids
    return found


def unplaced_findings(project: Project, sound: set[str]) -> list[Finding]:
    from gitext.lifecycle.findings import Finding

    try:
        found = unplaced(project, sound)
        unknown = unknown_context(project, sound)
    except sqlite3.DatabaseError:
        return []
    return [Finding(
        "no_context", "warning", db,
        f"{len(ids)} conversation(s) have no project or no context (stored so by an older"
        f" import): `conversation list` shows them nowhere, or only with --all, and their"
        f" export does not import again (e.g. {ids[0]})",
        "put in the project's context (`conversation list --all` lists them)",
    ) for db, ids in found.items()] + [Finding(
        "unknown_context", "warning", db,
        f"{len(ids)} conversation(s) name a context that does not exist: no branch's or"
        f" session's list shows them (e.g. {ids[0]})",
        "put in the project's context (`conversation list --all` lists them)",
    ) for db, ids in unknown.items()]


def place_in_project(project: Project, *, dry_run: bool = False,
                     unlinking: Sequence[str] = ()) -> dict[str, int]:
    """Fill in the missing project and context of such conversations with the project's
    context; how many per database. A dry run counts those whose project is in `unlinking`
    too: the real run comes after `repair --clean` has unlinked them."""
    from gitext.lifecycle.archive import ensure_columns, open_archive
    from gitext.records.current import require_project_context

    proj = require_project_context(project).id
    known = _known_contexts(project)
    counts: dict[str, int] = {}
    for db in DATABASES:
        path = project.layout.db(db)
        if not path.exists():
            continue
        if dry_run:
            counts[db] = len(set(unplaced(project, {db}, unlinking).get(db, []))
                             | set(unknown_context(project, {db, "knowledge"}).get(db, [])))
            continue
        if db == ARCHIVE_DB:
            with open_archive(project) as archive, archive.write() as conn:
                if conn.execute(f"SELECT 1 FROM conversations WHERE {_where(conn)}").fetchone():
                    ensure_columns(conn, "conversations", ["context_id"])
                counts[db] = _fill(conn, proj, _unknown_contexts(conn, known))
        else:
            with project.db(db).write() as conn:
                counts[db] = _fill(conn, proj, _unknown_contexts(conn, known))
    return {db: n for db, n in counts.items() if n}


def _fill(conn: sqlite3.Connection, proj: str, unknown: list[str]) -> int:
    marks = ",".join("?" * len(unknown))
    gone = f" OR context_id IN ({marks})" if unknown else ""
    return conn.execute(
        f"UPDATE conversations SET project_id = coalesce(project_id, ?),"
        f" context_id = CASE WHEN context_id IS NULL{gone} THEN ? ELSE context_id END"
        f" WHERE project_id IS NULL OR context_id IS NULL{gone}",
        (proj, *unknown, proj, *unknown)).rowcount
