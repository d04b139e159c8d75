-- conversations_archive.db 004: what conversations.db 006 mends, in the archive (QA round 24a:
-- 03). An older import of an archived conversation wrote it here as it came, and archiving
-- copies live rows as they are; restored, it came back with them. Data only; the same values.

UPDATE messages SET tokens = NULL WHERE tokens < 0;
UPDATE messages SET cost = 0.0 WHERE cost < 0;
UPDATE message_attachments SET size_bytes = NULL WHERE size_bytes < 0;
UPDATE compaction_history SET original_message_count = NULL WHERE original_message_count < 0;
UPDATE compaction_history SET compacted_message_count = NULL WHERE compacted_message_count < 0;

UPDATE conversations SET total_tokens = coalesce(
    (SELECT sum(m.tokens) FROM messages AS m WHERE m.conversation_id = conversations.id), 0
) WHERE total_tokens < 0;

UPDATE conversations SET total_cost = coalesce(
    (SELECT sum(m.cost) FROM messages AS m WHERE m.conversation_id = conversations.id), 0.0
) WHERE total_cost < 0;
