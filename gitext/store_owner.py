"""A store that is another repository's, reached through a link that came with the files.

A store linked to another disk is one entry to git (`/.agents`). Committed (before the guard
refused it) or copied along with a repository, the link hands the other repository's store to
this one: `init` "reinitialized" it, and the clone listed the original's conversations, wrote
its own events there, and the two marked each other's worktrees stale (QA round 22a: 03).

A store records the main worktree it was made for (its project context). It is another's when
that repository is still there and its own store is this very folder. A moved repository's
store names a path that is gone, and a copy (`cp -a`) of a store that is a folder is a store of
its own: neither is refused.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from gitext.git.exclude import tracked_entries
from gitext.project import Project
from gitext.store_place import project_of, shared


@dataclass(frozen=True)
class OtherStore:
    store: Path  # where this repository looks for its store
    owner: str  # the main worktree of the repository whose store it is
    tracked: bool  # the link is in this repository's index (it was committed)

    def message(self) -> str:
        return (f"{self.store} is {self.store.resolve()}, the store of another repository"
                f" ({self.owner}): its conversations and records are that repository's")

    def hint(self) -> str:
        name = self.store.name
        drop = (f"`git rm -q {name}` (the link only; commit that)" if self.tracked
                else f"`rm {name}` (the link only)")
        return f"{drop}, then `git aircher init` makes this repository's own store"


def others_store(project: Project) -> OtherStore | None:
    """The other repository whose store this one's is, or None when it is this one's."""
    value = project.config.text("storage.data_dir")
    if shared(value):
        return None  # a folder of stores gives each repository a folder named after its git dir
    store, root = project.layout.root, project.repo.info.main_root
    made = None
    with contextlib.suppress(sqlite3.Error, OSError):
        made = project_of(store)
    if made is None:
        return None
    owner = Path(made.path)
    with contextlib.suppress(OSError):
        if owner.resolve() == root.resolve():
            return None
        theirs = owner / os.path.expanduser(value)
        if not theirs.exists() or theirs.resolve() != store.resolve():
            return None
        rel = Path(os.path.relpath(store, root)).as_posix()
        return OtherStore(store, made.path, bool(tracked_entries(root, [rel])))
    return None
