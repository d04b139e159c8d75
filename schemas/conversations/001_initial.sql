-- conversations.db: chat history and interaction metadata (spec: "Conversations Database").

CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    title TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    provider TEXT NOT NULL,
    model TEXT,
    total_tokens INTEGER DEFAULT 0,
    total_cost REAL DEFAULT 0.0,
    status TEXT DEFAULT 'active',
    -- Context hierarchy. project_id, worktree_id and session_id name rows of knowledge.db and
    -- sessions.db: SQLite cannot enforce references across files, the library does.
    project_id TEXT,
    worktree_id TEXT DEFAULT 'main',
    session_id TEXT,
    context_type TEXT DEFAULT 'general' CHECK (context_type IN ('general', 'debugging', 'feature', 'review', 'refactor')),
    metadata JSON
);

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT REFERENCES conversations(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system', 'tool')),
    content TEXT,
    tokens INTEGER,
    cost REAL DEFAULT 0.0,
    timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    tool_calls JSON,
    tool_results JSON,
    project_id TEXT,
    worktree_id TEXT,
    session_id TEXT,
    metadata JSON
);

CREATE TABLE message_attachments (
    id TEXT PRIMARY KEY,
    message_id TEXT REFERENCES messages(id) ON DELETE CASCADE,
    type TEXT NOT NULL CHECK (type IN ('file', 'image', 'code', 'diff')),
    path TEXT,
    content_hash TEXT,
    size_bytes INTEGER,
    metadata JSON
);

CREATE TABLE compaction_history (
    id TEXT PRIMARY KEY,
    conversation_id TEXT REFERENCES conversations(id) ON DELETE CASCADE,
    trigger_type TEXT NOT NULL,
    original_message_count INTEGER,
    compacted_message_count INTEGER,
    tokens_saved INTEGER,
    performed_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    summary TEXT,
    preserved_messages JSON
);

CREATE INDEX idx_conversations_updated_at ON conversations(updated_at);
CREATE INDEX idx_conversations_provider ON conversations(provider);
CREATE INDEX idx_conversations_context ON conversations(project_id, worktree_id, context_type);
CREATE INDEX idx_conversations_worktree ON conversations(worktree_id);
CREATE INDEX idx_messages_conversation_timestamp ON messages(conversation_id, timestamp);
CREATE INDEX idx_messages_role ON messages(role);
CREATE INDEX idx_messages_context ON messages(project_id, worktree_id);
CREATE INDEX idx_attachments_message ON message_attachments(message_id);
CREATE INDEX idx_compaction_conversation ON compaction_history(conversation_id);
