"""The one rule for every folder the hooks, the background worker and its maintenance steps
make: a missing folder is made only below one that is still there, never that one nor anything
above it; in the store, only while the store is there.

A repository `rm -rf`'d while its worker ran came back: a step already under way when the
folder went (a log line, `run/lifecycle.json` and its lock, `mend()`'s exclude lines and
shields, a backup) made the folder it wrote into with `mkdir(parents=True)`, and with it the
store and the repository, so `rm` failed ("Directory not empty") or the folder was back once it
had finished, and a `git clone` to that name refused it (QA round 22c: 03). Between its steps
the worker already stops when the store is gone (`gitext.sync.followups._gone`); this is the same
rule at each write. Files are only ever written into folders that are there, so a write cannot
make anything else again. A write that finds its store gone raises FileNotFoundError, an
OSError, which the background paths take for "nothing to do": nothing is logged, as the logs
went with the store.

Standard library only: the hook path uses it.
"""

from __future__ import annotations

import errno
from pathlib import Path

# Where a store keeps its databases (`ProjectLayout.core`): a store without it is gone, or
# being deleted, whatever else of it is left.
CORE = Path("db", "core")


def store_there(root: Path) -> bool:
    """Whether the store at `root` is there: its databases' folder is."""
    return (root / CORE).is_dir()


def make_folder(folder: Path, top: Path) -> Path:
    """`folder`, with whatever is missing of it below `top`, made one level at a time: never
    `top` itself, which must be there, nor anything above it. FileNotFoundError when `top`
    (or a level of `folder` just made) went meanwhile."""
    if folder.is_dir():
        return folder
    missing = []
    here = folder
    while not here.is_dir():
        if here == top or here.parent == here:
            raise FileNotFoundError(errno.ENOENT, "gone", str(top))
        missing.append(here)
        here = here.parent
    if here != top and top not in here.parents:
        raise ValueError(f"{folder} is not below {top}")
    for level in reversed(missing):
        level.mkdir(exist_ok=True)  # no parents: a level gone meanwhile stays gone
    return folder


def store_folder(root: Path, folder: Path) -> Path:
    """`folder` below the store at `root`, made when missing, only while the store is there
    (`store_there`); never the store itself. FileNotFoundError when the store is gone."""
    if folder.is_dir():
        return folder
    if not store_there(root):
        raise FileNotFoundError(errno.ENOENT, "the store is gone", str(root))
    return make_folder(folder, root)
