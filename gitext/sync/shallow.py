"""Shallow clones (`git clone --depth`): history to read again once a fetch deepens the clone.

git shows the commits at a shallow clone's boundary without parents. The store records them
`grafted`, with no changes: their parents, and so what they changed, are unknown
(`commits.read_commits`). A fetch that deepens the clone (`--deepen`, `--depth`,
`--unshallow`) runs no hook. The next sync, or the next query (`local`), finds a grafted
commit git no longer cuts, reads it again, and reads the history the fetch brought behind HEAD,
up to `storage.sync.history_limit` commits, as a first sync of the deeper clone would have.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from gitext import clock
from gitext.git.history import commit_meta, first_parent_chain, object_exists, shallow_boundary
from gitext.store.pool import Database
from gitext.sync.commits import known


@dataclass(frozen=True)
class Deepening:
    reread: list[str] = field(default_factory=list)  # git now shows their parents
    settled: list[str] = field(default_factory=list)  # true roots, or commits git no longer has
    made_up: list[str] = field(default_factory=list)  # still cut, changes from an older version
    behind: list[str] = field(default_factory=list)  # to read: the chain the fetch brought

    def __bool__(self) -> bool:
        return bool(self.reread or self.settled or self.made_up)


def _grafted(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT sha FROM commits WHERE grafted = 1")]


def _with_changes(conn: sqlite3.Connection, shas: list[str]) -> list[str]:
    if not shas:
        return []
    return [r[0] for r in conn.execute(
        "SELECT DISTINCT git_commit FROM file_changes"
        " WHERE git_commit IN (SELECT value FROM json_each(?))", (json.dumps(shas),))]


def pending(conn: sqlite3.Connection, common_dir: Path) -> bool:
    """Whether a sync has grafted commits to look at again: one indexed query, and the shallow
    file read only when the store holds grafted commits."""
    grafted = _grafted(conn)
    if not grafted:
        return False
    cut = shallow_boundary(common_dir)
    return any(s not in cut for s in grafted) or bool(_with_changes(conn, grafted))


def look(db: Database, root: Path, cut: frozenset[str], head: str | None, limit: int
         ) -> Deepening:
    """What the sync must read again, given git's boundary `cut` now."""
    with db.read() as conn:
        grafted = _grafted(conn)
        made_up = _with_changes(conn, [s for s in grafted if s in cut])
    lifted = [s for s in grafted if s not in cut]
    if not lifted:
        return Deepening(made_up=made_up)
    # A commit gone since (a rewritten branch, then gc) has nothing more to tell.
    metas = commit_meta(root, [s for s in lifted if object_exists(root, s)])
    reread = [s for s in lifted if s in metas and metas[s].parents]
    settled = [s for s in lifted if s not in reread]
    behind: list[str] = []
    if reread and head is not None:
        chain = first_parent_chain(root, head, limit)[::-1]
        with db.read() as conn:
            seen = known(conn, chain)
        behind = [s for s in chain if s not in seen]
    return Deepening(reread, settled, made_up, behind)


def to_read(new: list[str], deep: Deepening) -> list[str]:
    """The commits a sync reads: what the fetch brought behind HEAD, the commits read again,
    then the new ones; each once, oldest first."""
    seen: set[str] = set()
    out: list[str] = []
    for sha in (*deep.behind, *deep.reread, *new):
        if sha not in seen:
            seen.add(sha)
            out.append(sha)
    return out


def forget(conn: sqlite3.Connection, deep: Deepening) -> None:
    """Before the sync writes: drop the rows to be read again and changes made up at a cut, and
    unmark the commits that turned out to be whole. Their files' scores are stale."""
    dropped = json.dumps([*deep.reread, *deep.made_up])
    now = clock.now()
    conn.execute(
        "INSERT OR REPLACE INTO relevance_dirty (file_id, marked_at) SELECT DISTINCT file_id, ?"
        " FROM file_changes WHERE git_commit IN (SELECT value FROM json_each(?))", (now, dropped))
    conn.execute("DELETE FROM file_changes WHERE git_commit IN (SELECT value FROM json_each(?))",
                 (dropped,))
    conn.execute("DELETE FROM commits WHERE sha IN (SELECT value FROM json_each(?))",
                 (json.dumps(deep.reread),))
    conn.execute("UPDATE commits SET grafted = 0 WHERE sha IN (SELECT value FROM json_each(?))",
                 (json.dumps(deep.settled),))
