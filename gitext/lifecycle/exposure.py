"""The store against git's own commands: ignored, so `git add -A` passes it by, and shielded,
so `git clean -fdx` and `git stash --all` do (`gitext.git.shield`). `init` sets up both; a
line taken out of `.git/info/exclude` or a shield removed since is a finding, and `repair`
puts it back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gitext.git.exclude import ensure_excluded, not_ignored
from gitext.git.shield import shield, unshielded
from gitext.layout import STORE_EXCLUDES, STORE_FILES
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
    root = project.layout.root
    seen = not_ignored(project.repo.info,
                       [*project.layout.folders(), *(root / n for n in STORE_FILES)])
    if seen:
        found.append(Finding(
            "store_not_ignored", "warning", None,
            f"git does not ignore {', '.join(seen)}: `git status` lists"
            f" {'it' if len(seen) == 1 else 'them'} and `git add -A` would try to add"
            f" {'it' if len(seen) == 1 else 'them'}", "listed in .git/info/exclude"))
    bare = unshielded(project.layout.folders(), project.repo.info.main_root)
    if bare:
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
