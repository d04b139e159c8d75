"""Feedback: how useful a file turned out to be, and what it does to the next scores.

A feedback row goes to ``context_relevance_feedback`` (knowledge.db) and, as a
'context_inclusion' access, to ``file_access_patterns`` (file_index.db); the first feeds the
success correlation, the second the access part of the frequency score.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from gitext import clock
from gitext.contexts import Context
from gitext.errors import UsageError
from gitext.ids import new_id
from gitext.project import Project

if TYPE_CHECKING:
    from gitext.relevance.history import History


@dataclass(frozen=True)
class Feedback:
    id: str
    path: str
    useful: float
    conversation_id: str | None
    context_id: str
    recorded_at: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def repo_path(project: Project, path: str, cwd: Path | None = None) -> str:
    """A path as the index knows it: relative to the worktree root, with '/'."""
    root = project.repo.root
    if not path.strip():
        raise UsageError("PATH is empty: name a file of this repository")
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = (cwd or root) / candidate
    try:
        rel = candidate.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        rel = Path(path)
    text = PurePosixPath(*rel.parts).as_posix() if rel.parts else ""
    # A path part, not a prefix of the text: '..notes.md' is a file of the root. Git refuses
    # '..' as a part of a tracked path, so any one left (the fallback above) is an escape.
    if not text or ".." in rel.parts or Path(text).is_absolute():
        raise UsageError(f"{path} is not inside this repository")
    return text


def indexed_file(project: Project, path: str, cwd: Path | None = None) -> tuple[str, str]:
    """``path`` as the index knows it and its file id: resolved against ``cwd`` (else the root),
    inside this repository and in the file index, or a UsageError. Every command that records
    feedback goes through here, so a row always names a path the scores can match."""
    rel = repo_path(project, path, cwd)
    with project.db("file_index").read() as conn:
        row = conn.execute("SELECT id FROM files WHERE path = ?", (rel,)).fetchone()
    if row is None:
        raise UsageError(f"{rel} is not in the file index",
                         hint="run `git aircher index`, or check the path")
    return rel, str(row[0])


def mark_dirty(conn: sqlite3.Connection, file_id: str, now: str) -> None:
    """Feedback changes the file's success correlation: stored scores must be recomputed."""
    conn.execute("INSERT OR REPLACE INTO relevance_dirty (file_id, marked_at) VALUES (?, ?)",
                 (file_id, now))


def record_feedback(project: Project, path: str, useful: float, *,
                    conversation_id: str | None = None, context_name: str | None = None,
                    cwd: Path | None = None) -> Feedback:
    """Record that ``path`` was ``useful`` (0..1) in the current (or named) context."""

    project.require_init()
    if not isinstance(useful, int | float) or math.isnan(useful) or not 0.0 <= useful <= 1.0:
        raise UsageError(f"--useful must be between 0 and 1, got {useful}")
    rel, file_id = indexed_file(project, path, cwd)
    if conversation_id is not None:
        # The conversation commands' resolution (a unique prefix, archived ones named): an id
        # stored unchecked is a reference nothing can follow.
        from gitext.records.conversations import get_conversation

        conversation_id = get_conversation(project, conversation_id).id
    if context_name:
        # A branch no event has met yet gets its context now, as the hooks would make it.
        from gitext.records.lookup import context_to_write

        with project.db("knowledge").write() as conn:
            ctx = context_to_write(project, conn, context_name)
    else:
        # A write names its context, by the rule every record follows: the session current in
        # this worktree, else the branch's (created if the hooks have not met this branch yet,
        # so no access row names a context that does not exist). Before, feedback given in a
        # session was filed on its branch alone, the one write that skipped the session.
        from gitext.records.current import current_context

        ctx = current_context(project)
    now = clock.now()
    fb = Feedback(new_id(), rel, float(useful), conversation_id, ctx.id, now)
    with project.db("knowledge").write() as conn:
        conn.execute(
            "INSERT INTO context_relevance_feedback (id, file_path, conversation_id,"
            " relevance_score, actual_usefulness, context_type, feedback_source, recorded_at,"
            " context_id) VALUES (?, ?, ?, NULL, ?, ?, 'explicit', ?, ?)",
            (fb.id, rel, conversation_id, fb.useful, ctx.context_type, now, ctx.id))
    with project.db("file_index").write() as conn:
        conn.execute(
            "INSERT INTO file_access_patterns (id, file_id, access_type, accessed_at, accessor,"
            " context_id, success) VALUES (?, ?, 'context_inclusion', ?, 'feedback', ?, ?)",
            (new_id(), file_id, now, ctx.id, fb.useful >= 0.5))
        mark_dirty(conn, file_id, now)
    return fb


@dataclass(frozen=True)
class Scope:
    """Which feedback (and which recorded access) counts for a context: what was given in it,
    in one of its sessions or at a level above it (a session takes its branch's), and what
    names no context: rows recorded before feedback named one, or through the record API."""

    own: frozenset[str]
    known: frozenset[str]

    def counts(self, context_id: str | None) -> bool:
        # An id that is no context's is an old access row's conversation id (contexts are
        # never deleted): recorded before, so it counts everywhere, as it did.
        return context_id is None or context_id in self.own or context_id not in self.known


def feedback_scope(project: Project, ctx: Context) -> Scope:
    from gitext.contexts import chain

    with project.db("knowledge").read() as conn:
        # A context queried before any event made its row (a renamed branch) has none: its
        # parent's chain stands for its own.
        own = {ctx.id, *(c.id for c in chain(conn, ctx.parent_id or ctx.id))}
        own.update(r[0] for r in conn.execute(
            "SELECT id FROM contexts WHERE parent_context_id = ? AND context_type = 'session'",
            (ctx.id,)))
        known = {r[0] for r in conn.execute("SELECT id FROM contexts")}
    return Scope(frozenset(own), frozenset(known))


def feedback_vector(project: Project, paths: list[str], rate: float,
                    scope: Scope | None = None, history: History | None = None) -> Any:
    """Per path: sum of (2 * usefulness - 1) decayed per day since it was given, in [-1, 1];
    only the feedback ``scope`` counts (None: all of it). A row names the file as it was
    called then: with ``history``, the renames since are followed to today's name."""
    import numpy as np

    out = np.zeros(len(paths))
    index = {p: i for i, p in enumerate(paths)}
    with project.db("knowledge").read() as conn:
        rows = conn.execute("SELECT file_path, actual_usefulness, recorded_at, context_id"
                            " FROM context_relevance_feedback"
                            " WHERE actual_usefulness IS NOT NULL").fetchall()
    now = clock.epoch()
    if history is not None:
        rows = [(history.name_now(p, t), u, t, c) for p, u, t, c in rows]
    hits = [(index[p], 2.0 * u - 1.0, max(0.0, (now - clock.from_ts(t)) / 86_400.0) if t else 0.0)
            for p, u, t, c in rows if p in index and (scope is None or scope.counts(c))]
    if hits:
        where, value, age = (np.asarray(x) for x in zip(*hits, strict=True))
        np.add.at(out, where, value * np.power(rate, age))
    return np.clip(out, -1.0, 1.0)
