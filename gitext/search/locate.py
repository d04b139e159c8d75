"""Where in a file a text hit is: the chunk holding most of the query's terms.

Full text ranks whole files. The vectors name the best chunk, but only of a file that has
vectors; `--mode text`, embeddings turned off, and a commit whose vectors the worker is still
computing leave a hit with no place in the file. For those few hits the file is read again and
cut where the indexer cut it (its stored chunks, or the same chunking when it has none yet), so
every hit names its lines and shows a preview.

Terms are counted as substrings of the lower-cased chunk: tokenising every chunk of ten large
files as the index does would cost more than the query.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from gitext.project import Project
from gitext.search.chunking import MAX_CHARS, chunk_text


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
               query_terms: Sequence[str]) -> Place | None:
    """Of the chunks (index, first line, last line), the one with the most distinct query
    terms, then the most occurrences; of equals the earlier, so a hit by its path alone points
    at the top of the file."""
    wanted = sorted(set(query_terms))
    best: Place | None = None
    best_key = (-1, -1)
    for index, start, end in spans:
        body = "\n".join(lines[start - 1 : end])[:MAX_CHARS]
        low = body.lower()
        counts = [low.count(t) for t in wanted]
        key = (sum(1 for c in counts if c), sum(counts))
        if key > best_key:
            best, best_key = Place(index, start, end, body), key
    return best


def locate(project: Project, paths: Sequence[str],
           query_terms: Sequence[str]) -> dict[str, Place]:
    """path -> best place, for these files of the worktree as its view has them now.

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
        place = best_place(text.split("\n"), known, query_terms)
        if place is not None:
            out[f.path] = place
    return out


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
