"""Doctor's look at the search index: files a worktree holds that search cannot find.

A worktree whose last full search update covered the HEAD its view is at (`run/indexed-*`) has
every file with text in the index; queries trust that and index nothing more. A file missing
there anyway stays out of every answer until the next commit, with no error anywhere: the
random walk found three ways to get there (docs/search.md). While the stamp is behind, a query
or the worker catches up, so only a current stamp with missing files is a problem. Partial
clones are left out: a blob outside the sparse cone is absent by design, not lost.
"""

from __future__ import annotations

from pathlib import Path

from gitext.git.objects import is_partial
from gitext.git.repo import is_worktree_top
from gitext.lifecycle.dbfiles import raw_connect
from gitext.project import Project


def unsearchable(project: Project) -> list[tuple[Path, list[str]]]:
    """(worktree, paths) for each worktree stamped current whose view has files without text.
    Read as the rest of doctor reads: a plain read-only connection, no migrations."""
    from gitext.search.fulltext import indexed_pairs
    from gitext.search.indexer import indexed_head, live_files

    out = []
    conn = raw_connect(project.layout.db("file_index"))
    try:
        heads = conn.execute("SELECT worktree_path, head FROM sync_state").fetchall()
        have = indexed_pairs(conn)
        for root, head in heads:
            path = Path(root)
            if not head or indexed_head(project, path) != head or not is_worktree_top(path):
                continue
            if is_partial(path):
                continue
            missing = sorted(f.path for f in live_files(conn, root)
                             if (f.path, f.blob) not in have)
            if missing:
                out.append((path, missing))
    finally:
        conn.close()
    return out
