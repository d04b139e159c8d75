-- conversations.db 004: rows an older import stored with NULL where the spec gives a DEFAULT.
-- Before 5d70367 a conversation imported with `status`, `created_at`, `updated_at`,
-- `total_tokens` left out kept them NULL (and its messages their `timestamp` and `cost`): no
-- `--status active` list showed it, `show` said "status: None", retention could not judge its
-- age. New imports take the DEFAULTs; this mends what was written before, once, in every store
-- and in every older backup restored later (QA round 20a: 02). Data only: the schema is 003's.
-- Times come from the conversation's own records where it has any; CURRENT_TIMESTAMP (the
-- migration's time, as an import now gives the import's time) only when it has none.

UPDATE conversations SET created_at = coalesce(
    (SELECT min(m.timestamp) FROM messages AS m WHERE m.conversation_id = conversations.id),
    updated_at,
    CURRENT_TIMESTAMP
) WHERE created_at IS NULL;

UPDATE conversations SET updated_at = max(
    created_at,
    coalesce((SELECT max(m.timestamp) FROM messages AS m
              WHERE m.conversation_id = conversations.id), ''),
    coalesce((SELECT max(h.performed_at) FROM compaction_history AS h
              WHERE h.conversation_id = conversations.id), '')
) WHERE updated_at IS NULL;

-- A message without a time: that of the message before it, else its conversation's start.
UPDATE messages SET timestamp = coalesce(
    (SELECT max(p.timestamp) FROM messages AS p
     WHERE p.conversation_id = messages.conversation_id AND p.seq < messages.seq),
    (SELECT c.created_at FROM conversations AS c WHERE c.id = messages.conversation_id),
    CURRENT_TIMESTAMP
) WHERE timestamp IS NULL;

UPDATE messages SET cost = 0.0 WHERE cost IS NULL;

UPDATE compaction_history SET performed_at = coalesce(
    (SELECT c.updated_at FROM conversations AS c
     WHERE c.id = compaction_history.conversation_id),
    CURRENT_TIMESTAMP
) WHERE performed_at IS NULL;

UPDATE conversations SET status = 'active' WHERE status IS NULL;
UPDATE conversations SET context_type = 'general' WHERE context_type IS NULL;
UPDATE conversations SET total_tokens = 0 WHERE total_tokens IS NULL;
UPDATE conversations SET total_cost = 0.0 WHERE total_cost IS NULL;
