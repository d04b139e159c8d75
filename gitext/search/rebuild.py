"""Rebuilding the search index: what `repair` runs when doctor finds vectors missing, and the
monthly maintenance task.

Vectors live in files beside the database (`content/embeddings/<model>/seg-*.npy`); a row of
`embedding_metadata` names its segment and row. A segment deleted, cut short or damaged leaves
rows that promise vectors nobody can read: the indexer counts their blobs as embedded and
never embeds them again, and search quietly loses its vector half. Rebuilding drops those rows,
indexes every worktree again (only what is missing is computed: the other vectors are kept),
rewrites the live vectors into one segment, and merges the full-text index's b-trees.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gitext.project import Project

if TYPE_CHECKING:
    from gitext.search.vectors import VectorStore


@dataclass(frozen=True)
class Rebuilt:
    dropped: int  # rows whose vector could not be read
    embedded: int  # blobs embedded again (or for the first time)
    worktrees: int
    kept: int  # vectors in the rewritten segment

    def __str__(self) -> str:
        return (f"{self.dropped} unreadable vectors dropped, {self.embedded} blobs embedded in"
                f" {self.worktrees} worktree(s), {self.kept} vectors kept")


def rebuild(project: Project) -> Rebuilt:
    """Make the search index whole again for every worktree."""
    from gitext.search.embedders import embedder_for
    from gitext.search.indexer import update
    from gitext.search.maintenance import compact
    from gitext.sync.elsewhere import other_worktrees

    project.require_init()
    embedder = embedder_for(project) if project.config.flag("storage.embeddings.enabled") \
        else None
    dropped = drop_unreadable(project)
    worktrees = [project, *(other for other, _head in other_worktrees(project))]
    embedded = 0
    for p in worktrees:
        embedded += int(update(p).get("blobs_embedded", 0))
    kept = 0
    if embedder is not None:
        kept = compact(project, embedder)["kept"]
    with project.db("file_index").write() as conn:
        conn.execute("INSERT INTO search_fts(search_fts) VALUES ('optimize')")
    return Rebuilt(dropped, embedded, len(worktrees), kept)


# The rows `unreadable` takes: (id, model, dimension, segment, row index).
VECTOR_ROWS = ("SELECT id, embedding_model, dimension, vector_file, vector_row"
               " FROM embedding_metadata WHERE vector_file IS NOT NULL")


def unreadable(embeddings: Path,
               rows: Iterable[Sequence[object]]) -> dict[str, list[tuple[str, str]]]:
    """Of the rows (id, model, dimension, segment, row index), those whose vector cannot be
    read back: model -> [(row id, segment)]. Only the segments' headers are read."""
    from gitext.search.vectors import VectorStore

    by_segment: dict[tuple[str, int, str], list[tuple[str, int]]] = defaultdict(list)
    for row_id, model, dimension, segment, index in rows:
        by_segment[(str(model), int(str(dimension)), str(segment))].append(
            (str(row_id), int(str(index))))
    bad: dict[str, list[tuple[str, str]]] = defaultdict(list)
    stores: dict[tuple[str, int], VectorStore] = {}
    for (model, dimension, segment), refs in by_segment.items():
        vs = stores.setdefault((model, dimension), VectorStore(embeddings, model, dimension))
        size = _rows_in(vs, segment)
        bad[model] += [(row_id, segment) for row_id, index in refs if not 0 <= index < size]
    return {model: ids for model, ids in bad.items() if ids}


def drop_unreadable(project: Project) -> int:
    """Delete the rows whose vector cannot be read back; returns how many."""
    db = project.db("knowledge")
    with db.read() as conn:
        rows = conn.execute(VECTOR_ROWS).fetchall()
    bad = [row_id for ids in unreadable(project.layout.embeddings, rows).values()
           for row_id, _segment in ids]
    if bad:
        with db.write() as conn:
            db.executemany(conn, "DELETE FROM embedding_metadata WHERE id = ?",
                           ((row_id,) for row_id in bad))
    return len(bad)


def _rows_in(vs: VectorStore, segment: str) -> int:
    """Readable rows of a segment of the right width; 0 for a missing or damaged file."""
    try:
        arr = vs.segment(segment)
    except (OSError, ValueError, EOFError):
        return 0
    if arr.ndim != 2 or arr.shape[1] != vs.dimension:
        return 0
    return int(arr.shape[0])
