-- Text versions no worktree's view holds, and since when. The search indexer drops one only
-- after it has been unheld for a while: a view leaves a version and comes back to it (an edit
-- undone, a checkout and back, another worktree's update running between a commit and a
-- checkout) faster than the stamp of what is indexed can tell, and nothing would index it again.
CREATE TABLE search_orphans (
    doc_id INTEGER PRIMARY KEY, -- search_docs.id
    since TIMESTAMP NOT NULL
);
