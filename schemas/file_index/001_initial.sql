-- file_index.db: file metadata, relationships, change tracking, relevance and snippets
-- (spec: "File Index Database").

CREATE TABLE files (
    id TEXT PRIMARY KEY,
    path TEXT UNIQUE NOT NULL,
    name TEXT NOT NULL,
    extension TEXT,
    size_bytes INTEGER,
    permissions TEXT,
    created_at TIMESTAMP,
    modified_at TIMESTAMP,
    accessed_at TIMESTAMP,
    content_hash TEXT, -- the git blob id of the content
    git_status TEXT,
    is_binary BOOLEAN DEFAULT FALSE,
    language TEXT,
    encoding TEXT,
    line_count INTEGER,
    project_id TEXT,
    discovered_in_worktree TEXT
);

CREATE TABLE file_relationships (
    id TEXT PRIMARY KEY,
    source_file_id TEXT REFERENCES files(id) ON DELETE CASCADE,
    target_file_id TEXT REFERENCES files(id) ON DELETE CASCADE,
    relationship_type TEXT NOT NULL CHECK (
        relationship_type IN ('imports', 'requires', 'includes', 'references', 'tests', 'documents')
    ),
    strength REAL DEFAULT 1.0,
    discovered_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_verified TIMESTAMP,
    metadata JSON,
    UNIQUE(source_file_id, target_file_id, relationship_type)
);

CREATE TABLE file_changes (
    id TEXT PRIMARY KEY,
    file_id TEXT REFERENCES files(id) ON DELETE CASCADE,
    change_type TEXT NOT NULL CHECK (
        change_type IN ('created', 'modified', 'deleted', 'renamed', 'moved')
    ),
    old_path TEXT,
    new_path TEXT,
    old_hash TEXT,
    new_hash TEXT,
    changed_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    change_size INTEGER,
    git_commit TEXT
);

CREATE TABLE file_access_patterns (
    id TEXT PRIMARY KEY,
    file_id TEXT REFERENCES files(id) ON DELETE CASCADE,
    access_type TEXT NOT NULL CHECK (
        access_type IN ('read', 'write', 'execute', 'context_inclusion')
    ),
    accessed_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    accessor TEXT,
    context_id TEXT,
    duration_ms INTEGER,
    success BOOLEAN DEFAULT TRUE
);

CREATE TABLE file_relevance_scores (
    id TEXT PRIMARY KEY,
    file_id TEXT REFERENCES files(id) ON DELETE CASCADE,
    context_id TEXT, -- contexts(id) of knowledge.db: enforced by the library
    context_type TEXT NOT NULL,
    base_score REAL DEFAULT 0.0,
    frequency_score REAL DEFAULT 0.0,
    recency_score REAL DEFAULT 0.0,
    dependency_score REAL DEFAULT 0.0,
    success_correlation REAL DEFAULT 0.0,
    cross_context_boost REAL DEFAULT 0.0,
    final_score REAL DEFAULT 0.0,
    calculated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    expires_at TIMESTAMP,
    metadata JSON,
    UNIQUE(file_id, context_id, context_type)
);

CREATE TABLE file_snippets (
    id TEXT PRIMARY KEY,
    file_id TEXT REFERENCES files(id) ON DELETE CASCADE,
    snippet_type TEXT NOT NULL CHECK (
        snippet_type IN ('header', 'function', 'class', 'important', 'summary')
    ),
    content TEXT,
    line_start INTEGER,
    line_end INTEGER,
    relevance_score REAL DEFAULT 0.0,
    last_updated TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

-- Not in the spec's index list: every hook looks these up.
CREATE INDEX idx_file_changes_file ON file_changes(file_id, changed_at);
CREATE INDEX idx_file_changes_commit ON file_changes(git_commit);
CREATE INDEX idx_file_relationships_target ON file_relationships(target_file_id);
CREATE INDEX idx_file_access_file ON file_access_patterns(file_id, accessed_at);
CREATE INDEX idx_file_snippets_file ON file_snippets(file_id);
CREATE INDEX idx_files_hash ON files(content_hash);
