"""Whether a stash holds a path among its untracked files (`git stash --all` or `-u`).

Such a path is gone from the work tree until `git stash pop`, which refuses to restore it over
a file that is there again ("already exists, no checkout"). What puts the store's own entries
back after a sweep (config.toml, a store's link) must leave those to the pop.
"""

from __future__ import annotations

from pathlib import Path

from gitext.git.run import git


def stashed(path: Path, work_tree: Path) -> bool:
    """Does any stash of ``work_tree``'s repository hold ``path`` as an untracked file?"""
    try:
        rel = path.relative_to(work_tree).as_posix()
    except ValueError:
        return False
    entries = git(["reflog", "show", "--format=%H", "refs/stash", "--"], work_tree, check=False)
    shas = entries.stdout.decode("ascii", "replace").split() if entries.returncode == 0 else []
    if not shas:
        return False
    # The untracked files of a stash are its third parent's tree.
    asked = "".join(f"{sha}^3:{rel}\n" for sha in shas).encode("utf-8", "surrogateescape")
    found = git(["cat-file", "--batch-check"], work_tree, check=False, input=asked)
    return any(not line.endswith(b" missing") for line in found.stdout.splitlines() if line)
