"""The sync engine: git events, journaled by hooks, applied to the store idempotently."""
