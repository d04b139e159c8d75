"""Keeping this installation's shims current after the package itself was upgraded.

A shim records the ``git-aircher`` it calls, so an upgraded package runs from shims written by
the version before: they keep working, but lack what newer shims record (``seq``, ``rebasing``,
``action``). The background worker, which the old shims still start, rewrites them. Only shims
that record this very installation's executable and this store's journal are touched: a shim of
another install (a second venv, pipx next to a checkout) or of another store (one hooks folder
shared by repositories) is that one's to manage, and rewriting it here would make the two flip
it back and forth. Anything else is left to ``git aircher hooks install`` and reported.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from gitext.errors import AircherError
from gitext.git.hookdir import HooksDir, hooks_dir, other_worktrees_hooks, turned_off
from gitext.hooks.framework_config import taken_by_framework
from gitext.hooks.install import install_folders, keep_out_of_git
from gitext.hooks.neighbours import old_framework_layout, settle_framework_layout, tracked_hooks
from gitext.hooks.shims import (
    ADDED_LATER,
    FRAMEWORK_SUFFIX,
    HOOK_NAMES,
    LEFTHOOK_SUFFIX,
    exists,
    folder_lock,
    git_aircher_executable,
    is_shim,
    lefthook_script,
    read_hook,
    shims_for,
    write_shim,
)


@dataclass(frozen=True)
class ShimCheck:
    upgraded: list[str]  # hook files rewritten now
    foreign_outdated: list[str]  # outdated, but another installation's or store's: left as is


def recorded(shim: bytes, name: str) -> str | None:
    """A value the shim records in its ``name='…'`` line (``exe``, ``journal``, ``store``)."""
    prefix = name.encode() + b"="
    # "\n" alone: a recorded path may hold a "\r", which splitlines() takes for a line end.
    for line in shim.split(b"\n"):
        stripped = line.lstrip()
        if stripped.startswith(prefix):
            try:
                words = shlex.split(stripped[len(prefix):].decode("utf-8", "surrogateescape"),
                                    comments=True)
            except ValueError:
                return None
            return words[0] if words else ""
    return None


def recorded_executable(shim: bytes) -> Path | None:
    """The ``git-aircher`` a shim calls, as its ``exe='…'`` line records it."""
    value = recorded(shim, "exe")
    return Path(value) if value else None


def refresh_shims(repo_root: Path) -> ShimCheck:
    """Rewrite every outdated shim of this installation in the repository's hooks folders.

    A shim the pre-commit framework wrapped (``<hook>.legacy``) is kept current the same way.
    Each rewrite is a rename over the file, so git never runs half a script.
    """
    ours = git_aircher_executable()
    here = hooks_dir(repo_root)
    upgraded: list[str] = []
    others: list[str] = []
    # Every worktree's folder: a relative core.hooksPath (husky's .husky/_) gives each its own.
    for where in [here, *other_worktrees_hooks(repo_root, here)]:
        folder, wanted = where.path, shims_for(where, ours, None)
        if not folder.is_dir():
            continue
        with folder_lock(folder):  # not while `hooks install` or another worker is at it
            done = _refresh(folder, wanted, ours, own=not where.from_config)
            added = _add_later_hooks(where, wanted, ours)
        prefix = "" if where == here else f"{folder}{os.sep}"  # another worktree's: its path
        upgraded += [prefix + n for n in [*done.upgraded, *added]]
        others += [prefix + n for n in done.foreign_outdated]
    return ShimCheck(upgraded, others)


def _add_later_hooks(where: HooksDir, wanted: dict[str, bytes], ours: Path | None) -> list[str]:
    """The hooks a later version added (`ADDED_LATER`) written where their place is empty, in
    a folder that holds this installation's shims of this store: after an upgrade the others
    were rewritten and these waited for `hooks install`, while doctor warned in every
    repository (post-applypatch, QA round 26b: 01). A hook someone else put there, or one git
    tracks, is left to `hooks install` and doctor's hint, as anything else install decides."""
    folder = where.path
    empty = [name for name in ADDED_LATER
             if not exists(folder / name) and not exists(folder / (name + FRAMEWORK_SUFFIX))]
    if not empty or turned_off(folder):
        return []
    if not any(_this_installs(path, wanted[name], ours) for name in HOOK_NAMES
               if name not in ADDED_LATER
               for path in (folder / name, folder / (name + FRAMEWORK_SUFFIX))):
        return []
    tracked = tracked_hooks(folder)
    added = [name for name in empty if name not in tracked]
    for name in added:
        write_shim(folder / name, wanted[name])
    if added:
        keep_out_of_git(folder)
    return added


def cover_worktrees(repo_root: Path) -> list[str]:
    """Our shims put into a worktree's hooks folder that has none of them, while another
    folder of the repository has: a relative core.hooksPath (husky's .husky/_) gives each
    worktree a folder of its own, which husky makes at the `npm install` after `git worktree
    add`, so the worktree ran nothing of ours until someone ran `hooks install` there. With
    install's own rules (a hook in place is chained; where install would refuse, nothing is
    done and doctor says so). After `hooks uninstall` no folder holds ours, and none gets them.
    The folders filled."""
    ours = git_aircher_executable()
    here = hooks_dir(repo_root)
    folders = [where for where in [here, *other_worktrees_hooks(repo_root, here)]
               if where.path.is_dir() and not turned_off(where.path)]
    holding = [w for w in folders if any(_ours_in(w.path, name) for name in HOOK_NAMES)]
    if not holding or len(holding) == len(folders):
        return []
    filled = []
    for where in folders:
        if where in holding:
            continue
        try:
            install_folders({where.path: shims_for(where, ours, None)},
                            framework={where.path: taken_by_framework(where.worktree_root)})
        except AircherError:
            continue  # refused: doctor's hooks_missing names the folder and the fix
        filled.append(str(where.path))
    return filled


def retake_from_lefthook(repo_root: Path) -> list[str]:
    """Our shims put back in front of lefthook's hooks where `lefthook install` set them aside.

    lefthook renames each hook it replaces to ``<hook>.old`` and never runs it, ours included,
    so every `lefthook install` (often a package manager's postinstall) silently stopped our
    recording until doctor's hint was followed. That hint, `hooks install`, chains lefthook's
    hook and drops the stale copy; it is done here in exactly that case: lefthook's hook in
    place and, as its ``.old``, a shim of this installation and this store. The folders
    changed."""
    ours = git_aircher_executable()
    here = hooks_dir(repo_root)
    done = []
    for where in [here, *other_worktrees_hooks(repo_root, here)]:
        folder = where.path
        if not folder.is_dir() or turned_off(folder):
            continue
        wanted = shims_for(where, ours, None)
        if not any(lefthook_script(folder / name)
                   and _this_installs(folder / (name + LEFTHOOK_SUFFIX), wanted[name], ours)
                   for name in HOOK_NAMES):
            continue
        try:
            install_folders({folder: wanted},
                            framework={folder: taken_by_framework(where.worktree_root)})
        except AircherError:
            continue  # refused: doctor's hooks_missing names the folder and the fix
        done.append(str(folder))
    return done


def _this_installs(path: Path, wanted: bytes, ours: Path | None) -> bool:
    if not is_shim(path) or ours is None:
        return False
    current = read_hook(path)
    exe = recorded_executable(current) if current is not None else None
    return (exe is not None and _same(exe, ours)
            and recorded(current or b"", "journal") == recorded(wanted, "journal"))


def _ours_in(folder: Path, name: str) -> bool:
    return is_shim(folder / name) or is_shim(folder / (name + FRAMEWORK_SUFFIX))


def _refresh(folder: Path, wanted: dict[str, bytes], ours: Path | None, *, own: bool
             ) -> ShimCheck:
    upgraded: list[str] = []
    others: list[str] = []
    for name in HOOK_NAMES:
        for path in (folder / name, folder / (name + FRAMEWORK_SUFFIX)):
            if not is_shim(path):
                continue
            current = read_hook(path)
            # A shim chaining the pre-commit framework's script is rewritten into the layout
            # install makes now even when current: the framework's next install or uninstall
            # would lose a hook or keep running (QA round 11b: 08).
            relayout = old_framework_layout(folder, name) == path
            if current is None or (current == wanted[name] and not relayout):
                continue
            exe = recorded_executable(current)
            # The same journal too: a hooks folder shared by repositories (a global
            # core.hooksPath) holds the journal of whichever store installed last, and two
            # stores rewriting it in turn would never settle. Records reach their own store
            # anyway (gitext/sync/routing.py).
            # A journal that is no longer there belongs to no other store: the repository was
            # moved (its shims still name the old folder, so every event took the slow path,
            # starting Python in git's way) or that store was removed.
            # Nor does a shim in this repository's own folder (<common dir>/hooks, which no
            # other repository runs), or in a folder it was not installed into: it came with a
            # copy of the repository (`cp -a`), naming the original's journal, and its events
            # went through the original's store.
            theirs = recorded(current, "journal")
            installed_in = recorded(current, "hooks")
            came_along = bool(installed_in) and not _same(Path(str(installed_in)), folder)
            same_journal = (theirs == recorded(wanted[name], "journal") or own or came_along
                            or not (theirs and Path(theirs).is_dir()))
            # A shim whose executable is gone belongs to no installation: the tool's checkout
            # was moved and installed again, and every event from a git GUI (no shell PATH)
            # said "not found" until `hooks install` ran in each repository (QA round 22c: 04).
            # A link to nothing is an install being replaced, still that one's.
            mine = ours is not None and (
                exe is None or not os.path.lexists(exe) or _same(exe, ours))
            if mine and same_journal:
                if relayout:
                    settle_framework_layout(folder, name, wanted[name])
                else:
                    write_shim(path, wanted[name])
                upgraded.append(path.name)
            else:
                others.append(path.name)
    return ShimCheck(upgraded, others)


def outdated_shims(repo_root: Path) -> list[str]:
    """Hook files that are shims of ours but not what this installation would write now.

    In a folder `core.hooksPath` shares between repositories, the shims write into the store
    of whichever repository installed them last: the journal they name is another's, and that
    alone does not make them outdated (docs/hooks.md)."""
    where = hooks_dir(repo_root)
    folder, wanted = where.path, shims_for(where, git_aircher_executable(), None)
    out = []
    for name in HOOK_NAMES:
        for path in (folder / name, folder / (name + FRAMEWORK_SUFFIX)):
            if not is_shim(path):
                continue
            current = read_hook(path)
            relayout = old_framework_layout(folder, name) == path  # install moves it
            if not relayout and (current == wanted[name] or (
                    where.from_config and current is not None
                    and _another_stores(current, wanted[name]))):
                continue
            out.append(path.name)
    return out


def _another_stores(current: bytes, wanted: bytes) -> bool:
    """Whether the shim is current but for naming another store's journal, which is there."""
    theirs = recorded(current, "journal")
    if not theirs or theirs == recorded(wanted, "journal") or not Path(theirs).is_dir():
        return False
    # A store left in a folder of stores by a repository since deleted keeps its journal:
    # records written there are never applied (QA round 9: 06). Its repository must be there.
    from gitext.store_left import made_for

    owner = made_for(Path(theirs).parent)
    if owner is None or not Path(owner).is_dir():
        return False
    return _but_journal(current) == _but_journal(wanted)


def _but_journal(shim: bytes) -> list[bytes]:
    return [line for line in shim.split(b"\n") if not line.lstrip().startswith(b"journal=")]


def _same(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return a == b
