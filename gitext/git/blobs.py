"""Which blobs are alive: reachable from a branch head, a worktree's HEAD or a worktree's index.

Embeddings are keyed by blob id and shared by every branch; one may go only when no live tree
still holds its blob. Trees are listed once each (branches often share them), with git's own
`ls-tree`, which is much faster than walking trees in Python.
"""

from __future__ import annotations

from pathlib import Path

from gitext.git.repo import list_worktrees
from gitext.git.run import git, git_out


def head_commits(root: Path) -> set[str]:
    """Every local branch head and every worktree's HEAD (detached ones too)."""
    commits = {
        line.strip()
        for line in git_out(["for-each-ref", "--format=%(objectname)", "refs/heads"], root)
        .splitlines()
        if line.strip()
    }
    for wt in list_worktrees(root):
        if wt.head and not wt.bare:
            commits.add(wt.head)
    return commits


def _trees(root: Path, commits: set[str]) -> set[str]:
    if not commits:
        return set()
    args = ["rev-parse", *(f"{c}^{{tree}}" for c in sorted(commits))]
    return {line.strip() for line in git_out(args, root).splitlines() if line.strip()}


def tree_blobs(root: Path, tree: str) -> set[str]:
    out = git(["ls-tree", "-r", "-z", "--full-tree", tree], root).stdout
    blobs: set[str] = set()
    for entry in out.split(b"\0"):
        meta, _, _path = entry.partition(b"\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == b"blob":
            blobs.add(parts[2].decode("ascii"))
    return blobs


def index_blobs(worktree: Path) -> set[str]:
    """Blobs staged in a worktree's index (a file embedded before it was committed)."""
    proc = git(["ls-files", "-s", "-z"], worktree, check=False)
    if proc.returncode != 0:
        return set()
    blobs: set[str] = set()
    for entry in proc.stdout.split(b"\0"):
        parts = entry.partition(b"\t")[0].split()
        if len(parts) == 3:
            blobs.add(parts[1].decode("ascii"))
    return blobs


def live_blob_ids(root: Path) -> set[str]:
    """Blob ids of every branch head's tree, every worktree HEAD's tree and every index."""
    blobs: set[str] = set()
    for tree in _trees(root, head_commits(root)):
        blobs |= tree_blobs(root, tree)
    for wt in list_worktrees(root):
        if not wt.bare and not wt.prunable and wt.path.is_dir():
            blobs |= index_blobs(wt.path)
    return blobs
