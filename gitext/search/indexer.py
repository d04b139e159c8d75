"""Bringing full text and vectors up to date with the current worktree's files.

Called by `git aircher index` and the background worker after the file index is current. Work
is keyed by content: a (path, blob) version is tokenized once, a (blob, model) pair is chunked
and embedded once, so a branch switched away from and back to costs nothing the second time.
Secret-looking files are never read: no text, no terms, no vectors.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from gitext.errors import AircherError
from gitext.git.objects import read_files
from gitext.index.languages import count_lines, is_binary
from gitext.index.secrets import is_secret_path, redact
from gitext.project import Project
from gitext.search import fulltext, orphans, sparse
from gitext.search.chunking import Chunk, chunk_text
from gitext.search.stamps import forget_indexed, indexed_head, remember_indexed, view_token

if TYPE_CHECKING:
    from gitext.search.embedders import Embedder

Progress = Callable[[int, int], None]
# When vectors are computed: "now" (a failing embedder fails the update), "try" (a failing
# embedder leaves them for a later update and says why), "later" (not here: a text query's).
Vectors = Literal["now", "try", "later"]
LATER = "left for later"
EMPTY = Chunk(-1, 0, 0, "")  # marker: this blob was looked at and has no chunk

MAX_INDEXED = 1024 * 1024  # bytes; larger files are data or generated, not worth searching
PREVIEW_CHARS = 200
_SKIP_MODES = ("120000", "160000")  # symlinks and submodules have no content of their own


@dataclass(frozen=True)
class LiveFile:
    path: str
    blob: str
    status: str


def live_files(conn: sqlite3.Connection, worktree: str,
               only: set[str] | None = None) -> list[LiveFile]:
    """The worktree's files whose content may be indexed (of the paths in `only`)."""
    sql = ("SELECT f.path, w.content_hash, w.git_status, f.is_binary, f.size_bytes,"
           " f.permissions FROM worktree_files w JOIN files f ON f.id = w.file_id"
           " WHERE w.worktree_path = ? AND w.content_hash IS NOT NULL")
    args: tuple[str, ...] = (worktree,)
    if only is not None:
        sql += " AND f.path IN (SELECT value FROM json_each(?))"
        args += (json.dumps(sorted(only)),)
    rows = conn.execute(sql, args).fetchall()
    out = []
    for path, blob, status, binary, size, mode in rows:
        if binary or (size is not None and size > MAX_INDEXED) or mode in _SKIP_MODES:
            continue
        if is_secret_path(path):
            continue
        out.append(LiveFile(path, blob, status or "clean"))
    return out


def read_texts(root: Path, files: list[LiveFile], *, disk_first: bool = False,
               absent: set[str] | None = None) -> dict[str, str]:
    """blob -> text for these files; a work-tree version git has no object for is read from disk.

    `disk_first`: a few files of a view just brought level with the work tree (a query's hits)
    are read from there, which costs less than starting `git cat-file`; git gives the rest.
    `absent` receives the blobs a partial clone lacks (`read_files`)."""
    by_blob = {f.blob: f for f in files}
    raw: dict[str, bytes | None] = {}
    if disk_first:
        raw = {blob: read_from_disk(root / f.path) for blob, f in by_blob.items()}
    rest = [(f.path, blob) for blob, f in by_blob.items() if raw.get(blob) is None]
    if rest:
        for blob, data in read_files(root, rest, max_size=MAX_INDEXED, absent=absent):
            if data is None and not disk_first:
                data = read_from_disk(root / by_blob[blob].path)
            raw[blob] = data
    return {blob: text for blob, data in raw.items()
            if data is not None and (text := as_text(data)) is not None}


def as_text(data: bytes) -> str | None:
    """What the index takes of a file's bytes: redacted before anything is cut, tokenized,
    embedded or previewed from it; None for a binary file."""
    return None if is_binary(data) else redact(data).decode("utf-8", errors="replace")


def read_from_disk(path: Path) -> bytes | None:
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_INDEXED:
            return None  # (a FIFO where a file was would block the read)
        return path.read_bytes()
    except OSError:
        return None


def update(project: Project, *, progress: Progress | None = None,
           only: set[str] | None = None, most: int | None = None,
           vectors: Vectors = "now") -> dict[str, Any]:
    """Full text and vectors for every file of the current worktree (or the paths in `only`);
    returns counts. With `most`, nothing is done when more versions than that are missing.
    Vectors left for later (`vectors`) are named in "vectors_deferred" (why, else None); the
    worktree is then not stamped as indexed, so the next update computes them."""
    project.require_init()
    root = project.repo.root
    worktree = str(root)
    if only is None:
        from gitext.search.retokenize import retokenize
        from gitext.search.scrub import scrub

        scrub(project)  # once per store: versions indexed before contents were redacted
        if retokenize(project, most=most) is None:  # once per store: an older tokenizer's terms
            # More than a query's share to remake: the stamp must not say this view is indexed
            # (no full update would come before the next commit), and the query starts the
            # worker, whose full update does it.
            return {"files": 0, "skipped": 1}
    fdb = project.db("file_index")
    with fdb.read() as conn:
        files, missing_docs, left_out = lacking(project, conn, only)
        row = conn.execute("SELECT head, view_token FROM sync_state WHERE worktree_path = ?",
                           (worktree,)).fetchone()
    view_head, token = (row[0], row[1]) if row else (None, None)

    cfg = project.config
    embed_on = cfg.flag("storage.embeddings.enabled")
    deferred: str | None = None
    if embed_on and vectors == "later":
        # Not even the embedder is made: a sentence-transformers model takes seconds to load.
        embed_on, deferred = False, LATER
    embedder = None
    missing_blobs: list[str] = []
    if embed_on:
        from gitext.search.embedders import embedder_for

        embedder = embedder_for(project)
        size = _size_now(embedder, probe=only is None)
        kdb = project.db("knowledge")
        with kdb.read() as kconn:
            embedded = _embedded_blobs(kconn, embedder.name, {f.blob for f in files}, size)
        missing_blobs = sorted({f.blob for f in files} - embedded)

    if most is not None and len(missing_docs) + len(missing_blobs) > most:
        return {"files": len(files), "skipped": len(missing_docs) + len(missing_blobs)}
    wanted = {f.blob: f for f in missing_docs}
    need_vectors = set(missing_blobs)
    for f in files:
        if f.blob in need_vectors and f.blob not in wanted:
            wanted[f.blob] = f
    # In a partial clone a blob outside a sparse checkout is absent, not empty: no marker for
    # it, so its vectors come once a wider checkout brings it (`git sparse-checkout add`).
    absent: set[str] = set()
    texts = read_texts(root, list(wanted.values()), absent=absent) if wanted else {}
    absent -= texts.keys()
    chunks: dict[str, list[Chunk]] = {}

    def chunks_of(f: LiveFile) -> list[Chunk]:
        if f.blob not in chunks:
            chunks[f.blob] = chunk_text(f.path, texts.get(f.blob, ""))
        return chunks[f.blob]

    total = len(missing_docs) + len(missing_blobs)
    done = 0
    with fdb.write() as conn:
        # A query's update of a few local files leaves the sweep to the worker: it scans every
        # document.
        removed = orphans.drop_unreferenced(conn) if only is None else 0
        for f in missing_docs:
            text = texts.get(f.blob)
            if text is not None:
                symbols = [s for c in chunks_of(f) for s in c.symbols]
                fields = fulltext.doc_fields(f.path, text, symbols)
                fulltext.insert_doc(conn, f.path, f.blob, fields, count_lines(text))
            done += 1
            if progress is not None and done % 200 == 0:
                progress(done, total)

    embedded_chunks = 0
    if embedder is not None and missing_blobs:
        try:
            embedded_chunks = _embed(project, embedder, files, missing_blobs, absent,
                                     texts, chunks_of, progress, (done, total))
        except AircherError as exc:
            if vectors == "now":
                raise
            # An endpoint down or refusing: the text is in, which is what a query needs now;
            # the blobs without vectors stay missing, so a later update embeds them.
            deferred = str(exc)
    if embedder is not None and only is None and deferred is None:
        from gitext.search.maintenance import maybe_compact

        maybe_compact(project, embedder)
    if progress is not None and total:
        progress(total, total)
    if only is None and view_head and deferred is None:
        if view_token(project, root) == token:
            remember_indexed(project, root, view_head)  # every file of that view is in
            sparse.note_absent(project, root, bool(absent or left_out))
        else:
            # The view moved while this ran (an edit taken in or undone, HEAD unchanged): what
            # it holds now may lack text this update dropped, so the next query looks again.
            forget_indexed(project, root)
    return {
        "files": len(files),
        "docs_added": len(missing_docs),
        "docs_removed": removed,
        "blobs_embedded": len(missing_blobs),
        "chunks_embedded": embedded_chunks,
        "embedding_model": embedder.name if embedder is not None else None,
        "vectors_deferred": deferred,
    }


def _embed(project: Project, embedder: Embedder, files: list[LiveFile],
           missing_blobs: list[str], absent: set[str], texts: dict[str, str],
           chunks_of: Callable[[LiveFile], list[Chunk]], progress: Progress | None,
           counts: tuple[int, int]) -> int:
    """Chunk vectors of the blobs that have none, in batches; returns the chunks embedded."""
    from gitext.search.maintenance import register_index, store_vectors

    done, total = counts
    embedded_chunks = 0
    size = max(1, project.config.integer("storage.embeddings.update_batch_size"))
    by_blob = {f.blob: f for f in files}
    batch: list[tuple[str, str, Chunk]] = []
    try:
        for blob in missing_blobs:
            if blob in absent:
                continue
            f = by_blob[blob]
            # A blob with nothing to embed (empty, unreadable) still gets a marker row, so it
            # is not read again on every update.
            found = chunks_of(f) if blob in texts else []
            batch.extend((f.path, blob, c) for c in found or [EMPTY])
            done += 1
            if len(batch) >= size * 10:
                embedded_chunks += store_vectors(project, embedder, batch, size)
                batch = []
                if progress is not None:
                    progress(done, total)
        if batch:
            embedded_chunks += store_vectors(project, embedder, batch, size)
    finally:
        # Also when the embedder failed: what it gave before is stored (`store_vectors`).
        register_index(project, embedder)
    return embedded_chunks


def update_if_behind(project: Project, head: str) -> None:
    """A full update of this worktree unless its last one covered `head`, its view's HEAD."""
    if indexed_head(project, project.repo.root) != head:
        update(project)


def _size_now(embedder: Embedder, *, probe: bool) -> int | None:
    """The size of the vectors the embedder gives now (None: unknown, any stored size will do).

    An endpoint's is known only from an answer, and can change under the same model name; a
    full update asks it once, so the vectors of another size are embedded again (a query's
    update of a few files leaves that to the next full one)."""
    from gitext.search.embedders import size_may_change

    if not size_may_change(embedder):
        return embedder.dimension
    if not probe:
        return None
    try:
        embedder.embed(["size"])
    except AircherError:
        return None  # down: what needs embedding fails on its own, with the same error
    return embedder.dimension


def _embedded_blobs(conn: sqlite3.Connection, model: str, blobs: set[str],
                    size: int | None) -> set[str]:
    """Blobs with vectors of `model` of that `size` (or no chunk to embed: a marker row)."""
    if not blobs:
        return set()
    rows = conn.execute(
        "SELECT DISTINCT content_hash FROM embedding_metadata WHERE embedding_model = ?"
        " AND content_hash IN (SELECT value FROM json_each(?))"
        " AND (? IS NULL OR vector_file IS NULL OR dimension = ?)",
        (model, json.dumps(sorted(blobs)), size, size))
    return {r[0] for r in rows}


def lacking(project: Project, conn: sqlite3.Connection, only: set[str] | None,
             ) -> tuple[list[LiveFile], list[LiveFile], bool]:
    """The worktree's live files (or those of `only`), those the full-text index lacks, and
    whether files were left out: those no update can read (`sparse.left_out`)."""
    root = project.repo.root
    files = live_files(conn, str(root), only)
    out = sparse.left_out(root, project.repo.info.git_dir, [(f.path, f.blob) for f in files])
    if out:
        files = [f for f in files if f.path not in out]
    have = fulltext.indexed_pairs(conn, only)
    return files, [f for f in files if (f.path, f.blob) not in have], bool(out)
