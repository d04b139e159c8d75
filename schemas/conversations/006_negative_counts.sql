-- conversations.db 006: negative counts and costs an older import stored.
-- Before 905c35b an import took negative tokens, costs, attachment sizes and compaction message
-- counts, which the record API has always refused; the current import refuses them too, so such
-- a store's own export no longer imported (all or nothing) and `conversation list` showed a
-- conversation that cost less than nothing (QA round 24a: 03). Mended once, like 004 and 005,
-- in every store and in every older backup restored later. Data only: the schema is 003's.
-- A negative value says nothing true, so it becomes what the record API stores when the value
-- is not known: NULL where the column has no DEFAULT (a message's tokens, an attachment's size,
-- a compaction's message counts: an export gives null and an import keeps it), the DEFAULT 0
-- for a message's cost (the API writes 0 for a message recorded without one, and an import
-- gives a null cost 0). A conversation's totals, which the API keeps as the sum of its messages'
-- tokens and costs, become that sum (0 when none says): an import gives a null total 0, so
-- NULL would not survive an export and import.

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
