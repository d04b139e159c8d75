"""Writing, registering, compacting and pruning the vector index of one embedding model.

Honours ``update_batch_size`` (texts per embedder call), ``index_rebuild_threshold`` (rows no
worktree references before they are dropped at the next compaction) and ``rebuild_interval``
(time after which the segments are rewritten into one even if nothing else asks for it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitext import clock
from gitext.errors import AircherError
from gitext.ids import derived_id
from gitext.project import Project
from gitext.search.chunking import Chunk
from gitext.search.embedders import Embedder, size_may_change
from gitext.search.vectors import VectorStore

if TYPE_CHECKING:
    from gitext.search.embedders import Matrix

MAX_SEGMENTS = 24  # more files than this make every query open many mmaps: compact

_INSERT = (
    "INSERT OR IGNORE INTO embedding_metadata (id, file_path, chunk_index, embedding_model,"
    " dimension, content_hash, created_at, content_preview, line_start, line_end, vector_file,"
    " vector_row) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def store(project: Project, embedder: Embedder) -> VectorStore:
    return VectorStore(project.layout.embeddings, embedder.name, embedder.dimension)


def store_vectors(project: Project, embedder: Embedder, items: Sequence[tuple[str, str, Chunk]],
                  batch_size: int) -> int:
    """Embed (path, blob, chunk) items in batches, write one segment, record their rows.

    An embedder that fails part way (an endpoint's rate limit running out) fails the call, but
    the blobs whose every chunk it answered are written first: those vectors were paid for, and
    the next update then asks only for the rest (QA round 25a: 05). Items are grouped by blob,
    as the indexer makes them."""
    import numpy as np

    from gitext.search.indexer import PREVIEW_CHARS

    real = [it for it in items if it[2].index >= 0]
    parts: list[Matrix] = []
    failure: AircherError | None = None
    for i in range(0, len(real), batch_size):
        try:
            part = embedder.embed([c.text for _, _, c in real[i : i + batch_size]])
        except AircherError as exc:
            failure = exc
            break
        if parts and part.shape[1] != parts[0].shape[1]:
            # The model behind an endpoint's name changed while this update ran: the batches
            # of the old size are kept like any answered before a failure, and the next full
            # update, which asks the size first, embeds them again at the new one.
            failure = AircherError(
                f"embedder {embedder.name} changed its vector size from {parts[0].shape[1]} to"
                f" {part.shape[1]} during this update",
                hint="the vectors still missing are asked for at the next `git aircher index`")
            break
        parts.append(part)
    if failure is not None:
        answered = sum(len(p) for p in parts)
        whole = _whole_blobs(real, answered)
        keep = [i for i in range(answered) if real[i][1] in whole]
        parts = [np.vstack(parts)[keep]] if keep else []
        items = [it for it in items if it[1] in whole or it[2].index < 0]
        real = [real[i] for i in keep]
    rows: list[tuple[Any, ...]] = []
    now = clock.now()
    # The size of what is stored, which an endpoint's later answer may already have changed.
    size = int(parts[0].shape[1]) if parts else embedder.dimension
    segment = None
    if parts:
        matrix = np.vstack(parts)
        if not np.isfinite(matrix).all():
            # The exact kNN skips its finiteness scans on stored vectors (knn.py); a NaN row
            # would match nothing and, marked as embedded, never be asked for again.
            raise AircherError(f"embedder {embedder.name} gave vectors holding NaN or"
                               " infinite numbers")
        segment = store(project, embedder).write_segment(matrix)
    position = 0
    for path, blob, chunk in items:
        seg, row = (segment, position) if chunk.index >= 0 else (None, None)
        if chunk.index >= 0:
            position += 1
        rows.append((derived_id("embedding", blob, embedder.name, str(chunk.index)), path,
                     chunk.index, embedder.name, size, blob, now,
                     chunk.text[:PREVIEW_CHARS], chunk.line_start, chunk.line_end, seg, row))
    db = project.db("knowledge")
    with db.write() as conn:
        if size_may_change(embedder):
            # Vectors of another size (the endpoint's model changed under its name) are
            # replaced: the rows' ids are the blob's and chunk's, so they would otherwise stay.
            db.executemany(conn, "DELETE FROM embedding_metadata WHERE embedding_model = ?"
                           " AND content_hash = ? AND dimension != ?",
                           ((embedder.name, b, size) for b in {i[1] for i in real}))
        db.executemany(conn, _INSERT, rows)
    if failure is not None:
        raise failure
    return len(real)


def _whole_blobs(real: Sequence[tuple[str, str, Chunk]], answered: int) -> set[str]:
    """The blobs all of whose chunks are among the first `answered` items: a blob with some of
    its chunks stored would count as embedded and never get the others."""
    got = {blob for _, blob, _ in real[:answered]}
    got.difference_update(blob for _, blob, _ in real[answered:])
    return got


def index_id(model: str) -> str:
    return derived_id("search-index", model)


def register_index(project: Project, embedder: Embedder, *, rebuilt: bool = False) -> None:
    """The model's row in search_indexes: type exact, its folder, size and settings."""
    vs = store(project, embedder)
    db = project.db("knowledge")
    cfg = project.config
    with db.write() as conn:
        count = conn.execute(
            "SELECT count(*) FROM embedding_metadata WHERE embedding_model = ?"
            " AND vector_file IS NOT NULL", (embedder.name,)).fetchone()[0]
        old = conn.execute("SELECT last_rebuilt, config FROM search_indexes WHERE id = ?",
                           (index_id(embedder.name),)).fetchone()
        last = clock.now() if rebuilt or old is None else old[0]
        config = {
            "metric": "cosine",
            "algorithm": "brute",
            "similarity_threshold": cfg.number("storage.embeddings.similarity_threshold"),
            "segments": len(vs.segments()),
        }
        conn.execute(
            "INSERT INTO search_indexes (id, index_type, index_path, embedding_model, dimension,"
            " item_count, last_rebuilt, config) VALUES (?, 'exact', ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(id) DO UPDATE SET index_path = excluded.index_path,"
            " dimension = excluded.dimension, item_count = excluded.item_count,"
            " last_rebuilt = excluded.last_rebuilt, config = excluded.config",
            # Relative to the store, which moves with its repository.
            (index_id(embedder.name), _within(vs.folder, project.layout.root), embedder.name,
             embedder.dimension, count,
             last, json.dumps(config)),
        )


def _unreferenced(project: Project, model: str) -> set[str]:
    """Blobs with vectors that no worktree has now (kept for branch switches, up to a bound).

    A blob whose text the full-text sweep still keeps aside (unheld for less than its hour)
    keeps its vectors too: a view coming back to it would find its stamp current and embed nothing.
    """
    with project.db("file_index").read() as conn:
        live = {r[0] for r in conn.execute(
            "SELECT DISTINCT content_hash FROM worktree_files WHERE content_hash IS NOT NULL")}
        live |= {r[0] for r in conn.execute(
            "SELECT blob FROM search_docs UNION SELECT blob FROM search_orphans")}
    with project.db("knowledge").read() as conn:
        have = {r[0] for r in conn.execute(
            "SELECT DISTINCT content_hash FROM embedding_metadata WHERE embedding_model = ?",
            (model,))}
    return have - live


def maybe_compact(project: Project, embedder: Embedder) -> bool:
    """Compact when there are too many segments, too many dead rows, or the interval passed."""
    vs = store(project, embedder)
    cfg = project.config
    with project.db("knowledge").read() as conn:
        row = conn.execute("SELECT last_rebuilt FROM search_indexes WHERE id = ?",
                           (index_id(embedder.name),)).fetchone()
    due = False
    if row is not None and row[0]:
        age = clock.epoch() - clock.from_ts(row[0])
        due = age > cfg.seconds("storage.embeddings.rebuild_interval")
    many = len(vs.segments()) > MAX_SEGMENTS
    threshold = cfg.integer("storage.performance.index_rebuild_threshold")
    dead = len(_unreferenced(project, embedder.name)) > threshold if not (due or many) else True
    if due or many or dead:
        compact(project, embedder)
        return True
    return False


def _within(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def compact(project: Project, embedder: Embedder) -> dict[str, int]:
    """Rewrite the live vectors into one segment; drop rows of blobs no worktree has.

    The new segment is written before any row points at it and old files are deleted only after
    the rows moved, so a crash at any point leaves a consistent index (at worst a stray file).
    """
    vs = store(project, embedder)
    # Listed before the rows are read: a segment an indexer writes meanwhile is not ours.
    old_segments = set(vs.segments())
    gone = _unreferenced(project, embedder.name)
    kdb = project.db("knowledge")
    with kdb.read() as conn:
        rows = conn.execute(
            "SELECT id, content_hash, vector_file, vector_row, dimension FROM embedding_metadata"
            " WHERE embedding_model = ? AND vector_file IS NOT NULL ORDER BY content_hash,"
            " chunk_index", (embedder.name,)).fetchall()
    keep = [r for r in rows if r[1] not in gone]
    lost = _lost(project, embedder, keep)
    keep = [r for r in keep if r[0] not in lost]
    # One segment per vector size: an endpoint can change it under the same model name, and
    # rows of two sizes cannot share a matrix (those of the old size wait to be embedded again).
    by_size: dict[int, list[Any]] = {}
    for r in keep:
        by_size.setdefault(int(r[4]), []).append(r)
    moves: list[tuple[str, int, str]] = []
    new_segments: set[str] = set()
    for size, group in by_size.items():
        matrix = VectorStore(vs.folder.parent, embedder.name, size).gather(
            [(r[2], int(r[3])) for r in group])
        segment = vs.write_segment(matrix)
        new_segments.add(segment)
        moves.extend((segment, i, r[0]) for i, r in enumerate(group))
    with kdb.write() as conn:
        kdb.executemany(conn, "DELETE FROM embedding_metadata WHERE embedding_model = ?"
                        " AND content_hash = ?", ((embedder.name, b) for b in gone))
        # Only while the row still names the segment that was missing: a compaction running
        # beside this one may have moved it to one that is whole.
        kdb.executemany(conn, "DELETE FROM embedding_metadata WHERE id = ? AND vector_file = ?",
                        lost.items())
        kdb.executemany(conn, "UPDATE embedding_metadata SET vector_file = ?, vector_row = ?"
                        " WHERE id = ?", moves)
        # Rows an indexer added after ours were read still name their segment: it stays. So
        # does one another model's rows name: two names can share a folder ("openai:org/emb"
        # and "openai:org_emb" are both openai_org_emb/), and their segments were deleted as
        # not ours (QA round 25a: 08). Segment names are random, so none is named by mistake.
        named = {r[0] for r in conn.execute(
            "SELECT DISTINCT vector_file FROM embedding_metadata WHERE vector_file IS NOT NULL")}
    removed = vs.remove(old_segments - named - new_segments)
    register_index(project, embedder, rebuilt=True)
    if lost:
        from gitext.search.stamps import forget_all_indexed

        # Their blobs now count as not embedded; the stamps would tell the next query or
        # worker pass that every file is in, and nothing would embed them again.
        forget_all_indexed(project)
    return {"kept": len(keep), "dropped_blobs": len(gone), "segments_removed": removed,
            "unreadable_dropped": len(lost)}


def _lost(project: Project, embedder: Embedder,
          rows: Sequence[tuple[Any, ...]]) -> dict[str, str]:
    """Of the rows (id, blob, segment, row, size), those whose vector cannot be read back (a segment
    deleted since: a restored backup names segments a later compaction removed, or damaged):
    row id -> segment."""
    from gitext.search.rebuild import unreadable

    bad = unreadable(project.layout.embeddings, (
        (r[0], embedder.name, r[4], r[2], r[3]) for r in rows))
    return dict(bad.get(embedder.name, []))


def forget_vectors(project: Project) -> None:
    """Vectors whose rows retention deleted leave their files now, not at the next compaction:
    the live rows are rewritten into one segment."""
    from gitext.search.embedders import embedder_for

    if not project.config.flag("storage.embeddings.enabled"):
        return
    embedder = embedder_for(project)
    if store(project, embedder).segments():
        compact(project, embedder)
