"""The branch context a merge gives its knowledge from.

A merge names what it brought in: git's action (`merge origin/feature`, `merge 3f2a…`,
`merge side~0`) or a merge commit's message (`Merge remote-tracking branch 'origin/feature'`).
Only a local branch is a branch context; a name that is not one would otherwise become an empty
context of its own, named after a remote, a commit id or a revision expression. The hook and the
catch-up ask the same question, so a merge counts the same whichever of them meets it first.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from gitext.contexts import worktree_context_id
from gitext.git.names import readable
from gitext.git.run import git

_REMOTES = "refs/remotes/"


@dataclass(frozen=True)
class Branches:
    local: set[str]
    followed_by: dict[str, str]  # remote-tracking branch -> the local branch whose upstream it is


def branches(root: Path) -> Branches:
    """Local branches and the remote-tracking branches they follow, in one git call."""
    out = git(["for-each-ref", "--format=%(refname:lstrip=2)%00%(upstream)", "refs/heads/"],
              root).stdout.decode("utf-8", "surrogateescape")
    local: set[str] = set()
    followed: dict[str, str] = {}
    for line in out.splitlines():
        name, _, upstream = line.partition("\0")
        if not name:
            continue
        local.add(readable(name))  # as read_head and the journal name it
        if upstream.startswith(_REMOTES):
            followed.setdefault(readable(upstream[len(_REMOTES):]), readable(name))
    return Branches(local, followed)


def transfer_source(
    name: str, project_id: str, found: Branches, contexts: Collection[str]
) -> str | None:
    """The branch whose context a merge of `name` gives from, or None.

    A local branch, or one deleted since that has a context here (`git merge topic && git
    branch -d topic` before the worker ran). A remote-tracking branch counts as the local
    branch that follows it (`origin/feature` for `feature` with that upstream), and only when
    that branch has a context already: what its context knows is what was pushed and merged.
    Anything else (a commit id, `side~0`, a tag) gives nothing.
    """
    if name in found.local or worktree_context_id(project_id, name) in contexts:
        return name
    follower = found.followed_by.get(name)
    if follower is not None and worktree_context_id(project_id, follower) in contexts:
        return follower
    return None
