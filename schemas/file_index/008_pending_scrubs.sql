-- One-time clean-ups a store still has to run over what it indexed (extension: the spec has no
-- such table). 'credentials': versions indexed before file contents were redacted
-- (gitext/index/secrets.py) may hold a key committed in an ordinary file, in their terms,
-- snippets and vector previews, and commit messages may hold one; gitext/search/scrub.py takes
-- them out at the next full search update, then deletes the row. A new store has nothing to
-- take out, and its first update finds that at once.
CREATE TABLE pending_scrubs (
    name TEXT PRIMARY KEY,
    since TIMESTAMP
);
INSERT INTO pending_scrubs (name, since) VALUES ('credentials', CURRENT_TIMESTAMP);
