-- The tokenizer keeps an identifier part's letters with the digits after them (`sha256` of
-- `digest_sha256`): the terms a store indexed before lack them. gitext/search/retokenize.py
-- makes every indexed version's terms again at the next full search update, then deletes the
-- row. A new store has nothing indexed yet, and its first update finds that at once.
INSERT INTO pending_scrubs (name, since) VALUES ('terms-2', CURRENT_TIMESTAMP);
