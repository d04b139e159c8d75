"""The history relevance reads: the first-parent chain behind HEAD and what each commit changed.

Read from the sync engine's ``commits`` and ``file_changes`` rows. Renames are followed, so a file
moved into ``src/`` keeps the changes it had under its old name; commits that were rewritten
(amend, rebase) are not on the chain from HEAD and so are skipped by construction.
"""

from __future__ import annotations

import bisect
import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

MAX_TRANSACTION = 30  # change sets larger than this (sweeps, reformatting) couple nothing


@dataclass
class History:
    commits: list[str]  # oldest first; the last one is HEAD
    messages: list[str]
    committed_at: list[str]
    changes: Any  # scipy CSR, commits x files (1 = the commit changed the file)
    sizes: Any  # numpy, files changed per commit
    # old path -> (chain position, new path) of each rename on the chain, and when the store
    # took in each renaming commit (its clock, as feedback and access rows are stamped).
    rename_at: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    rename_synced: dict[int, str] = field(default_factory=dict)
    _first_since: tuple[list[str], list[int]] | None = field(default=None, repr=False)

    @property
    def n_commits(self) -> int:
        return len(self.commits)

    def name_now(self, path: str, at: str | None) -> str:
        """Today's name of what was ``path`` at ``at`` (a store timestamp): the renames taken in
        since, followed. Feedback and access rows name a file as it was called when they were
        recorded; `git mv` left them on a name no view has, and the judgement was lost."""
        if not self.rename_at or not at or path not in self.rename_at:
            return path
        if self._first_since is None:
            # (synced_at, earliest position of a rename taken in then or later), by time: one
            # bisect per row, however many rows and renames.
            by_time = sorted((synced, t) for t, synced in self.rename_synced.items())
            first = [0] * len(by_time)
            low = len(self.commits)
            for k in range(len(by_time) - 1, -1, -1):
                low = min(low, by_time[k][1])
                first[k] = low
            self._first_since = ([synced for synced, _ in by_time], first)
        times, first = self._first_since
        k = bisect.bisect_left(times, at)
        return _follow(self.rename_at, path, first[k] - 1) if k < len(times) else path


def _follow(rename_at: dict[str, list[tuple[int, str]]], path: str, t: int) -> str:
    """``path`` at chain position ``t`` under the renames that happened after it, oldest first."""
    for _ in range(16):
        later = [(rt, new) for rt, new in rename_at.get(path, []) if rt > t]
        if not later:
            return path
        rt, path = min(later)
        t = rt
    return path


def first_parent_chain(conn: sqlite3.Connection, head: str, limit: int
                       ) -> list[tuple[str, str, str]]:
    """(sha, message, committed_at) from HEAD back along first parents, oldest first."""
    rows = conn.execute(
        "WITH RECURSIVE chain(sha, n) AS (SELECT ?, 0 UNION ALL"
        " SELECT c.first_parent, chain.n + 1 FROM commits c JOIN chain ON c.sha = chain.sha"
        " WHERE c.first_parent IS NOT NULL AND c.first_parent != '' AND chain.n + 1 < ?)"
        " SELECT c.sha, c.message, c.committed_at FROM chain JOIN commits c ON c.sha = chain.sha"
        # No filter on commit_rewrites: what is walked from HEAD is live, and a commit once
        # rewritten is live again when the rewrite is undone (`git reset --hard ORIG_HEAD`).
        " ORDER BY chain.n DESC",
        (head, limit),
    ).fetchall()
    return [(r[0], r[1] or "", r[2] or "") for r in rows]


def load_history(conn: sqlite3.Connection, head: str | None, paths: list[str], limit: int
                 ) -> History:
    """Changes of the chain behind ``head`` as a commits x ``paths`` matrix."""
    chain = first_parent_chain(conn, head, limit) if head else []
    shas = [c[0] for c in chain]
    position = {s: i for i, s in enumerate(shas)}
    col = {p: j for j, p in enumerate(paths)}
    rows = conn.execute(
        "SELECT git_commit, new_path, old_path, change_type FROM file_changes"
        " WHERE git_commit IN (SELECT value FROM json_each(?))", (json.dumps(shas),)).fetchall()
    # Renames newest first: a change made under an old name counts for today's name.
    renames: list[tuple[int, str, str]] = sorted(
        ((position[r[0]], r[2], r[1]) for r in rows
         if r[3] in ("renamed", "moved") and r[2] and r[2] != r[1]),
        reverse=True)
    rename_at: dict[str, list[tuple[int, str]]] = {}
    for t, old, new in renames:
        rename_at.setdefault(old, []).append((t, new))
    synced = dict(conn.execute(
        "SELECT sha, synced_at FROM commits WHERE sha IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted({shas[t] for t, _, _ in renames})),)).fetchall()) if renames else {}

    r_idx: list[int] = []
    c_idx: list[int] = []
    sizes = np.zeros(len(shas), dtype=np.float64)
    for sha, new_path, _old, kind in rows:
        t = position[sha]
        sizes[t] += 1
        if kind == "deleted":
            continue
        name = _follow(rename_at, new_path, t) if rename_at else new_path
        j = col.get(name)
        if j is not None:
            r_idx.append(t)
            c_idx.append(j)
    m = sp.csr_matrix((np.ones(len(r_idx)), (r_idx, c_idx)), shape=(len(shas), len(paths)))
    m.data[:] = 1.0  # a path listed twice in one commit is still one change
    m.sum_duplicates()
    m.data[:] = 1.0
    return History(shas, [c[1] for c in chain], [c[2] for c in chain], m, sizes, rename_at,
                   {t: str(synced.get(shas[t]) or "") for t, _, _ in renames})
