"""Files git tracks but did not put in the work tree: those outside a sparse checkout.

The store's view of a worktree is HEAD's tree plus the work tree's changes, so in a sparse
checkout it lists every file of the tree. Search and `relevant` must not name the ones outside
the cone: an agent cannot open them. git marks them skip-worktree in the index, and `git
sparse-checkout set/add/disable` runs no hook (only post-index-change, which we do not
install), so this is asked at each query rather than kept in the view.
"""

from __future__ import annotations

import os
from pathlib import Path

from gitext.git.names import storable
from gitext.git.run import git


def _may_skip(git_dir: Path) -> bool:
    """False when the index cannot hold a skip-worktree entry, which spares the git call.

    That flag is an extended flag, which index version 2 has no room for: git writes version 3
    as soon as one entry needs it (version 4 is chosen by config, `feature.manyFiles`). A split
    index keeps most entries in a `sharedindex.*` file whose version the main one does not
    tell."""
    try:
        with open(git_dir / "index", "rb") as fh:
            header = fh.read(8)
    except OSError:
        return False  # no index: nothing is tracked, nothing skipped
    if header[:4] != b"DIRC" or int.from_bytes(header[4:8], "big") != 2:
        return True
    return any(name.startswith("sharedindex.") for name in os.listdir(git_dir))


def not_checked_out(root: Path, git_dir: Path) -> set[str]:
    """Paths the index marks skip-worktree that are not on disk (`git_dir`: the worktree's).

    A skip-worktree file that is on disk (`git update-index --skip-worktree` on a local config
    file, a file git left in place when the cone shrank) can be opened, so it stays."""
    if not _may_skip(git_dir):
        return set()
    # -t tags each entry: S for skip-worktree. A sparse index is expanded to files, as by
    # default in `git ls-files`.
    proc = git(["ls-files", "-t", "-z"], root, check=False)
    if proc.returncode != 0:
        return set()  # a damaged index: queries answer from the store as it is
    out = set()
    for rec in proc.stdout.split(b"\0"):
        if rec[:2] != b"S ":
            continue
        name = rec[2:].decode("utf-8", "surrogateescape")
        if storable(name) and not os.path.lexists(root / name):
            out.add(name)
    return out
