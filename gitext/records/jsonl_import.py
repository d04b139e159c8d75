"""JSONL import of conversations (the format is in records/jsonl.py).

An import is checked line by line first: a bad line is a UsageError naming its number, and
nothing of that import is written. It is written in batches, each conversation whole in one,
so that agents recording meanwhile are not kept waiting for the lock; an error while writing
takes out what the earlier batches added. A conversation exported from the
archive (its record has `archived_at`) goes back to the archive. An id counts as existing
whether it is live or archived: a second, live copy of an archived conversation could never be
restored. The ids of contexts a record names must be this store's, and a conversation must
name its project and context (else the conversation is invisible to `conversation list` and
doctor reports orphans): an export of another store needs `--adopt`, which moves its
conversations into the current context.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitext.errors import UsageError
from gitext.project import Project
from gitext.records import attachments as att
from gitext.records import fts
from gitext.records import values as v
from gitext.records.jsonl import (
    COLUMNS,
    CONFLICT_MODES,
    DEFAULTS,
    FORMAT,
    NOW,
    OPTIONAL,
    TABLES,
    VERSION,
    Counts,
)

# (kind, column, which ids of this store it must name): what doctor's orphan check reads, and
# the context a conversation is listed under.
_HOME_IDS = (("conversation", "project_id", "contexts"), ("conversation", "worktree_id",
             "worktrees"), ("conversation", "context_id", "contexts"),
             ("message", "project_id", "contexts"))
# What `conversation list` finds a conversation by (`--all`: the project; else the context).
_LISTED_BY = ("project_id", "context_id")


@dataclass
class _Line:
    number: int
    kind: str
    values: dict[str, Any]


def _parse(data: bytes) -> list[_Line]:
    from gitext import clock

    now = clock.now()
    lines: list[_Line] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for number, raw in enumerate(data.split(b"\n"), start=1):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"line {number}: not valid UTF-8 (byte {exc.start + 1})") from None
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise UsageError(f"line {number}: not valid JSON: {exc}") from None
        if not isinstance(obj, dict):
            raise UsageError(f"line {number}: a record must be a JSON object")
        kind = obj.get("kind")
        if kind == "header":
            if obj.get("format") != FORMAT or not isinstance(obj.get("version"), int) or \
                    obj["version"] > VERSION:
                raise UsageError(f"line {number}: not a {FORMAT} version {VERSION} export")
            continue
        if kind not in COLUMNS:
            raise UsageError(f"line {number}: unknown record kind {kind!r}",
                             hint=f"kinds: {', '.join(COLUMNS)}")
        fields = [*COLUMNS[kind], *OPTIONAL.get(kind, [])]
        known = {c for c, _ in fields} | {"kind"}
        extra = sorted(set(obj) - known)
        if extra:
            raise UsageError(f"line {number}: unknown field {extra[0]!r} in a {kind} record")
        values: dict[str, Any] = {}
        defaults = DEFAULTS.get(kind, {})
        if obj.get("archived_at") is not None:
            defaults = {**defaults, "status": "archived"}  # the archive's own DEFAULT
        for col, check in fields:
            value = obj.get(col)
            if value is None and col in defaults:
                value = now if defaults[col] == NOW else defaults[col]
            try:
                values[col] = check(value, f"{kind}.{col}")
            except UsageError as exc:
                raise UsageError(f"line {number}: {exc.message}") from None
        lines.append(_Line(number, kind, values))
    return lines


def _link(lines: list[_Line]) -> None:
    """Every record's parent comes earlier in the file; no id appears twice, and no message
    number twice in one conversation (seq is what orders it)."""
    seen: dict[str, set[str]] = {k: set() for k in COLUMNS}
    numbered: dict[tuple[str, int], int] = {}
    for line in lines:
        rid = line.values["id"]
        if rid in seen[line.kind]:
            raise UsageError(f"line {line.number}: {line.kind} {rid} appears twice")
        seen[line.kind].add(rid)
        if line.kind == "message":
            key_seq = (line.values["conversation_id"], line.values["seq"])
            if key_seq in numbered:
                raise UsageError(
                    f"line {line.number}: message seq {key_seq[1]} appears twice in"
                    f" conversation {key_seq[0]} (also on line {numbered[key_seq]})")
            numbered[key_seq] = line.number
        parent_kind, key = {"message": ("conversation", "conversation_id"),
                            "attachment": ("message", "message_id"),
                            "compaction": ("conversation", "conversation_id")}.get(
                                line.kind, ("", ""))
        if parent_kind and line.values[key] not in seen[parent_kind]:
            raise UsageError(
                f"line {line.number}: {line.kind} refers to {parent_kind} "
                f"{line.values[key]} which is not earlier in the file"
            )


def _owner(line: _Line, parents: dict[str, str]) -> str:
    """The conversation a record belongs to."""
    if line.kind == "conversation":
        return str(line.values["id"])
    if line.kind in ("message", "compaction"):
        return str(line.values["conversation_id"])
    return parents[line.values["message_id"]]


def _check_home(project: Project, lines: list[_Line]) -> None:
    """Refuse records that name contexts this store does not have (an export of another), and
    conversations that name none: another tool's JSONL may leave the ids out, and such a
    conversation was stored in no context, so no list (not even `--all`) showed it and doctor
    did not see it (QA round 22d: 04). `worktree_id` may stay null: no list goes by it."""
    from gitext.lifecycle.refs import known_ids

    known = known_ids(project)
    for line in lines:
        for col in _LISTED_BY:
            if line.kind == "conversation" and line.values.get(col) is None:
                raise UsageError(
                    f"line {line.number}: conversation {line.values['id']} has no {col}:"
                    " it would be in no context here; nothing was imported",
                    hint="`git aircher conversation import FILE --adopt` puts the conversations"
                    " in the current context",
                )
        for kind, col, targets in _HOME_IDS:
            value = line.values.get(col) if line.kind == kind else None
            if value is not None and str(value) not in known[targets]:
                raise UsageError(
                    f"line {line.number}: {kind} {line.values['id']} comes from another store:"
                    f" its {col} {value} is unknown here; nothing was imported",
                    hint="`git aircher conversation import FILE --adopt` puts the conversations"
                    " in the current context",
                )


def _existing(conn: sqlite3.Connection, archived: set[str], cid: str) -> str | None:
    """Where conversation `cid` already is here: 'live', 'archived' or None."""
    if conn.execute("SELECT 1 FROM conversations WHERE id = ?", (cid,)).fetchone():
        return "live"
    return "archived" if cid in archived else None


# An import writes in batches: a conversation with all its records per batch, a batch closed
# after this many records or this long under the write lock, and a pause between two. In one
# transaction, 40,000 messages held conversations.db's lock 11 s, and an agent recording a
# message meanwhile waited busy_timeout in vain (QA round 25d: 02).
_BATCH_RECORDS = 5000
_BATCH_SECONDS = 0.5
_BETWEEN_BATCHES = 0.15


def _conflict(where: str | None, line: _Line) -> None:
    """With `--on-conflict error`, a conversation already here (`where`) is the error."""
    if where is not None:
        raise UsageError(
            f"line {line.number}: conversation {line.values['id']} already exists"
            + (" (in the archive)" if where == "archived" else ""),
            hint="--on-conflict skip or --on-conflict replace")


def _write_line(conn: sqlite3.Connection, line: _Line, adopt: bool, home: dict[str, Any],
                home_context: str | None,
                archive_rows: dict[str, tuple[list[str], list[Any]]] | None,
                index_rows: dict[str, str]) -> None:
    """One record into its live table, or (`archive_rows` given) kept for the archive."""
    values = dict(line.values)
    if adopt and line.kind in ("conversation", "message"):
        values.update(home)
        if line.kind == "conversation":
            values["context_id"] = home_context
    if archive_rows is not None:
        # The archive's tables have the live ones' names.
        cols, rows = archive_rows.setdefault(TABLES[line.kind], (list(values), []))
        rows.append([values[c] for c in cols])
        return
    values.pop("archived_at", None)
    cols = list(values)
    try:
        if line.kind == "message":
            fts.index_message(conn, values["id"], index_rows[values["id"]])
        conn.execute(
            f"INSERT INTO {TABLES[line.kind]} ({', '.join(cols)})"
            f" VALUES ({', '.join('?' * len(cols))})",
            [values[c] for c in cols],
        )
    except sqlite3.IntegrityError as exc:
        raise UsageError(
            f"line {line.number}: cannot import this {line.kind}: {exc}") from None


def _count(counts: Counts, line: _Line, archived: bool, store: Path) -> None:
    if line.kind == "message":
        counts.messages += 1
    elif line.kind == "attachment":
        counts.attachments += 1
        digest = line.values["content_hash"]
        if digest and not att.content_path(store, digest).exists():
            counts.missing_content += 1
    elif line.kind == "compaction":
        counts.compactions += 1
    else:
        counts.conversations += 1
        counts.archived += archived


def _take_out(project: Project, added: list[str]) -> None:
    """What an import that failed after its first batch wrote: the conversations it added
    (their records go with them). One it replaced keeps its new copy: the old one is gone."""
    db = project.db("conversations")
    for start in range(0, len(added), 500):
        chunk = added[start:start + 500]
        with db.write() as conn:
            conn.execute(f"DELETE FROM conversations WHERE id IN ({','.join('?' * len(chunk))})",
                         chunk)


def import_jsonl(
    project: Project,
    data: bytes,
    *,
    on_conflict: str = "error",
    adopt: bool = False,
) -> Counts:
    """Load an export. on_conflict: error | skip | replace conversations that already exist
    (live or archived). `adopt` moves the imported conversations into the current context;
    without it, one that names contexts this store lacks is an error."""
    from gitext.lifecycle.archive import archived_ids, write_archived

    v.choice(on_conflict, "on_conflict", CONFLICT_MODES)
    lines = _parse(data)
    _link(lines)
    home: dict[str, Any] = {}
    home_context: str | None = None
    if adopt:
        from gitext.records.current import current_ids

        cur = current_ids(project)
        home = {"project_id": cur.project_id, "worktree_id": cur.worktree_id,
                "session_id": cur.session_id}
        home_context = cur.context.id
    else:
        _check_home(project, lines)
    parents = {ln.values["id"]: ln.values["conversation_id"]
               for ln in lines if ln.kind == "message"}
    to_archive = {ln.values["id"] for ln in lines
                  if ln.kind == "conversation" and ln.values.get("archived_at") is not None}
    in_archive = archived_ids(
        project, [ln.values["id"] for ln in lines if ln.kind == "conversation"])
    # Each live message's full-text row (its content and code-aware terms) is computed before
    # the write lock, as add_message does, and inserted before the message, so the insert
    # trigger leaves it alone; before, the terms were computed and the row indexed again under
    # the lock (QA round 25d: 02).
    index_rows = {ln.values["id"]: fts.index_text(ln.values["content"]) for ln in lines
                  if ln.kind == "message" and parents[ln.values["id"]] not in to_archive}
    if on_conflict == "error":
        # Before the first batch, so that a conflict writes nothing; each batch looks again.
        with project.db("conversations").read() as rconn:
            for line in lines:
                if line.kind == "conversation":
                    _conflict(_existing(rconn, in_archive, line.values["id"]), line)
    groups: dict[str, list[_Line]] = {}
    for line in lines:  # a conversation with its records, in the file's order
        groups.setdefault(_owner(line, parents), []).append(line)
    pending = deque(groups.values())
    counts = Counts()
    store = project.layout.attachments
    archive_rows: dict[str, tuple[list[str], list[Any]]] = {}
    drop_archived: list[str] = []
    added: list[str] = []  # live conversations this import wrote, batches committed
    try:
        while pending:
            with project.db("conversations").write() as conn:
                began, written, batch = time.monotonic(), 0, []
                while pending and written < _BATCH_RECORDS and \
                        time.monotonic() - began < _BATCH_SECONDS:
                    group = pending.popleft()
                    written += len(group)
                    cid = group[0].values["id"]
                    where = _existing(conn, in_archive, cid)
                    if where is not None:
                        if on_conflict == "error":
                            _conflict(where, group[0])
                        if on_conflict == "skip":
                            counts.skipped += 1
                            continue
                        if where == "live":
                            conn.execute("DELETE FROM conversations WHERE id = ?", (cid,))
                        if cid in in_archive:  # a live copy beside it (an old import's) goes too
                            drop_archived.append(cid)
                        counts.replaced += 1
                    elif cid not in to_archive:
                        batch.append(cid)
                    for line in group:
                        _write_line(conn, line, adopt, home, home_context,
                                    archive_rows if cid in to_archive else None, index_rows)
                        _count(counts, line, cid in to_archive, store)
            added.extend(batch)
            if pending:
                # Longer than SQLite's longest wait between two tries of a writer waiting for
                # the lock (100 ms): an agent recording meanwhile gets its turn.
                time.sleep(_BETWEEN_BATCHES)
        if archive_rows or drop_archived:
            try:
                write_archived(project, drop_archived, archive_rows)
            except sqlite3.IntegrityError as exc:
                raise UsageError(f"cannot import an archived conversation: {exc}") from None
    except BaseException:
        _take_out(project, added)
        raise
    if home.get("session_id") and counts.conversations:
        from gitext.records.sessions import touch_session

        touch_session(project, home["session_id"])
    return counts
