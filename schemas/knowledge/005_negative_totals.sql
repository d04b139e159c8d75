-- knowledge.db 005: negative tokens and costs in conversation_effectiveness.
-- Before 905c35b the record API took a negative tokens_used, and a rating given without tokens
-- or cost copied its conversation's totals, which an older import could have stored negative
-- (conversations.db 006 mended those, not the copies made before). `knowledge effectiveness
-- list` then showed a conversation that used fewer than no tokens (known, session 22). Mended
-- once, like conversations.db 006 and the archive's 004, by the same rule: a negative value
-- says nothing true, so it becomes what the record API stores when the value is not known,
-- NULL (neither column has a DEFAULT). Data only: the schema is 004's.

UPDATE conversation_effectiveness SET tokens_used = NULL WHERE tokens_used < 0;
UPDATE conversation_effectiveness SET cost = NULL WHERE cost < 0;
