-- conversations.db 002: what the record API (gitext/records) needs beyond the spec's columns.

-- Extension: the context (knowledge.db `contexts`: a branch's worktree context or a session's)
-- a conversation belongs to. worktree_id names a directory, and one directory holds many
-- branches over time, so "the conversations of this branch" needs the context itself.
ALTER TABLE conversations ADD COLUMN context_id TEXT;

-- Extension: a message's position in its conversation. Timestamps have one-second resolution
-- and rowids may be renumbered by VACUUM, so neither can order a fast exchange of messages.
ALTER TABLE messages ADD COLUMN seq INTEGER;

CREATE INDEX idx_conversations_context_id ON conversations(context_id, updated_at);
CREATE INDEX idx_messages_seq ON messages(conversation_id, seq);

-- Extension: full-text search over messages (`git aircher conversation search`).
-- messages has no INTEGER PRIMARY KEY, so its rowids are not stable across VACUUM and cannot key
-- the FTS rows; message_search gives every message a stable integer that does.
CREATE TABLE message_search (
    rowid INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE
);

-- `terms` starts as the message content (unicode61); when a code-aware tokenizer is installed
-- (gitext.search.tokenize) the record API appends its extra terms in the same transaction.
CREATE VIRTUAL TABLE messages_fts USING fts5(terms, tokenize = 'unicode61 remove_diacritics 2');

-- Triggers keep the index in step with every writer, including ones that are not the record
-- API (imports, retention, restore); foreign-key cascades fire them too.
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_search (message_id) VALUES (new.id);
    INSERT INTO messages_fts (rowid, terms) VALUES (
        (SELECT rowid FROM message_search WHERE message_id = new.id), COALESCE(new.content, '')
    );
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    DELETE FROM messages_fts
        WHERE rowid = (SELECT rowid FROM message_search WHERE message_id = old.id);
    DELETE FROM message_search WHERE message_id = old.id;
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    UPDATE messages_fts SET terms = COALESCE(new.content, '')
        WHERE rowid = (SELECT rowid FROM message_search WHERE message_id = new.id);
END;

-- Rows written before this migration: numbered and indexed like new ones.
UPDATE messages SET seq = (
    SELECT count(*) FROM messages AS m2
    WHERE m2.conversation_id = messages.conversation_id
      AND (m2.timestamp < messages.timestamp
           OR (m2.timestamp = messages.timestamp AND m2.rowid <= messages.rowid))
);
INSERT INTO message_search (message_id) SELECT id FROM messages;
INSERT INTO messages_fts (rowid, terms)
    SELECT s.rowid, COALESCE(m.content, '') FROM message_search AS s
    JOIN messages AS m ON m.id = s.message_id;
