-- global.db: what spans projects. The spec names it ("Global user patterns and preferences")
-- without a schema; it reuses the spec's own tables for the global level.

-- The one 'global' context (and nothing else): every project's knowledge.db holds a copy of
-- this row with the same id as the root of its context chain.
CREATE TABLE contexts (
    id TEXT PRIMARY KEY,
    context_type TEXT NOT NULL CHECK (context_type IN ('global', 'project', 'worktree', 'session')),
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

CREATE TABLE user_preferences (
    id TEXT PRIMARY KEY,
    user_id TEXT,
    preference_key TEXT NOT NULL,
    preference_value JSON,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    UNIQUE(user_id, preference_key)
);

-- Cross-project patterns: success_patterns as in knowledge.db; discovered_in_context names a
-- project's context, so it is not a foreign key here.
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
    discovered_in_context TEXT,
    applicable_contexts JSON,
    cross_context_effectiveness JSON
);

-- Extension: the projects this user has initialised, so global commands can find their stores.
CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    root_path TEXT UNIQUE NOT NULL,
    data_dir TEXT NOT NULL,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_seen TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
