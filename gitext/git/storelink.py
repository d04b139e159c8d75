"""Where a store that is a symlink to another disk points, kept where git's sweeps cannot reach.

`git clean -fdx` removes such a link with the other ignored files (the data stays on the other
disk). Before, the repository then had no store: hooks recorded nothing, every command said to
run `init`, and `init` made a new, empty store beside the old one. The link's target is noted
in the git dir (`aircher-store-link`, a file of ours that git leaves alone), and the next
command or hook that looks for the store makes the link again.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from gitext.git.repo import RepoInfo
from gitext.git.stash import stashed

NOTE = "aircher-store-link"


def _note(info: RepoInfo) -> Path:
    return info.common_dir / NOTE


def remember(info: RepoInfo, store: Path) -> None:
    """Note where the symlinked store at ``store`` points (at every event: one small read)."""
    target = str(store.resolve())
    note = _note(info)
    with contextlib.suppress(FileNotFoundError):
        if note.read_text("utf-8", "surrogateescape") == target + "\n":
            return
    tmp = note.with_name(f".{NOTE}.{os.getpid()}.tmp")
    tmp.write_text(target + "\n", "utf-8", "surrogateescape")
    os.replace(tmp, note)


def forget(info: RepoInfo) -> None:
    """No note for a store that is a folder here: should it go (`git clean -ffdx`), an old
    copy left at a former link's target must not come back in its place."""
    with contextlib.suppress(FileNotFoundError):
        _note(info).unlink()


def relink(info: RepoInfo, store: Path) -> bool:
    """Make the link at ``store`` again when it is gone and its noted target still holds a
    store, unless a stash took it (`git stash pop` brings it back, and would refuse if it were
    there already); True when it was made."""
    if os.path.lexists(store):
        return False
    try:
        target = Path(_note(info).read_text("utf-8", "surrogateescape").rstrip("\n"))
    except (FileNotFoundError, NotADirectoryError):
        return False
    # Only a target that is still a store: one removed on purpose stays removed.
    if not target.is_absolute() or not (target / "db" / "core" / "knowledge.db").is_file():
        return False
    if stashed(store, info.main_root):
        return False
    try:
        os.symlink(target, store, target_is_directory=True)
    except FileExistsError:
        return False  # made meanwhile, by another process of ours or by the user
    return True
