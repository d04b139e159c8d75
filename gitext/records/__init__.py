"""The record API agents use: conversations, messages, attachments, compaction, sessions,
preferences and project knowledge. Every write is one transaction. See docs/api.md."""

# ruff: noqa: F401  (the names below are imported for type checkers only; __all__ is _HOME's)

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Where each name of the API lives. They load on first use: every command imports this package
# for one or two of them, and loading all of them cost each start about 0.06 s of CPU.
_HOME: dict[str, str] = {
    "Attachment": "attachments", "AttachmentInput": "attachments", "add_attachment": "attachments",
    "read_attachment": "attachments", "Compaction": "compaction", "list_compactions": "compaction",
    "record_compaction": "compaction", "Conversation": "conversations",
    "conversations_across_worktrees": "conversations", "delete_conversation": "conversations",
    "get_conversation": "conversations", "list_conversations": "conversations",
    "start_conversation": "conversations", "update_conversation": "conversations",
    "CurrentIds": "current", "current_context": "current", "current_ids": "current",
    "Decision": "decisions", "add_decision": "decisions", "list_decisions": "decisions",
    "revert_decision": "decisions", "supersede_decision": "decisions", "DocInfo": "docs_analysis",
    "analyze_doc": "docs_analysis", "refresh_docs": "docs_analysis", "SearchHit": "fts",
    "search_messages": "fts", "export_jsonl": "jsonl", "import_jsonl": "jsonl_import",
    "list_effectiveness": "knowledge", "list_feedback": "knowledge",
    "record_effectiveness": "knowledge", "record_feedback": "knowledge",
    "upsert_component": "knowledge", "Message": "messages", "MessageInput": "messages",
    "add_message": "messages", "add_messages": "messages", "list_messages": "messages",
    "Pattern": "patterns", "list_patterns": "patterns", "record_pattern": "patterns",
    "record_pattern_outcome": "patterns", "resolve": "preferences",
    "resolve_preference": "preferences", "set_preference": "preferences",
    "unset_preference": "preferences", "cache_get": "session_cache", "cache_set": "session_cache",
    "purge_expired_cache": "session_cache", "Session": "sessions", "active_session": "sessions",
    "end_session": "sessions", "expire_sessions": "sessions", "get_session": "sessions",
    "list_sessions": "sessions", "start_session": "sessions",
}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:  # what mypy and editors see: the names, from their modules
    from gitext.records.attachments import (
        Attachment,
        AttachmentInput,
        add_attachment,
        read_attachment,
    )
    from gitext.records.compaction import Compaction, list_compactions, record_compaction
    from gitext.records.conversations import (
        Conversation,
        conversations_across_worktrees,
        delete_conversation,
        get_conversation,
        list_conversations,
        start_conversation,
        update_conversation,
    )
    from gitext.records.current import CurrentIds, current_context, current_ids
    from gitext.records.decisions import (
        Decision,
        add_decision,
        list_decisions,
        revert_decision,
        supersede_decision,
    )
    from gitext.records.docs_analysis import DocInfo, analyze_doc, refresh_docs
    from gitext.records.fts import SearchHit, search_messages
    from gitext.records.jsonl import export_jsonl
    from gitext.records.jsonl_import import import_jsonl
    from gitext.records.knowledge import (
        list_effectiveness,
        list_feedback,
        record_effectiveness,
        record_feedback,
        upsert_component,
    )
    from gitext.records.messages import (
        Message,
        MessageInput,
        add_message,
        add_messages,
        list_messages,
    )
    from gitext.records.patterns import (
        Pattern,
        list_patterns,
        record_pattern,
        record_pattern_outcome,
    )
    from gitext.records.preferences import (
        resolve,
        resolve_preference,
        set_preference,
        unset_preference,
    )
    from gitext.records.session_cache import cache_get, cache_set, purge_expired_cache
    from gitext.records.sessions import (
        Session,
        active_session,
        end_session,
        expire_sessions,
        get_session,
        list_sessions,
        start_session,
    )
