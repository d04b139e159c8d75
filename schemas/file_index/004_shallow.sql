-- Shallow clones (`git clone --depth`). git shows the commits at a shallow clone's boundary
-- without parents, as if they were roots. Such a commit is recorded `grafted`, with no file
-- changes: what it changed is unknown until a fetch deepens the clone. A fetch runs no hook, so
-- the next sync or query reads it again, together with the history behind it.
ALTER TABLE commits ADD COLUMN grafted INTEGER NOT NULL DEFAULT 0;

-- Stores written before this column recorded a boundary as a root whose whole tree was created
-- there. Every parentless commit is marked, so the sync looks at each one once: a commit git
-- still cuts stays marked (its made-up changes are dropped), a true root is unmarked unchanged,
-- and one a fetch has deepened since is read again.
UPDATE commits SET grafted = 1 WHERE coalesce(first_parent, '') = '';

CREATE INDEX idx_commits_grafted ON commits(sha) WHERE grafted = 1;
