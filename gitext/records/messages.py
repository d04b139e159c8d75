"""Messages: each write, with its attachments and the conversation's totals, is one transaction.

The conversation's total_tokens, total_cost and updated_at move inside the same IMMEDIATE
transaction as the insert, as SQL increments: two processes appending to one conversation
serialise on SQLite's write lock and the totals always equal the sum of the messages.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from gitext import clock
from gitext.errors import UsageError
from gitext.ids import new_id
from gitext.project import Project
from gitext.records import attachments as att
from gitext.records import fts
from gitext.records import values as v
from gitext.records.conversations import live_id
from gitext.records.sessions import touch_session

ROLES = ("user", "assistant", "system", "tool")


@dataclass(frozen=True)
class MessageInput:
    role: str
    content: str | None
    tokens: int | None = None
    cost: float = 0.0
    tool_calls: Any = None
    tool_results: Any = None
    metadata: Any = None
    attachments: Sequence[att.AttachmentInput] = ()


@dataclass(frozen=True)
class Message:
    id: str
    conversation_id: str
    seq: int | None
    role: str
    content: str | None
    tokens: int | None
    cost: float
    timestamp: str | None
    tool_calls: Any
    tool_results: Any
    project_id: str | None
    worktree_id: str | None
    session_id: str | None
    metadata: Any
    attachments: list[att.Attachment] = field(default_factory=list)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Message:
        return cls(
            row["id"], row["conversation_id"], row["seq"], row["role"], row["content"],
            row["tokens"], float(row["cost"] or 0.0), row["timestamp"], v.load(row["tool_calls"]),
            v.load(row["tool_results"]), row["project_id"], row["worktree_id"], row["session_id"],
            v.load(row["metadata"]),
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["attachments"] = [a.to_json() for a in self.attachments]
        return data


@dataclass(frozen=True)
class _Checked:
    role: str
    content: str | None
    tokens: int | None
    cost: float
    tool_calls: str | None
    tool_results: str | None
    metadata: str | None


def _check(item: MessageInput) -> _Checked:
    return _Checked(
        v.choice(item.role, "role", ROLES),
        v.text(item.content, "content"),
        v.count(item.tokens, "tokens"),
        v.cost(item.cost if item.cost is not None else 0.0, "cost") or 0.0,
        v.dump(item.tool_calls, "tool_calls"),
        v.dump(item.tool_results, "tool_results"),
        v.dump(item.metadata, "metadata"),
    )


def add_messages(
    project: Project, conversation_id: str, items: Sequence[MessageInput]
) -> list[Message]:
    """Append messages in order, all or none; returns them with their attachments."""
    checked = [_check(item) for item in items]
    att.refuse_secrets([a for item in items for a in item.attachments])
    # Attachment bytes go to the store before the transaction: hashing a large file must not
    # hold the write lock, and a row never commits without its content.
    prepared = [[att.prepare(project, a) for a in item.attachments] for item in items]
    # So is the full-text row: a large message's terms take seconds, and another agent's
    # writer waits for the lock only busy_timeout long.
    indexed = [fts.index_text(item.content) for item in checked]
    loaded = [(v.load(c.tool_calls), v.load(c.tool_results), v.load(c.metadata))
              for c in checked]
    now = clock.now()
    out: list[Message] = []
    with project.db("conversations").write() as conn:
        cid = live_id(project, conn, conversation_id)
        conv = conn.execute(
            "SELECT project_id, worktree_id, session_id FROM conversations WHERE id = ?", (cid,)
        ).fetchone()
        seq = int(conn.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM messages WHERE conversation_id = ?", (cid,)
        ).fetchone()[0])
        tokens = 0
        cost = 0.0
        for item, files, text, (calls, results, meta) in zip(
                checked, prepared, indexed, loaded, strict=True):
            seq += 1
            mid = new_id()
            fts.index_message(conn, mid, text)
            conn.execute(
                "INSERT INTO messages (id, conversation_id, seq, role, content, tokens, cost,"
                " timestamp, tool_calls, tool_results, project_id, worktree_id, session_id,"
                " metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (mid, cid, seq, item.role, item.content, item.tokens, item.cost, now,
                 item.tool_calls, item.tool_results, conv["project_id"], conv["worktree_id"],
                 conv["session_id"], item.metadata),
            )
            attached = att.insert(conn, project.layout.attachments, mid, files)
            tokens += item.tokens or 0
            cost += item.cost
            out.append(Message(
                mid, cid, seq, item.role, item.content, item.tokens, item.cost, now,
                calls, results, conv["project_id"], conv["worktree_id"], conv["session_id"],
                meta, attached,
            ))
        conn.execute(
            "UPDATE conversations SET total_tokens = COALESCE(total_tokens, 0) + ?,"
            " total_cost = COALESCE(total_cost, 0.0) + ?, updated_at = ? WHERE id = ?",
            (tokens, cost, now, cid),
        )
    touch_session(project, conv["session_id"])
    return out


def add_message(
    project: Project,
    conversation_id: str,
    role: str,
    content: str | None,
    *,
    tokens: int | None = None,
    cost: float = 0.0,
    tool_calls: Any = None,
    tool_results: Any = None,
    metadata: Any = None,
    attachments: Sequence[att.AttachmentInput] = (),
) -> Message:
    """Append one message (and its attachments); the conversation's totals move with it."""
    item = MessageInput(role, content, tokens, cost, tool_calls, tool_results, metadata,
                        tuple(attachments))
    return add_messages(project, conversation_id, [item])[0]


def list_messages(
    project: Project, conversation_id: str, *, with_attachments: bool = True
) -> list[Message]:
    """A conversation's messages in order."""
    with project.db("conversations").read() as conn:
        cid = live_id(project, conn, conversation_id)
        rows = conn.execute(
            "SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq, timestamp, rowid",
            (cid,)
        ).fetchall()
    messages = [Message.from_row(r) for r in rows]
    if with_attachments and messages:
        found = att.list_attachments(project, [m.id for m in messages])
        for m in messages:
            m.attachments.extend(found.get(m.id, []))
    return messages


def get_message(project: Project, message_id: str) -> Message:
    with project.db("conversations").read() as conn:
        row = conn.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
    if row is None:
        raise UsageError(f"no message {message_id!r}")
    msg = Message.from_row(row)
    msg.attachments.extend(att.list_attachments(project, [msg.id]).get(msg.id, []))
    return msg
