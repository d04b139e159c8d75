"""Every config key: its default, its kind and one line of explanation.

The spec's TOML blocks are the floor; keys marked "extension" are ours and say why they exist.
Docs and `git aircher config list` are generated from this table, and a test keeps them true.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["str", "int", "float", "bool", "duration", "size", "enum", "fraction"]
Value = str | int | float | bool


@dataclass(frozen=True)
class Key:
    name: str
    default: Value
    kind: Kind
    help: str
    choices: tuple[str, ...] = ()
    global_only: bool = False
    # The least an int may be. A count, a size or a number of days of 0 or less is never what
    # was meant (a pool of no connections, backups kept for -5 days), so ints start at 1.
    low: int | None = 1


def _k(name: str, default: Value, kind: Kind, help: str, *choices: str, g: bool = False,
       low: int | None = 1) -> Key:
    return Key(name, default, kind, help, tuple(choices), g, low)


# `aircher-hash-<N>`: N from 16 (fewer features make every text collide) to 4096 (a typo of a few
# more digits asked for gigabytes per batch and died of MemoryError, QA round 25c: 06).
HASH_PREFIX = "aircher-hash-"
HASH_DIMENSIONS = (16, 4096)

KEYS: dict[str, Key] = {
    k.name: k
    for k in [
        # [storage]
        _k("storage.data_dir", ".agents", "str",
           "project store, relative to the main worktree root; an absolute path is a folder of"
           " stores, one per repository (global config or env only)", g=True),
        _k("storage.max_db_size", "1GB", "size",
           "a write past this size warns and triggers maintenance"),
        _k("storage.backup_enabled", True, "bool", "take backups automatically"),
        _k("storage.backup_interval", "24h", "duration", "time between automatic backups"),
        # [storage.sqlite]
        _k("storage.sqlite.journal_mode", "WAL", "enum", "SQLite journal mode",
           "WAL", "DELETE", "TRUNCATE", "PERSIST", "MEMORY"),
        _k("storage.sqlite.synchronous", "NORMAL", "enum", "SQLite synchronous level",
           "OFF", "NORMAL", "FULL", "EXTRA"),
        _k("storage.sqlite.cache_size", -64000, "int",
           "SQLite page cache; negative = KiB, positive = pages", low=None),
        _k("storage.sqlite.temp_store", "MEMORY", "enum", "where SQLite keeps temporary tables",
           "DEFAULT", "FILE", "MEMORY"),
        _k("storage.sqlite.auto_vacuum", "INCREMENTAL", "enum",
           "set before the first table of a new database", "NONE", "FULL", "INCREMENTAL"),
        _k("storage.sqlite.optimize_interval", "7d", "duration",
           "time between ANALYZE/optimize runs"),
        _k("storage.sqlite.mmap_size", 268435456, "int",
           "bytes of each database mapped into memory (extension: the spec sets it as a pragma)",
           low=0),
        _k("storage.sqlite.busy_timeout", "5s", "duration",
           "how long a writer waits for another process's lock (extension)"),
        # [storage.embeddings]
        _k("storage.embeddings.enabled", True, "bool", "build embeddings for similarity search"),
        _k("storage.embeddings.embedding_model", "aircher-hash-384", "str",
           "embedder: the built-in local one, st:<model>, or openai:<model> for an endpoint"),
        _k("storage.embeddings.dimension", 384, "int",
           "vector dimension of the embedder (an openai: endpoint's vectors count by their"
           " real size)"),
        _k("storage.embeddings.index_type", "exact", "enum",
           "similarity index; exact = brute-force NearestNeighbors", "exact", "faiss", "annoy"),
        _k("storage.embeddings.similarity_threshold", 0.7, "fraction",
           "minimum cosine similarity a vector hit must reach"),
        _k("storage.embeddings.update_batch_size", 100, "int", "chunks embedded per batch"),
        _k("storage.embeddings.rebuild_interval", "30d", "duration", "full index rebuild interval"),
        _k("storage.embeddings.endpoint", "", "str",
           "base URL of an OpenAI-compatible endpoint (extension; key in credentials.toml);"
           " empty: OpenAI's own API if a key is set, else openai: models are refused"),
        _k("storage.embeddings.endpoint_timeout", "10s", "duration",
           "how long a call to the endpoint waits for its answer; a query then answers"
           " without vectors (extension)"),
        _k("storage.embeddings.endpoint_retry_wait", "10s", "duration",
           "longest pause before asking a rate-limited endpoint (HTTP 429) again, of up to 3"
           " retries; a longer Retry-After is cut to it (extension)"),
        # [storage.performance]
        _k("storage.performance.concurrent_reads", 10, "int", "read connections a pool may open"),
        _k("storage.performance.batch_insert_size", 1000, "int", "rows per executemany batch"),
        _k("storage.performance.index_rebuild_threshold", 10000, "int",
           "changed chunks after which the search index is rebuilt rather than updated"),
        _k("storage.performance.query_timeout", "30s", "duration", "longest a read query may run"),
        _k("storage.performance.connection_pool_size", 5, "int", "read connections kept open"),
        # [storage.lifecycle]
        _k("storage.lifecycle.file_version_retention_days", 90, "int",
           "file change history older than this may be pruned"),
        _k("storage.lifecycle.file_version_max_count", 50, "int", "file changes kept per file"),
        _k("storage.lifecycle.conversation_archive_days", 365, "int",
           "conversations idle this long are archived"),
        _k("storage.lifecycle.conversation_max_per_project", 1000, "int",
           "active conversations kept per project; older ones are archived"),
        _k("storage.lifecycle.pattern_learning_min_samples", 10, "int",
           "samples before a success pattern is trusted"),
        _k("storage.lifecycle.success_correlation_decay_rate", 0.95, "fraction",
           "per-commit decay of change and access counts in relevance"),
        _k("storage.lifecycle.session_expire_after", "24h", "duration",
           "an active session idle this long becomes expired (extension)"),
        # [storage.backup]
        _k("storage.backup.enabled", True, "bool", "take backups automatically"),
        _k("storage.backup.backup_interval", "24h", "duration", "time between automatic backups"),
        _k("storage.backup.backup_retain_days", 30, "int", "backups older than this are pruned"),
        _k("storage.backup.compression_enabled", True, "bool", "compress large database copies"),
        _k("storage.backup.compression_threshold", "10MB", "size",
           "compress copies above this size"),
        # [storage.monitoring]
        _k("storage.monitoring.health_check_interval", "5m", "duration",
           "time between health checks"),
        _k("storage.monitoring.disk_usage_alert_threshold", 0.85, "fraction",
           "warn when the disk is fuller than this"),
        _k("storage.monitoring.query_performance_logging", True, "bool", "log slow queries"),
        _k("storage.monitoring.slow_query_threshold", "1s", "duration", "what counts as slow"),
        # [storage.sync] (extension: how hooks and sync follow git)
        _k("storage.sync.history_limit", 1000, "int",
           "first-parent commits the first sync walks back (extension); a catch-up (a pull,"
           " commits made with hooks off) takes every new commit, up to 100 times this"),
        _k("storage.sync.inactive_after", "14d", "duration",
           "a worktree untouched this long becomes inactive (extension)"),
        _k("storage.sync.catch_up_wait", "10s", "duration",
           "how long sync, index and a query wait for a worker applying records; sync and"
           " index wait on while it makes progress, up to 10 minutes (extension)"),
    ]
}

SECTIONS = sorted({name.rsplit(".", 1)[0] for name in KEYS})
