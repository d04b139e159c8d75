-- knowledge.db 002: what decisions, transfer and insights (gitext/records, gitext/insights) need
-- beyond the spec's columns.

-- Extension: the context (usually a branch's worktree context) a decision was made in, so
-- `git aircher compare` can show each branch's decisions and `context transfer` can carry them.
-- NULL means project-wide.
ALTER TABLE project_decisions ADD COLUMN context_id TEXT REFERENCES contexts(id);

-- Extension: the decision that replaced this one (`git aircher decision supersede ID --by NEW`);
-- the spec's status says that a decision was superseded, not by what.
ALTER TABLE project_decisions ADD COLUMN superseded_by TEXT REFERENCES project_decisions(id);

-- Not in the spec's index list: `context insights`, `compare` and transfer look these up by
-- context on every call.
CREATE INDEX idx_project_decisions_context ON project_decisions(context_id, status);
CREATE INDEX idx_success_patterns_context ON success_patterns(discovered_in_context);
CREATE INDEX idx_insights_target ON cross_context_insights(target_context_id, confidence_score);
CREATE INDEX idx_insights_source ON cross_context_insights(source_context_id);
CREATE INDEX idx_relationships_target ON context_relationships(target_context_id);
CREATE INDEX idx_components_project ON project_components(project_id, component);
