"""Where things live. Pure paths: creating them is `ensure()`'s job, finding them the CLI's."""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path

from gitext.errors import ConfigError
from gitext.folders import CORE

CORE_DATABASES = ("conversations", "knowledge", "file_index", "sessions")
ALL_DATABASES = (*CORE_DATABASES, "global")
# What the project store writes at its top level; anything else there is the project's own
# (`.agents/skills/` is a convention agents read, and may be tracked).
STORE_FOLDERS = ("content", "db", "indexes", "journal", "logs", "run", "sessions", "worktrees")
STORE_FILES = ("config.toml",)
STORE_ENTRIES = (*STORE_FOLDERS, *STORE_FILES)
STORE_EXCLUDES = (*(f"{name}/" for name in STORE_FOLDERS), *STORE_FILES)  # git's patterns


@dataclass(frozen=True)
class GlobalLayout:
    root: Path

    @property
    def db(self) -> Path:
        return self.root / "global.db"

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def credentials(self) -> Path:
        return self.root / "credentials.toml"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def check(self) -> None:
        """Refuse a global folder that a file stands in the way of (AIRCHER_HOME naming a file,
        or a folder under one): every read of its config.toml and global.db would otherwise
        end in a NotADirectoryError, a bug's crash log for a slip of the user's."""
        for place in (self.root, *self.root.parents):
            if place.exists():
                if place.is_dir():
                    return
                raise ConfigError(
                    f"{place} is a file; git-aircher keeps its global settings and database in"
                    f" the folder {self.root}",
                    hint="move the file away, or point AIRCHER_HOME at a folder (it names the"
                    " global folder)")

    def ensure(self) -> None:
        self.check()
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.logs.mkdir(exist_ok=True)
        if not self.credentials.exists():
            # Created with its final mode: a window in which it is world-readable is a leak.
            fd = os.open(self.credentials, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write("# API keys for optional embedders, e.g.\n# [openai]\n# api_key = \"…\"\n")


def read_credentials(path: Path) -> dict[str, object]:
    """The credentials file, refused when anyone but its owner can read it."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{path} can be read by other users (mode {stat.S_IMODE(st.st_mode):o})",
            hint=f"chmod 600 {path}",
        )
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


@dataclass(frozen=True)
class ProjectLayout:
    root: Path  # the data dir, e.g. <main worktree>/.agents

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def saved_config(self) -> Path:
        """config.toml's last valid content, where `git clean -fdx` does not reach
        (`gitext.config_copy`)."""
        return self.root / "db" / "saved-config.toml"

    @property
    def core(self) -> Path:
        return self.root / CORE

    def db(self, name: str) -> Path:
        return self.core / f"{name}.db"

    @property
    def db_cache(self) -> Path:
        return self.root / "db" / "cache"

    @property
    def worktrees(self) -> Path:
        return self.root / "worktrees"

    def worktree_dir(self, branch: str) -> Path:
        return self.worktrees / slug(branch)

    @property
    def content(self) -> Path:
        return self.root / "content"

    @property
    def embeddings(self) -> Path:
        return self.content / "embeddings"

    @property
    def attachments(self) -> Path:
        return self.content / "attachments"

    @property
    def backups(self) -> Path:
        return self.content / "backups"

    @property
    def sessions(self) -> Path:
        return self.root / "sessions"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def journal(self) -> Path:
        return self.root / "journal"

    @property
    def run(self) -> Path:
        """Lock and pid files of the background worker."""
        return self.root / "run"

    def follow_up_stamp(self, name: str) -> Path:
        """When the worker last ran a throttled follow-up (gitext/sync/followups.py THROTTLE):
        taking it away makes the follow-up due at the worker's next pass."""
        return self.run / f"{name}.last"

    def run_file(self, kind: str, worktree: Path, suffix: str = "") -> Path:
        """A small state file of one worktree in `run/`, named by a digest of its path."""
        digest = hashlib.sha1(str(worktree).encode("utf-8", "surrogateescape")).hexdigest()
        return self.run / f"{kind}-{digest[:16]}{suffix}"

    def tree(self) -> list[Path]:
        """The spec's folders, plus journal/ and run/ for the sync engine."""
        return [
            self.core,
            self.db_cache,
            self.worktrees,
            self.embeddings,
            self.attachments,
            self.backups,
            self.content / "cache",
            self.root / "indexes" / "faiss",
            self.root / "indexes" / "search",
            self.sessions / "active",
            self.logs,
            self.journal,
            self.run,
        ]

    def folders(self) -> list[Path]:
        """The store's own top-level folders (`STORE_FOLDERS`)."""
        return [self.root / name for name in STORE_FOLDERS]

    def ensure(self) -> None:
        # The store holds private conversations: owner-only from the top.
        make_private(self.root)
        self.root.mkdir(exist_ok=True, mode=0o700)  # a link to nothing fails here, as before
        for folder in self.folders():
            folder.mkdir(exist_ok=True, mode=0o700)
        close_to_others(self.folders())
        for folder in self.tree():
            folder.mkdir(parents=True, exist_ok=True)


def make_private(folder: Path) -> None:
    """``folder`` and each folder above it that is missing, made owner-only. `mkdir(parents=True)`
    gives its mode to the last one only: under umask 000 the folder of stores (an absolute
    storage.data_dir) was 0777, which lists every repository its user has to anyone."""
    missing = []
    while not os.path.lexists(folder) and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir(mode=0o700, exist_ok=True)


def open_to_others(folders: list[Path], within: Path | None = None) -> list[Path]:
    """Those of ``folders`` that users other than their owner may enter: none when the folder
    ``within`` they are in (the store's top) keeps others out itself."""
    if within is not None:
        try:
            if not within.stat().st_mode & 0o077:
                return []
        except OSError:
            pass
    found = []
    for folder in folders:
        try:
            if folder.stat().st_mode & 0o077:
                found.append(folder)
        except OSError:
            continue  # not there (yet)
    return found


def close_to_others(folders: list[Path]) -> list[Path]:
    """Each folder owner-only (0700); returns those that were not. Each of the store's folders,
    not only its top: `.agents/` may be the project's own, tracked (`.agents/skills/`), and a
    clone makes it 0755 before `init` runs, so the top cannot keep others out."""
    closed = []
    for folder in open_to_others(folders):
        try:
            folder.chmod(0o700)
        except OSError:
            continue  # not ours to change: doctor keeps saying so
        closed.append(folder)
    return closed


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# What a slug with a hash looks like: a branch literally named so is hashed too, so a name that
# is kept as it is can never equal another name's hashed slug.
_HASHED = re.compile(r".*-[0-9a-f]{8}")
_KEPT_MAX = 100  # folder names have a 255-byte limit; long names are cut and hashed


def slug(name: str) -> str:
    """A branch name as a folder name of its own: feature/auth -> feature-auth-4308108f.

    A name that is already a safe, lower-case folder name is kept. Any other is made safe and
    gets 8 hex digits of its SHA-1, so `feature/auth` and `feature-auth` (or `Fix` and `fix` on a
    case-insensitive disk) never share a folder.
    """
    plain = legacy_slug(name)
    if plain == name and name == name.lower() and len(name) <= _KEPT_MAX \
            and not _HASHED.fullmatch(name):
        return name
    digest = hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"{plain.lower()[:_KEPT_MAX]}-{digest}"


def legacy_slug(name: str) -> str:
    """The folder name stores made before slugs were unique; such folders are moved on first use."""
    s = _UNSAFE.sub("-", name.replace("/", "-")).strip("-.")
    return s or "_"
