"""`git --git-dir=D --work-tree=W aircher …`: git hands the repository over in GIT_DIR and
GIT_WORK_TREE, not in the directory it runs us in.

Our own git calls drop those variables (`gitext.git.run`): a hook's, leaked into a script that
changed directory, would point them at another repository. So they are read here, once, and
turned into the `-C` directory, but only where the current directory is in no work tree (a
script or a cron job outside any repository). Inside a repository the directory wins, as it did
before: there the variables are far more often a hook's leftovers than a choice.

A work tree with no `.git` of its own (the git dir kept elsewhere: `git init --bare ~/.cfg`, then
`git --git-dir=$HOME/.cfg --work-tree=$HOME`, the dotfiles set-up) cannot be found from its
directory. There the repository is also named to our git calls in that work tree, in variables
of ours (`NAMED_GIT_DIR`, `NAMED_WORK_TREE`) that the worker and the query server inherit.
Before, every command, `init` included, failed there with "not a git repository".
Light: runs before click is imported, and on the hook path.
"""

from __future__ import annotations

import os
from pathlib import Path


def with_git_env(args: list[str]) -> list[str]:
    """`args`, led by `-C TOP` when GIT_DIR names the repository to work on."""
    if "GIT_DIR" not in os.environ or args[:1] == ["-C"]:
        return args
    from gitext.errors import GitError
    from gitext.git.run import git

    given = {k: os.environ[k] for k in ("GIT_DIR", "GIT_WORK_TREE") if k in os.environ}
    try:
        here = Path.cwd()
        if git(["rev-parse", "--is-inside-work-tree"], here, check=False).returncode == 0:
            return args  # in a work tree: that repository, whatever the variables say
        found = git(["rev-parse", "--absolute-git-dir", "--show-toplevel"], here, check=False,
                    extra_env=given)
    except (GitError, OSError):
        return args  # the command reports what is wrong where it looks for the repository
    lines = found.stdout.decode("utf-8", "surrogateescape").splitlines()
    if found.returncode != 0 or len(lines) != 2 or not all(lines):
        return args
    git_dir, top = lines
    _name(Path(git_dir), Path(top))
    return ["-C", top, *args]


def name_hook_repository() -> None:
    """In a hook (or the worker it starts) of a repository whose work tree has no `.git`: git
    set GIT_DIR and GIT_WORK_TREE (relative to the work tree's top, where hooks run), and they
    are the only way to the repository. Without a git call: the pre-commit guard runs in every
    commit (in an ordinary repository git sets no GIT_WORK_TREE, and this does nothing)."""
    git_dir, work_tree = os.environ.get("GIT_DIR"), os.environ.get("GIT_WORK_TREE")
    if git_dir and work_tree:
        _name(Path(os.path.realpath(git_dir)), Path(os.path.realpath(work_tree)))


def _name(git_dir: Path, top: Path) -> None:
    from gitext.git.run import NAMED_GIT_DIR, NAMED_WORK_TREE

    if os.path.lexists(top / ".git"):
        return  # `-C TOP` finds it: a hook's leftovers must not be handed on to the worker
    os.environ[NAMED_GIT_DIR] = str(git_dir)
    os.environ[NAMED_WORK_TREE] = os.path.realpath(top)
