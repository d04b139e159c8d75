"""Message attachments: content-addressed files under `.agents/content/attachments/<aa>/<sha256>`.

The content's SHA-256 names its file, so the same bytes attached twice are stored once, and
nothing a caller passes (a source path, a display path, an imported row) ever names a file of
the store. The bytes land on disk (written to a temporary file, synced, renamed) before the row
that refers to them commits; a crash in between leaves an unreferenced blob, never a row
without its content.

Credentials stay out as they do everywhere else in the store (`gitext.index.secrets`): a file
named like a secret (`.env`, `id_rsa`, …, by `source` or `path`) is refused before anything is
read, and text (git's test: no NUL byte in the first 8,000 bytes) has its key-shaped strings
redacted before it is hashed and stored; binary content is stored as given.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

from gitext.errors import UsageError
from gitext.ids import new_id
from gitext.index.languages import detect_encoding
from gitext.index.secrets import is_secret_path, redact, redact_text
from gitext.project import Project
from gitext.records import values as v

ATTACHMENT_TYPES = ("file", "image", "code", "diff")
_HASH = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class AttachmentInput:
    """What to attach: `data` (bytes or text), or `source`, a file that is read (and only read)."""

    type: str
    data: bytes | str | None = None
    source: Path | None = None
    path: str | None = None  # recorded as given (e.g. a repo-relative path); defaults to source
    metadata: Any = None


@dataclass(frozen=True)
class Attachment:
    id: str
    message_id: str
    type: str
    path: str | None
    content_hash: str | None
    size_bytes: int | None
    metadata: Any

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Attachment:
        return cls(row["id"], row["message_id"], row["type"], row["path"], row["content_hash"],
                   row["size_bytes"], v.load(row["metadata"]))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StoredContent:
    content_hash: str
    size_bytes: int


def valid_hash(content_hash: str) -> bool:
    return bool(_HASH.match(content_hash))


def content_path(root: Path, content_hash: str) -> Path:
    """Where content with this hash lives; refuses anything but 64 hex digits."""
    if not valid_hash(content_hash):
        raise UsageError(f"not an attachment content hash: {content_hash[:80]!r}")
    return root / content_hash[:2] / content_hash


def _finish(root: Path, tmp: Path, digest: str) -> None:
    final = content_path(root, digest)
    if final.exists():
        tmp.unlink()
        return
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, final)


def _tmp_file(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    return root / f".incoming-{os.getpid()}-{secrets.token_hex(8)}"


def store_bytes(root: Path, data: bytes) -> StoredContent:
    digest = hashlib.sha256(data).hexdigest()
    final = content_path(root, digest)
    if not final.exists():
        tmp = _tmp_file(root)
        try:
            with tmp.open("wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            _finish(root, tmp, digest)
        finally:
            tmp.unlink(missing_ok=True)
    return StoredContent(digest, len(data))


def store_file(root: Path, source: Path) -> StoredContent:
    """Copy `source` into the store while hashing it; the source's name plays no part."""
    if not source.is_file():
        raise UsageError(f"cannot attach {source}: not a readable file")
    try:
        with source.open("rb") as src:
            head = src.read(_CHUNK)
            if detect_encoding(head) is not None:
                # Read whole to be redacted: a key or a private-key block may span any chunk.
                return store_bytes(root, redacted(head + src.read()))
            return _copy(root, head, src)
    except OSError as exc:
        raise UsageError(f"cannot attach {source}: {exc.strerror or exc}") from None


def _copy(root: Path, head: bytes, src: BinaryIO) -> StoredContent:
    tmp = _tmp_file(root)
    digest = hashlib.sha256()
    size = 0
    try:
        with tmp.open("wb") as dst:
            chunk = head
            while chunk:
                digest.update(chunk)
                dst.write(chunk)
                size += len(chunk)
                chunk = src.read(_CHUNK)
            dst.flush()
            os.fsync(dst.fileno())
        _finish(root, tmp, digest.hexdigest())
    finally:
        tmp.unlink(missing_ok=True)
    return StoredContent(digest.hexdigest(), size)


@dataclass(frozen=True)
class PreparedAttachment:
    type: str
    path: str | None
    stored: StoredContent
    metadata: str | None
    # What the bytes came from, to store them again should a deletion take them meanwhile.
    data: bytes | None = None
    source: Path | None = None


def redacted(data: bytes) -> bytes:
    """Text with its keys redacted (git's test, or a byte-order mark: UTF-16 text, what
    PowerShell's `>` writes, is full of NUL bytes); binary data as it is."""
    encoding = detect_encoding(data)
    if encoding is None:
        return data
    if encoding in ("utf-16", "utf-32"):
        # The patterns are ASCII: found in the decoded text, not in bytes a NUL apart.
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            return redact(data)
        done = redact_text(text)
        return data if done is text else done.encode(encoding)
    return redact(data)


def refuse_secrets(items: Sequence[AttachmentInput]) -> None:
    """Refuse an attachment named like a credentials file, by its source or its path; callers
    check every input first, so a refused one leaves none of the others' bytes behind."""
    for item in items:
        names = [item.path]
        if item.source is not None:
            # A link's name says nothing of what it points at (`settings` -> `.env`).
            names += [str(item.source), str(Path(item.source).resolve())]
        for name in names:
            if isinstance(name, str) and is_secret_path(name):
                raise UsageError(
                    f"cannot attach {name}: it is named like a credentials file, and the store"
                    " never keeps the content of one",
                    hint="attach the lines that matter, without the secrets, as data under"
                    " another name",
                )


def prepare(project: Project, item: AttachmentInput) -> PreparedAttachment:
    """Check an input and put its bytes in the store (before the row's transaction opens)."""
    kind = v.choice(item.type, "attachment type", ATTACHMENT_TYPES)
    shown = v.text(item.path, "attachment path", max_len=4096)
    meta = v.dump(item.metadata, "attachment metadata")
    root = project.layout.attachments
    if (item.data is None) == (item.source is None):
        raise UsageError("an attachment needs exactly one of data or source")
    refuse_secrets([item])
    if item.source is not None:
        stored = store_file(root, Path(item.source))
        shown = shown if shown is not None else str(item.source)
        return PreparedAttachment(kind, shown, stored, meta, source=Path(item.source))
    data = item.data
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    if not isinstance(data, bytes):
        raise UsageError("attachment data must be bytes or text")
    data = redacted(data)
    return PreparedAttachment(kind, shown, store_bytes(root, data), meta, data=data)


def _still_stored(root: Path, item: PreparedAttachment) -> PreparedAttachment:
    """The item, its bytes stored again if they went since `prepare` (same bytes, same file)."""
    if content_path(root, item.stored.content_hash).exists():
        return item
    if item.data is not None:
        return replace(item, stored=store_bytes(root, item.data))
    if item.source is not None:
        return replace(item, stored=store_file(root, item.source))
    raise UsageError(f"the content of attachment {item.path or ''} went from the store")


def insert(
    conn: sqlite3.Connection, root: Path, message_id: str, items: Sequence[PreparedAttachment]
) -> list[Attachment]:
    """Rows for prepared attachments, inside the writer's transaction on conversations.db. Their
    files are checked under that write lock: a conversation deleted since `prepare` may have
    taken a file of the same bytes with it (`release`)."""
    out = []
    for item in (_still_stored(root, i) for i in items):
        aid = new_id()
        conn.execute(
            "INSERT INTO message_attachments (id, message_id, type, path, content_hash,"
            " size_bytes, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (aid, message_id, item.type, item.path, item.stored.content_hash,
             item.stored.size_bytes, item.metadata),
        )
        out.append(Attachment(aid, message_id, item.type, item.path, item.stored.content_hash,
                              item.stored.size_bytes, v.load(item.metadata)))
    return out


def add_attachment(project: Project, message_id: str, item: AttachmentInput) -> Attachment:
    """Attach to an existing message (one transaction)."""
    prepared = prepare(project, item)
    with project.db("conversations").write() as conn:
        if conn.execute("SELECT 1 FROM messages WHERE id = ?", (message_id,)).fetchone() is None:
            raise UsageError(f"no message {message_id!r}")
        return insert(conn, project.layout.attachments, message_id, [prepared])[0]


def _referenced(project: Project, conn: sqlite3.Connection) -> set[str]:
    """Every content hash a row refers to, live or archived. Called under conversations.db's
    write lock: archiving copies rows into the archive before it deletes them here, and a
    restore inserts them here before it deletes them there, so no reference is missed."""
    from gitext.lifecycle.archive import open_archive
    from gitext.lifecycle.loss import has_archive

    sql = "SELECT DISTINCT content_hash FROM message_attachments WHERE content_hash IS NOT NULL"
    found = {str(r[0]) for r in conn.execute(sql)}
    if has_archive(project):
        with open_archive(project) as archive, archive.read() as aconn:
            found.update(str(r[0]) for r in aconn.execute(sql))
    return found


def release(project: Project, conn: sqlite3.Connection, hashes: Iterable[str]) -> int:
    """Delete the files of those of ``hashes`` no row refers to any more (the same bytes may be
    attached to other messages); returns how many. ``conn`` holds conversations.db's write
    lock, so no writer can add a reference meanwhile (`insert` stores the bytes again)."""
    root = project.layout.attachments
    gone = 0
    for digest in sorted(set(hashes) - _referenced(project, conn)):
        if valid_hash(digest):
            with contextlib.suppress(FileNotFoundError):
                content_path(root, digest).unlink()
                gone += 1
    return gone


def stored_hashes(root: Path) -> set[str]:
    """The hashes of the content files under ``root`` (`<aa>/<sha256>`)."""
    if not root.is_dir():
        return set()
    return {p.name for shard in root.iterdir() if shard.is_dir() and len(shard.name) == 2
            for p in shard.iterdir() if valid_hash(p.name) and p.name[:2] == shard.name}


def remove_unreferenced(project: Project, *, dry_run: bool = False) -> int:
    """Delete content files no row refers to (left by a crash between the file and its row, or
    by conversations deleted before `delete_conversation` took their files); returns how many."""
    db = project.db("conversations")
    if dry_run:
        with db.read() as conn:
            return len(stored_hashes(project.layout.attachments) - _referenced(project, conn))
    with db.write() as conn:
        return release(project, conn, stored_hashes(project.layout.attachments))


def list_attachments(project: Project, message_ids: Sequence[str]) -> dict[str, list[Attachment]]:
    found: dict[str, list[Attachment]] = {}
    with project.db("conversations").read() as conn:
        for start in range(0, len(message_ids), 500):
            chunk = list(message_ids[start:start + 500])
            rows = conn.execute(
                "SELECT * FROM message_attachments WHERE message_id IN"
                f" ({','.join('?' * len(chunk))}) ORDER BY rowid",
                chunk,
            ).fetchall()
            for row in rows:
                found.setdefault(row["message_id"], []).append(Attachment.from_row(row))
    return found


def read_attachment(project: Project, attachment_id: str) -> bytes:
    with project.db("conversations").read() as conn:
        row = conn.execute(
            "SELECT content_hash FROM message_attachments WHERE id = ?", (attachment_id,)
        ).fetchone()
    if row is None or not row["content_hash"]:
        raise UsageError(f"no attachment {attachment_id!r} with stored content")
    path = content_path(project.layout.attachments, row["content_hash"])
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UsageError(
            f"the content of attachment {attachment_id} is missing from the store",
            hint="it may have been imported without its content",
        ) from None
