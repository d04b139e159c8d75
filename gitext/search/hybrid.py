"""`git aircher search`: BM25 over files, exact kNN over chunk vectors, and their fusion.

Hybrid (the default) ranks files by their normalised BM25 score (FTS5, with the size prior)
plus ``VECTOR_WEIGHT`` times their best chunk's cosine similarity to the query, plus
``HISTORY_WEIGHT`` times how well the commit messages that changed them match the query
(gitext.relevance.messages). Every text hit gets its vector similarity, whatever its rank in the
kNN; a vector hit that the text search missed joins when it reaches ``similarity_threshold``.
``--mode text`` and ``--mode vector`` use one signal alone.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections import Counter
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from gitext.errors import AircherError, UsageError
from gitext.git.skipped import not_checked_out
from gitext.project import Project
from gitext.search import fulltext
from gitext.search.tokenize import terms

if TYPE_CHECKING:
    from gitext.search.embedders import Embedder

MODES = ("hybrid", "vector", "text")
MAX_QUERY_CHARS = 20_000  # a query longer than this is cut: its tail adds nothing but time
VECTOR_WEIGHT = 0.25
HISTORY_WEIGHT = 0.5
KNN_CANDIDATES = 200
FULL_SIMS = 50_000  # up to this many chunks every one gets its similarity; beyond, the top k


@dataclass(frozen=True)
class Hit:
    path: str
    score: float
    chunk_index: int
    line_start: int
    line_end: int
    preview: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Chunks:
    """This worktree's chunk vectors: rows of ``matrix`` and who they belong to."""

    blobs: list[str]
    index: list[int]
    lines: list[tuple[int, int]]
    previews: list[str]
    matrix: Any


def clean_query(query: str | bytes) -> str:
    if isinstance(query, bytes):
        query = query.decode("utf-8", errors="replace")
    # Lone surrogates (from undecodable command-line bytes) cannot be encoded for SQLite.
    query = query.encode("utf-8", errors="replace").decode("utf-8")
    return query[:MAX_QUERY_CHARS]


def search(project: Project, query: str, *, top: int = 10, mode: str = "hybrid",
           notes: list[str] | None = None) -> list[Hit]:
    """The best ``top`` files of this worktree for ``query``. What the answer had to do without
    (vectors an embedder failed to give) is added to ``notes``, for the caller to show."""
    if mode not in MODES:
        raise UsageError(f"unknown search mode {mode!r}", hint="use hybrid, vector or text")
    if top < 1:
        raise UsageError("--top must be at least 1")
    project.require_init()
    text = clean_query(query)
    if not text.strip():
        raise UsageError("empty query", hint="give some words to search for")
    from gitext.search.indexer import Vectors
    from gitext.search.query_index import take_in_local_changes

    # What the user is editing counts as it is now. Text alone needs no vectors for it; vector
    # search has nothing but vectors, so an embedder that fails fails it (QA round 8: 05).
    taken: list[str] = []
    vectors: Vectors = "later" if mode == "text" else "now" if mode == "vector" else "try"
    take_in_local_changes(project, vectors=vectors, notes=taken)
    scored: list[str] = []
    scores = file_scores(project, text, mode=mode, notes=scored)
    if notes is not None:
        notes.extend(query_notes(taken, scored))
    best = sorted(scores.items(), key=lambda kv: (-kv[1][0], kv[0]))[:top]
    qterms = terms(text)
    # Hits without a vector chunk (text mode, or vectors not computed yet) are placed by their
    # text. So is a hybrid hit whose closest chunk holds fewer of the query's words than
    # another chunk of its file: a hashed vector meets a chunk through a hash collision as
    # well as through the word ("strict" and "zqneedle" share a bucket), and its lines then
    # held none of it while `--mode text` pointed at the right ones (QA round 25a: 04). Only
    # the place moves: the ranking is the same.
    unplaced = [path for path, (_s, info) in best if "preview" not in info]
    checked = {path: int(info["chunk_index"]) for path, (_s, info) in best
               if mode == "hybrid" and "preview" in info and not _holds_all(info, qterms)}
    if unplaced or checked:
        from gitext.search.locate import locate

        for path, place in locate(project, unplaced + list(checked), qterms, checked).items():
            if checked.get(path) == place.chunk_index:
                continue  # the vectors' chunk holds as many of the words as any: it stays
            scores[path][1].update(chunk_index=place.chunk_index, line_start=place.line_start,
                                   line_end=place.line_end, preview=place.preview)
    return [_hit(path, s, info) for path, (s, info) in best]


def _holds_all(info: dict[str, Any], qterms: list[str]) -> bool:
    """The hit's preview (its chunk's start) holds every query term: no chunk holds more, and
    the file need not be read again."""
    low = str(info.get("preview", "")).lower()
    return all(t in low for t in qterms)


def _hit(path: str, score: float, info: dict[str, Any]) -> Hit:
    return Hit(path, round(score, 6), info.get("chunk_index", 0), info.get("line_start", 1),
               info.get("line_end", info.get("line_count", 1)), info.get("preview", ""))


def file_scores(project: Project, text: str, *, mode: str = "hybrid", history: Any = None,
                paths: list[str] | None = None, hidden: set[str] | None = None,
                notes: list[str] | None = None) -> dict[str, tuple[float, dict[str, Any]]]:
    """path -> (score, details) for every file a signal found (also used by `relevant`).

    ``history``/``paths``: the worktree's relevance history, when the caller has it loaded.
    ``hidden``: the files outside a sparse checkout (`not_checked_out`), when the caller has
    asked git; they stay in the store but are never an answer.
    Hybrid: an embedder that cannot embed the query (an endpoint down) leaves the text and
    history signals, and says so in ``notes``; vector mode has nothing else and fails.
    """
    worktree = str(project.repo.root)
    if hidden is None:
        hidden = not_checked_out(project.repo.root, project.repo.info.git_dir)
    qterms = terms(text)
    out: dict[str, tuple[float, dict[str, Any]]] = {}
    hits: list[fulltext.TextHit] = []
    with project.db("file_index").read() as conn:
        if mode != "vector":
            # Left out before the best score scales the rest.
            hits = [h for h in fulltext.search(conn, worktree, qterms) if h.path not in hidden]
        blob_of = _worktree_blobs(conn, worktree) if mode != "text" else {}
        if mode == "hybrid" and history is None:
            from gitext.relevance.history import load_history

            paths = sorted(blob_of)
            history = load_history(conn, project.repo.head().commit, paths,
                                   project.config.integer("storage.sync.history_limit"))
    if mode == "hybrid" and history is not None and paths is not None:
        _add_history(out, history, paths, text)
        for path in hidden & out.keys():
            del out[path]
    best = hits[0].score if hits else 0.0
    for h in hits:
        prior, info = out.get(h.path, (0.0, {}))
        out[h.path] = (prior + (h.score / best if best > 0 else 0.0),
                       {**info, "line_start": 1, "line_end": max(1, h.line_count),
                        "bm25": h.bm25})
    if mode == "text" or not project.config.flag("storage.embeddings.enabled"):
        if mode == "vector":
            raise UsageError("vector search is off (storage.embeddings.enabled = false)")
        return out
    from gitext.search.embedders import embedder_for

    embedder = embedder_for(project)
    rows = _chunk_rows(project, embedder.name, set(blob_of.values()))
    if not rows:
        return out
    try:
        qvec = _query_vector(project, embedder, text, qterms)
    except AircherError as exc:
        if mode == "vector" or isinstance(exc, UsageError):
            raise
        if notes is not None:
            notes.append(f"{exc}: answered without vectors")
        return out
    chunks = _load_chunks(project, embedder, rows, int(qvec.shape[1]), notes)
    if chunks is None or not chunks.blobs:
        return out
    sims = _similarities(chunks, qvec)
    if sims is None:
        return out
    import numpy as np

    from gitext.search.embedders import HashEmbedder

    threshold = (project.config.number("storage.embeddings.similarity_threshold")
                 * embedder.similarity_scale)
    by_blob: dict[str, tuple[float, int]] = {}
    for found_row in np.flatnonzero(sims > -1.0):
        blob = chunks.blobs[found_row]
        s = float(sims[found_row])
        if blob not in by_blob or s > by_blob[blob][0]:
            by_blob[blob] = (s, int(found_row))
    joining: dict[str, tuple[float, dict[str, Any]]] = {}
    for path, blob in blob_of.items():
        found = by_blob.get(blob)
        if found is None or path in hidden:
            continue
        sim, row = found
        detail = {"chunk_index": chunks.index[row], "line_start": chunks.lines[row][0],
                  "line_end": chunks.lines[row][1], "preview": chunks.previews[row],
                  "similarity": sim}
        if mode == "vector":
            if sim >= threshold:
                joining[path] = (sim, detail)
        elif path in out:
            base, info = out[path]
            out[path] = (base + VECTOR_WEIGHT * max(sim, 0.0), {**info, **detail})
        elif sim >= threshold:
            joining[path] = (VECTOR_WEIGHT * sim, detail)
    if joining and isinstance(embedder, HashEmbedder):
        joining = _sharing_terms(project, joining, blob_of, qterms)
    out.update(joining)
    return out


def _sharing_terms(project: Project, found: dict[str, tuple[float, dict[str, Any]]],
                   blob_of: dict[str, str], qterms: list[str],
                   ) -> dict[str, tuple[float, dict[str, Any]]]:
    """The vector hits whose text holds a query term. Hashed vectors are lexical: a chunk
    close to the query without one of its words is close through hash collisions alone
    (QA round 7: 10)."""
    with project.db("file_index").read() as conn:
        holding = fulltext.holding(conn, {p: blob_of[p] for p in found}, qterms)
    return {p: v for p, v in found.items() if p in holding}


def _add_history(out: dict[str, tuple[float, dict[str, Any]]], history: Any, paths: list[str],
                 text: str) -> None:
    """Files changed by past commits whose messages resemble the query, best scaled to
    HISTORY_WEIGHT."""
    import numpy as np

    from gitext.relevance.messages import similar_commit_scores

    sc = similar_commit_scores(history, text)
    top = float(sc.max()) if len(sc) else 0.0
    if top <= 0:
        return
    for i in np.flatnonzero(sc):
        value = HISTORY_WEIGHT * float(sc[i]) / top
        out[paths[i]] = (value, {"history": round(value, 6)})


def _worktree_blobs(conn: sqlite3.Connection, worktree: str) -> dict[str, str]:
    from gitext.search.indexer import live_files

    return {f.path: f.blob for f in live_files(conn, worktree)}


def _chunk_rows(project: Project, model: str, blobs: set[str]) -> list[sqlite3.Row]:
    with project.db("knowledge").read() as conn:
        return conn.execute(
            "SELECT content_hash, chunk_index, line_start, line_end, content_preview,"
            " vector_file, vector_row, dimension FROM embedding_metadata"
            " WHERE embedding_model = ? AND vector_file IS NOT NULL"
            " AND content_hash IN (SELECT value FROM json_each(?))"
            " ORDER BY vector_file, vector_row",
            (model, json.dumps(sorted(blobs)))).fetchall()


def _load_chunks(project: Project, embedder: Embedder, rows: list[sqlite3.Row], dimension: int,
                 notes: list[str] | None) -> _Chunks | None:
    """The rows' vectors of the query's `dimension`, the size the model gives now (an endpoint
    can change it under the same name, and the configured one is only a guess for an endpoint):
    vectors of another size cannot be compared with the query, so they are left out, and
    said so, until the next full update embeds those files again."""
    from gitext.search.vectors import VectorStore

    other = {r[0]: int(r[7]) for r in rows if r[7] != dimension}
    if other:
        rows = [r for r in rows if r[7] == dimension]
        if notes is not None:
            sizes = " or ".join(str(d) for d in sorted(set(other.values())))
            notes.append(
                f"the vectors of {len(other)} files have {sizes} dimensions, not the {dimension}"
                f" {embedder.name} gives now: those files are left out of vector search until"
                " they are embedded again (`git aircher index`)")
    if not rows:
        return None
    vs = VectorStore(project.layout.embeddings, embedder.name, dimension)
    try:
        matrix = vs.gather([(r[5], int(r[6])) for r in rows])
    except (OSError, ValueError, IndexError):
        return None  # a missing or damaged vector file: text search still answers
    return _Chunks([r[0] for r in rows], [int(r[1]) for r in rows],
                   [(int(r[2] or 1), int(r[3] or 1)) for r in rows],
                   [r[4] or "" for r in rows], matrix)


def _query_vector(project: Project, embedder: Embedder, text: str, qterms: list[str]) -> Any:
    from gitext.search.embedders import HashEmbedder

    if isinstance(embedder, HashEmbedder):
        return embedder.embed_weights([_idf_weights(project, qterms)])
    return embedder.embed([text])


def _similarities(chunks: _Chunks, qvec: Any) -> Any:
    """Cosine similarity of the query to every chunk (-2 where the kNN did not reach)."""
    import numpy as np

    from gitext.search.knn import ExactIndex

    if not np.any(qvec):
        return None
    index = ExactIndex(chunks.matrix)
    k = len(index) if len(index) <= FULL_SIMS else KNN_CANDIDATES
    sims, idx = index.search(qvec, k)
    out = np.full(len(index), -2.0, dtype=np.float32)
    out[idx[0]] = sims[0]
    return out


def _idf_weights(project: Project, qterms: list[str]) -> dict[str, float]:
    """Query term weights for the hash embedder: count x IDF from the full-text index, so the
    query vector leans on rare words as BM25 does (documents cannot carry an IDF: their vectors
    are computed once and must not depend on the rest of the corpus)."""
    counts = Counter(qterms[: fulltext.MAX_LOOKUP * 4])
    counts = Counter(dict(counts.most_common(fulltext.MAX_LOOKUP)))
    if not counts:
        return {}
    with project.db("file_index").read() as conn:
        n = int(conn.execute("SELECT count(*) FROM search_docs").fetchone()[0]) or 1
        marks = ",".join("?" * len(counts))
        df = {r[0]: int(r[1]) for r in conn.execute(
            f"SELECT term, doc FROM search_vocab WHERE term IN ({marks})", list(counts))}
    # Only terms some indexed file holds. The hash embedder has no semantics: a term no file
    # holds (a made-up word, a typo) can only meet a chunk through a hash collision with another
    # term, and it would weigh most, being the rarest (QA round 7: 10).
    return {t: c * math.log(1.0 + (n - df[t] + 0.5) / (df[t] + 0.5))
            for t, c in counts.items() if df.get(t, 0) > 0}


def query_notes(taken: list[str], scored: list[str]) -> list[str]:
    """What a query's answer did without, in one place: a query that could not be embedded was
    answered without any vectors, which says all the take-in's failure (the same endpoint's)
    would add."""
    from gitext.search.query_index import BUILDING

    building = [n for n in taken if n == BUILDING]
    failed = [n for n in taken if n != BUILDING]
    if scored:
        return building + scored
    return building + [f"{why}: files changed since the last index are searched by their text"
                       " until their vectors are computed" for why in failed]


def hits_json(hits: list[Hit]) -> list[dict[str, Any]]:
    return [h.to_json() for h in hits]
