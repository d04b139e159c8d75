"""Where one repository's store is: `storage.data_dir` made into that repository's folder.

A relative data_dir (`.agents`, the default) is a folder of the main worktree, so each repository
has its own. An absolute one, or a relative one that leads out of the main worktree
(`../stores`), names a folder every repository would find: it is a folder of stores, and each
repository gets a folder of its own in it, named after its git common dir
(`myapp-3f9a0c1e5b7d2468`). Before, every repository took that folder itself for its store:
`init` in a second one "reinitialized" the first one's, whose conversations it then listed.

A store an earlier version made directly in the folder stays where it is, the store of the
repository its records belong to (the main worktree its project context names); every other
repository gets its own folder beside it. Light: the pre-commit guard uses this.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from pathlib import Path
from typing import NamedTuple

from gitext.errors import UsageError
from gitext.git.repo import RepoInfo
from gitext.layout import legacy_slug

_NAME_MAX = 60  # the readable part; the digest makes the folder unique
MARKED = "marked_repository"  # in the project context's metadata (`store_left`)


def shared(value: str) -> bool:
    """Whether the data_dir ``value`` names one folder for every repository."""
    expanded = os.path.expanduser(value)
    if os.path.isabs(expanded):
        return True
    rel = posixpath.normpath(expanded.replace(os.sep, "/"))
    return rel == ".." or rel.startswith("../")


def folder_name(common_dir: Path) -> str:
    """The repository's folder in a shared data_dir: readable, and one per git common dir."""
    name = common_dir.parent.name if common_dir.name == ".git" else common_dir.name
    readable = legacy_slug(name.removesuffix(".git"))[:_NAME_MAX]
    digest = hashlib.sha1(str(common_dir).encode("utf-8", "surrogateescape")).hexdigest()
    return f"{readable}-{digest[:16]}"


def project_store(value: str, info: RepoInfo) -> Path:
    """The store of the repository ``info`` for the data_dir setting ``value``; creates nothing."""
    data = Path(os.path.expanduser(value))
    if not shared(value):
        return info.main_root / data
    if not data.is_absolute():
        data = Path(os.path.normpath(info.main_root / data))
    own = data / folder_name(info.common_dir)
    if os.path.lexists(own):
        return own
    if _earlier_owner(data) == str(info.main_root):
        return data
    return own


def _earlier_owner(data: Path) -> str | None:
    """The main worktree whose records a store made directly in ``data`` holds, if there is one."""
    import sqlite3

    try:
        made = project_of(data)
    except sqlite3.Error as exc:
        # Guessing would either hide this repository's store or show it another's records.
        raise UsageError(f"cannot tell which repository the store in {data} belongs to: {exc}",
                         "storage.data_dir is a folder of stores, one folder each: move that"
                         " store out of it, or set storage.data_dir to another folder") from None
    return made.path if made else None


class Made(NamedTuple):
    """A store's project context: the main worktree it was made for, when, its id, and whether
    that repository was marked as the store's (`store_left.mark_repository`)."""

    path: str
    created_at: str | None
    id: str
    marked: bool


def project_of(store: Path) -> Made | None:
    """The project context of the store at ``store``; None for no store or no record.
    sqlite3.Error when it cannot be read."""
    import sqlite3

    db = store / "db" / "core" / "knowledge.db"
    if not db.is_file():
        return None
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        row = conn.execute(
            "SELECT path, created_at, id, CASE WHEN json_valid(metadata) THEN"
            f" json_extract(metadata, '$.{MARKED}') END FROM contexts"
            " WHERE context_type = 'project' ORDER BY created_at LIMIT 1").fetchone()
    finally:
        conn.close()
    if not row or not row[0]:
        return None
    return Made(str(row[0]), row[1], str(row[2]), bool(row[3]))
