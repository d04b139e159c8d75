-- Full-text search over file contents (extension: the spec names full-text search indexes but no
-- tables for them).

-- One row per file version at a path: (path, blob) is shared by every branch and worktree that
-- has that content there, so switching branches back and forth re-indexes nothing. The *_terms
-- columns hold the code-aware tokenizer's output (identifiers split, plurals folded), so FTS5's
-- own tokenizer only has to split on spaces. Rows of versions that no worktree has any more are
-- dropped by the search indexer, which keeps BM25's statistics those of live files.
CREATE TABLE search_docs (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    blob TEXT NOT NULL, -- git blob id, = files.content_hash
    n_terms INTEGER NOT NULL DEFAULT 0, -- length prior: larger files change more often
    line_count INTEGER,
    path_terms TEXT,
    symbol_terms TEXT, -- names of the definitions in the file
    body_terms TEXT,
    indexed_at TIMESTAMP,
    UNIQUE (path, blob)
);
CREATE INDEX idx_search_docs_blob ON search_docs(blob);

-- External-content FTS5 table kept in step by triggers (the layout sqlite-utils' enable_fts
-- creates, written here so the schema is versioned with the rest).
CREATE VIRTUAL TABLE search_fts USING fts5(
    path_terms, symbol_terms, body_terms,
    content='search_docs', content_rowid='id'
);
CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN
    INSERT INTO search_fts (rowid, path_terms, symbol_terms, body_terms)
    VALUES (new.id, new.path_terms, new.symbol_terms, new.body_terms);
END;
CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN
    INSERT INTO search_fts (search_fts, rowid, path_terms, symbol_terms, body_terms)
    VALUES ('delete', old.id, old.path_terms, old.symbol_terms, old.body_terms);
END;
CREATE TRIGGER search_docs_au AFTER UPDATE ON search_docs BEGIN
    INSERT INTO search_fts (search_fts, rowid, path_terms, symbol_terms, body_terms)
    VALUES ('delete', old.id, old.path_terms, old.symbol_terms, old.body_terms);
    INSERT INTO search_fts (rowid, path_terms, symbol_terms, body_terms)
    VALUES (new.id, new.path_terms, new.symbol_terms, new.body_terms);
END;

-- Document frequency of each term: lets a query drop its most common terms before FTS5 ranks
-- them (ranking a term that matches most rows is what makes FTS5 slow, DESIGN.md).
CREATE VIRTUAL TABLE search_vocab USING fts5vocab(search_fts, 'row');
