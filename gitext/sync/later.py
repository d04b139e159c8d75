"""History a query leaves to the worker.

A query brings the view level with HEAD before it answers, and that catch-up used to read every
new commit too. After a far checkout or a large pull that is thousands of commits (20,000 on
git.git: 40-60 s in a search). Past `history_limit` new commits a query now records only the
view and leaves a line here (the HEAD and the positions the walk stopped at); the worker, or
`git aircher sync`, reads those commits (`engine.read_deferred`), so none is lost and the query
answers as fast as before. One JSON line per deferral, in a file per worktree under `run/`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from gitext.folders import store_folder
from gitext.project import Project

# Set while a query catches up: the walk's commits past `history_limit` are left to the worker.
IN_QUERY: ContextVar[bool] = ContextVar("aircher_in_query", default=False)


def defer(project: Project, root: Path, head: str, tips: list[str], branch: str | None) -> None:
    """`branch`: HEAD's when the query met the commits, which their merges transfer into, as
    the catch-up would have (by the time the worker reads them HEAD may be elsewhere)."""
    path = project.layout.run_file("history", root, ".jsonl")
    store_folder(project.layout.root, path.parent)  # run/, never the store itself
    line = {"head": head, "tips": tips, "worktree": str(root), "branch": branch}
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(line) + "\n")


def pending(project: Project) -> bool:
    return any(project.layout.run.glob("history-*.jsonl"))


def entries(project: Project) -> Iterator[tuple[Path, list[dict[str, Any]]]]:
    """Each file of deferrals with its lines (a line cut short by a crash is skipped: the file
    is removed once read, and a query defers again if the walk still finds that much)."""
    for path in sorted(project.layout.run.glob("history-*.jsonl")):
        lines: list[dict[str, Any]] = []
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        for line in text.splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
        yield path, lines
