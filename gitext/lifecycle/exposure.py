"""The store against git's own commands: ignored, so `git add -A` passes it by, and shielded,
so `git clean -fdx` and `git stash --all` do (`gitext.git.shield`). `init` sets up both; a
line taken out of `.git/info/exclude` or a shield removed since is a finding, and `repair`
puts it back."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gitext.git.exclude import ensure_excluded, not_ignored
from gitext.git.shield import shield, unshielded
from gitext.layout import STORE_EXCLUDES, STORE_FILES
from gitext.project import Project

if TYPE_CHECKING:
    from gitext.lifecycle.doctor import Finding


def _seen_by_git(project: Project) -> list[Path] | None:
    """What git would see of the store: its entries, or the store itself when it is a symlink
    to another disk; None for a store outside the work tree, none of git's business."""
    root = project.layout.root
    try:
        (root.parent.resolve() / root.name).relative_to(project.repo.info.main_root)
    except ValueError:
        return None
    if root.is_symlink():
        return [root]
    return [*project.layout.folders(), *(root / n for n in STORE_FILES)]


def exposure_findings(project: Project) -> list[Finding]:
    from gitext.lifecycle.doctor import Finding

    entries = _seen_by_git(project)
    if entries is None:
        return []
    found = []
    seen = not_ignored(project.repo.info, entries)
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
    return found


def mend(project: Project) -> list[str]:
    """What was put back, in words."""
    done = []
    if ensure_excluded(project.repo.info, project.layout.root, STORE_EXCLUDES):
        done.append("listed in .git/info/exclude")
    name = project.layout.root.name
    done.extend(f"shielded {name}/{f.name}/" for f in shield(project.layout.folders(),
                                                             project.repo.info.main_root))
    return done
