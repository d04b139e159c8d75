from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from gitext import clock
from gitext.errors import UsageError
from gitext.project import Project
from gitext.records import (
    AttachmentInput,
    add_message,
    delete_conversation,
    export_jsonl,
    import_jsonl,
    list_conversations,
    record_compaction,
    search_messages,
    start_conversation,
)
from gitext.records.fts import match_query
from tests.conftest import commit, git
from tests.records.helpers import count, init, open_project, rows


def _other_store(tmp_path: Path) -> Project:
    """A store of another repository, with one commit."""
    other_repo = tmp_path / "other"
    other_repo.mkdir()
    git(other_repo, "init", "-q")
    commit(other_repo, {"x": "x\n"}, "x")
    return init(other_repo)

def _fill(project: Project) -> list[str]:
    a = start_conversation(project, "anthropic", model="m", title="auth bug",
                           context_type="debugging", metadata={"k": [1, 2.5, None]})
    m1 = add_message(project, a.id, "user", "getCurrentContext raises KeyError in auth.py",
                     tokens=7, cost=0.1, metadata={"lang": "py"},
                     attachments=[AttachmentInput("code", data="x = 1\n", path="auth.py",
                                                  metadata={"lines": [1, 1]})])
    add_message(project, a.id, "assistant", "Use snake_case_name and retry. café ✓",
                tokens=9, cost=0.2, tool_calls=[{"id": "t1"}], tool_results={"t1": "ok"})
    record_compaction(project, a.id, "auto", original_message_count=2,
                      compacted_message_count=1, tokens_saved=3, summary="short",
                      preserved_messages=[m1.id])
    b = start_conversation(project, "openai", title=None)
    add_message(project, b.id, "system", None)
    add_message(project, b.id, "tool", "deploy log: all green")
    return [a.id, b.id]


def test_full_text_search(project: Project) -> None:
    ids = _fill(project)
    hits = search_messages(project, "keyerror auth")
    assert [h.conversation_id for h in hits] == [ids[0]]
    assert "[KeyError]" in hits[0].snippet
    assert search_messages(project, "snake")[0].role == "assistant"
    assert search_messages(project, "dep*")[0].conversation_id == ids[1]
    assert search_messages(project, "cafe") == search_messages(project, "café") != []
    # FTS5 syntax from a user is only words
    assert search_messages(project, 'auth" OR NOT (x* NEAR') == []
    assert search_messages(project, "green", context_ids=[]) == []
    assert match_query('a "b" c*') == '"a" "b" "c"*'
    with pytest.raises(UsageError, match="no words"):
        search_messages(project, "'; --")
    # Identifier parts are terms: "context" finds getCurrentContext, "case name" snake_case_name.
    assert [h.conversation_id for h in search_messages(project, "current context")] == [ids[0]]
    assert search_messages(project, "case name")[0].role == "assistant"
    delete_conversation(project, ids[0])
    assert search_messages(project, "keyerror") == []
    assert count(project, "conversations", "messages_fts") == 2


def test_export_import_round_trip_is_lossless(project: Project) -> None:
    ids = _fill(project)
    first = io.StringIO()
    counts = export_jsonl(project, first)
    assert (counts.conversations, counts.messages, counts.attachments, counts.compactions) == \
        (2, 4, 1, 1)
    table_rows = "SELECT * FROM {} ORDER BY id"
    tables = ("conversations", "messages", "message_attachments", "compaction_history")
    before = {t: [tuple(r) for r in rows(project, "conversations", table_rows.format(t))]
              for t in tables}
    for cid in ids:
        delete_conversation(project, cid)
    got = import_jsonl(project, first.getvalue().encode())
    # An export carries no attachment bytes, and deleting the conversations took them.
    assert (got.conversations, got.messages, got.missing_content) == (2, 4, 1)
    second = io.StringIO()
    export_jsonl(project, second)
    assert second.getvalue() == first.getvalue()
    for table in tables:
        assert [tuple(r) for r in rows(project, "conversations", table_rows.format(table))] \
            == before[table], table
    assert search_messages(project, "snake")  # imported messages are indexed


def test_a_conversation_an_older_import_misnumbered_exports_and_imports_again(
        project: Project) -> None:
    """Imports before session 17 took a repeated or negative seq, which an import now refuses:
    the store's own export of such a conversation could not be imported again (QA round 11a:
    05). It goes out numbered 1.. in the order `conversation show` gives."""
    import sqlite3

    ids = _fill(project)
    with sqlite3.connect(project.layout.db("conversations")) as conn:  # what such an import left
        conn.execute("UPDATE messages SET seq = 1 WHERE conversation_id = ?", (ids[0],))
    conn.close()
    before = [m["content"] for m in rows(
        project, "conversations", "SELECT content FROM messages WHERE conversation_id = ?"
        " ORDER BY seq, timestamp, rowid", (ids[0],))]
    out = io.StringIO()
    export_jsonl(project, out)
    for cid in ids:
        delete_conversation(project, cid)
    got = import_jsonl(project, out.getvalue().encode())
    assert got.messages == 4
    again = rows(project, "conversations", "SELECT seq, content FROM messages"
                 " WHERE conversation_id = ? ORDER BY seq", (ids[0],))
    assert [m["content"] for m in again] == before
    assert [m["seq"] for m in again] == list(range(1, len(before) + 1))


def test_an_export_of_another_store_needs_adopt(project: Project, tmp_path: Path) -> None:
    """Its project, worktree and context ids mean nothing here: imported as they are, the
    conversations were in no context (`conversation list --all` did not show them) and doctor
    reported orphans (QA round 3: 13)."""
    from gitext.lifecycle.doctor import diagnose
    from gitext.records.browse import browse_conversations

    _fill(project)
    first = io.StringIO()
    export_jsonl(project, first)
    other = _other_store(tmp_path)
    try:
        with pytest.raises(UsageError, match="comes from another store") as info:
            import_jsonl(other, first.getvalue().encode())
        assert info.value.message.startswith("line 2: conversation ")
        assert info.value.hint and "--adopt" in info.value.hint
        assert count(other, "conversations", "conversations") == 0
        got = import_jsonl(other, first.getvalue().encode(), adopt=True)
        assert (got.conversations, got.messages, got.missing_content) == (2, 4, 1)
        assert len(browse_conversations(other, all_contexts=True)) == 2
        assert len(browse_conversations(other)) == 2  # in this branch's context
        assert not [f for f in diagnose(other).problems() if f.check == "orphans"]
        assert search_messages(other, "snake")
    finally:
        other.close()


def test_an_import_keeps_the_newest_first_order_of_one_second(
        project: Project, tmp_path: Path) -> None:
    """Conversations of one second went out by their random id and were inserted in that
    order, so the copy broke "newest first" ties by id again: its `--limit 1` named another
    conversation than the source's (QA round 26e: 02). They now go out in the order they were
    made, and the copy lists them as the source does."""
    clock.set_now(1_796_000_000.0)
    for i in range(8):
        start_conversation(project, "p", title=f"c{i}")
    source = [c.title for c in list_conversations(project)]
    assert source == [f"c{i}" for i in reversed(range(8))]
    out = io.StringIO()
    export_jsonl(project, out)
    other = _other_store(tmp_path)
    try:
        import_jsonl(other, out.getvalue().encode(), adopt=True)
        assert [c.title for c in list_conversations(other)] == source
        assert [c.title for c in list_conversations(other, limit=1)] == ["c7"]
    finally:
        other.close()
    for c in list_conversations(project):  # the same store: back as they were
        delete_conversation(project, c.id)
    import_jsonl(project, out.getvalue().encode())
    assert [c.title for c in list_conversations(project)] == source
    again = io.StringIO()
    export_jsonl(project, again)
    assert again.getvalue() == out.getvalue()


def _export(project: Project) -> list[str]:
    buf = io.StringIO()
    export_jsonl(project, buf)
    return buf.getvalue().splitlines()


def test_a_bad_line_rejects_the_whole_import(project: Project) -> None:
    lines = _export(project) if _fill(project) else []
    delete_all = [r[0] for r in rows(project, "conversations", "SELECT id FROM conversations")]
    for cid in delete_all:
        delete_conversation(project, cid)
    user = next(i for i, ln in enumerate(lines) if '"role": "user"' in ln)
    second = next(i for i, ln in enumerate(lines) if '"seq": 2' in ln)

    def numbered(seq: str) -> list[str]:
        """The export with the second message of the first conversation numbered `seq`."""
        return lines[:second] + [lines[second].replace('"seq": 2', f'"seq": {seq}')] \
            + lines[second + 1:]

    cases = {
        "not valid JSON": lines[:4] + ["{oops"] + lines[5:],
        "not valid UTF-8": None,
        "role must be one of": lines[:user] + [lines[user].replace('"role": "user"',
                                                                   '"role": "x"')]
        + lines[user + 1:],
        "not earlier in the file": [lines[0]] + lines[2:],
        "unknown record kind": lines + ['{"kind": "virus"}'],
        "unknown field": lines[:1] + [lines[1][:-1] + ', "extra": 1}'] + lines[2:],
        "is not a UUID": lines[:1] + [lines[1].replace('"id": "', '"id": "x', 1)] + lines[2:],
        "appears twice": lines + [lines[2]],
        # seq orders a conversation: two messages numbered 1 would be shown out of order.
        "message seq 1 appears twice in conversation .* \\(also on line 3\\)": numbered("1"),
        "message.seq must be at least 1, got 0": numbered("0"),
        "message.seq must be at least 1, got -2": numbered("-2"),
        "message.seq is required": numbered("null"),
        "must be 64 lower-case hex": [ln.replace('"content_hash": "', '"content_hash": "../')
                                      for ln in lines],
    }
    for message, case in cases.items():
        if case is None:
            data = "\n".join(lines[:2]).encode() + b"\n" + lines[2].encode()[:-3] + b"\xff\"}\n"
            line = 3
        else:
            data = "\n".join(case).encode()
            bad = [i for i, (x, y) in enumerate(zip(case, lines + [""], strict=False)) if x != y]
            line = (bad[0] + 1) if bad else len(case)
        with pytest.raises(UsageError, match=message) as info:
            import_jsonl(project, data)
        assert f"line {line}" in info.value.message or message == "not earlier in the file", \
            (message, info.value.message)
        assert count(project, "conversations", "conversations") == 0
        assert count(project, "conversations", "messages") == 0
    assert import_jsonl(project, "\n".join(lines).encode()).conversations == 2


def test_an_import_gives_fields_left_out_the_spec_s_defaults(
        project: Project, aircher: object, tmp_path: Path) -> None:
    """A hand-written import that left out status, created_at, updated_at, total_tokens (and a
    message's timestamp) stored NULL: the conversation had status None, so no `--status active`
    list showed it, and its export carried nulls; a left-out context_type was refused as
    "must be one of …, got None" (QA round 15b: 08). A field left out or null takes the spec's
    DEFAULT (the import's time for a timestamp), as the record API would have written."""
    from gitext import clock

    clock.set_now(1_800_000_000.0)
    conv, msg, comp = (f"11111111-2222-4333-8444-55555555555{n}" for n in range(3))
    data = "\n".join(json.dumps(r) for r in (
        {"kind": "header", "format": "git-aircher-conversations", "version": 1},
        {"kind": "conversation", "id": conv, "title": "hand made", "provider": "anthropic",
         "status": None},
        {"kind": "message", "id": msg, "conversation_id": conv, "seq": 1, "role": "user",
         "content": "hand written"},
        {"kind": "compaction", "id": comp, "conversation_id": conv, "trigger_type": "manual"},
    ))
    file = tmp_path / "hand.jsonl"
    file.write_text(data)
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    res = run(root, "conversation", "import", str(file), "--adopt")
    assert res.code == 0, res.err
    (listed,) = json.loads(run(root, "conversation", "list", "--status", "active", "--json").out)
    now = clock.now()
    assert (listed["id"], listed["status"], listed["context_type"], listed["created_at"],
            listed["updated_at"], listed["total_tokens"], listed["total_cost"]) == (
        conv, "active", "general", now, now, 0, 0.0)
    stored = rows(project, "conversations", "SELECT total_tokens, total_cost FROM conversations")
    assert tuple(stored[0]) == (0, 0.0)
    shown = json.loads(run(root, "conversation", "show", conv, "--json").out)
    assert (shown["messages"][0]["timestamp"], shown["messages"][0]["cost"]) == (now, 0.0)
    assert shown["compactions"][0]["performed_at"] == now
    # What was given is kept; a bad value is still an error naming its line.
    given = data.replace('"status": null', '"status": "closed"').replace("5550", "5559")
    given = given.replace("5551", "5558").replace("5552", "5557")
    assert import_jsonl(project, given.encode(), adopt=True).conversations == 1
    assert rows(project, "conversations", "SELECT status FROM conversations WHERE id = ?",
                (conv[:-1] + "9",))[0][0] == "closed"
    with pytest.raises(UsageError, match="line 2: conversation.context_type must be one of"):
        import_jsonl(project, given.replace('"status"', '"context_type": "chat", "status"')
                     .replace("5559", "5556").encode(), adopt=True)


def test_an_upgrade_mends_what_an_older_import_stored_null(
        repo: Path, aircher: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """Conversations an import stored before 5d70367 kept NULL status, times and totals (and
    their messages NULL timestamp and cost), live and in the archive; after the upgrade no
    `--status active` list showed them and `show` said "status: None" (QA round 20a: 02).
    Opening a store of the previous schema version fills the spec's DEFAULTs, times from the
    conversation's own records."""
    import sqlite3

    from gitext.lifecycle.archive import open_archive
    from gitext.lifecycle.dbfiles import ARCHIVE_DB
    from gitext.records import current_context
    from gitext.worktrees import worktree_id

    monkeypatch.setenv("AIRCHER_SKIP", "1")
    project = init(repo)
    with open_archive(project) as archive, archive.read():
        pass  # the archive file, as the current version creates it
    live_db, archive_db = project.layout.db("conversations"), project.layout.db(ARCHIVE_DB)
    branch = current_context(project)  # where `--adopt` put them
    place = (branch.parent_id, worktree_id(branch.parent_id or "", repo), branch.id)
    project.close()
    bare, timed, archived = (f"11111111-2222-4333-8444-55555555555{n}" for n in range(3))
    conv_sql = ("INSERT INTO conversations (id, title, created_at, updated_at, provider,"
                " total_tokens, total_cost, status, context_type, project_id, worktree_id,"
                " context_id{extra}) VALUES (?, ?, NULL, NULL, 'anthropic', NULL, NULL, NULL,"
                " 'general', ?, ?, ?{marks})")
    msg_sql = ("INSERT INTO messages (id, conversation_id, role, content, cost, timestamp{extra})"
               " VALUES (?, ?, 'user', ?, NULL, ?{marks})")
    # What the older version left, in the real files, each at the schema version before.
    raw = sqlite3.connect(live_db)
    with raw:
        raw.execute(conv_sql.format(extra="", marks=""), (bare, "nothing given", *place))
        raw.execute(conv_sql.format(extra="", marks=""), (timed, "times in messages", *place))
        raw.executemany(msg_sql.format(extra=", seq", marks=", ?"), [
            ("m-bare", bare, "hello", None, 1),
            ("m-1", timed, "first", "2030-01-01 10:00:00", 1),
            ("m-2", timed, "second", None, 2),
            ("m-3", timed, "third", "2030-01-01 10:05:00", 3)])
        raw.execute("INSERT INTO compaction_history (id, conversation_id, trigger_type,"
                    " performed_at) VALUES ('h-1', ?, 'manual', NULL)", (timed,))
        raw.execute("PRAGMA user_version = 3")  # before 004, which this test is about
    raw.close()
    raw = sqlite3.connect(archive_db)
    with raw:
        # The archive has the live tables' columns of 001; context_id comes with a first copy.
        raw.execute("ALTER TABLE conversations ADD COLUMN context_id TEXT")
        raw.execute(conv_sql.format(extra=", archived_at", marks=", '2030-02-01 00:00:00'"),
                    (archived, "archived by the old import", *place))
        raw.execute(msg_sql.format(extra="", marks=""), ("m-arch", archived, "old", None))
        raw.execute("PRAGMA user_version = 1")  # before 002
    raw.close()

    run = aircher  # type: ignore[assignment]
    listed = json.loads(run(repo, "conversation", "list", "--status", "active", "--json").out)
    assert sorted(c["id"] for c in listed) == sorted([bare, timed])
    assert {(c["status"], c["total_tokens"], c["total_cost"]) for c in listed} == {
        ("active", 0, 0.0)}
    assert "status: active" in run(repo, "conversation", "show", bare).out
    shown = json.loads(run(repo, "conversation", "show", timed, "--json").out)
    assert (shown["created_at"], shown["updated_at"]) == (
        "2030-01-01 10:00:00", "2030-01-01 10:05:00")
    assert [(m["timestamp"], m["cost"]) for m in shown["messages"]] == [
        ("2030-01-01 10:00:00", 0.0), ("2030-01-01 10:00:00", 0.0), ("2030-01-01 10:05:00", 0.0)]
    assert shown["compactions"][0]["performed_at"] == "2030-01-01 10:05:00"
    (alone,) = [c for c in listed if c["id"] == bare]
    assert alone["created_at"] is not None and alone["created_at"] == alone["updated_at"]
    gone = json.loads(run(repo, "conversation", "list", "--status", "archived", "--json").out)
    assert [c["id"] for c in gone] == [archived]
    raw = sqlite3.connect(archive_db)
    when = "2030-02-01 00:00:00"  # no other time than when it was archived
    assert raw.execute("SELECT c.status, c.created_at, c.updated_at, c.total_tokens, m.timestamp,"
                       " m.cost FROM conversations c JOIN messages m ON m.conversation_id = c.id"
                       ).fetchone() == ("archived", when, when, 0, when, 0.0)
    raw.close()
    doctor = json.loads(run(repo, "doctor", "--json").out)
    assert not [f for f in doctor["findings"] if f["check"].startswith("schema")], doctor


def test_conflicts_skip_replace_and_adopt(project: Project) -> None:
    _fill(project)
    data = "\n".join(_export(project)).encode()
    with pytest.raises(UsageError, match="already exists"):
        import_jsonl(project, data)
    assert import_jsonl(project, data, on_conflict="skip").skipped == 2
    replaced = import_jsonl(project, data, on_conflict="replace")
    assert (replaced.replaced, replaced.messages) == (2, 4)
    assert count(project, "conversations", "messages") == 4
    git(project.repo.root, "switch", "-q", "-c", "elsewhere")
    adopted = import_jsonl(project, data, on_conflict="replace", adopt=True)
    assert adopted.conversations == 2
    names = {r[0] for r in rows(project, "conversations", "SELECT context_id FROM conversations")}
    with project.db("knowledge").read() as conn:
        ctx = conn.execute("SELECT name FROM contexts WHERE id = ?", (names.pop(),)).fetchone()
    assert ctx[0] == "elsewhere" and not names


def test_conversation_cli(project: Project, aircher: object, tmp_path: Path) -> None:
    ids = _fill(project)
    root = project.repo.root
    run = aircher  # type: ignore[assignment]
    listed = run(root, "conversation", "list", "--json")
    assert listed.code == 0
    assert {c["id"] for c in json.loads(listed.out)} == set(ids)
    assert "auth bug" in run(root, "conversation", "list").out
    shown = json.loads(run(root, "conversation", "show", ids[0][:8], "--json").out)
    assert [m["seq"] for m in shown["messages"]] == [1, 2]
    assert shown["compactions"][0]["trigger_type"] == "auto"
    assert "KeyError" in run(root, "conversation", "show", ids[0]).out
    found = json.loads(run(root, "conversation", "search", "KeyError", "--json").out)
    assert found[0]["conversation_id"] == ids[0]
    out = tmp_path / "dump.jsonl"
    assert run(root, "conversation", "export", "-o", str(out)).code == 0
    assert len(out.read_text().splitlines()) == 1 + 2 + 4 + 1 + 1
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(out.read_bytes() + b"\xff\xfe\n")
    res = run(root, "conversation", "import", str(bad))
    assert res.code == 2 and "line 10: not valid UTF-8" in res.err
    res = run(root, "conversation", "import", str(out), "--on-conflict", "skip", "--json")
    assert json.loads(res.out)["skipped"] == 2
    missing = run(root, "conversation", "show", "nope-nope")
    assert missing.code == 2 and "no conversation" in missing.err


def test_weekly_maintenance_gives_back_terms_a_trigger_only_writer_left_out(
        project: Project) -> None:
    from gitext.lifecycle.maintenance import run_maintenance
    from gitext.records.fts import add_missing_terms

    ids = _fill(project)
    with project.db("conversations").write() as conn:
        # A writer that is not the record API (a restore, a salvage): the trigger indexes the
        # content alone.
        conn.execute("UPDATE messages SET content = content || ' ' WHERE conversation_id = ?",
                     (ids[0],))
    assert search_messages(project, "current context") == []
    assert add_missing_terms(project, dry_run=True) == 2  # both messages of the first
    assert search_messages(project, "current context") == []
    report = run_maintenance(project, ["weekly"])
    task = next(t for t in report.tasks if t.task == "message_terms")
    assert (task.count, task.error) == (2, None)
    assert [h.conversation_id for h in search_messages(project, "current context")] == [ids[0]]
    assert add_missing_terms(project) == 0


def test_snippets_are_cut_from_the_message_not_its_index_terms(project: Project) -> None:
    conv = start_conversation(project, "anthropic", title="login")
    add_message(project, conv.id, "user",
                "Why does getCurrentContext fail once the token has expired?")
    long = " ".join(f"w{i}" for i in range(40)) + " needle " + " ".join(f"v{i}" for i in range(40))
    add_message(project, conv.id, "assistant", long)
    [hit] = search_messages(project, "expired")
    # Before: "…has [expired]?\ngetcurrentcontext get current context fail token [expired]",
    # the code-aware terms the index appends shown as if the user had written them.
    assert hit.snippet == "Why does getCurrentContext fail once the token has [expired]?"
    [hit] = search_messages(project, "needle")
    assert hit.snippet.startswith("…w36 ") and hit.snippet.endswith(" v10…")
    assert "[needle]" in hit.snippet and len(hit.snippet.split()) == 16
    [hit] = search_messages(project, "current context")  # found through the identifier's parts
    assert "[getCurrentContext]" in hit.snippet
    add_message(project, conv.id, "tool", '{"k":"' + "x" * 5000 + ',needle2,' + "y" * 5000 + '"}')
    [hit] = search_messages(project, "needle2")  # no spaces: cut by characters, not words
    assert "[needle2]" in hit.snippet and len(hit.snippet) <= 242


def test_snippets_mark_the_words_the_index_matched_not_words_containing_them(
        project: Project) -> None:
    conv = start_conversation(project, "anthropic")
    filler = " ".join(f"w{i}" for i in range(40))
    add_message(project, conv.id, "user",
                f"the catalog service started {filler} then the log showed Logging_level")
    # Before: "the [catalog] service started w0 …", the real match cut out of the snippet.
    [hit] = search_messages(project, "log")
    assert "[log] showed" in hit.snippet and "catalog" not in hit.snippet
    # A prefix matches word starts (and identifier parts), as FTS5 does; case is folded.
    [hit] = search_messages(project, "LOG*")
    assert hit.snippet.endswith("the [log] showed [Logging_level]") and "catalog" not in hit.snippet


@pytest.mark.parametrize("stamp", [
    "2020-01-01 00:00:00 this is not a time", "2020-01-01 00:00:00+09:00",
    "2020-01-01 00:00:00.5 garbage", "2020-01-01T00:00:00", "2020-01-01 00:00:00Z",
    "2020-01-01 00:00:00.", "2020-1-01 00:00:00x", "2020-02-30 00:00:00",
    "２０２０-01-01 00:00:00",
])
def test_an_import_refuses_a_timestamp_with_more_than_its_form(project: Project,
                                                               stamp: str) -> None:
    """QA round 20c: 09. Only the first 19 characters of a timestamp were checked, and the
    whole string stored: "…00:00:00+09:00" was shown as the time and compared as UTC by
    retention, 9 hours off. A timestamp is exactly 'YYYY-MM-DD HH:MM:SS', with an optional
    fraction of a second; anything else is the error naming the line."""
    conv, msg = "11111111-1111-4111-8111-111111111111", "21111111-1111-4111-8111-111111111111"

    def data(created: str, sent: str) -> bytes:
        return "\n".join(json.dumps(r) for r in (
            {"kind": "header", "format": "git-aircher-conversations", "version": 1},
            {"kind": "conversation", "id": conv, "provider": "x", "created_at": created},
            {"kind": "message", "id": msg, "conversation_id": conv, "seq": 1,
             "role": "user", "content": "hello", "timestamp": sent},
        )).encode()

    good = "2020-01-01 00:00:00"
    with pytest.raises(UsageError, match="line 2: conversation.created_at must be a"
                       " 'YYYY-MM-DD HH:MM:SS' timestamp"):
        import_jsonl(project, data(stamp, good), adopt=True)
    with pytest.raises(UsageError, match="line 3: message.timestamp must be a"):
        import_jsonl(project, data(good, stamp), adopt=True)
    assert count(project, "conversations", "conversations") == 0
    assert import_jsonl(project, data(good, "2020-01-01 00:00:00.123"),
                        adopt=True).messages == 1


def _store_with_archive(repo: Path, monkeypatch: pytest.MonkeyPatch
                        ) -> tuple[Project, Path, Path, tuple[str | None, str, str]]:
    """A store with its archive made, closed: (project, conversations.db, the archive's file,
    (project_id, worktree_id, context_id) of this branch) for tests that write old rows."""
    from gitext.lifecycle.archive import open_archive
    from gitext.lifecycle.dbfiles import ARCHIVE_DB
    from gitext.records import current_context
    from gitext.worktrees import worktree_id

    monkeypatch.setenv("AIRCHER_SKIP", "1")
    project = init(repo)
    with open_archive(project) as archive, archive.read():
        pass
    live_db, archive_db = project.layout.db("conversations"), project.layout.db(ARCHIVE_DB)
    branch = current_context(project)
    place = (branch.parent_id, worktree_id(branch.parent_id or "", repo), branch.id)
    project.close()
    return project, live_db, archive_db, place


def test_an_upgrade_mends_the_times_an_older_import_stored_as_they_came(
        repo: Path, aircher: object, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Before ecbcd36 an import checked a timestamp's first 19 characters only, and stored
    '2020-01-01 00:00:00+09:00', '…Z', 'T' separators and text after the seconds as they came;
    the current import refuses them, so the upgraded store's own export did not import (QA
    round 21a: 01). Opening a store of the previous schema version mends them once: SQLite's
    datetime() of the value (offsets to UTC), else of its first 19 characters."""
    import sqlite3

    project, live_db, archive_db, place = _store_with_archive(repo, monkeypatch)
    live, gone = "11111111-2222-4333-8444-555555555551", "11111111-2222-4333-8444-555555555552"
    conv_sql = ("INSERT INTO conversations (id, title, created_at, updated_at, provider,"
                " status, project_id, worktree_id, context_id{extra}) VALUES (?, 't', ?, ?,"
                " 'x', ?, ?, ?, ?{marks})")
    raw = sqlite3.connect(live_db)
    with raw:
        raw.execute(conv_sql.format(extra="", marks=""), (
            live, "2020-01-01 00:00:00+09:00", "2020-01-01T10:00:00", "active", *place))
        raw.executemany(
            "INSERT INTO messages (id, conversation_id, role, content, timestamp, seq)"
            " VALUES (?, ?, 'user', 'hi', ?, ?)", [
                ("33333333-2222-4333-8444-555555555551", live, "2020-01-01 00:00:00Z", 1),
                ("33333333-2222-4333-8444-555555555552", live, "2020-01-01 01:00:00 UTC", 2),
                ("33333333-2222-4333-8444-555555555553", live, "2020-01-01 02:00:00.25", 3)])
        raw.execute("INSERT INTO compaction_history (id, conversation_id, trigger_type,"
                    " performed_at) VALUES ('44444444-2222-4333-8444-555555555551', ?,"
                    " 'manual', '2020-01-01T03:00:00.5-01:00')", (live,))
        raw.execute("PRAGMA user_version = 4")  # before 005, which this test is about
    raw.close()
    raw = sqlite3.connect(archive_db)
    with raw:
        raw.execute("ALTER TABLE conversations ADD COLUMN context_id TEXT")
        raw.execute("ALTER TABLE messages ADD COLUMN seq INTEGER")  # as a first copy adds it
        raw.execute(conv_sql.format(extra=", archived_at", marks=", '2030-02-01T00:00:00Z'"),
                    (gone, "2020-01-01 00:00:00+01:00", "2020-01-01 00:00:00", "archived",
                     *place))
        raw.execute("PRAGMA user_version = 2")  # before the archive's 003
    raw.close()

    run = aircher  # type: ignore[assignment]
    out = tmp_path / "out.jsonl"
    res = run(repo, "conversation", "export", "-o", str(out))
    assert res.code == 0, res.err
    res = run(repo, "conversation", "import", str(out), "--on-conflict", "replace")
    assert res.code == 0, res.out + res.err
    again = tmp_path / "again.jsonl"
    assert run(repo, "conversation", "export", "-o", str(again)).code == 0
    assert again.read_bytes() == out.read_bytes()
    records = [json.loads(line) for line in out.read_text().splitlines()]
    conv = {r["id"]: r for r in records if r["kind"] == "conversation"}
    assert (conv[live]["created_at"], conv[live]["updated_at"]) == (
        "2019-12-31 15:00:00", "2020-01-01 10:00:00")
    assert (conv[gone]["created_at"], conv[gone]["archived_at"]) == (
        "2019-12-31 23:00:00", "2030-02-01 00:00:00")
    assert [r["timestamp"] for r in records if r["kind"] == "message"] == [
        "2020-01-01 00:00:00", "2020-01-01 01:00:00", "2020-01-01 02:00:00.25"]
    assert [r["performed_at"] for r in records if r["kind"] == "compaction"] == [
        "2020-01-01 04:00:00"]
    doctor = json.loads(run(repo, "doctor", "--json").out)
    assert not [f for f in doctor["findings"] if f["check"].startswith("schema")], doctor


def test_an_import_without_context_ids_needs_adopt(
        project: Project, aircher: object, tmp_path: Path) -> None:
    """A conversation record that left out project_id and context_id (another tool's JSONL)
    was imported without --adopt and then in no list, not even `--all`, while doctor said
    healthy: the invisible conversation the --adopt check is there to prevent. It is now
    refused as one of another store is, and --adopt puts it in the current context
    (QA round 22d: 04)."""
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    conv = "5a5a5a5a-1111-4111-8111-111111111111"
    record = {"kind": "conversation", "id": conv, "title": "another tool's", "provider": "p"}
    file = tmp_path / "in.jsonl"
    for left_out in ("project_id", "context_id"):
        mine = json.loads(_export_one(project))
        given = {**record, **{k: mine[k] for k in ("project_id", "worktree_id", "context_id")}}
        given[left_out] = None
        file.write_text(
            '{"kind": "header", "format": "git-aircher-conversations", "version": 1}\n'
            + json.dumps(given) + "\n"
            + json.dumps({"kind": "message", "id": "5a5a5a5a-2222-4222-8222-222222222222",
                          "conversation_id": conv, "seq": 1, "role": "user",
                          "content": "hello"}) + "\n")
        res = run(root, "conversation", "import", str(file))
        assert res.code == 2 and res.err.startswith(
            f"error: line 2: conversation {conv} has no {left_out}"), res.err
        assert "--adopt" in res.err
        assert count(project, "conversations", "conversations") == 1  # _export_one's own
    assert run(root, "conversation", "import", str(file), "--adopt").code == 0
    listed = json.loads(run(root, "conversation", "list", "--json").out)
    assert conv in [c["id"] for c in listed]


def _export_one(project: Project) -> str:
    """One conversation of this store, as its export's record gives it."""
    if not count(project, "conversations", "conversations"):
        start_conversation(project, "p", title="mine")
    return _export(project)[1]


def test_export_and_import_keep_a_message_s_attachment_order(
        project: Project, aircher: object, tmp_path: Path) -> None:
    """The export wrote a message's attachments by their random id and the import stored them
    in file order, so after a round trip `conversation show` gave them shuffled ("the failing
    test, then the fix" came back swapped). Both now keep the order they were attached in
    (QA round 22d: 01)."""
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    conv = start_conversation(project, "p")
    names = [f"f{i}.py" for i in range(10)]
    add_message(project, conv.id, "user", "look",
                attachments=[AttachmentInput("code", data=f"{n}\n", path=n) for n in names])

    def shown() -> list[str]:
        data = json.loads(run(root, "conversation", "show", conv.id, "--json").out)
        return [a["path"] for a in data["messages"][0]["attachments"]]

    assert shown() == names
    first = tmp_path / "first.jsonl"
    assert run(root, "conversation", "export", "-o", str(first)).code == 0
    exported = [json.loads(ln)["path"] for ln in first.read_text().splitlines()
                if '"kind": "attachment"' in ln]
    assert exported == names
    delete_conversation(project, conv.id)
    assert run(root, "conversation", "import", str(first)).code == 0
    assert shown() == names
    second = tmp_path / "second.jsonl"
    assert run(root, "conversation", "export", "-o", str(second)).code == 0
    assert second.read_bytes() == first.read_bytes()


def test_an_import_refuses_negative_counts_and_costs_as_the_api_does(project: Project) -> None:
    """The import took negative tokens, costs, sizes and message counts, which the record API
    refuses (`tokens must be at least 0`): a conversation could then cost less than nothing.
    The import now checks them with the API's own checks (QA round 22d: 06)."""
    conv = start_conversation(project, "p")
    with pytest.raises(UsageError) as api:
        add_message(project, conv.id, "user", "x", tokens=-5)
    assert api.value.message == "tokens must be at least 0, got -5"
    with pytest.raises(UsageError) as api:
        add_message(project, conv.id, "user", "x", cost=-1.0)
    assert api.value.message == "cost must be at least 0, got -1.0"
    m = add_message(project, conv.id, "user", "x", tokens=5, cost=1.0,
                    attachments=[AttachmentInput("code", data="x\n", path="a.py")])
    record_compaction(project, conv.id, "auto", original_message_count=1,
                      compacted_message_count=1, tokens_saved=0, preserved_messages=[m.id])
    lines = _export(project)
    delete_conversation(project, conv.id)
    for kind, field, bad in (("conversation", "total_tokens", -500),
                             ("conversation", "total_cost", -2.5),
                             ("message", "tokens", -500), ("message", "cost", -2.5),
                             ("attachment", "size_bytes", -1),
                             ("compaction", "original_message_count", -1),
                             ("compaction", "compacted_message_count", -1)):
        number = next(i for i, ln in enumerate(lines, 1) if f'"kind": "{kind}"' in ln)
        record = json.loads(lines[number - 1])
        record[field] = bad
        case = [*lines[:number - 1], json.dumps(record), *lines[number:]]
        with pytest.raises(UsageError) as info:
            import_jsonl(project, "\n".join(case).encode())
        assert info.value.message == f"line {number}: {kind}.{field} must be at least 0," \
            f" got {bad}", info.value.message
        assert count(project, "conversations", "conversations") == 0
    assert import_jsonl(project, "\n".join(lines).encode()).conversations == 1


def test_an_upgrade_mends_the_negative_counts_and_costs_an_older_import_stored(
        repo: Path, aircher: object, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Before 905c35b an import took negative tokens, costs, attachment sizes and compaction
    message counts; they survived the upgrade, `conversation list` showed a conversation costing
    -1.5, and the upgraded store's own export no longer imported, all or nothing (QA round 24a:
    03). Opening a store of the previous schema version mends them once, live and archived: a
    count no one knows is null, a message's cost its DEFAULT 0, a conversation's totals the sum
    of its messages'."""
    import sqlite3

    project, live_db, archive_db, place = _store_with_archive(repo, monkeypatch)
    live, gone = "11111111-2222-4333-8444-555555555561", "11111111-2222-4333-8444-555555555562"
    m1, m2, m3 = (f"33333333-2222-4333-8444-55555555556{n}" for n in range(1, 4))
    digest = "a" * 64
    conv_sql = ("INSERT INTO conversations (id, title, created_at, updated_at, provider,"
                " total_tokens, total_cost, status, project_id, worktree_id, context_id{extra})"
                " VALUES (?, 't', '2020-01-01 00:00:00', '2020-01-01 00:00:00', 'x', ?, ?, ?,"
                " ?, ?, ?{marks})")
    msg_sql = ("INSERT INTO messages (id, conversation_id, role, content, tokens, cost,"
               " timestamp, seq) VALUES (?, ?, 'user', 'hi', ?, ?, '2020-01-01 00:00:00', ?)")
    raw = sqlite3.connect(live_db)
    with raw:
        raw.execute(conv_sql.format(extra="", marks=""), (live, -50, -1.5, "active", *place))
        raw.executemany(msg_sql, [(m1, live, -50, -1.5, 1), (m2, live, 7, 0.25, 2)])
        raw.execute("INSERT INTO message_attachments (id, message_id, type, path, content_hash,"
                    " size_bytes) VALUES ('44444444-2222-4333-8444-555555555561', ?, 'code',"
                    " 'a.py', ?, -1)", (m1, digest))
        raw.execute("INSERT INTO compaction_history (id, conversation_id, trigger_type,"
                    " original_message_count, compacted_message_count, tokens_saved,"
                    " performed_at) VALUES ('44444444-2222-4333-8444-555555555562', ?, 'auto',"
                    " -2, -1, -3, '2020-01-01 00:00:00')", (live,))
        raw.execute("PRAGMA user_version = 5")  # before 006, which this test is about
    raw.close()
    raw = sqlite3.connect(archive_db)
    with raw:
        raw.execute("ALTER TABLE conversations ADD COLUMN context_id TEXT")
        raw.execute("ALTER TABLE messages ADD COLUMN seq INTEGER")  # as a first copy adds it
        raw.execute(conv_sql.format(extra=", archived_at", marks=", '2030-02-01 00:00:00'"),
                    (gone, -9, -0.5, "archived", *place))
        raw.execute(msg_sql, (m3, gone, -9, -0.5, 1))
        raw.execute("PRAGMA user_version = 3")  # before the archive's 004
    raw.close()

    run = aircher  # type: ignore[assignment]
    listed = run(repo, "conversation", "list", "--status", "archived", "--json")
    assert [(c["id"], c["total_tokens"], c["total_cost"]) for c in json.loads(listed.out)] == [
        (gone, 0, 0.0)]
    out = tmp_path / "out.jsonl"
    res = run(repo, "conversation", "export", "-o", str(out))
    assert res.code == 0, res.err
    records = [json.loads(line) for line in out.read_text().splitlines()]
    conv = {r["id"]: r for r in records if r["kind"] == "conversation"}
    assert (conv[live]["total_tokens"], conv[live]["total_cost"]) == (7, 0.25)
    assert (conv[gone]["total_tokens"], conv[gone]["total_cost"]) == (0, 0.0)
    assert {r["id"]: (r["tokens"], r["cost"]) for r in records if r["kind"] == "message"} == {
        m1: (None, 0.0), m2: (7, 0.25), m3: (None, 0.0)}
    assert [r["size_bytes"] for r in records if r["kind"] == "attachment"] == [None]
    assert [(r["original_message_count"], r["compacted_message_count"], r["tokens_saved"])
            for r in records if r["kind"] == "compaction"] == [(None, None, -3)]
    table = run(repo, "conversation", "list").out
    assert "-1.5" not in table and "0.2500" in table, table
    # The store's own export imports again, here and into another store, and gives the same
    # bytes back.
    res = run(repo, "conversation", "import", str(out), "--on-conflict", "replace")
    assert res.code == 0, res.out + res.err
    again = tmp_path / "again.jsonl"
    assert run(repo, "conversation", "export", "-o", str(again)).code == 0
    assert again.read_bytes() == out.read_bytes()
    shown = run(repo, "conversation", "show", live)
    assert shown.code == 0 and "None" not in shown.out, shown.out


def _six_conversations_exported(project: Project) -> bytes:
    """An export of six conversations of three messages each, which are then deleted."""
    ids = []
    for n in range(6):
        conv = start_conversation(project, "anthropic", title=f"talk {n}")
        for i in range(3):
            add_message(project, conv.id, "user", f"getCurrentContext {n}.{i}")
        ids.append(conv.id)
    out = io.StringIO()
    export_jsonl(project, out, conversation_ids=ids)
    for cid in ids:
        delete_conversation(project, cid)
    return out.getvalue().encode()


def test_an_import_lets_other_writers_in_between_its_batches(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """A large import held conversations.db's write lock for its whole run (11 s for 40,000
    messages), and an agent recording a message meanwhile failed with "conversations.db is
    busy" (QA round 25d: 02). It writes in batches now: between two, another writer records,
    and what the import has written so far is whole conversations."""
    from gitext.records import jsonl_import

    data = _six_conversations_exported(project)
    monkeypatch.setattr(jsonl_import, "_BATCH_RECORDS", 8)  # two conversations of 4 records
    agent = open_project(project.repo.root)
    mine = start_conversation(agent, "anthropic", title="agent at work")
    between: list[tuple[int, int]] = []

    def on_statement(sql: str) -> None:
        # Called as the importer's writer starts a statement: at a batch's BEGIN, the earlier
        # batches are committed and no lock is held.
        if sql == "BEGIN IMMEDIATE":
            add_message(agent, mine.id, "assistant", "still working")
            between.append((count(agent, "conversations", "conversations") - 1,
                            count(agent, "conversations", "messages")))

    with project.db("conversations").write() as writer:
        pass
    writer.set_trace_callback(on_statement)
    try:
        got = import_jsonl(project, data)
    finally:
        writer.set_trace_callback(None)
        agent.close()
    assert (got.conversations, got.messages) == (6, 18)
    assert len(between) >= 2, between  # the first batch's BEGIN, then at least one more
    agent_messages = range(1, len(between) + 1)
    for (conversations, messages), mine_so_far in zip(between, agent_messages, strict=True):
        assert messages == 3 * conversations + mine_so_far
    assert between[-1][0] > 0
    assert count(project, "conversations", "messages") == 18 + len(between)
    assert search_messages(project, "current")  # the code-aware terms, computed beforehand


def test_an_import_failing_in_a_later_batch_takes_out_the_earlier_ones(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Written in batches (QA round 25d: 02), an import that fails after its first batch
    (a message id the store already has, found only by its insert) leaves nothing of it."""
    from gitext.records import jsonl_import

    lines = _six_conversations_exported(project).decode().splitlines()
    taken = start_conversation(project, "anthropic", title="already here")
    there = add_message(project, taken.id, "user", "mine")
    last = json.loads(lines[-1])
    assert last["kind"] == "message"
    lines[-1] = json.dumps({**last, "id": there.id})
    monkeypatch.setattr(jsonl_import, "_BATCH_RECORDS", 8)
    with pytest.raises(UsageError, match="cannot import this message"):
        import_jsonl(project, "\n".join(lines).encode())
    assert count(project, "conversations", "conversations") == 1
    assert count(project, "conversations", "messages") == 1
