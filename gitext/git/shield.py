"""The store as a repository of its own in git's eyes, so git's sweeps of ignored files pass it by.

The store is ignored (`info/exclude`), and two everyday commands take ignored files too:
`git clean -fdx`, a common way to reset a checkout, deleted the store with its backups, and
`git stash --all` moved its private conversations into a stash commit and off the disk. Both
leave alone a folder that holds another repository (`clean` removes one only when forced
twice, `-ff`; `stash` says "Ignoring path" and goes on). The smallest folder git takes for a
repository is a `.git` holding HEAD, objects/ and refs/. This one has no commits and excludes
everything, so git run inside the store finds nothing to add, and `discover` looks past it.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

DESCRIPTION = (
    "git-aircher store: not a repository of its own. This .git makes `git clean -fdx` and\n"
    "`git stash --all` in the repository around it leave the store alone (they pass by\n"
    "nested repositories). Removing it removes that protection, nothing else.\n"
)


def shield(data_dir: Path, work_tree: Path) -> bool:
    """Make `data_dir` look like a nested repository when it lies in `work_tree`; True when
    made now. A `.git` of any other kind already there is left as it is."""
    try:
        data_dir.resolve().relative_to(work_tree.resolve())
    except ValueError:
        return False  # outside the work tree: git's sweeps never reach it
    dot = data_dir / ".git"
    if dot.is_symlink() or dot.is_file() or (dot / "HEAD").exists():
        return False
    for sub in ("objects", "refs", "info"):
        (dot / sub).mkdir(parents=True, exist_ok=True)
    (dot / "info" / "exclude").write_text("*\n", "utf-8")
    (dot / "description").write_text(DESCRIPTION, "utf-8")
    # HEAD last: git takes the folder for a repository once it is there.
    (dot / "HEAD").write_text("ref: refs/heads/main\n", "utf-8")
    return True


def shielded(data_dir: Path) -> bool:
    return (data_dir / ".git" / "HEAD").exists()


def is_shield(top: Path) -> bool:
    """Whether the work tree git found at `top` is a store's shield rather than a repository."""
    with contextlib.suppress(OSError, UnicodeDecodeError):
        return (top / ".git" / "description").read_text("utf-8").startswith(DESCRIPTION[:40])
    return False
