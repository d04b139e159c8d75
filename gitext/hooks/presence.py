"""Whether git runs git-aircher's hooks in this repository at all.

After `init`, a tool that sets `core.hooksPath` (husky, lefthook, a team's shared folder) moves
git to a folder without our shims: nothing fails, commits are simply no longer recorded, and the
store falls behind after every one. `doctor` and `status` say so, from what git itself resolves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from gitext.git.hookdir import (
    TURN_ON_HINT,
    HooksDir,
    hooks_dir,
    not_a_folder,
    not_a_folder_fix,
    other_worktrees_hooks,
    turned_off,
)
from gitext.hooks.framework_config import taken_by_framework
from gitext.hooks.install import folder_status, refused_without_force
from gitext.hooks.shims import CHAIN_SUFFIX, HOOK_NAMES, framework_script, read_hook

# A hook that runs ours itself: `git aircher hook …` or `git-aircher hook …`.
_CALLS_OURS = re.compile(rb"git[ -]aircher\s+hook\s")
# States in which git runs our shim (`wrapped`: the pre-commit framework runs it as .legacy).
# `framework`: its hook, whose config runs ours (aircher-guard, aircher-sync) instead of a shim.
_RUNNING = ("ours", "chained", "ours-outdated", "wrapped", "framework")


@dataclass(frozen=True)
class HooksAbsent:
    folder: Path  # where git runs hooks from
    from_config: bool  # core.hooksPath chose the folder
    turned_off: bool  # core.hooksPath=/dev/null: no hooks at all, on purpose
    missing: list[str]  # our hooks git will not run
    needs_force: list[str] = field(default_factory=list)  # install refuses them without --force
    worktree: Path | None = None  # another worktree's folder (a relative core.hooksPath)
    tracked: list[str] = field(default_factory=list)  # git tracks them: install leaves them
    fix: str | None = None  # the folder is no folder (a file): what makes it one

    def message(self) -> str:
        if self.turned_off:
            return (f"hooks are turned off by core.hooksPath={self.folder}: the store is kept"
                    " current only by `git aircher sync` and by queries")
        why = " (core.hooksPath)" if self.from_config else ""
        whose = f" of the worktree {self.worktree}" if self.worktree is not None else ""
        if self.fix is not None:
            return (f"git runs hooks{whose} from {self.folder}{why}, which is not a directory:"
                    " git runs no hook at all, so commits are not recorded until `git aircher"
                    " sync` (which reads every local branch's), and branch switches made"
                    " meanwhile are not recorded at all")
        lacks = f"git runs hooks{whose} from {self.folder}{why}, which lacks git-aircher's"
        if self.missing == ["pre-commit"]:
            return (f"{lacks} pre-commit guard: commits are not checked for the store's files"
                    " or keys")
        if self.missing == ["post-applypatch"]:
            # What sync recovers then, and what the next checkout away from the branch does.
            return (f"{lacks} post-applypatch: commits `git am` makes are not recorded until"
                    " `git aircher sync` or a checkout of another branch")
        # What `sync` recovers, and what it cannot: git keeps every branch's commits, but no
        # trace of a checkout made meanwhile (QA round 26b: 02).
        return (f"{lacks} {', '.join(self.missing)}: commits are not recorded until `git"
                " aircher sync` (which reads every local branch's), and branch switches made"
                " meanwhile are not recorded at all")

    def hint(self) -> str:
        if self.turned_off:
            return TURN_ON_HINT
        if self.fix is not None:
            # Install refuses such a path: the hint is install's own (QA round 26h: 02).
            return f"{self.fix}, then `git aircher hooks install`"
        if self.tracked:
            # Install leaves a tracked hook alone (QA round 22c: 02): the fix is in the hook.
            one = len(self.tracked) == 1
            paths = ", ".join(self.tracked)
            name = Path(self.tracked[0]).name if one else "<name>"
            fix = (f"{paths} {'is' if one else 'are'} tracked by git, so"
                   f" {'it stays' if one else 'they stay'} the team's: add"
                   f' `git aircher hook {name} "$@"` to {"it" if one else "each"}')
            if len(self.missing) > len(self.tracked):
                return f"`git aircher hooks install` puts the others there; {fix}"
            return fix
        if self.needs_force:
            # Without it install refuses, and a hint that fails is no hint (QA round 11b: 03).
            kept = ", ".join(name + CHAIN_SUFFIX for name in self.needs_force)
            return ("`git aircher hooks install --force` puts them there: it chains the hooks in"
                    f" place and keeps the earlier {kept} under a new name (.N)")
        return "`git aircher hooks install` puts them there"


def absent_hooks(repo_root: Path) -> HooksAbsent | None:
    """Our hooks git would not run here; None when it runs every one."""
    where = hooks_dir(repo_root)
    if turned_off(where.path):
        return HooksAbsent(where.path, True, True, list(HOOK_NAMES))
    return _absent_in(where)


def absent_elsewhere(repo_root: Path) -> list[HooksAbsent]:
    """The same for the other worktrees' folders, where a relative core.hooksPath (husky's
    .husky/_) gives each its own: shims only where `install` ran left the others unrecorded."""
    found = []
    for other in other_worktrees_hooks(repo_root, hooks_dir(repo_root)):
        absent = _absent_in(other, elsewhere=True)
        if absent is not None:
            found.append(absent)
    return found


def _absent_in(where: HooksDir, *, elsewhere: bool = False) -> HooksAbsent | None:
    if not_a_folder(where.path):
        return _not_a_folder(where, elsewhere)
    # Per hook, as install and `hooks status` see it: a config naming only aircher-guard runs
    # nothing of ours at the post-* hooks (QA round 23: 07).
    taken = taken_by_framework(where.worktree_root)
    states = [s for s in folder_status(where) if s.state not in _RUNNING
              and not (s.state == "foreign" and s.name in taken and framework_script(Path(s.path)))
              and not (s.state == "tracked" and _calls_ours(Path(s.path)))]
    if not states:
        return None
    tracked = [_shown(Path(s.path), where.worktree_root) for s in states if s.state == "tracked"]
    return HooksAbsent(where.path, where.from_config, False, [s.name for s in states],
                       refused_without_force(where.worktree_root),
                       where.worktree_root if elsewhere else None, tracked)


def not_folders(repo_root: Path) -> list[HooksAbsent]:
    """The hooks paths, here and in the other worktrees, that are no folder (a file named by
    core.hooksPath): `hooks status` lists every hook there as missing, and says why."""
    where = hooks_dir(repo_root)
    found = [_not_a_folder(where, False)] if not_a_folder(where.path) else []
    return found + [_not_a_folder(other, True)
                    for other in other_worktrees_hooks(repo_root, where)
                    if not_a_folder(other.path)]


def _not_a_folder(where: HooksDir, elsewhere: bool) -> HooksAbsent:
    # Every hook is missing, whatever folder_status makes of paths under a file.
    return HooksAbsent(where.path, where.from_config, False, list(HOOK_NAMES),
                       worktree=where.worktree_root if elsewhere else None,
                       fix=not_a_folder_fix(where))


def _calls_ours(path: Path) -> bool:
    """A tracked hook the team made run ours (`git aircher hook <name>`, docs/hooks.md)."""
    text = read_hook(path)
    return text is not None and _CALLS_OURS.search(text) is not None


def _shown(path: Path, worktree_root: Path) -> str:
    try:
        return path.relative_to(worktree_root).as_posix()
    except ValueError:
        return str(path)
