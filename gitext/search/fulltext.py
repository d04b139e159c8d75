"""SQLite FTS5 over file versions: BM25 with the path, definition names and body as fields.

Rows are (path, blob) versions in ``search_docs`` (schemas/file_index/003_search.sql); the FTS5
table follows it through triggers. Every column holds the code-aware tokenizer's terms, so a
query tokenized the same way matches ``getCurrentContext`` from "current context".
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gitext import clock
from gitext.search.tokenize import path_terms, terms

# bm25() column weights: a word in the path says more about a file than one in its body
# (a file named cookies.py is about cookies), a definition name in between.
PATH_WEIGHT = 3.0
SYMBOL_WEIGHT = 2.0
BODY_WEIGHT = 1.0
# A larger file is more likely to be the one a change touches (the "size" prior of bug
# localisation, e.g. BugLocator's rVSM): added to BM25 as PRIOR * log(1 + terms).
PRIOR = 0.5
# Bounds that keep a long query over a large index fast (DESIGN.md: FTS5 ranking of common
# terms is the slow part): at most MAX_QUERY_TERMS terms, the rarest first, and, past
# COMMON_FLOOR documents, none that occurs in more than COMMON_SHARE of them.
MAX_QUERY_TERMS = 48
COMMON_FLOOR = 5_000
COMMON_SHARE = 0.3
MAX_CANDIDATES = 2_000
MAX_LOOKUP = 4_000
# `holding`: a statement seeking one version by rowid costs about what reading this many
# entries of a term's document list does (30,000 files: 20-40 us a seek, 0.3-1.2 us an entry).
SEEK_COST = 32


@dataclass(frozen=True)
class DocFields:
    path_terms: str
    symbol_terms: str
    body_terms: str
    n_terms: int


def doc_fields(path: str, text: str, symbols: Iterable[str]) -> DocFields:
    p = path_terms(path)
    s = terms(" ".join(symbols))
    b = terms(text)
    return DocFields(" ".join(p), " ".join(s), " ".join(b), len(p) + len(b))


def insert_doc(conn: sqlite3.Connection, path: str, blob: str, fields: DocFields,
               line_count: int) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO search_docs (path, blob, n_terms, line_count, path_terms,"
        " symbol_terms, body_terms, indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (path, blob, fields.n_terms, line_count, fields.path_terms, fields.symbol_terms,
         fields.body_terms, clock.now()),
    )


def indexed_pairs(conn: sqlite3.Connection,
                  only: set[str] | None = None) -> set[tuple[str, str]]:
    if only is None:
        return {(r[0], r[1]) for r in conn.execute("SELECT path, blob FROM search_docs")}
    return {(r[0], r[1]) for r in conn.execute(
        "SELECT path, blob FROM search_docs WHERE path IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted(only)),))}


@dataclass(frozen=True)
class TextHit:
    path: str
    blob: str
    bm25: float
    score: float  # bm25 + size prior
    line_count: int


def _fts_string(words: Sequence[str]) -> str:
    # Terms are [a-z0-9] runs by construction; quoting still keeps FTS5 operators (AND, NEAR)
    # from being read as syntax.
    return " OR ".join(f'"{w}"' for w in words)


def select_terms(conn: sqlite3.Connection, query_terms: Sequence[str]) -> list[str]:
    """The query's terms that exist in the index, bounded for speed, repeats kept."""
    # SQLite caps bound parameters (32,766); a 100 KB query has a few thousand distinct words.
    distinct = list(dict.fromkeys(query_terms))[:MAX_LOOKUP]
    if not distinct:
        return []
    marks = ",".join("?" * len(distinct))
    df = {r[0]: int(r[1]) for r in conn.execute(
        f"SELECT term, doc FROM search_vocab WHERE term IN ({marks})", distinct)}
    present = [t for t in distinct if t in df]
    if not present:
        return []
    n_docs = int(conn.execute("SELECT count(*) FROM search_docs").fetchone()[0])
    if n_docs > COMMON_FLOOR:
        present = [t for t in present if df[t] <= COMMON_SHARE * n_docs] or present[:1]
    keep = set(sorted(present, key=lambda t: df[t])[:MAX_QUERY_TERMS])
    return [t for t in query_terms if t in keep]


def search(conn: sqlite3.Connection, worktree: str, query_terms: Sequence[str],
           limit: int = MAX_CANDIDATES) -> list[TextHit]:
    """This worktree's files matching any term, best first by BM25 plus the size prior."""
    words = select_terms(conn, query_terms)
    if not words:
        return []
    rows = conn.execute(
        "SELECT d.path, d.blob, -bm25(search_fts, ?, ?, ?) AS s, d.n_terms, d.line_count"
        " FROM search_fts JOIN search_docs d ON d.id = search_fts.rowid"
        " WHERE search_fts MATCH ? AND EXISTS (SELECT 1 FROM worktree_files w"
        " JOIN files f ON f.id = w.file_id WHERE w.worktree_path = ? AND f.path = d.path"
        " AND w.content_hash = d.blob) ORDER BY s DESC LIMIT ?",
        (PATH_WEIGHT, SYMBOL_WEIGHT, BODY_WEIGHT, _fts_string(words), worktree, limit),
    ).fetchall()
    hits = [TextHit(r[0], r[1], float(r[2]), float(r[2]) + PRIOR * math.log1p(r[3] or 0),
                    int(r[4] or 0)) for r in rows]
    hits.sort(key=lambda h: -h.score)
    return hits


def holding(conn: sqlite3.Connection, versions: dict[str, str],
            query_terms: Sequence[str]) -> set[str]:
    """The paths of these (path -> blob) versions whose text holds any of the query's terms,
    none left out for being common."""
    words = list(dict.fromkeys(query_terms))[:MAX_LOOKUP]
    if not words or not versions:
        return set()
    ids = conn.execute(
        "SELECT d.id, d.path FROM search_docs d JOIN json_each(?) j"
        " ON d.path = j.key AND d.blob = j.value", (json.dumps(versions),)).fetchall()
    if not ids:
        return set()
    match = _fts_string(words)
    if len(ids) * SEEK_COST < _postings(conn, words):
        # A few versions against common terms: each seeked by rowid.
        return {path for rowid, path in ids if conn.execute(
            "SELECT 1 FROM search_fts WHERE search_fts MATCH ? AND rowid = ?",
            (match, rowid)).fetchone()}
    # Many: one pass over the terms' document lists. A statement per version was 27,833 of
    # them, 7 s of a search on a 30,000-file repository (QA round 26f: 01).
    found = {r[0] for r in conn.execute(
        "SELECT rowid FROM search_fts WHERE search_fts MATCH ?", (match,))}
    return {path for rowid, path in ids if rowid in found}


def _postings(conn: sqlite3.Connection, words: Sequence[str]) -> int:
    """How many entries one pass over these terms' document lists reads."""
    marks = ",".join("?" * len(words))
    return int(conn.execute(
        f"SELECT coalesce(sum(doc), 0) FROM search_vocab WHERE term IN ({marks})",
        list(words)).fetchone()[0])
