-- The context a feedback was given in (extension of the spec's context_relevance_feedback, which
-- keeps only its context_type): `feedback --context feat` lifts the file in feat and its sessions,
-- not on every branch. Rows without one (recorded before, or through the record API, which
-- names no context) count in every context, as they did (docs/search.md).
ALTER TABLE context_relevance_feedback ADD COLUMN context_id TEXT;
