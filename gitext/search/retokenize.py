"""Once per store: the terms of every indexed version made again after the tokenizer changed.

Since migration file_index/009 the tokenizer keeps an identifier part's letters with the digits
after them (`digest_sha256` gives `sha256`, not `sha` alone), and what a store indexed before
lacks those terms, so `search sha256` could not tell sha256 from sha1 there. The migration
leaves a row in `pending_scrubs`; the first full search update after it rewrites the terms of
every indexed version in place, a batch per transaction, so queries keep their answers while it
runs, and then those of every message (conversation search). The built-in embedder hashes the
same terms: its vectors are dropped and that update embeds them again. Versions set aside
(`search_orphans`) are dropped; a view that takes one back indexes it again. Then the row goes:
a crash before that only means the work is redone.
"""

from __future__ import annotations

from gitext.git.objects import read_files
from gitext.project import Project
from gitext.search import fulltext
from gitext.search.chunking import chunk_text
from gitext.search.tokenize import VERSION

NAME = VERSION  # the row migration file_index/009 leaves
BATCH = 1000
_HASHED = "aircher-hash-%"  # the models whose vectors are made of our terms


def pending(project: Project) -> bool:
    from gitext.search.scrub import pending as scrub_pending

    return scrub_pending(project, NAME)


def retokenize(project: Project, *, most: int | None = None) -> int | None:
    """Rewrite every indexed version's terms; returns how many. Call in the heavy slot. With
    `most` (a query's share), nothing is done when more versions than that are indexed, and
    None says the work is still pending, for the worker's full update."""
    if not pending(project):
        return 0
    from gitext.search.indexer import MAX_INDEXED, as_text
    from gitext.search.maintenance import forget_vectors
    from gitext.search.stamps import forget_all_indexed

    fdb = project.db("file_index")
    with fdb.read() as conn:
        pairs = [(str(r[0]), str(r[1])) for r in conn.execute(
            "SELECT path, blob FROM search_docs ORDER BY blob")]
    if most is not None and len(pairs) > most:
        return None
    root = project.repo.root
    for start in range(0, len(pairs), BATCH):
        batch = pairs[start:start + BATCH]
        # From git, or from this work tree where the file there is exactly that version, never
        # a file that merely has the path: another worktree's uncommitted edit has no object,
        # and this worktree's file at its path is another version.
        raw = dict(read_files(root, batch, max_size=MAX_INDEXED))
        with fdb.write() as conn:
            for path, blob in batch:
                data = raw.get(blob)
                text = None if data is None else as_text(data)
                if text is None:
                    # Unreadable here (a work-tree edit, here since gone or in another
                    # worktree): each view indexes what it holds again at its next update.
                    conn.execute("DELETE FROM search_docs WHERE path = ? AND blob = ?",
                                 (path, blob))
                    continue
                symbols = [s for c in chunk_text(path, text) for s in c.symbols]
                f = fulltext.doc_fields(path, text, symbols)
                conn.execute(
                    "UPDATE search_docs SET n_terms = ?, path_terms = ?, symbol_terms = ?,"
                    " body_terms = ? WHERE path = ? AND blob = ?",
                    (f.n_terms, f.path_terms, f.symbol_terms, f.body_terms, path, blob))
    _message_terms(project)
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


def _message_terms(project: Project) -> None:
    """Each message's index row holds its content and our terms (gitext.records.fts): those of
    an older tokenizer are made again, in short write transactions, since agents keep
    writing."""
    from gitext.records.fts import index_extra_terms

    with project.db("conversations").read() as conn:
        rows = [(str(r[0]), str(r[1])) for r in conn.execute(
            "SELECT id, content FROM messages WHERE content IS NOT NULL AND content != ''")]
    db = project.db("conversations")
    for start in range(0, len(rows), 500):
        with db.write() as conn:
            index_extra_terms(conn, rows[start:start + 500])
