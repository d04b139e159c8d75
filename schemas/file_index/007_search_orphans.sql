-- Text versions no worktree's view holds, set aside with their terms and since when. The sweep
-- moves a version here when the last view lets go of it, and back into search_docs (and so the
-- FTS index) as soon as a sync puts it in a view again; after an hour here it is dropped. A view
-- leaves a version and comes back to it (an edit undone, a checkout and back, another worktree's
-- update running between a commit and a checkout) faster than the stamp of what is indexed can
-- tell, and nothing would index it again. Kept out of search_fts, the set-aside versions leave
-- BM25's statistics those of the versions some view holds.
CREATE TABLE search_orphans (
    path TEXT NOT NULL,
    blob TEXT NOT NULL,
    n_terms INTEGER NOT NULL DEFAULT 0,
    line_count INTEGER,
    path_terms TEXT,
    symbol_terms TEXT,
    body_terms TEXT,
    indexed_at TIMESTAMP,
    since TIMESTAMP NOT NULL,
    PRIMARY KEY (path, blob)
) WITHOUT ROWID;
CREATE INDEX idx_search_orphans_since ON search_orphans(since);
