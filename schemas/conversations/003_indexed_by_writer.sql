-- conversations.db 003: the record API writes a message's full-text row itself.
-- It computes the row (the content and its code-aware terms, gitext.records.fts) before it
-- takes the write lock, and inserts it before the message; the trigger then leaves it alone.
-- Before, the trigger indexed the content and the API replaced the row with content + terms
-- inside the transaction: FTS5 tokenized a message three times under the write lock (8-12 s
-- for 20 MB), longer than other writers wait (QA round 10c: 12). Every other writer (imports,
-- restores, salvage) still gets its rows from the trigger.
DROP TRIGGER messages_fts_insert;

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
WHEN NOT EXISTS (SELECT 1 FROM message_search WHERE message_id = new.id) BEGIN
    INSERT INTO message_search (message_id) VALUES (new.id);
    INSERT INTO messages_fts (rowid, terms) VALUES (
        (SELECT rowid FROM message_search WHERE message_id = new.id), COALESCE(new.content, '')
    );
END;
