"""All access to git goes through this package; nothing else runs git or opens its files.

The names below load on first use: the hook path and the query client import small modules of
this package (`names`, `run`) and must not pay for `repo`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gitext.git.repo import GitRepo, RepoInfo, Worktree, discover

__all__ = ["GitRepo", "RepoInfo", "Worktree", "discover"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from gitext.git import repo

        return getattr(repo, name)
    raise AttributeError(f"module 'gitext.git' has no attribute {name!r}")
