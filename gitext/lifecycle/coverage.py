"""Doctor's look at the search index: files a worktree holds that search cannot find.

A worktree whose last full search update covered the HEAD its view is at (`run/indexed-*`) has
every file with text in the index; queries trust that and index nothing more. A file missing
there anyway stays out of every answer until the next commit, with no error anywhere: the
random walk found three ways to get there (docs/search.md). While the stamp is behind, a query
or the worker catches up, so only a current stamp with missing files is a problem. A worktree
with no stamp at all is one too when no worker is indexing it and its view is more than a query
indexes itself (`MAX_LOCAL_FILES`): its first full update was interrupted (`index` stopped, the
worker killed), and until a query starts another worker, or `index` runs, search lacks its
files. In a partial clone, files outside the sparse cone whose blobs it lacks are left out:
absent by design, not lost (`sparse.left_out`); the rest of its view is checked as any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitext.errors import AircherError
from gitext.git.repo import discover
from gitext.lifecycle.dbfiles import raw_connect
from gitext.project import Project


@dataclass(frozen=True)
class Gap:
    worktree: Path
    missing: list[str]  # paths whose text search does not have
    unfinished: bool  # no full update ever finished there (else: one did, yet these are missing)


def unsearchable(project: Project) -> list[Gap]:
    """Each worktree stamped current, or never stamped with a large view and no worker at it,
    whose view has files without text. Read as the rest of doctor reads: a plain read-only
    connection, no migrations."""
    from gitext.search import sparse
    from gitext.search.fulltext import indexed_pairs
    from gitext.search.indexer import live_files
    from gitext.search.stamps import indexed_head
    from gitext.sync.local import MAX_LOCAL_FILES
    from gitext.sync.slots import slot_held, worker_alive

    out = []
    building = worker_alive(project.layout.run) or slot_held(project.layout.run, "heavy")
    # What a query takes on itself counts vectors too: with embeddings on, each file missing
    # both (an interrupted first index) counts twice against its limit (QA round 5: 03).
    per_file = 2 if project.config.flag("storage.embeddings.enabled") else 1
    conn = raw_connect(project.layout.db("file_index"))
    try:
        heads = conn.execute("SELECT worktree_path, head FROM sync_state").fetchall()
        have = indexed_pairs(conn)
        for root, head in heads:
            path = Path(root)
            stamp = indexed_head(project, path)
            if not head or stamp not in (head, None) or (stamp is None and building):
                continue
            if not (path / ".git").exists():
                continue
            lacking = [(f.path, f.blob) for f in live_files(conn, root)
                       if (f.path, f.blob) not in have]
            # Skipping partial clones whole missed a gap inside the cone (session 18).
            try:
                absent = sparse.left_out(path, discover(path).git_dir, lacking) \
                    if lacking else set()
            except AircherError:
                continue  # not a repository any more: doctor's worktree checks say so
            missing = sorted(p for p, _ in lacking if p not in absent)
            if stamp is None and len(missing) * per_file <= MAX_LOCAL_FILES:
                continue  # the next query indexes it all itself
            if missing:
                out.append(Gap(path, missing, stamp is None))
    finally:
        conn.close()
    return out
