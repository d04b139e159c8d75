"""Journal records that came from another repository go to that repository's store.

A shim holds the absolute path of the journal of the repository it was installed for. When one
hooks folder serves many repositories (`core.hooksPath` in `~/.gitconfig`), every repository's
events land in that one journal. Applied as they are, they would put another project's files
and commits into this store. So before a record is applied, the worker checks whose it is: a
record from a repository with a store of its own moves to that store's journal (and that
store's worker starts); one from a repository without a store is dropped, because nobody asked
git-aircher to remember it.
"""

from __future__ import annotations

import os
from pathlib import Path

from gitext.errors import AircherError
from gitext.folders import store_folder
from gitext.git.repo import discover
from gitext.project import Project
from gitext.sync import journal
from gitext.sync.logbook import log


class Router:
    """Decides, once per worktree folder, whether its records are this project's."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._common = project.repo.info.common_dir.resolve()
        self._owned: dict[str, bool] = {}

    def keep(self, ev: journal.Event) -> bool:
        """True when `ev` is this project's to apply; otherwise it has been handed on."""
        root = Path(ev.cwd)
        if not root.is_dir():
            return True  # a removed worktree: applying it is a no-op that reconciles rows
        key = str(root.resolve())
        owned = self._owned.get(key)
        if owned is None:
            try:
                owned = discover(root).common_dir.resolve() == self._common
            except AircherError:
                owned = True  # no longer a repository: the applier handles it as before
            self._owned[key] = owned
        if not owned:
            self._hand_on(ev, root)
        return owned

    def _hand_on(self, ev: journal.Event, root: Path) -> None:
        try:
            other = Project.locate(root, self.project.global_layout.root, os.environ)
        except AircherError:
            journal.done(ev)
            return
        with other:
            if not other.initialized or ev.path is None:
                journal.done(ev)
                return
            target = other.layout.journal
            try:
                # In a store that is there, never one made anew (`gitext.folders`).
                store_folder(other.layout.root, target)
                journal.move_into(ev.path, target)  # under a name no record there has
            except OSError as exc:
                log(self.project.layout.logs, "storage",
                    f"failed to hand a record on to {other.layout.root}", exc)
                journal.done(ev)
                return
        from gitext.hooks.entry import spawn_worker

        spawn_worker(root)
