"""The store's folders as repositories of their own in git's eyes, so git's sweeps of ignored
files pass them by.

The store is ignored (`info/exclude`), and two everyday commands take ignored files too:
`git clean -fdx`, a common way to reset a checkout, deleted the store with its backups, and
`git stash --all` moved its private conversations into a stash commit and off the disk. Both
leave alone a folder that holds another repository (`clean` removes one only when forced
twice, `-ff`; `stash` says "Ignoring path" and goes on). The smallest folder git takes for a
repository is a `.git` holding HEAD, objects/ and refs/; these have no commits and exclude
everything, so git run inside finds nothing to add, and `discover` looks past them.

Each of the store's own folders is marked, not the store's root: the root may hold files the
project tracks (`.agents/skills/`, a convention agents read), which a repository boundary
around them would take out of the project's reach.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

from gitext.folders import make_folder

DESCRIPTION = (
    "git-aircher store: not a repository of its own. This .git makes `git clean -fdx` and\n"
    "`git stash --all` in the repository around it leave this folder alone (they pass by\n"
    "nested repositories). Removing it removes that protection, nothing else.\n"
)


def _inside(folder: Path, work_tree: Path) -> bool:
    try:
        folder.resolve().relative_to(work_tree.resolve())
    except ValueError:
        return False  # outside the work tree: git's sweeps never reach it
    return True


def _marked(folder: Path) -> bool:
    dot = folder / ".git"
    return dot.is_symlink() or dot.is_file() or (dot / "HEAD").exists()


def shield(folders: Sequence[Path], work_tree: Path) -> list[Path]:
    """Mark each folder that lies in `work_tree` as a nested repository; those marked now. A
    `.git` of any other kind already there is left as it is."""
    done = []
    for folder in folders:
        if not _inside(folder, work_tree) or _marked(folder):
            continue
        dot = folder / ".git"
        for sub in ("objects", "refs", "info"):
            # Inside a folder that is there, never that folder: one `rm -rf` took meanwhile
            # stays gone (`gitext.folders`).
            make_folder(dot / sub, folder)
        (dot / "info" / "exclude").write_text("*\n", "utf-8")
        (dot / "description").write_text(DESCRIPTION, "utf-8")
        # HEAD last, and whole: git takes the folder for a repository once a valid one is
        # there, and a HEAD cut short by a kill would look marked while git ignores it.
        tmp = dot / f"HEAD.{os.getpid()}.tmp"
        tmp.write_text("ref: refs/heads/main\n", "utf-8")
        os.replace(tmp, dot / "HEAD")
        done.append(folder)
    return done


def unshielded(folders: Sequence[Path], work_tree: Path) -> list[Path]:
    return [f for f in folders if _inside(f, work_tree) and not _marked(f)]


def is_shield(top: Path) -> bool:
    """Whether the work tree git found at `top` is a store folder's shield, not a repository."""
    with contextlib.suppress(OSError, UnicodeDecodeError):
        return (top / ".git" / "description").read_text("utf-8").startswith(DESCRIPTION[:40])
    return False
