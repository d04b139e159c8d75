"""A project: one git repository (all its worktrees), its store and its settings."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from gitext.config import Config
from gitext.config_copy import settings_file, tracked
from gitext.errors import ConfigError, UnusablePathError, UsageError
from gitext.git.names import quoted, unusable_path
from gitext.git.repo import GitRepo
from gitext.git.storelink import relink
from gitext.layout import ALL_DATABASES, CORE_DATABASES, GlobalLayout, ProjectLayout
from gitext.store.connection import Pragmas, open_database
from gitext.store.made import absent, note
from gitext.store.pool import Database
from gitext.store_place import project_store

if TYPE_CHECKING:
    from gitext.lifecycle.querylog import SlowQueryLog


class Project:
    def __init__(
        self, repo: GitRepo, global_layout: GlobalLayout, layout: ProjectLayout, config: Config
    ) -> None:
        self.repo = repo
        self.global_layout = global_layout
        self.layout = layout
        self.config = config
        self.pragmas = Pragmas.from_config(config)
        self._dbs: dict[str, Database] = {}
        # The session this object started (records.start_session): its current context while
        # that session is active here, though another process started one here since. Two
        # agents in one worktree each keep their own; see records/current.py.
        self.own_session: str | None = None

    @classmethod
    def locate(
        cls, start: Path, global_root: Path, environ: Mapping[str, str] | None = None,
        *, own_settings: bool = True,
    ) -> Project:
        """Find the repository and its settings; creates nothing. ``own_settings=False`` leaves
        the project's config.toml out (`config set` mending a file that does not load)."""
        repo = GitRepo.find(start)
        for where in (repo.root, repo.info.main_root):
            if (why := unusable_path(str(where))) is not None:
                raise UnusablePathError(
                    f"the repository's path {quoted(str(where))} {why}",
                    "rename the folder, or move the repository: git-aircher keeps paths as"
                    " UTF-8 text on one line")
        glob = GlobalLayout(global_root)
        glob.check()
        # data_dir decides where the project config lives, so it comes from global and env only.
        base = Config.load(glob.config, None, environ)
        # An absolute data_dir is shared by every repository: each gets a folder of its own.
        data_dir = project_store(base.text("storage.data_dir"), repo.info)
        # A symlinked store whose link `git clean -fdx` removed is linked again, before anything
        # could take the missing folder for no store at all and make a new one.
        relink(repo.info, data_dir)
        if data_dir.exists() and not data_dir.is_dir():
            raise UsageError(f"{data_dir} is a file; git-aircher keeps its store in a folder"
                             " of that name", "move the file away, or set storage.data_dir"
                             " (AIRCHER_STORAGE_DATA_DIR or the global config) to another"
                             " folder")
        layout = ProjectLayout(data_dir)
        if not own_settings:
            return cls(repo, glob, layout, base)
        try:
            config = Config.load(glob.config, settings_file(layout), environ)
        except ConfigError:
            if not tracked(layout, repo.info.main_root):
                raise
            # The project's own config.toml (another tool's) is checked out over ours: our
            # settings are in the copy, and commands, hooks and the worker go on with them.
            config = Config.load(glob.config, layout.saved_config, environ)
        return cls(repo, glob, layout, config)

    def elsewhere(self, root: Path) -> Project:
        """This project as seen from another of its worktrees: the same store, settings and open
        databases, that worktree's HEAD and files."""
        other = Project(GitRepo.find(root), self.global_layout, self.layout, self.config)
        other._dbs = self._dbs
        return other

    @property
    def initialized(self) -> bool:
        """Whether this repository has a store: its knowledge.db, or one it had and lost
        (commands then say so and point to repair; "run init" made it anew, empty, and the
        backups' rows were never offered back, QA round 24b: 02)."""
        self.settle()
        if self.layout.db("knowledge").exists():
            return True
        if not (self.layout.core.is_dir() or self.layout.backups.is_dir()):
            return False
        from gitext.lifecycle.loss import had

        return had(self, "knowledge")

    def settle(self) -> None:
        """Undo a database swap a killed restore or repair left half done, before anything
        reads a database it moved aside as missing (`lifecycle.swap.settle`)."""
        from gitext.lifecycle.runstate import SWAP_PLAN, SWAP_POINTER

        if (self.layout.run / SWAP_PLAN).exists() or \
                (self.global_layout.root / SWAP_POINTER).exists():
            from gitext.lifecycle.swap import settle

            settle(self.layout, self.global_layout.root)

    def require_init(self) -> None:
        if not self.initialized:
            raise UsageError(
                f"no git-aircher store in {self.repo.info.main_root}",
                hint="run `git aircher init` first",
            )

    def db(self, name: str) -> Database:
        if name not in ALL_DATABASES:
            raise ValueError(name)
        if name not in self._dbs:
            self.settle()
            path = self.global_layout.db if name == "global" else self.layout.db(name)
            if name == "global" and not path.parent.is_dir():
                # The global folder taken away since init (a cleaned ~/.config, a fresh HOME
                # in a container, an AIRCHER_HOME whose parent is new): made again as init
                # makes it. SQLite makes no folders, and
                # "unable to open database file" sent doctor's users to a repair that failed
                # the same way. A new folder, as its record of global.db went with it
                # (`gitext.lifecycle.loss`): global.db alone gone is refused, not made anew.
                self.global_layout.ensure()
            pragmas = self.pragmas
            perf = self.config
            slow, timeout = self.read_limits(name)
            logs = self.layout.logs

            def opener() -> sqlite3.Connection:
                from gitext.lifecycle.dbfiles import lost_wal_evidence

                # Checked before each open, as the open itself would hide the loss: a lost
                # database made anew, empty; the -shm telling of lost WAL frames reset
                # (`gitext.lifecycle.loss`).
                if absent(path):
                    from gitext.lifecycle.loss import refuse_lost

                    refuse_lost(self, name)
                    if name != "global" and not self.layout.core.is_dir():
                        # No store at all (`init` makes this folder first): SQLite's "unable
                        # to open database file" read like a damaged store (QA round 25c: 07).
                        self.require_init()
                elif lost_wal_evidence(path):
                    from gitext.lifecycle.loss import refuse_lost_frames

                    refuse_lost_frames(self, name)
                conn = open_database(path, name, pragmas, slow_log=slow, logs=logs)
                note(path)
                return conn

            self._dbs[name] = Database(
                opener,
                pool_size=perf.integer("storage.performance.connection_pool_size"),
                max_readers=perf.integer("storage.performance.concurrent_reads"),
                batch_size=perf.integer("storage.performance.batch_insert_size"),
                query_timeout=timeout,
            )
        return self._dbs[name]

    def read_limits(self, name: str) -> tuple[SlowQueryLog | None, float]:
        """Database `name`'s slow-query log (None: logging off) and how long a read may run
        (seconds, 0: unbounded), for every database of the store, the conversations archive's
        too (`lifecycle.archive.open_archive`)."""
        from gitext.lifecycle import querylog

        # The background worker's reads feed its writes: stopping one would leave git's
        # events unapplied at every pass, so only a command's reads are bounded.
        timeout = (0.0 if querylog.BACKGROUND
                   else self.config.seconds("storage.performance.query_timeout"))
        return querylog.slow_query_log(self.layout, self.config, name), timeout

    def db_path(self, name: str) -> Path:
        return self.global_layout.db if name == "global" else self.layout.db(name)

    def open_all(self) -> None:
        for name in ALL_DATABASES:
            _ = self.db(name).writer

    def close(self) -> None:
        for db in self._dbs.values():
            db.close()
        self._dbs.clear()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Project", "CORE_DATABASES", "ALL_DATABASES"]
