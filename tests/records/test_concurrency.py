"""Two processes appending to one conversation: nothing lost, totals exact."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gitext.errors import AircherError, StoreBusyError
from gitext.project import Project
from gitext.records import (
    add_message,
    get_conversation,
    list_messages,
    search_messages,
    start_conversation,
)

WRITER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from gitext.project import Project
    from gitext.records import add_message, add_messages, MessageInput
    project = Project.locate(Path(sys.argv[1]), Path(os.environ["AIRCHER_HOME"]), os.environ)
    conv, tag, n, gate = sys.argv[2], sys.argv[3], int(sys.argv[4]), Path(sys.argv[5])
    (gate / tag).touch()
    while len(list(gate.iterdir())) < 2:  # both writers start together
        pass
    for i in range(n):
        add_message(project, conv, "user", f"{tag} {i}", tokens=i + 1, cost=0.25)
        time.sleep(0.002)  # let the other writer in between: interleaved, not one after another
    add_messages(project, conv, [MessageInput("assistant", f"{tag} batch {i}", 2, 0.5)
                                 for i in range(5)])
    project.close()
""")


def test_two_processes_append_to_one_conversation(project: Project, tmp_path: Path) -> None:
    conv = start_conversation(project, "p")
    gate = tmp_path / "gate"
    gate.mkdir()
    n = 60
    env = dict(os.environ)
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(project.repo.root), conv.id, tag,
                          str(n), str(gate)], env=env, stderr=subprocess.PIPE)
        for tag in ("left", "right")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    messages = list_messages(project, conv.id)
    assert len(messages) == 2 * (n + 5)
    assert sorted(m.seq or 0 for m in messages) == list(range(1, 2 * (n + 5) + 1))
    got = get_conversation(project, conv.id)
    per_process_tokens = n * (n + 1) // 2 + 5 * 2
    assert got.total_tokens == 2 * per_process_tokens == sum(m.tokens or 0 for m in messages)
    assert got.total_cost == 2 * (n * 0.25 + 5 * 0.5) == sum(m.cost for m in messages)
    for tag in ("left", "right"):
        mine = [m.content for m in messages if (m.content or "").startswith(tag + " ")]
        assert mine[:n] == [f"{tag} {i}" for i in range(n)]  # each writer's order is kept


def _message(size: int) -> str:
    """Identifiers, as in a large log or code dump: what the code-aware terms split."""
    parts = ["get", "set", "Current", "Context", "User", "Token", "Refresh", "Http"]
    words = (parts[i % 8] + parts[i * 7 % 8] + parts[i * 5 % 8] + str(i % 97)
             for i in range(size // 8))
    return " ".join(words)[:size]


def test_a_large_message_holds_the_write_lock_only_to_insert(project: Project) -> None:
    """add_message computed a large message's code-aware terms, and had FTS5 tokenize it three
    times, inside its write transaction: 8-12 s for 20 MB, longer than busy_timeout, and
    another agent's message to another conversation was lost to "database is locked"
    (QA round 10c: 12). The terms are now computed before the lock, and the index row is
    written once, by an insert the trigger leaves alone: what the transaction runs says so."""
    conv = start_conversation(project, "p")
    body = _message(50_000)
    ran: list[str] = []

    def trace(sql: str) -> None:
        if sql == "BEGIN IMMEDIATE":
            ran.clear()
        ran.append(sql)

    writer = project.db("conversations").writer
    writer.set_trace_callback(trace)
    try:
        add_message(project, conv.id, "tool", body)
    finally:
        writer.set_trace_callback(None)
    fts = [sql for sql in ran if "messages_fts" in sql and not sql.startswith("--")]
    assert len(fts) == 1 and fts[0].startswith("INSERT INTO messages_fts"), fts
    assert not [sql for sql in ran if sql.startswith("-- TRIGGER messages_fts")], ran
    hits = search_messages(project, "refresh context")
    assert [h.conversation_id for h in hits] == [conv.id]


def test_a_writer_that_waits_too_long_gets_a_library_error(project: Project) -> None:
    """After busy_timeout the second writer got sqlite3's raw "database is locked" (QA round
    10c: 12): now an AircherError naming the database, with nothing written."""
    conv = start_conversation(project, "p")
    project.close()  # connections open again with a short busy_timeout
    project.pragmas = dataclasses.replace(project.pragmas, busy_timeout_ms=200)
    other = sqlite3.connect(project.layout.db("conversations"), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreBusyError, match="conversations.db is busy") as err:
            add_message(project, conv.id, "user", "one short line")
        assert err.value.hint and isinstance(err.value, AircherError)
    finally:
        other.close()
    assert list_messages(project, conv.id) == []
