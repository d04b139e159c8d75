"""A moved repository's store, left behind in a folder of stores.

In a folder of stores (an absolute `storage.data_dir`) a repository's store is named after its
git common dir (`gitext/store_place.py`), so a repository moved to another path finds no store
and `init` made a new, empty one without a word about the old. This finds the old one, for
`init` and `doctor` to name; moving it is left to the user (a move of someone's records is
theirs to decide, and one command).

Whose a store is: the main worktree its project context names (as for a store made directly in
the folder) must be gone, and the repository must be that store's. The store does not move with
its repository here, but the repository's git dir does: `init` marks the repository with its
store's id (`aircher.store` in `.git/config`, which `mv` and `cp -a` carry along and no clone
copies) and the store as marked. A marked store is the repository's that bears its mark, and no
other's: a clone of the same project shares its commits and may be older or younger, and is
no move either way (QA round 8: 02; session 18: sync-3, an older clone never initialised was
refused as a younger, deleted one moved). The folder's readable name is no identity (a
repository is often renamed when moved), and the path alone is none either: any repository
removed from disk leaves a store behind.

A store made before marks (or whose repository's config could not be written) is told by what
there was: it recorded a commit this repository has, and this repository is older than it (its
git dir's `description`, written by `git init` and `git clone` and by nothing else, whose time
`mv` and `cp -a` keep; else its oldest reflog entry).
"""

from __future__ import annotations

import contextlib
import shlex
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from gitext import clock
from gitext.errors import GitError
from gitext.git.repo import own_config_get, own_config_set
from gitext.git.run import git
from gitext.project import Project
from gitext.store_place import MARKED, Made, project_of, shared

_COMMITS = 20  # the store's newest commits looked up: one of them suffices
MARK = "aircher.store"  # the repository's own config: the id of its store's project context


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
    info = project.repo.info
    mark = own_config_get(info.common_dir, MARK)
    for entry in entries:
        made = _made(entry)
        if made is None or Path(made.path).exists():
            continue
        if mark is not None or made.marked:
            ours = mark == made.id  # the mark moved with the repository; a clone has none
        else:
            ours = _older_with_its_commits(info.main_root, info.common_dir, entry, made)
        if ours:
            return LeftStore(entry, made.path, target)
    return None


def mark_repository(project: Project, store_id: str) -> None:
    """In a folder of stores, this repository marked as the store's (`left_behind`). Marked in
    its own config first, then the store: a store marked is one its repository bears the
    mark of. A config git cannot write leaves both unmarked, told apart as before."""
    if not shared(project.config.text("storage.data_dir")):
        return
    common_dir = project.repo.info.common_dir
    if own_config_get(common_dir, MARK) != store_id:
        try:
            own_config_set(common_dir, MARK, store_id)
        except GitError:
            return
    with project.db("knowledge").write() as conn:
        conn.execute(
            f"UPDATE contexts SET metadata = json_set(CASE WHEN json_valid(metadata) THEN"
            f" metadata ELSE '{{}}' END, '$.{MARKED}', json('true'))"
            f" WHERE id = ? AND context_type = 'project'", (store_id,))


def _older_with_its_commits(root: Path, common_dir: Path, store: Path, made: Made) -> bool:
    """A store from before marks: this repository has one of its commits and is older."""
    born = _born(common_dir)
    if born is None or not made.created_at:
        return False  # no telling a move from a new clone
    with contextlib.suppress(ValueError):
        # created_at has whole seconds: `init` in the second `git init` or `git clone` ran (a
        # set-up script) is after it (QA round 9: 01).
        if int(born) > clock.from_ts(made.created_at):
            return False
        commits = _commits(store)
        return bool(commits) and _has_any(root, commits)
    return False


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
    made = _made(store)
    return made.path if made else None


def _made(store: Path) -> Made | None:
    with contextlib.suppress(sqlite3.Error):
        return project_of(store)
    return None


def _commits(store: Path) -> list[str]:
    """The store's newest recorded commits."""
    with contextlib.suppress(sqlite3.Error):
        return [str(r[0]) for r in _rows(store / "db" / "core" / "file_index.db",
                                         "SELECT sha FROM commits"
                                         f" ORDER BY committed_at DESC LIMIT {_COMMITS}")]
    return []


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
