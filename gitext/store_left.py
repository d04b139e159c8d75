"""A moved repository's store, left behind in a folder of stores.

In a folder of stores (an absolute `storage.data_dir`) a repository's store is named after its
git common dir (`gitext/store_place.py`), so a repository moved to another path finds no store
and `init` made a new, empty one without a word about the old. This finds the old one, for
`init` and `doctor` to name; moving it is left to the user (a move of someone's records is
theirs to decide, and one command).

Whose a store is: the main worktree its project context names (as for a store made directly in
the folder) must be gone, the store must have recorded a commit this repository has, and this
repository must be older than that store. The folder's readable name is no identity (a
repository is often renamed when moved), and the path alone is none either: any repository
removed from disk leaves a store behind. Shared commits are not enough: a new clone of the same
project, made after its old clone was deleted, has them too, and is no move (QA round 8: 02).
A repository's age is that of its git dir's `description` (written by `git init` and `git clone`
and by nothing else; `mv` and `cp -a` keep its time), else its oldest reflog entry.
"""

from __future__ import annotations

import contextlib
import shlex
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from gitext import clock
from gitext.git.run import git
from gitext.project import Project
from gitext.store_place import project_of, shared

_COMMITS = 20  # the store's newest commits looked up: one of them suffices


@dataclass(frozen=True)
class LeftStore:
    folder: Path  # the old store, in the folder of stores
    made_for: str  # the main worktree it was made for, now gone
    target: Path  # where this repository looks for its store

    def message(self) -> str:
        return (f"{self.folder} holds this repository's store from before it was moved"
                f" (made for {self.made_for}, which is gone)")

    def hint(self) -> str:
        move = shlex.join(["mv", str(self.folder), str(self.target)])
        return (f"keep its records: {move}, then `git aircher init`; to start an empty store"
                f" instead, move that folder out of {self.folder.parent} first")


def left_behind(project: Project) -> LeftStore | None:
    """The store this repository had before it moved, when it has none now; else None."""
    target = project.layout.root
    if project.initialized or target.exists():
        return None
    if not shared(project.config.text("storage.data_dir")):
        return None
    folder = target.parent
    try:
        entries = sorted(p for p in folder.iterdir() if p != target)
    except OSError:
        return None
    root = project.repo.info.main_root
    born = _born(project.repo.info.common_dir)
    if born is None:
        return None  # no telling a move from a new clone
    for entry in entries:
        made_for, made_at, commits = _describe(entry)
        if made_for is None or Path(made_for).exists() or not commits:
            continue
        # created_at has whole seconds: `init` in the second `git init` or `git clone` ran (a
        # set-up script) is after it (QA round 9: 01).
        if made_at is not None and int(born) <= made_at and _has_any(root, commits):
            return LeftStore(entry, made_for, target)
    return None


def _born(common_dir: Path) -> float | None:
    """When this repository was made (`git init`, `git clone`), as far as its git dir tells."""
    with contextlib.suppress(OSError):
        return (common_dir / "description").stat().st_mtime
    with contextlib.suppress(OSError, ValueError, IndexError), \
            open(common_dir / "logs" / "HEAD", "rb") as log:
        # "<old> <new> <name> <<email>> <epoch> <zone>\t<message>"
        return float(log.readline().split(b"\t", 1)[0].split()[-2])
    return None


def made_for(store: Path) -> str | None:
    """The main worktree the store at ``store`` was made for, as it recorded it, or None."""
    with contextlib.suppress(sqlite3.Error):
        made = project_of(store)
        return made[0] if made else None
    return None


def _describe(store: Path) -> tuple[str | None, float | None, list[str]]:
    """The main worktree a store was made for, when, and its newest recorded commits."""
    core = store / "db" / "core"
    if not (core / "file_index.db").is_file():
        return None, None, []
    with contextlib.suppress(sqlite3.Error, ValueError):
        made = project_of(store)
        if made is None:
            return None, None, []
        commits = [str(r[0]) for r in _rows(core / "file_index.db", "SELECT sha FROM commits"
                                           f" ORDER BY committed_at DESC LIMIT {_COMMITS}")]
        return made[0], clock.from_ts(str(made[1])) if made[1] else None, commits
    return None, None, []


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return [tuple(r) for r in conn.execute(sql).fetchall()]
    finally:
        conn.close()


def _has_any(root: Path, commits: list[str]) -> bool:
    out = git(["cat-file", "--batch-check=%(objecttype)"], root,
              input="".join(c + "\n" for c in commits).encode(), check=False,
              extra_env={"GIT_NO_LAZY_FETCH": "1"}).stdout  # a partial clone fetches nothing
    return b"commit" in out.split()
