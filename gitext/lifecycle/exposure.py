"""The store against git's own commands: ignored, so `git add -A` passes it by, and shielded,
so `git clean -fdx` and `git stash --all` do (`gitext.git.shield`). `init` sets up both; a
line taken out of `.git/info/exclude` or a shield removed since is a finding, and `repair`
puts it back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gitext.git.repo import ensure_excluded, is_ignored
from gitext.git.shield import shield, shielded
from gitext.project import Project

if TYPE_CHECKING:
    from gitext.lifecycle.doctor import Finding


def _inside(project: Project) -> bool:
    try:
        project.layout.root.resolve().relative_to(project.repo.info.main_root)
    except ValueError:
        return False  # a store elsewhere is none of git's business
    return True


def exposure_findings(project: Project) -> list[Finding]:
    from gitext.lifecycle.doctor import Finding

    if not _inside(project):
        return []
    name = project.layout.root.name
    found = []
    if not is_ignored(project.repo.info, project.layout.root):
        found.append(Finding(
            "store_not_ignored", "warning", None,
            f"git does not ignore {name}/: `git status` lists it and `git add -A` would try"
            " to add it",
            "listed in .git/info/exclude"))
    if not shielded(project.layout.root):
        found.append(Finding(
            "store_unshielded", "warning", None,
            f"`git clean -fdx` would delete {name}/ with its backups, and `git stash --all`"
            " would take it", f"shielded ({name}/.git)"))
    return found


def mend(project: Project) -> list[str]:
    """What was put back, in words."""
    done = []
    if ensure_excluded(project.repo.info, project.layout.root):
        done.append("listed in .git/info/exclude")
    if shield(project.layout.root, project.repo.info.main_root):
        done.append(f"shielded ({project.layout.root.name}/.git)")
    return done
