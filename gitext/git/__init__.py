"""All access to git goes through this package; nothing else runs git or opens its files."""

from gitext.git.repo import GitRepo, RepoInfo, Worktree, discover

__all__ = ["GitRepo", "RepoInfo", "Worktree", "discover"]
