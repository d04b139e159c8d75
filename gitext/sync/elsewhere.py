"""Follow-ups for the worktrees a worker was not started in.

One worker applies every worktree's records: a hook finding a worker busy leaves its record to
it, wherever that worker was started. Search and relevance follow the worker's own worktree;
the others' get the same follow-ups here, or a linked worktree's commit would stay unsearched
until a worker happened to start there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from gitext.errors import AircherError
from gitext.project import Project
from gitext.sync.logbook import log


def other_worktrees(project: Project) -> Iterator[tuple[Project, str]]:
    """(project seen from there, the HEAD its view was synced to) for every other live
    worktree the store keeps a view of."""
    here = str(project.repo.root)
    with project.db("file_index").read() as conn:
        rows = conn.execute("SELECT worktree_path, head FROM sync_state"
                            " WHERE worktree_path != ? ORDER BY worktree_path", (here,)).fetchall()
    for path, head in rows:
        root = Path(path)
        if not head or not (root / ".git").exists():
            continue  # removed (its rows go with the next sync) or not synced yet
        try:
            yield project.elsewhere(root), head
        except AircherError:
            continue  # removed between the look and git's answer


def each_other(project: Project, name: str, step: Callable[[Project, str], object]) -> None:
    """`step` in every other worktree; one worktree's failure is logged and the rest go on."""
    for other, head in other_worktrees(project):
        try:
            step(other, head)
        except Exception as exc:
            if (other.repo.root / ".git").exists():
                log(project.layout.logs, "storage",
                    f"{name} follow-up failed in {other.repo.root}", exc)
