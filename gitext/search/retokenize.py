"""Once per store: the terms of every indexed version made again after the tokenizer changed.

Since migration file_index/009 the tokenizer keeps an identifier part's letters with the digits
after them (`digest_sha256` gives `sha256`, not `sha` alone), and what a store indexed before
lacks those terms, so `search sha256` could not tell sha256 from sha1 there. The migration
leaves a row in `pending_scrubs`; the first full search update after it rewrites the terms of
every indexed version in place, a batch per transaction, so queries keep their answers while it
runs. The built-in embedder hashes the same terms: its vectors are dropped and that update
embeds them again. Versions set aside (`search_orphans`) are dropped; a view that takes one
back indexes it again. Then the row goes: a crash before that only means the work is redone.
"""

from __future__ import annotations

from gitext.project import Project
from gitext.search import fulltext
from gitext.search.chunking import chunk_text
from gitext.search.tokenize import VERSION

NAME = VERSION  # the row migration file_index/009 leaves
BATCH = 1000
_HASHED = "aircher-hash-%"  # the models whose vectors are made of our terms


def pending(project: Project) -> bool:
    with project.db("file_index").read() as conn:
        return conn.execute("SELECT 1 FROM pending_scrubs WHERE name = ?",
                            (NAME,)).fetchone() is not None


def retokenize(project: Project, *, most: int | None = None) -> int:
    """Rewrite every indexed version's terms; returns how many. Call in the heavy slot. With
    `most` (a query's share), nothing is done when more versions than that are indexed: the
    worker's next pass does it."""
    if not pending(project):
        return 0
    from gitext.search.indexer import LiveFile, forget_all_indexed, read_texts
    from gitext.search.maintenance import forget_vectors

    fdb = project.db("file_index")
    with fdb.read() as conn:
        pairs = [(str(r[0]), str(r[1])) for r in conn.execute(
            "SELECT path, blob FROM search_docs ORDER BY blob")]
    if most is not None and len(pairs) > most:
        return 0
    root = project.repo.root
    for start in range(0, len(pairs), BATCH):
        batch = pairs[start:start + BATCH]
        texts = read_texts(root, [LiveFile(p, b, "clean") for p, b in batch])
        with fdb.write() as conn:
            for path, blob in batch:
                text = texts.get(blob)
                if text is None:
                    # Unreadable now (a work-tree edit since gone): the view indexes what it
                    # holds instead.
                    conn.execute("DELETE FROM search_docs WHERE path = ? AND blob = ?",
                                 (path, blob))
                    continue
                symbols = [s for c in chunk_text(path, text) for s in c.symbols]
                f = fulltext.doc_fields(path, text, symbols)
                conn.execute(
                    "UPDATE search_docs SET n_terms = ?, path_terms = ?, symbol_terms = ?,"
                    " body_terms = ? WHERE path = ? AND blob = ?",
                    (f.n_terms, f.path_terms, f.symbol_terms, f.body_terms, path, blob))
    kdb = project.db("knowledge")
    with kdb.write() as kconn:
        hashed = kconn.execute("DELETE FROM embedding_metadata WHERE embedding_model LIKE ?",
                               (_HASHED,)).rowcount
    if hashed:
        forget_vectors(project)  # their files go now, not at some later compaction
    with fdb.write() as conn:
        conn.execute("DELETE FROM search_orphans")
        conn.execute("INSERT INTO search_fts (search_fts) VALUES ('optimize')")
        conn.execute("DELETE FROM pending_scrubs WHERE name = ?", (NAME,))
    # Every worktree's stamp said its files were embedded; now their next update embeds them.
    forget_all_indexed(project)
    return len(pairs)
