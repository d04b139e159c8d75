"""JSONL export of conversations, and the format an import (records/jsonl_import.py) reads.

Lines, in order: a header, then per conversation its `conversation` record, each `message`
followed by its `attachment` records (metadata; the bytes stay in the content store), then its
`compaction` records. Every record carries every column; JSON columns are JSON values.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import IO, Any

from gitext.errors import UsageError
from gitext.project import Project
from gitext.records import attachments as att
from gitext.records import values as v
from gitext.records.conversations import CONTEXT_TYPES, resolve_id
from gitext.records.messages import ROLES

FORMAT = "git-aircher-conversations"
VERSION = 1
CONFLICT_MODES = ("error", "skip", "replace")

# (column, checker) per record kind; the checker returns the SQL value.
Checker = Callable[[Any, str], Any]


def _json(value: Any, field: str) -> Any:
    return v.dump(value, field)


def _opt_uuid(value: Any, field: str) -> str | None:
    return None if value is None else v.uuid_text(value, field)


def _hash(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not att.valid_hash(value):
        raise UsageError(f"{field} must be 64 lower-case hex digits (SHA-256)")
    return value


def _int(value: Any, field: str) -> int | None:
    return v.integer(value, field, minimum=None)


def _num(value: Any, field: str) -> float | None:
    return v.number(value, field)


def _txt(value: Any, field: str) -> str | None:
    return v.text(value, field)


def _req(value: Any, field: str) -> str:
    return v.req_text(value, field)


COLUMNS: dict[str, list[tuple[str, Checker]]] = {
    "conversation": [
        ("id", v.uuid_text), ("title", _txt), ("created_at", v.timestamp),
        ("updated_at", v.timestamp), ("provider", _req), ("model", _txt),
        ("total_tokens", _int), ("total_cost", _num), ("status", _txt),
        ("project_id", _txt), ("worktree_id", _txt), ("session_id", _txt),
        ("context_type", lambda x, f: v.choice(x, f, CONTEXT_TYPES)), ("metadata", _json),
        ("context_id", _txt),
    ],
    "message": [
        ("id", v.uuid_text), ("conversation_id", v.uuid_text), ("seq", _int),
        ("role", lambda x, f: v.choice(x, f, ROLES)), ("content", _txt), ("tokens", _int),
        ("cost", _num), ("timestamp", v.timestamp), ("tool_calls", _json),
        ("tool_results", _json), ("project_id", _txt), ("worktree_id", _txt),
        ("session_id", _txt), ("metadata", _json),
    ],
    "attachment": [
        ("id", v.uuid_text), ("message_id", v.uuid_text),
        ("type", lambda x, f: v.choice(x, f, att.ATTACHMENT_TYPES)), ("path", _txt),
        ("content_hash", _hash), ("size_bytes", _int), ("metadata", _json),
    ],
    "compaction": [
        ("id", v.uuid_text), ("conversation_id", v.uuid_text), ("trigger_type", _req),
        ("original_message_count", _int), ("compacted_message_count", _int),
        ("tokens_saved", _int), ("performed_at", v.timestamp), ("summary", _txt),
        ("preserved_messages", _json),
    ],
}
TABLES = {"conversation": "conversations", "message": "messages",
          "attachment": "message_attachments", "compaction": "compaction_history"}
JSON_COLUMNS = {"metadata", "tool_calls", "tool_results", "preserved_messages"}


@dataclass
class Counts:
    conversations: int = 0
    messages: int = 0
    attachments: int = 0
    compactions: int = 0
    skipped: int = 0
    replaced: int = 0
    missing_content: int = 0

    def to_json(self) -> dict[str, int]:
        return asdict(self)


def _record(kind: str, row: sqlite3.Row) -> str:
    data: dict[str, Any] = {"kind": kind}
    for col, _ in COLUMNS[kind]:
        data[col] = v.load(row[col]) if col in JSON_COLUMNS else row[col]
    return json.dumps(data, ensure_ascii=False, allow_nan=False)


def export_jsonl(
    project: Project,
    out: IO[str],
    *,
    conversation_ids: Sequence[str] | None = None,
    context_ids: Sequence[str] | None = None,
) -> Counts:
    """Write the chosen conversations (default: all) to `out`; one consistent snapshot."""
    counts = Counts()
    with project.db("conversations").read() as conn:
        conn.execute("BEGIN")  # one snapshot for the whole export, even while others write
        if conversation_ids is not None:
            ids = [resolve_id(conn, c) for c in conversation_ids]
        elif context_ids is not None:
            marks = ",".join("?" * len(context_ids))
            ids = [r[0] for r in conn.execute(
                f"SELECT id FROM conversations WHERE context_id IN ({marks})"
                " ORDER BY created_at, id", list(context_ids))] if context_ids else []
        else:
            ids = [r[0] for r in conn.execute(
                "SELECT id FROM conversations ORDER BY created_at, id")]
        out.write(json.dumps({"kind": "header", "format": FORMAT, "version": VERSION}) + "\n")
        for cid in dict.fromkeys(ids):
            row = conn.execute("SELECT * FROM conversations WHERE id = ?", (cid,)).fetchone()
            out.write(_record("conversation", row) + "\n")
            counts.conversations += 1
            for msg in conn.execute(
                "SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq, timestamp, id",
                (cid,),
            ).fetchall():
                out.write(_record("message", msg) + "\n")
                counts.messages += 1
                for a in conn.execute(
                    "SELECT * FROM message_attachments WHERE message_id = ? ORDER BY id",
                    (msg["id"],),
                ):
                    out.write(_record("attachment", a) + "\n")
                    counts.attachments += 1
            for c in conn.execute(
                "SELECT * FROM compaction_history WHERE conversation_id = ?"
                " ORDER BY performed_at, id", (cid,)
            ):
                out.write(_record("compaction", c) + "\n")
                counts.compactions += 1
    return counts
