"""The store against git's own commands: ignored, so `git add -A` passes it by, and shielded,
so `git clean -fdx` and `git stash --all` do (`gitext.git.shield`). `init` sets up both; a
line taken out of `.git/info/exclude` or a shield removed since is a finding, and `repair`
puts it back."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gitext.config_copy import keep, removed, tracked
from gitext.git.exclude import ensure_excluded, not_ignored, tracked_entries
from gitext.git.names import shell_word
from gitext.git.shield import shield, unshielded
from gitext.git.storelink import forget, remember
from gitext.layout import (
    STORE_ENTRIES,
    STORE_EXCLUDES,
    STORE_FILES,
    close_to_others,
    open_to_others,
)
from gitext.project import Project

if TYPE_CHECKING:
    from gitext.lifecycle.findings import Finding


def _seen_by_git(project: Project) -> list[Path] | None:
    """What git would see of the store: its entries, or the store itself when it is a symlink
    to another disk; None for a store outside the work tree, none of git's business."""
    root, info = project.layout.root, project.repo.info
    if info.main_root == info.common_dir:
        return None  # kept in the git dir itself (bare, --separate-git-dir): no work tree here
    try:
        (root.parent.resolve() / root.name).relative_to(info.main_root)
    except ValueError:
        return None
    if root.is_symlink():
        return [root]
    return [*project.layout.folders(), *(root / n for n in STORE_FILES)]


def exposure_findings(project: Project) -> list[Finding]:
    from gitext.lifecycle.findings import Finding

    found = _in_a_linked_worktree(project)
    from gitext.store_owner import others_store

    if (other := others_store(project)) is not None:
        # The rest is the other repository's to look after, from there.
        found.append(Finding("store_of_another", "warning", None, other.message(),
                             hint=other.hint()))
        return found
    opened = open_to_others(project.layout.folders(), project.layout.root)
    if opened:
        name = project.layout.root.name
        found.append(Finding(
            "store_readable", "warning", None,
            f"other users of this machine may read {', '.join(f'{name}/{f.name}/' for f in opened)}"
            " (conversations, the file index)", "made owner-only (0700)"))
    entries = _seen_by_git(project)
    if entries is None:
        return found
    seen = not_ignored(project.repo.info, entries)
    config = project.layout.config
    if seen and config.name in {Path(s).name for s in seen} and \
            tracked(project.layout, project.repo.info.main_root):
        # The branch's own config.toml (another tool's): git lists it as the project's file,
        # rightly; ours is read from its copy meanwhile (docs/storage.md).
        seen = [s for s in seen if Path(s).name != config.name]
    committed = tracked_entries(project.repo.info.main_root, seen) if seen else []
    if committed:
        # An exclude line does nothing for what git tracks: this is the user's to undo, and a
        # repair line here sent them to a repair that changed nothing (QA round 22a: 03).
        words = ", ".join(committed)
        linked = project.layout.root.is_symlink()
        found.append(Finding(
            "store_tracked", "warning", None,
            f"git tracks {words} (it was committed): every clone gets"
            f" {'it' if len(committed) == 1 else 'them'}"
            + (", and a clone on this machine would use this very store" if linked else ""),
            hint=f"git rm --cached -r -q -- {' '.join(shell_word(c) for c in committed)},"
                 " then commit that (the store stays on disk)"))
        seen = [s for s in seen if s not in committed]
    if seen:
        found.append(Finding(
            "store_not_ignored", "warning", None,
            f"git does not ignore {', '.join(seen)}: `git status` lists"
            f" {'it' if len(seen) == 1 else 'them'} and `git add -A` would try to add"
            f" {'it' if len(seen) == 1 else 'them'}", "listed in .git/info/exclude"))
    # (A symlinked store's folders are on another disk: git's sweeps never reach them.)
    bare = unshielded(project.layout.folders(), project.repo.info.main_root)
    if bare:
        name = project.layout.root.name
        names = ", ".join(f"{name}/{f.name}/" for f in bare)
        found.append(Finding(
            "store_unshielded", "warning", None,
            f"`git clean -fdx` would delete {names} and `git stash --all` would take"
            f" {'it' if len(bare) == 1 else 'them'}", "shielded (a .git in each)"))
    if removed(project.layout, project.repo.info.main_root):
        name = project.layout.root.name
        # Information, not a problem: the settings still apply, and the file comes back.
        found.append(Finding(
            "store_config_removed", "info", None,
            f"{name}/config.toml is gone (`git clean -x` deletes it); the settings are read from"
            f" its copy, {name}/db/{project.layout.saved_config.name}, until the next commit or"
            " checkout, or `git aircher repair`, puts it back", "put back from its copy"))
    return found


def _in_a_linked_worktree(project: Project) -> list[Finding]:
    """A bare repository's store that an earlier version put in its first linked worktree,
    where `git worktree remove` deletes it (`gitext.git.repo._bare_home`)."""
    from gitext.lifecycle.findings import Finding

    info = project.repo.info
    listed = project.repo.worktrees()
    if not (listed and listed[0].bare) or info.main_root == info.common_dir:
        return []
    home = info.common_dir / project.layout.root.name
    return [Finding(
        "store_in_worktree", "info", None,
        f"the store is in the worktree {info.main_root}, and `git worktree remove` of it would"
        f" delete the store; to keep it with the repository, when no git command runs:"
        f" mv {project.layout.root} {home} && git aircher init")]


@dataclass
class Mended:
    excluded: bool  # lines added to .git/info/exclude
    shielded: list[Path]
    config_back: bool = False  # config.toml put back from its copy
    closed: list[Path] = field(default_factory=list)  # made owner-only
    listable: bool = False  # the store's top opened to other users' git (`_listable`)

    def words(self, name: str) -> list[str]:
        return ((["listed in .git/info/exclude"] if self.excluded else [])
                + [f"shielded {name}/{f.name}/" for f in self.shielded]
                + ([f"{name}/config.toml put back from its copy"] if self.config_back else [])
                + [f"made {name}/{f.name}/ owner-only" for f in self.closed]
                + ([f"made {name}/ listable (its folders stay owner-only)"]
                   if self.listable else []))


def mend(project: Project) -> Mended:
    """The store kept out of git's way, whatever is missing of it; a store that is not there
    (a link a sweep took) is left to `init`, not made again folder by folder by the shields.
    Wherever it is, its folders are made owner-only again."""
    if not project.layout.core.is_dir():
        return Mended(False, [])
    closed = close_to_others(project.layout.folders())
    if _seen_by_git(project) is None:
        return Mended(False, [], closed=closed)
    root, main_root = project.layout.root, project.repo.info.main_root
    if root.is_symlink():
        remember(project.repo.info, root)
    else:
        forget(project.repo.info)
    return Mended(ensure_excluded(project.repo.info, root, STORE_EXCLUDES),
                  shield(project.layout.folders(), main_root),
                  keep(project.layout, main_root), closed,
                  listable=not root.is_symlink() and _listable(project))


def _listable(project: Project) -> bool:
    """The store's top in the work tree (`.agents/`) made as listable as the work tree's top
    (read and enter, never write), when all it holds is the store's own and private; True
    when it was not.

    Other users of a shared checkout (a deploy user, a teammate with safe.directory) run git
    there too. Their git that cannot list `.agents/` cannot match the exclude lines of what is
    in it, and took `.agents/` for an untracked folder: a warning at every `git status`,
    `git stash -u` failing, `git clean -nd` offering to remove it (QA round 24c: 03). Listing
    `/.agents/` itself in the exclude file instead would hide every new file of the project's
    own there (`.agents/skills/`) from `git status` and `git add`. Privacy does not need the
    top closed: each folder is 0700 and config.toml 0600, so a user who may list the names
    reads nothing. A top holding anything else (a file of the user's) stays as it is."""
    root, top = project.layout.root, project.repo.info.main_root
    try:
        missing = top.stat().st_mode & 0o055 & ~root.lstat().st_mode
        if not missing:
            return False
        names = os.listdir(root)
    except OSError:
        return False
    if any(name not in STORE_ENTRIES for name in names):
        return False
    if open_to_others([root / n for n in names if n not in STORE_FILES]):
        return False  # a folder `close_to_others` could not close
    config = project.layout.config
    try:
        if config.name in names and not config.is_symlink() and \
                stat.S_IMODE(config.stat().st_mode) & 0o077 and not tracked(project.layout, top):
            config.chmod(0o600)  # written by an earlier version with the umask's mode
        root.chmod(stat.S_IMODE(root.lstat().st_mode) | missing)
    except OSError:
        return False
    return True
