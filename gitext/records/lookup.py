"""Records by what people type. A context by a branch, a session name, an id or an id prefix,
and a session's id (what `session start` prints and `session list` shows), which names its
context; an unknown name is one UsageError line that lists the closest known names (difflib).
A record (a conversation, a session, a decision, a pattern) by its id or a unique prefix of it,
every command answering a too-short, ambiguous or unknown one the same way (`record_id`).
"""

from __future__ import annotations

import difflib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from gitext.contexts import (
    Context,
    chain,
    ensure_worktree_context,
    project_context,
    worktree_context_id,
)
from gitext.errors import AircherError, UsageError
from gitext.project import Project


def context_names(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT DISTINCT name FROM contexts WHERE context_type IN ('worktree', 'session')"
        " ORDER BY name"
    ).fetchall()
    return [r[0] for r in rows]


def closest(name: str, candidates: list[str], n: int = 3) -> list[str]:
    return difflib.get_close_matches(name, candidates, n=n, cutoff=0.5)


def unknown(what: str, name: str, candidates: list[str]) -> UsageError:
    # Only other names: a name listed as its own closest says it exists and does not.
    near = closest(name, [c for c in candidates if c != name])
    shown = name if len(name) <= 80 else name[:77] + "..."
    if near:
        return UsageError(f"no {what} {shown!r}; closest: {', '.join(near)}")
    return UsageError(f"no {what} {shown!r}",
                      hint="`git aircher worktree list` shows branches, `git aircher session"
                      " list` sessions")


MIN_PREFIX = 4  # characters of an id that may name a record: what the 8-character tables show


class NoRecord(UsageError):
    """No record has that id or prefix, or the prefix is too short to name one."""


def _shown(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


def too_short(what: str, prefix: str, hint: str) -> NoRecord:
    # Not "no such record": one may well start so; the prefix is too short to name it.
    return NoRecord(f"{what} id prefix {_shown(prefix)!r} is too short: give at least"
                    f" {MIN_PREFIX} characters", hint=hint)


def record_id(conn: sqlite3.Connection, table: str, what: str, id_or_prefix: str,
              hint: str) -> str:
    """The full id of the row of `table` (a constant, never input) that `id_or_prefix` names:
    the id itself or a unique prefix of at least MIN_PREFIX characters. `what` names the record
    in the error, `hint` the command that lists them.

    Each record type had its own copy of this, and they drifted: a 3-character prefix was
    "too short" for a conversation but "no decision" for a decision, and a pattern took no
    prefix at all, though `patterns list` shows 8 characters (session 18: cli-2)."""
    return record_id_in([conn], table, what, id_or_prefix, hint)


def record_id_in(conns: Sequence[sqlite3.Connection], table: str, what: str,
                 id_or_prefix: str, hint: str) -> str:
    """`record_id` over the same table in several databases (live conversations and the
    archive's), as one set of ids: a prefix two of them share is ambiguous wherever each is,
    as it is within one; the same id in two (a conversation being archived) is one record."""
    if not isinstance(id_or_prefix, str) or not id_or_prefix:
        raise UsageError(f"a {what} id is required", hint=hint)
    for conn in conns:
        row = conn.execute(f"SELECT id FROM {table} WHERE id = ?", (id_or_prefix,)).fetchone()
        if row is not None:
            return str(row[0])
    if len(id_or_prefix) < MIN_PREFIX:
        raise too_short(what, id_or_prefix, hint)
    shown = _shown(id_or_prefix)
    pattern = id_or_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    found: set[str] = set()
    for conn in conns:
        found.update(str(r[0]) for r in conn.execute(
            f"SELECT id FROM {table} WHERE id LIKE ? ESCAPE '\\' LIMIT 2", (pattern + "%",)))
    if len(found) == 1:
        return found.pop()
    if found:
        raise UsageError(f"{what} id prefix {shown!r} is ambiguous",
                         hint="give more characters of the id")
    raise NoRecord(f"no {what} {shown!r}", hint=hint)


# A session's context records the session's id in its metadata (records/sessions.py).
_SESSION_ID = "CASE WHEN context_type = 'session' AND json_valid(metadata)" \
    " THEN json_extract(metadata, '$.session_id') END"


class AmbiguousContext(UsageError):
    """An id prefix that begins the ids of two contexts (or sessions)."""


def find(conn: sqlite3.Connection, name: str) -> Context | None:
    """Worktree contexts first (a branch name), then sessions, then other levels; ids too, a
    session's id for its context, and a unique prefix of either id. A prefix two of them share
    raises AmbiguousContext: it was answered as naming no context, the words for a name nothing
    has, to a user who had copied the start of an existing id (QA round 26c: 03)."""
    if not isinstance(name, str) or not name:
        return None
    row = conn.execute(
        f"SELECT * FROM contexts WHERE name = ? OR id = ? OR {_SESSION_ID} = ?"
        " ORDER BY CASE WHEN name = ? OR id = ? THEN 0 ELSE 1 END, CASE context_type"
        " WHEN 'worktree' THEN 0 WHEN 'session' THEN 1 ELSE 2 END, last_active DESC LIMIT 1",
        (name, name, name, name, name),
    ).fetchone()
    if row is None and len(name) >= 6:
        pattern = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = conn.execute(
            f"SELECT * FROM contexts WHERE id LIKE ?1 ESCAPE '\\' OR {_SESSION_ID}"
            " LIKE ?1 ESCAPE '\\' LIMIT 2", (pattern + "%",)
        ).fetchall()
        if len(rows) > 1:
            raise AmbiguousContext(f"context id prefix {_shown(name)!r} is ambiguous",
                                   hint="give more characters of the id")
        row = rows[0] if rows else None
    return None if row is None else Context.from_row(row)


def unmet_branch(project: Project, conn: sqlite3.Connection, name: str) -> Context | None:
    """The context of a local branch no event has met yet (`git branch nb`, a fetched branch
    tracked with `git branch --track`), as the hooks will make it at its first checkout; not
    stored. None when git has no such branch. Before, every `--context` refused such a branch
    as "no context", though `compare` took it (QA round 15b: 10)."""
    if not isinstance(name, str) or not name:
        return None
    from gitext.git.compare import local_branches

    commit = local_branches(project.repo.root).get(name)
    proj = project_context(conn) if commit is not None else None
    if commit is None or proj is None:
        return None
    return Context(worktree_context_id(proj.id, name), "worktree", name, proj.id, proj.path,
                   name, commit)


def resolve_context(project: Project, name: str) -> Context:
    """The context `name` gives, for a read: a branch no event has met yet answers with its
    context as it will be (unstored: it holds nothing yet)."""
    with project.db("knowledge").read() as conn:
        ctx = find(conn, name) or unmet_branch(project, conn, name)
        if ctx is None:
            raise unknown("context", name, context_names(conn))
    return ctx


def context_to_write(project: Project, conn: sqlite3.Connection, name: str) -> Context:
    """The context `name` gives, for a write the user asks for: a branch no event has met yet
    gets its context made, as the hooks (and a merge of it) would, so no row names a context
    that does not exist. ``conn`` writes knowledge.db."""
    ctx = find(conn, name)
    if ctx is not None:
        return ctx
    unmet = unmet_branch(project, conn, name)
    proj = project_context(conn)
    if unmet is None or proj is None:
        raise unknown("context", name, context_names(conn))
    return ensure_worktree_context(conn, proj, unmet.name, unmet.git_commit,
                                   Path(proj.path or project.repo.info.main_root), touch=False)


def commit_gone(name: str, ctx: Context, instead: str) -> AircherError:
    """A context the store knows whose commit git no longer has (its branch deleted, a detached
    HEAD left, and then `git gc`): there is nothing to read its files from, and it is no unknown
    name. ``instead`` is the hint's advice (what to name)."""
    if not ctx.git_commit:
        # Its branch was unborn when the store last saw it and was left before a first commit:
        # that branch never came to exist, so no commit was ever removed.
        return AircherError(
            f"context {name!r} has no commit: its branch had none when the store last saw it",
            hint=f"{instead} (`git aircher worktree list`)")
    return AircherError(
        f"context {name!r} was last at {ctx.git_commit[:12]}, which is no longer in the"
        " repository",
        hint="its branch was deleted or HEAD left it, and `git gc` removed the commit;"
             f" {instead} (`git aircher worktree list`)")


def levels(conn: sqlite3.Connection, ctx: Context) -> list[Context]:
    """`chain`, for an unstored context too (unmet_branch): its parent's chain and itself."""
    found = chain(conn, ctx.id)
    if found or ctx.parent_id is None:
        return found
    return [*chain(conn, ctx.parent_id), ctx]


def family(conn: sqlite3.Connection, ctx: Context) -> list[str]:
    """A context and its session contexts (a branch's own records live in both)."""
    ids = [ctx.id]
    if ctx.context_type == "worktree":
        ids += [r[0] for r in conn.execute(
            "SELECT id FROM contexts WHERE parent_context_id = ? AND context_type = 'session'",
            (ctx.id,),
        )]
    return ids


def branch_of(conn: sqlite3.Connection, ctx: Context) -> Context | None:
    """The worktree context of a session (or the context itself)."""
    for level in reversed(chain(conn, ctx.id)):
        if level.context_type == "worktree":
            return level
    return None
