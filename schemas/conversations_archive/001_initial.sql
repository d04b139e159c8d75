-- conversations_archive.db (extension): conversations moved out of conversations.db by the
-- retention policy (`conversation_archive_days`, `conversation_max_per_project`). The spec asks
-- for archived conversations to stay searchable and restorable; keeping them in their own file
-- keeps conversations.db (and every query the hooks make on it) small.
--
-- The four tables mirror conversations.db's base tables column for column. Rows are copied by
-- column name, and a column conversations.db gains later is added here when first copied (see
-- gitext/lifecycle/archive.py), so this file never needs to follow conversations.db's
-- migrations in lock step.

CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    title TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    provider TEXT NOT NULL,
    model TEXT,
    total_tokens INTEGER DEFAULT 0,
    total_cost REAL DEFAULT 0.0,
    status TEXT DEFAULT 'archived',
    project_id TEXT,
    worktree_id TEXT DEFAULT 'main',
    session_id TEXT,
    context_type TEXT DEFAULT 'general',
    metadata JSON,
    -- Extension: when the retention policy moved it here.
    archived_at TIMESTAMP
);

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT REFERENCES conversations(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
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
    type TEXT NOT NULL,
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

CREATE INDEX idx_archive_conversations_updated ON conversations(updated_at);
CREATE INDEX idx_archive_messages_conversation ON messages(conversation_id, timestamp);
CREATE INDEX idx_archive_attachments_message ON message_attachments(message_id);
CREATE INDEX idx_archive_compaction_conversation ON compaction_history(conversation_id);
