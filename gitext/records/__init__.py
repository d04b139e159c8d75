"""The record API agents use: conversations, messages, attachments, compaction, sessions,
preferences and project knowledge. Every write is one transaction. See docs/api.md."""

from gitext.records.attachments import Attachment, AttachmentInput, add_attachment, read_attachment
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
    record_effectiveness,
    record_feedback,
    upsert_component,
)
from gitext.records.messages import Message, MessageInput, add_message, add_messages, list_messages
from gitext.records.patterns import Pattern, list_patterns, record_pattern, record_pattern_outcome
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

__all__ = [
    "Attachment", "AttachmentInput", "Compaction", "Conversation", "CurrentIds", "Decision",
    "DocInfo", "Message", "MessageInput", "Pattern", "SearchHit", "Session",
    "add_attachment", "add_decision", "add_message", "add_messages", "analyze_doc", "cache_get",
    "cache_set", "conversations_across_worktrees", "current_context", "current_ids",
    "delete_conversation", "end_session", "export_jsonl", "get_conversation", "import_jsonl",
    "list_compactions", "list_conversations", "list_decisions", "list_messages",
    "list_patterns", "list_sessions", "purge_expired_cache", "read_attachment",
    "record_compaction", "record_effectiveness", "record_feedback", "record_pattern",
    "record_pattern_outcome", "refresh_docs", "resolve", "resolve_preference",
    "revert_decision", "search_messages", "set_preference", "start_conversation",
    "start_session", "supersede_decision", "update_conversation", "upsert_component",
    "unset_preference", "active_session", "expire_sessions", "get_session",
]
