"""compaction_history: what an agent did when it shrank a conversation to fit its window."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from gitext import clock
from gitext.errors import UsageError
from gitext.ids import new_id
from gitext.project import Project
from gitext.records import values as v
from gitext.records.conversations import live_id
from gitext.records.sessions import touch_session


@dataclass(frozen=True)
class Compaction:
    id: str
    conversation_id: str
    trigger_type: str
    original_message_count: int | None
    compacted_message_count: int | None
    tokens_saved: int | None
    performed_at: str | None
    summary: str | None
    preserved_messages: Any

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Compaction:
        return cls(row["id"], row["conversation_id"], row["trigger_type"],
                   row["original_message_count"], row["compacted_message_count"],
                   row["tokens_saved"], row["performed_at"], row["summary"],
                   v.load(row["preserved_messages"]))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def record_compaction(
    project: Project,
    conversation_id: str,
    trigger_type: str,
    *,
    original_message_count: int | None = None,
    compacted_message_count: int | None = None,
    tokens_saved: int | None = None,
    summary: str | None = None,
    preserved_messages: Sequence[str] = (),
) -> Compaction:
    """One row; every preserved message id must belong to the conversation."""
    trigger = v.req_text(trigger_type, "trigger_type", max_len=200)
    original = v.count(original_message_count, "original_message_count")
    compacted = v.count(compacted_message_count, "compacted_message_count")
    saved = v.integer(tokens_saved, "tokens_saved", minimum=None)
    summary = v.text(summary, "summary")
    preserved = v.str_list(list(preserved_messages), "preserved_messages")
    now = clock.now()
    with project.db("conversations").write() as conn:
        cid = live_id(project, conn, conversation_id)
        if preserved:
            known = {
                r[0] for start in range(0, len(preserved), 500)
                for r in conn.execute(
                    "SELECT id FROM messages WHERE conversation_id = ? AND id IN"
                    f" ({','.join('?' * len(preserved[start:start + 500]))})",
                    (cid, *preserved[start:start + 500]),
                )
            }
            missing = [m for m in preserved if m not in known]
            if missing:
                raise UsageError(
                    f"preserved message {missing[0]!r} is not a message of conversation {cid}"
                )
        row_id = new_id()
        conn.execute(
            "INSERT INTO compaction_history (id, conversation_id, trigger_type,"
            " original_message_count, compacted_message_count, tokens_saved, performed_at,"
            " summary, preserved_messages) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (row_id, cid, trigger, original, compacted, saved, now, summary, v.dump(preserved)),
        )
        conn.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, cid))
        row = conn.execute("SELECT * FROM compaction_history WHERE id = ?", (row_id,)).fetchone()
        session_id = conn.execute("SELECT session_id FROM conversations WHERE id = ?",
                                  (cid,)).fetchone()[0]
    touch_session(project, session_id)
    return Compaction.from_row(row)


def list_compactions(project: Project, conversation_id: str) -> list[Compaction]:
    """In the order they were made: by time, then, within a second (an agent may compact
    several times in one), by insertion. By id (random) a second's came back shuffled and
    `conversation show` printed "9 -> 8, 7 -> 6, 6 -> 5, 8 -> 7" (QA round 26e: 04)."""
    with project.db("conversations").read() as conn:
        cid = live_id(project, conn, conversation_id)
        rows = conn.execute(
            "SELECT * FROM compaction_history WHERE conversation_id = ?"
            " ORDER BY performed_at, rowid", (cid,)
        ).fetchall()
    return [Compaction.from_row(r) for r in rows]
