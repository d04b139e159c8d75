"""Where in a file a text hit is: the chunk holding most of the query's terms.

Full text ranks whole files. The vectors name the best chunk, but only of a file that has
vectors; `--mode text`, embeddings turned off, and a commit whose vectors the worker is still
computing leave a hit with no place in the file. For those few hits the file is read again and
cut where the indexer cut it (its stored chunks, or the same chunking when it has none yet), so
every hit names its lines and shows a preview.

Terms are counted as substrings of the lower-cased chunk: tokenising every chunk of ten large
files as the index does would cost more than the query. They are counted in the chunk's whole
lines, not only in the first MAX_CHARS the embedder is given, and past a file's first
MAX_CHUNKS chunks (which alone get vectors) the file is cut on the same way: the full-text
index holds the whole file, so a word found there must be found here too. Before, a match
past either cap was placed at chunk 0, lines 1-60 (QA round 25a: 07).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from gitext.project import Project
from gitext.search.chunking import all_spans, chunk_text


@dataclass(frozen=True)
class Place:
    chunk_index: int
    line_start: int
    line_end: int
    text: str

    @property
    def preview(self) -> str:
        from gitext.search.indexer import PREVIEW_CHARS

        return self.text[:PREVIEW_CHARS]  # as the indexer stores content_preview


def best_place(lines: list[str], spans: Sequence[tuple[int, int, int]],
               query_terms: Sequence[str], prefer: int | None = None) -> Place | None:
    """Of the chunks (index, first line, last line), the one with the most distinct query
    terms, then the most occurrences; of equals the earlier, so a hit by its path alone points
    at the top of the file. The chunk `prefer` (the one the vectors found closest) is kept
    while it holds as many distinct query terms as any."""
    wanted = sorted(set(query_terms))
    best: Place | None = None
    best_key = (-1, -1)
    preferred: tuple[Place, int] | None = None
    for index, start, end in spans:
        body = "\n".join(lines[start - 1 : end])
        low = body.lower()
        counts = [low.count(t) for t in wanted]
        key = (sum(1 for c in counts if c), sum(counts))
        if index == prefer:
            preferred = Place(index, start, end, body), key[0]
        if key > best_key:
            best, best_key = Place(index, start, end, body), key
    if preferred is not None and preferred[1] >= best_key[0]:
        return preferred[0]
    return best


def locate(project: Project, paths: Sequence[str], query_terms: Sequence[str],
           prefer: dict[str, int] | None = None) -> dict[str, Place]:
    """path -> best place, for these files of the worktree as its view has them now;
    `prefer`: path -> the chunk to keep unless another holds more of the terms (`best_place`).

    Files the indexer does not read (binary, too large, secret-looking) get none."""
    from gitext.search.indexer import live_files, read_texts

    if not paths:
        return {}
    root = project.repo.root
    with project.db("file_index").read() as conn:
        files = live_files(conn, str(root), set(paths))
    spans = _stored_spans(project, {f.blob for f in files})
    texts = read_texts(root, files, disk_first=True)
    out: dict[str, Place] = {}
    for f in files:
        text = texts.get(f.blob)
        if text is None:
            continue
        known = spans.get(f.blob) or [(c.index, c.line_start, c.line_end)
                                      for c in chunk_text(f.path, text)]
        lines = text.split("\n")
        place = best_place(lines, known + _beyond(f.path, text, lines, known), query_terms,
                           (prefer or {}).get(f.path))
        if place is not None:
            out[f.path] = place
    return out


def _beyond(path: str, text: str, lines: list[str],
            known: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """The chunks past the last one that has vectors (MAX_CHUNKS), numbered on."""
    last_line = len(lines) - (1 if lines and lines[-1] == "" else 0)
    if not known or known[-1][2] >= last_line:
        return []
    index, start = known[-1][0], known[-1][1]
    return [(index + 1 + i, s, e)
            for i, (s, e) in enumerate(sp for sp in all_spans(path, text) if sp[0] > start)]


def _stored_spans(project: Project, blobs: set[str]) -> dict[str, list[tuple[int, int, int]]]:
    # Chunking does not depend on the model: any model's rows give the spans.
    out: dict[str, list[tuple[int, int, int]]] = {}
    with project.db("knowledge").read() as conn:
        for blob, index, start, end in conn.execute(
                "SELECT DISTINCT content_hash, chunk_index, line_start, line_end"
                " FROM embedding_metadata WHERE content_hash IN (SELECT value FROM json_each(?))"
                " ORDER BY content_hash, chunk_index", (json.dumps(sorted(blobs)),)):
            out.setdefault(blob, []).append((int(index), int(start or 1), int(end or 1)))
    return out
