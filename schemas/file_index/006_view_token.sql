-- A new random value at every sync of a worktree's view. A full search update stamps the HEAD
-- it covered (`run/indexed-*`) only if the view it read is still the view when it ends: an
-- edit undone meanwhile puts back versions it may have dropped, with HEAD unchanged.
ALTER TABLE sync_state ADD COLUMN view_token INTEGER;
