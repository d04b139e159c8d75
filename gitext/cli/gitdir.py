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
import subprocess


def with_git_env(args: list[str]) -> list[str]:
    """`args`, led by `-C TOP` when GIT_DIR names the repository to work on."""
    if "GIT_DIR" not in os.environ or args[:1] in (["-C"], ["hook"]):
        return args
    from gitext.git.run import clean_env

    inside = _git(["rev-parse", "--is-inside-work-tree"], clean_env())
    if inside is not None:
        return args  # in a work tree: that repository, whatever the variables say
    top = _git(["rev-parse", "--show-toplevel"], dict(os.environ))
    return ["-C", top, *args] if top else args


def _git(args: list[str], env: dict[str, str]) -> str | None:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, env=env,
                              errors="surrogateescape", check=False)
    except OSError:
        return None
    out = done.stdout.strip()
    return out if done.returncode == 0 and out else None
