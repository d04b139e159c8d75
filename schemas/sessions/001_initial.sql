-- sessions.db: user sessions, preferences and temporary state (spec: "Sessions Database").

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT,
    started_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_activity TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    status TEXT DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'expired')),
    project_path TEXT,
    working_directory TEXT,
    environment_variables JSON,
    preferences JSON,
    context_id TEXT, -- contexts(id) of knowledge.db: enforced by the library
    project_id TEXT,
    worktree_id TEXT,
    task_type TEXT CHECK (task_type IN ('debugging', 'feature', 'review', 'refactor', 'maintenance')),
    task_description TEXT
);

CREATE TABLE session_cache (
    id TEXT PRIMARY KEY,
    session_id TEXT REFERENCES sessions(id) ON DELETE CASCADE,
    cache_key TEXT NOT NULL,
    cache_value JSON,
    expires_at TIMESTAMP,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    UNIQUE(session_id, cache_key)
);

CREATE TABLE user_preferences (
    id TEXT PRIMARY KEY,
    user_id TEXT,
    preference_key TEXT NOT NULL,
    preference_value JSON,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    UNIQUE(user_id, preference_key)
);

CREATE INDEX idx_sessions_status ON sessions(status, last_activity);
CREATE INDEX idx_session_cache_expires ON session_cache(expires_at);
