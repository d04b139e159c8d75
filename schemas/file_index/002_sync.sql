-- Extensions for the sync engine (DESIGN.md allows commented extensions).

-- Every commit the sync engine has read: relevance orders changes by it, insights read messages,
-- and "already known" is what makes replaying an event a no-op.
CREATE TABLE commits (
    sha TEXT PRIMARY KEY,
    first_parent TEXT,
    parents TEXT, -- space-separated, as git prints them
    author_name TEXT,
    author_email TEXT,
    authored_at TIMESTAMP,
    committed_at TIMESTAMP,
    message TEXT,
    synced_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_commits_committed ON commits(committed_at);

-- `files` has one row per path (the spec's UNIQUE(path)); worktrees on different branches see
-- different contents of the same path, so each worktree's view is kept here.
CREATE TABLE worktree_files (
    worktree_path TEXT NOT NULL,
    file_id TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    content_hash TEXT,
    git_status TEXT,
    PRIMARY KEY (worktree_path, file_id)
) WITHOUT ROWID;
CREATE INDEX idx_worktree_files_hash ON worktree_files(content_hash);

-- Where each worktree's index stands: doctor compares it with git, sync starts from it.
CREATE TABLE sync_state (
    worktree_path TEXT PRIMARY KEY,
    head TEXT,
    branch TEXT,
    synced_at TIMESTAMP
);

-- post-rewrite's old -> new map (amend, rebase). Nothing is dropped: the old commit's
-- file_changes stay, and readers that want live history skip rewritten commits through this.
CREATE TABLE commit_rewrites (
    old_sha TEXT PRIMARY KEY,
    new_sha TEXT NOT NULL,
    command TEXT,
    rewritten_at TIMESTAMP
);

-- Files whose relevance inputs changed since scores were last computed.
CREATE TABLE relevance_dirty (
    file_id TEXT PRIMARY KEY,
    marked_at TIMESTAMP
);

-- Files whose relationships and snippets must be read again: parsing every changed file costs
-- far more than recording it, so hooks and `index` record now and the worker (or the first
-- query that needs them) analyses later.
CREATE TABLE analysis_pending (
    worktree_path TEXT NOT NULL,
    path TEXT NOT NULL,
    removed INTEGER NOT NULL DEFAULT 0,
    queued_at TIMESTAMP,
    PRIMARY KEY (worktree_path, path)
) WITHOUT ROWID;
