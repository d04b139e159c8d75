-- conversations_archive.db 002: what conversations.db 004 mends, in the archive. An older
-- import of an archived conversation (its record has `archived_at`) wrote it here with the
-- fields left out NULL, status too, and archiving copies a live conversation's NULLs as they
-- are; restored, it came back with them (QA round 20a: 02). Data only. The archive's messages
-- have `seq` only once a copy brought it (see 001), so a message's missing time is its
-- conversation's start.

UPDATE conversations SET created_at = coalesce(
    (SELECT min(m.timestamp) FROM messages AS m WHERE m.conversation_id = conversations.id),
    updated_at,
    archived_at,
    CURRENT_TIMESTAMP
) WHERE created_at IS NULL;

UPDATE conversations SET updated_at = max(
    created_at,
    coalesce((SELECT max(m.timestamp) FROM messages AS m
              WHERE m.conversation_id = conversations.id), ''),
    coalesce((SELECT max(h.performed_at) FROM compaction_history AS h
              WHERE h.conversation_id = conversations.id), '')
) WHERE updated_at IS NULL;

UPDATE messages SET timestamp = coalesce(
    (SELECT c.created_at FROM conversations AS c WHERE c.id = messages.conversation_id),
    CURRENT_TIMESTAMP
) WHERE timestamp IS NULL;

UPDATE messages SET cost = 0.0 WHERE cost IS NULL;

UPDATE compaction_history SET performed_at = coalesce(
    (SELECT c.updated_at FROM conversations AS c
     WHERE c.id = compaction_history.conversation_id),
    CURRENT_TIMESTAMP
) WHERE performed_at IS NULL;

UPDATE conversations SET status = 'archived' WHERE status IS NULL;
UPDATE conversations SET context_type = 'general' WHERE context_type IS NULL;
UPDATE conversations SET total_tokens = 0 WHERE total_tokens IS NULL;
UPDATE conversations SET total_cost = 0.0 WHERE total_cost IS NULL;
