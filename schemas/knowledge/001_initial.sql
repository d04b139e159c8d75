-- knowledge.db: project analysis, documentation, learned patterns, the context hierarchy,
-- worktrees, and the similarity-search registry (spec: "Knowledge Database", "Embedding and
-- Search Integration", "Worktree and Multi-Context Management").

CREATE TABLE contexts (
    id TEXT PRIMARY KEY,
    context_type TEXT NOT NULL CHECK (context_type IN ('global', 'project', 'worktree', 'session')),
    -- The global context's row is a copy of the one in global.db (same id), so the whole chain
    -- global > project > worktree > session is enforceable inside this one file.
    parent_context_id TEXT REFERENCES contexts(id),
    name TEXT NOT NULL,
    path TEXT,
    git_branch TEXT,
    git_commit TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_active TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    status TEXT DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'archived')),
    metadata JSON
);

CREATE TABLE context_relationships (
    id TEXT PRIMARY KEY,
    source_context_id TEXT REFERENCES contexts(id),
    target_context_id TEXT REFERENCES contexts(id),
    relationship_type TEXT NOT NULL CHECK (relationship_type IN (
        'parent_child', 'sibling', 'similar_task', 'shared_pattern', 'knowledge_transfer'
    )),
    strength REAL DEFAULT 1.0,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    metadata JSON,
    UNIQUE(source_context_id, target_context_id, relationship_type)
);

CREATE TABLE project_components (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    component TEXT NOT NULL,
    type TEXT NOT NULL,
    description TEXT,
    confidence REAL CHECK (confidence >= 0.0 AND confidence <= 1.0),
    evidence JSON,
    metadata JSON,
    last_updated TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE documentation_files (
    id TEXT PRIMARY KEY,
    file_path TEXT UNIQUE NOT NULL,
    doc_type TEXT,
    title TEXT,
    purpose TEXT,
    sections JSON,
    cross_refs JSON,
    last_analyzed TIMESTAMP,
    content_hash TEXT
);

CREATE TABLE project_decisions (
    id TEXT PRIMARY KEY,
    decision_type TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    rationale TEXT,
    alternatives_considered JSON,
    impact_assessment TEXT,
    made_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    status TEXT DEFAULT 'active' CHECK (status IN ('active', 'superseded', 'reverted')),
    tags JSON
);

CREATE TABLE success_patterns (
    id TEXT PRIMARY KEY,
    pattern_type TEXT NOT NULL,
    description TEXT,
    context JSON,
    success_indicators JSON,
    failure_indicators JSON,
    confidence_score REAL,
    usage_count INTEGER DEFAULT 0,
    last_successful TIMESTAMP,
    effectiveness_rating REAL,
    discovered_in_context TEXT REFERENCES contexts(id),
    applicable_contexts JSON,
    cross_context_effectiveness JSON
);

CREATE TABLE cross_context_insights (
    id TEXT PRIMARY KEY,
    insight_type TEXT NOT NULL CHECK (insight_type IN (
        'pattern_reuse', 'similar_solution', 'anti_pattern', 'best_practice'
    )),
    source_context_id TEXT REFERENCES contexts(id),
    target_context_id TEXT REFERENCES contexts(id),
    description TEXT,
    evidence JSON,
    confidence_score REAL,
    usage_count INTEGER DEFAULT 0,
    last_applied TIMESTAMP,
    effectiveness_rating REAL,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE conversation_effectiveness (
    id TEXT PRIMARY KEY,
    conversation_id TEXT, -- conversations.db: enforced by the library
    task_type TEXT,
    success_score REAL CHECK (success_score >= 0.0 AND success_score <= 1.0),
    completion_time_minutes INTEGER,
    tokens_used INTEGER,
    cost REAL,
    user_satisfaction INTEGER CHECK (user_satisfaction >= 1 AND user_satisfaction <= 5),
    key_factors JSON,
    lessons_learned TEXT,
    recorded_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE context_relevance_feedback (
    id TEXT PRIMARY KEY,
    file_path TEXT NOT NULL,
    conversation_id TEXT,
    relevance_score REAL CHECK (relevance_score >= 0.0 AND relevance_score <= 1.0),
    actual_usefulness REAL CHECK (actual_usefulness >= 0.0 AND actual_usefulness <= 1.0),
    context_type TEXT,
    feedback_source TEXT DEFAULT 'implicit',
    recorded_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE embedding_metadata (
    id TEXT PRIMARY KEY,
    file_path TEXT NOT NULL,
    chunk_index INTEGER,
    embedding_model TEXT NOT NULL,
    dimension INTEGER NOT NULL,
    content_hash TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    content_preview TEXT
);

CREATE TABLE search_indexes (
    id TEXT PRIMARY KEY,
    index_type TEXT NOT NULL CHECK (index_type IN ('faiss', 'annoy', 'exact')),
    index_path TEXT,
    embedding_model TEXT,
    dimension INTEGER,
    item_count INTEGER DEFAULT 0,
    last_rebuilt TIMESTAMP,
    config JSON
);

CREATE TABLE worktrees (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    branch_name TEXT NOT NULL,
    worktree_path TEXT NOT NULL,
    git_commit TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_active TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    status TEXT DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'stale')),
    metadata JSON,
    UNIQUE(project_id, worktree_path)
);

CREATE TABLE context_switches (
    id TEXT PRIMARY KEY,
    from_context_id TEXT REFERENCES contexts(id),
    to_context_id TEXT REFERENCES contexts(id),
    switch_reason TEXT,
    switched_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    user_id TEXT,
    metadata JSON
);

-- Not in the spec's index list: lookups the library makes on every hook (a branch's context,
-- a blob's embeddings) would otherwise scan.
CREATE INDEX idx_contexts_parent ON contexts(parent_context_id);
CREATE INDEX idx_contexts_type_branch ON contexts(context_type, git_branch);
CREATE INDEX idx_embedding_metadata_hash ON embedding_metadata(content_hash, embedding_model);
CREATE INDEX idx_embedding_metadata_path ON embedding_metadata(file_path);
CREATE INDEX idx_context_switches_at ON context_switches(switched_at);
