"""Rows and damage for lifecycle tests: real SQLite files, written and broken for real."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

from gitext import clock
from gitext.contexts import project_context
from gitext.ids import new_id
from gitext.project import Project


def project_id(project: Project) -> str:
    with project.db("knowledge").read() as conn:
        ctx = project_context(conn)
    assert ctx is not None
    return ctx.id


def add_conversations(
    project: Project, n: int, messages: int = 3, *, when: str | None = None,
    text: str = "message", title: str = "talk",
) -> list[str]:
    """n conversations of `messages` messages each, last active at `when` (default: now)."""
    pid = project_id(project)
    stamp = when or clock.now()
    ids = []
    with project.db("conversations").write() as conn:
        for i in range(n):
            cid = new_id()
            ids.append(cid)
            conn.execute(
                # In the project's context: one in none is doctor's `no_context` finding.
                "INSERT INTO conversations (id, title, provider, project_id, context_id,"
                " created_at, updated_at, status) VALUES (?, ?, 'test', ?, ?, ?, ?, 'active')",
                (cid, f"{title} {i}", pid, pid, stamp, stamp),
            )
            for j in range(messages):
                mid = new_id()
                conn.execute(
                    "INSERT INTO messages (id, conversation_id, role, content, timestamp,"
                    " project_id) VALUES (?, ?, 'user', ?, ?, ?)",
                    (mid, cid, f"{text} {i}.{j} " + "x" * 200, stamp, pid),
                )
    return ids


def add_sessions(project: Project, n: int) -> None:
    with project.db("sessions").write() as conn:
        for i in range(n):
            conn.execute(
                "INSERT INTO sessions (id, user_id, status, task_description) VALUES"
                " (?, 'me', 'active', ?)", (new_id(), f"task {i} " + "y" * 300),
            )


def counts(path: Path) -> dict[str, int]:
    """Row counts of the tables that hold data (not the FTS machinery)."""
    conn = sqlite3.connect(path)
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND name NOT LIKE '%fts%' AND sql NOT LIKE 'CREATE VIRTUAL%'"
        )]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        conn.close()


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def settle(project: Project) -> None:
    """Close every connection so the WAL is checkpointed into the file and removed."""
    project.close()
    for name in ("conversations", "sessions", "knowledge", "file_index"):
        conn = sqlite3.connect(project.layout.db(name))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()


def truncate(path: Path, fraction: float = 0.5) -> None:
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.truncate(int(size * fraction) + 100)  # mid-page, as a crash would leave it


def rot_backup_copy(backup: Any, db: str) -> None:
    """Flip the bytes of pages 2-3 of `db`'s copy in `backup`: rotted in place, its size the
    same, so `backup list` cannot tell and only verification does."""
    copy = backup.db(db)
    assert copy is not None
    stored = Path(backup.path) / copy.file
    data = bytearray(stored.read_bytes())
    for i in range(4096, min(len(data), 4096 * 3)):
        data[i] ^= 0xFF
    stored.write_bytes(bytes(data))


def scribble_pages(path: Path, seed: int, pages: int = 3) -> list[int]:
    """Random bytes over whole pages past the first two (the header and schema stay)."""
    rng = random.Random(seed)
    page_size = 4096
    total = path.stat().st_size // page_size
    chosen = sorted(rng.sample(range(2, total), min(pages, total - 2)))
    with path.open("r+b") as fh:
        for page in chosen:
            fh.seek(page * page_size)
            fh.write(rng.randbytes(page_size))
    return chosen


_KILLED_WRITER = r"""
import os, signal, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA wal_autocheckpoint = 0" if sys.argv[2] == "wal" else "PRAGMA cache_size = 5")
conn.execute("BEGIN IMMEDIATE")
conn.execute("UPDATE t SET v = v || 'y'")
if sys.argv[2] == "wal":
    conn.execute("COMMIT")
os.kill(os.getpid(), signal.SIGKILL)  # before the checkpoint, or mid-transaction
"""


def side_file_of_another(folder: Path, kind: str) -> Path:
    """A -wal (`kind` "wal": committed frames, never checkpointed) or a hot rollback journal
    (`kind` "journal": a transaction cut off after pages spilled) that a killed process left
    beside another, small database in `folder`: what a stray side file is."""
    import subprocess
    import sys

    other = folder / f"other-{kind}.db"
    conn = sqlite3.connect(other, isolation_level=None)
    conn.execute(f"PRAGMA journal_mode = {'WAL' if kind == 'wal' else 'DELETE'}")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    conn.executemany("INSERT INTO t (v) VALUES (?)", [("z" * 300,) for _ in range(400)])
    conn.close()
    subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(other), kind], check=False)
    side = other.with_name(other.name + ("-wal" if kind == "wal" else "-journal"))
    assert side.stat().st_size > 0
    return side
