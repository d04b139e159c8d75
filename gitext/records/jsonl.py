"""JSONL export of conversations, and the format an import (records/jsonl_import.py) reads.

Lines, in order: a header, then per conversation its `conversation` record, each `message`
followed by its `attachment` records (metadata; the bytes stay in the content store), then its
`compaction` records. Every record carries every column; JSON columns are JSON values. A
conversation the retention policy moved to the archive is exported too, its record with one
more field, `archived_at`: the policy archives on its own, so an export that left the archive
out would lose the oldest conversations of a store it was made to move or keep.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import IO, Any

from gitext.errors import UsageError
from gitext.project import Project
from gitext.records import attachments as att
from gitext.records import values as v
from gitext.records.conversations import CONTEXT_TYPES, resolve_in
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
    """A signed integer: `tokens_saved`, which the record API takes below 0 too."""
    return v.integer(value, field, minimum=None)


def _seq(value: Any, field: str) -> int:
    """A message's position: what orders its conversation, so numbered from 1 and present."""
    if value is None:
        raise UsageError(f"{field} is required")
    out = v.integer(value, field, minimum=1)
    assert out is not None
    return out


def _txt(value: Any, field: str) -> str | None:
    return v.text(value, field)


def _req(value: Any, field: str) -> str:
    return v.req_text(value, field)


COLUMNS: dict[str, list[tuple[str, Checker]]] = {
    "conversation": [
        ("id", v.uuid_text), ("title", _txt), ("created_at", v.timestamp),
        ("updated_at", v.timestamp), ("provider", _req), ("model", _txt),
        ("total_tokens", v.count), ("total_cost", v.cost), ("status", _txt),
        ("project_id", _txt), ("worktree_id", _txt), ("session_id", _txt),
        ("context_type", lambda x, f: v.choice(x, f, CONTEXT_TYPES)), ("metadata", _json),
        ("context_id", _txt),
    ],
    "message": [
        ("id", v.uuid_text), ("conversation_id", v.uuid_text), ("seq", _seq),
        ("role", lambda x, f: v.choice(x, f, ROLES)), ("content", _txt), ("tokens", v.count),
        ("cost", v.cost), ("timestamp", v.timestamp), ("tool_calls", _json),
        ("tool_results", _json), ("project_id", _txt), ("worktree_id", _txt),
        ("session_id", _txt), ("metadata", _json),
    ],
    "attachment": [
        ("id", v.uuid_text), ("message_id", v.uuid_text),
        ("type", lambda x, f: v.choice(x, f, att.ATTACHMENT_TYPES)), ("path", _txt),
        ("content_hash", _hash), ("size_bytes", v.count), ("metadata", _json),
    ],
    "compaction": [
        ("id", v.uuid_text), ("conversation_id", v.uuid_text), ("trigger_type", _req),
        ("original_message_count", v.count), ("compacted_message_count", v.count),
        ("tokens_saved", _int), ("performed_at", v.timestamp), ("summary", _txt),
        ("preserved_messages", _json),
    ],
}
# Fields a record may carry beyond its columns: an archived conversation's archived_at (a
# column of the archive only; absent, not null, on a live one, so exports of stores without an
# archive read as they did before it was exported).
OPTIONAL: dict[str, list[tuple[str, Checker]]] = {"conversation": [("archived_at", v.timestamp)]}
# What an import gives a field left out or null: the schema's DEFAULT (the spec's), which the
# record API never leaves null either ("now" is the import's time). Stored null, a conversation
# had no status (so no `--status active` list showed it) and no time (so retention never
# judged it). worktree_id's DEFAULT 'main' names no worktree here: --adopt sets that one.
NOW = "now"
DEFAULTS: dict[str, dict[str, Any]] = {
    "conversation": {"created_at": NOW, "updated_at": NOW, "total_tokens": 0,
                     "total_cost": 0.0, "status": "active", "context_type": "general"},
    "message": {"cost": 0.0, "timestamp": NOW},
    "compaction": {"performed_at": NOW},
}
TABLES = {"conversation": "conversations", "message": "messages",
          "attachment": "message_attachments", "compaction": "compaction_history"}
JSON_COLUMNS = {"metadata", "tool_calls", "tool_results", "preserved_messages"}


@dataclass
class Counts:
    conversations: int = 0
    archived: int = 0  # of those conversations, how many are (to be) in the archive
    messages: int = 0
    attachments: int = 0
    compactions: int = 0
    skipped: int = 0
    replaced: int = 0
    missing_content: int = 0

    def to_json(self) -> dict[str, int]:
        return asdict(self)


def _record(kind: str, row: sqlite3.Row, extra: dict[str, Any] | None = None) -> str:
    data: dict[str, Any] = {"kind": kind}
    have = set(row.keys())
    for col, _ in COLUMNS[kind]:
        # An archive made before conversations.db gained a column has no value for it.
        value = row[col] if col in have else None
        data[col] = v.load(value) if col in JSON_COLUMNS else value
    data.update(extra or {})
    # Export often goes to a terminal or a pager, which would act on a raw DEL or C1.
    return v.showable_json(json.dumps(data, ensure_ascii=False, allow_nan=False))


def _write(conn: sqlite3.Connection, cid: str, out: IO[str], counts: Counts,
           archived: bool) -> None:
    """One conversation's records; an archived one's carries its `archived_at`."""
    row = conn.execute("SELECT * FROM conversations WHERE id = ?", (cid,)).fetchone()
    extra = {"archived_at": row["archived_at"]} if archived else None
    out.write(_record("conversation", row, extra) + "\n")
    counts.conversations += 1
    counts.archived += archived
    # An archive an import wrote into before any archiving run gave it `seq` has no such
    # column: its messages go out in time order, numbered (the export crashed, exit 3).
    has_seq = any(r[1] == "seq" for r in conn.execute("PRAGMA table_info(messages)"))
    messages = conn.execute(
        "SELECT * FROM messages WHERE conversation_id = ? ORDER BY"
        f" {'seq, ' if has_seq else ''}timestamp, rowid", (cid,),
    ).fetchall()
    seqs: list[Any] = [m["seq"] for m in messages] if has_seq else [None] * len(messages)
    # Imports before session 17 took a repeated, zero or negative seq, which an import now
    # refuses: such a conversation goes out numbered 1.. in the order it is shown, or the
    # store's own export could not be imported again.
    renumber = not all(isinstance(n, int) and n > 0 for n in seqs) or any(
        a >= b for a, b in zip(seqs, seqs[1:], strict=False))
    # In the order they were attached, as `conversation show` lists them; the import inserts
    # them in file order. By id (random) they came back shuffled (QA round 22d: 01). The whole
    # conversation's in one statement: one per message was 300,000 statements, most of a
    # 20,000-conversation export (QA round 26f: 05).
    attached: dict[str, list[sqlite3.Row]] = {}
    for a in conn.execute(
        "SELECT a.* FROM message_attachments a JOIN messages m ON m.id = a.message_id"
        " WHERE m.conversation_id = ? ORDER BY a.rowid", (cid,),
    ):
        attached.setdefault(a["message_id"], []).append(a)
    for position, msg in enumerate(messages, 1):
        out.write(_record("message", msg, {"seq": position} if renumber else None) + "\n")
        counts.messages += 1
        for a in attached.get(msg["id"], ()):
            out.write(_record("attachment", a) + "\n")
            counts.attachments += 1
    # As `list_compactions` orders them; the import inserts them in file order.
    for c in conn.execute(
        "SELECT * FROM compaction_history WHERE conversation_id = ?"
        " ORDER BY performed_at, rowid", (cid,),
    ):
        out.write(_record("compaction", c) + "\n")
        counts.compactions += 1


def _chosen(conn: sqlite3.Connection, context_ids: Sequence[str] | None) -> list[tuple[str, str]]:
    """(created_at, id) of every conversation, or of those of the contexts given, in the order
    they were made: by time, then by insertion (rowid). An import inserts them in file order,
    so the copy's rowids follow the source's and "newest first" ties among conversations of
    one second go as they did there; by id (random) they came back shuffled and `--limit 1`
    named another conversation (QA round 26e: 02)."""
    order = " ORDER BY created_at, rowid"
    if context_ids is None:
        return [(r[0] or "", r[1]) for r in conn.execute(
            "SELECT created_at, id FROM conversations" + order)]
    if not context_ids or "context_id" not in {
            r[1] for r in conn.execute("PRAGMA table_info(conversations)")}:
        return []
    return [(r[0] or "", r[1]) for r in conn.execute(
        f"SELECT created_at, id FROM conversations WHERE context_id IN"
        f" ({','.join('?' * len(context_ids))}){order}", list(context_ids))]


def export_jsonl(
    project: Project,
    out: IO[str],
    *,
    conversation_ids: Sequence[str] | None = None,
    context_ids: Sequence[str] | None = None,
) -> Counts:
    """Write the chosen conversations (default: all, archived ones too) to `out`; one
    consistent snapshot of each database."""
    from gitext.lifecycle.archive import open_archive
    from gitext.lifecycle.loss import has_archive

    counts = Counts()
    with contextlib.ExitStack() as stack:
        conn = stack.enter_context(project.db("conversations").read())
        conn.execute("BEGIN")  # one snapshot for the whole export, even while others write
        archive: sqlite3.Connection | None = None
        if has_archive(project):
            # Read after the live snapshot: a conversation archived meanwhile is then in both
            # (the archive copy is committed before the live one goes), never in neither.
            archive = stack.enter_context(stack.enter_context(open_archive(project)).read())
            archive.execute("BEGIN")
        chosen: dict[str, bool] = {}  # id -> archived
        if conversation_ids is not None:
            for c in conversation_ids:
                cid, archived = resolve_in(conn, archive, c)
                chosen.setdefault(cid, archived)
        else:
            live = _chosen(conn, context_ids)
            have = {cid for _, cid in live}
            old = [] if archive is None else [
                (at, cid) for at, cid in _chosen(archive, context_ids) if cid not in have]
            # A stable sort by time alone: each store's own order stays within a second
            # (rowids of two stores do not compare; each goes back to its own store).
            merged = sorted(live + old, key=lambda item: item[0])
            chosen = {cid: cid not in have for _, cid in merged}
        out.write(json.dumps({"kind": "header", "format": FORMAT, "version": VERSION}) + "\n")
        for cid, archived in chosen.items():
            _write(archive if archived and archive is not None else conn, cid, out, counts,
                   archived)
    return counts
