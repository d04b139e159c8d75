-- The sequence component of relevance (what the history changed right after commits like the
-- last ones) beside the spec's components, so the stored final_score, which fuses it with
-- frequency, can be read back from its parts (docs/search.md).
ALTER TABLE file_relevance_scores ADD COLUMN sequence_score REAL DEFAULT 0.0;
