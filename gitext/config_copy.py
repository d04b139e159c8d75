"""A copy of the project's config.toml inside the store, so `git clean -fdx` does not lose it.

The store's folders are shielded from git's sweeps (`gitext.git.shield`); config.toml is a file
at the store's top, where a shield cannot go, and `git clean -fdx` deletes it with the other
ignored files. Its last valid content is kept in `db/saved-config.toml`. While config.toml is
missing the settings are read from the copy, and the next event puts the file back. A file
that `git stash --all` took is left to `git stash pop`, which refuses to write over one that
is already there.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from gitext.config import read_file
from gitext.errors import AircherError
from gitext.git.run import git
from gitext.git.stash import stashed
from gitext.layout import ProjectLayout


def settings_file(layout: ProjectLayout) -> Path:
    """The file the project's settings are read from: config.toml, else its saved copy."""
    if layout.config.exists() or not layout.saved_config.exists():
        return layout.config
    return layout.saved_config


def keep(layout: ProjectLayout, work_tree: Path) -> bool:
    """The copy brought up to date with config.toml, or config.toml put back from it when a
    sweep removed it; True when it was put back. ``work_tree`` (the main one) is where git
    looks for a stash holding the file."""
    config, saved = layout.config, layout.saved_config
    if not saved.parent.is_dir():
        return False  # no store (yet): nothing to keep
    try:
        current = config.read_bytes()
    except FileNotFoundError:
        if not removed(layout, work_tree):
            return False
        return _write(saved.read_bytes(), config, saved.parent, replace=False)
    if current != _read(saved) and _valid(config):
        _write(current, saved, saved.parent, replace=True)
    return False


def tracked(layout: ProjectLayout, work_tree: Path) -> bool:
    """Is config.toml a file of the project's own on the branch checked out (another tool's,
    committed before the store was made)? git then writes it at every checkout of that branch,
    over ours, since an ignored file is expendable to git."""
    try:
        rel = layout.config.relative_to(work_tree).as_posix()
    except ValueError:
        return False
    proc = git(["ls-files", "--error-unmatch", "--", rel], work_tree, check=False)
    return proc.returncode == 0


def removed(layout: ProjectLayout, work_tree: Path) -> bool:
    """Is config.toml gone while its copy is there, other than into a stash?"""
    return (not layout.config.exists() and layout.saved_config.exists()
            and not stashed(layout.config, work_tree))


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _valid(path: Path) -> bool:
    # A copy of a file that does not load would only carry the user's mistake along.
    try:
        read_file(path, project=True)
    except AircherError:
        return False
    return True


def _write(data: bytes, dest: Path, scratch: Path, *, replace: bool) -> bool:
    # Written in `scratch` (db/, shielded and ignored), never beside config.toml, where `git
    # status` would list it and `git add -A` could take it.
    tmp = scratch / f".{dest.name}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    try:
        if replace:
            os.replace(tmp, dest)
            return True
        # Never over a config.toml written meanwhile (an editor, `git stash pop`).
        try:
            os.link(tmp, dest)
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()

