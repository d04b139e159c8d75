"""Knowledge transfers between branch contexts that git events show: a merge (the merged
branch into the one merged into), a branch renamed (the old name into the new).

The `context_relationships` row of type 'knowledge_transfer' says it happened; with
`transfer_knowledge`, the source's patterns, decisions and insights become the target's too
(`gitext.insights.transfer`).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

from gitext import clock
from gitext.contexts import Context, ensure_worktree_context
from gitext.errors import UsageError
from gitext.project import Project


def record_transfer(
    project: Project, proj: Context, source: str, target: str, commit: str | None, how: str
) -> None:
    if source == target:
        return
    with project.db("knowledge").write() as conn:
        src = _branch_context(conn, proj, source)
        tgt = _branch_context(conn, proj, target)
        conn.execute(
            "INSERT INTO context_relationships (id, source_context_id, target_context_id,"
            " relationship_type, strength, created_at, metadata) VALUES (?, ?, ?,"
            " 'knowledge_transfer', 1.0, ?, ?) ON CONFLICT(source_context_id,"
            " target_context_id, relationship_type) DO UPDATE SET metadata ="
            " json_patch(coalesce(context_relationships.metadata, '{}'), excluded.metadata)",
            (_rel_id(src.id, tgt.id), src.id, tgt.id, clock.now(),
             json.dumps({"via": how, "commit": commit})),
        )


def transfer_knowledge(
    project: Project, proj: Context, source: str, target: str, commit: str | None, how: str
) -> None:
    """The relationship recorded, and `source`'s patterns, decisions and insights made
    `target`'s too (a merge, a rename)."""
    from gitext.insights.transfer import transfer

    record_transfer(project, proj, source, target, commit, how)
    with contextlib.suppress(UsageError):  # a branch never seen here has nothing to give
        transfer(project, source, target)


def _rel_id(src: str, tgt: str) -> str:
    from gitext.ids import derived_id

    return derived_id("relationship", src, tgt, "knowledge_transfer")


def _branch_context(conn: sqlite3.Connection, proj: Context, branch: str) -> Context:
    from gitext.contexts import worktree_context_id

    row = conn.execute("SELECT * FROM contexts WHERE id = ?",
                       (worktree_context_id(proj.id, branch),)).fetchone()
    if row is not None:
        return Context.from_row(row)
    return ensure_worktree_context(conn, proj, branch, None, proj_path(proj), touch=False)


def proj_path(proj: Context) -> Path:
    return Path(proj.path or ".")
