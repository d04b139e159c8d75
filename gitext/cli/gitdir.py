"""`git --git-dir=D --work-tree=W aircher …`: git hands the repository over in GIT_DIR and
GIT_WORK_TREE, not in the directory it runs us in.

Our own git calls drop those variables (`gitext.git.run`): a hook's, leaked into a script that
changed directory, would point them at another repository. So they are read here, once, and
turned into the `-C` directory, but only where the current directory is in no work tree (a
script or a cron job outside any repository). Inside a repository the directory wins, as it did
before: there the variables are far more often a hook's leftovers than a choice.
Light: runs before click is imported.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def with_git_env(args: list[str]) -> list[str]:
    """`args`, led by `-C TOP` when GIT_DIR names the repository to work on."""
    if "GIT_DIR" not in os.environ or args[:1] in (["-C"], ["hook"]):
        return args
    from gitext.errors import GitError
    from gitext.git.run import git

    given = {k: os.environ[k] for k in ("GIT_DIR", "GIT_WORK_TREE") if k in os.environ}
    try:
        here = Path.cwd()
        if git(["rev-parse", "--is-inside-work-tree"], here, check=False).returncode == 0:
            return args  # in a work tree: that repository, whatever the variables say
        found = git(["rev-parse", "--show-toplevel"], here, check=False, extra_env=given)
    except (GitError, OSError):
        return args  # the command reports what is wrong where it looks for the repository
    top = found.stdout.decode("utf-8", "surrogateescape").strip()
    if found.returncode != 0 or not top:
        return args
    if not os.path.lexists(Path(top) / ".git"):
        # A git dir kept away from its work tree (`git init --bare ~/.cfg`, work tree $HOME: the
        # dotfiles set-up). Tried in session 15 and taken back: the store then sits inside the
        # work tree, and the work tree's untracked files (all of $HOME) would be read into it.
        print(f"error: {top} is a work tree whose git dir is kept elsewhere"
              f" ({given['GIT_DIR']}); git-aircher does not work in such a repository",
              file=sys.stderr)
        print("hint: git-aircher needs a work tree that holds its .git (a folder or a file)",
              file=sys.stderr)
        raise SystemExit(2)
    return ["-C", top, *args]
