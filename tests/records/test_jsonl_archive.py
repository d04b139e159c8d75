"""Export and import with the conversations archive: an export holds the archived
conversations too, an import puts them back there, and an archived id counts as existing."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from gitext import clock
from gitext.errors import UsageError
from gitext.lifecycle.archive import archive_conversations, archived_ids, restore_archived
from gitext.lifecycle.doctor import diagnose
from gitext.project import Project
from gitext.records import (
    AttachmentInput,
    add_message,
    export_jsonl,
    import_jsonl,
    record_compaction,
    start_conversation,
    start_session,
    update_conversation,
)
from tests.records.helpers import count, rows

T0 = 1_800_000_000.0


def _old_and_new(project: Project) -> tuple[str, str]:
    """Two conversations; the older (with an attachment and a compaction) archived."""
    clock.set_now(T0)
    old = start_conversation(project, "anthropic", title="old talk")
    m = add_message(project, old.id, "user", "ancient words",
                    attachments=[AttachmentInput("code", data="x\n", path="a.py")])
    record_compaction(project, old.id, "auto", original_message_count=1,
                      compacted_message_count=1, tokens_saved=0, preserved_messages=[m.id])
    clock.set_now(T0 + 60)
    new = start_conversation(project, "anthropic", title="new talk")
    add_message(project, new.id, "user", "recent words")
    project.config.values["storage.lifecycle.conversation_max_per_project"] = 1
    assert archive_conversations(project).ids == [old.id]
    return old.id, new.id


def _export(project: Project, ids: list[str] | None = None) -> str:
    buf = io.StringIO()
    export_jsonl(project, buf, conversation_ids=ids)
    return buf.getvalue()


def test_export_holds_archived_conversations_and_import_puts_them_back(
    project: Project, aircher: object, tmp_path: Path,
) -> None:
    """(QA round 3: 12)"""
    old, new = _old_and_new(project)
    buf = io.StringIO()
    counts = export_jsonl(project, buf)
    assert (counts.conversations, counts.archived, counts.messages, counts.attachments,
            counts.compactions) == (2, 1, 2, 1, 1)
    records = [json.loads(line) for line in buf.getvalue().splitlines()]
    convs = {r["id"]: r for r in records if r["kind"] == "conversation"}
    assert list(convs) == [old, new]  # oldest first, the archive's among the live ones
    assert convs[old]["status"] == "archived" and convs[old]["archived_at"] == clock.now()
    assert "archived_at" not in convs[new]
    # By id (a prefix too): the archived one is found.
    assert _export(project, [old[:8]]).count('"kind": "conversation"') == 1

    # Back in: the archived one goes to the archive, unchanged, the live one stays live.
    data = buf.getvalue().encode()
    got = import_jsonl(project, data, on_conflict="replace")
    assert (got.replaced, got.conversations, got.archived) == (2, 2, 1)
    assert archived_ids(project) == {old}
    assert [r[0] for r in rows(project, "conversations", "SELECT id FROM conversations")] == [new]
    assert _export(project) == buf.getvalue()
    assert restore_archived(project, old) == old
    assert count(project, "conversations", "message_attachments") == 1

    run = aircher  # type: ignore[assignment]
    out = tmp_path / "all.jsonl"
    res = run(project.repo.root, "conversation", "export", "-o", str(out))
    assert res.code == 0 and "exported 2 conversations," in res.out


def test_an_archived_id_counts_as_existing_on_import(project: Project) -> None:
    """(QA round 3: 05)"""
    clock.set_now(T0)
    first = start_conversation(project, "anthropic", title="first")
    add_message(project, first.id, "user", "first words")
    data = _export(project, [first.id]).encode()  # exported while live
    clock.set_now(T0 + 60)
    add_message(project, start_conversation(project, "anthropic").id, "user", "later")
    project.config.values["storage.lifecycle.conversation_max_per_project"] = 1
    assert archive_conversations(project).ids == [first.id]

    with pytest.raises(UsageError, match="already exists \\(in the archive\\)"):
        import_jsonl(project, data)
    assert import_jsonl(project, data, on_conflict="skip").skipped == 1
    assert archived_ids(project) == {first.id}
    assert count(project, "conversations", "conversations") == 1
    # replace: the export's copy (a live one) takes the archived copy's place; no two copies.
    assert import_jsonl(project, data, on_conflict="replace").replaced == 1
    assert archived_ids(project) == set()
    assert count(project, "conversations", "conversations") == 2
    assert not [f for f in diagnose(project).problems() if f.check == "archived_and_live"]


def test_doctor_reports_a_conversation_both_archived_and_live_and_restore_replaces_it(
    project: Project, aircher: object,
) -> None:
    """What an import made before imports looked in the archive left (QA round 3: 05)."""
    old, _new = _old_and_new(project)
    with project.db("conversations").write() as conn:
        conn.execute("INSERT INTO conversations (id, provider, status) VALUES (?, 'x', 'active')",
                     (old,))
    (found,) = [f for f in diagnose(project).problems() if f.check == "archived_and_live"]
    assert old in found.message and found.hint and "--replace" in found.hint
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    refused = run(root, "conversation", "restore", old)
    assert refused.code == 1 and "both archived and live" in refused.err
    # The hint's command runs, and the archived copy (its message) is the live one now.
    hint = refused.err.splitlines()[-1]
    assert hint == f"hint: `git aircher conversation restore {old} --replace` puts the" \
        " archived copy in its place"
    replaced = run(root, "conversation", "restore", old[:8], "--replace")
    # Said with the full id, not the prefix typed: the prefix may name another one later.
    assert (replaced.code, replaced.out) == (0, f"restored {old}\n")
    assert archived_ids(project) == set()
    assert rows(project, "conversations", "SELECT provider FROM conversations WHERE id = ?",
                (old,))[0][0] == "anthropic"
    assert count(project, "conversations", "messages") == 2
    assert not [f for f in diagnose(project).problems() if f.check == "archived_and_live"]


def test_an_archived_conversation_is_named_as_archived(
    project: Project, aircher: object,
) -> None:
    """An archived conversation named by `conversation show` or by an agent appending to it
    was "no conversation", with a hint whose command does not list archived ones (QA round 6:
    06): it is named as archived, with the command that restores it."""
    old, _ = _old_and_new(project)
    run = aircher  # type: ignore[assignment]
    for name in (old, old[:8]):
        shown = run(project.repo.root, "conversation", "show", name)
        assert shown.code == 2
        assert shown.err.splitlines() == [
            f"error: conversation {old} is archived",
            f"hint: `git aircher conversation restore {old}` brings it back"]
    # An agent still holding the id, appending to it mid-work, is told the same.
    with pytest.raises(UsageError, match=f"conversation {old} is archived") as exc:
        add_message(project, old, "user", "one more")
    assert exc.value.hint == f"`git aircher conversation restore {old}` brings it back"
    assert count(project, "conversations", "messages") == 1
    # An id neither live nor archived is still no conversation.
    unknown = run(project.repo.root, "conversation", "show", "feedbeef")
    assert unknown.code == 2 and unknown.err.startswith("error: no conversation 'feedbeef'")
    assert restore_archived(project, old) == old
    assert len(add_message(project, old, "user", "one more").content or "") == 8


def test_listing_by_status_archived_shows_the_archive_and_an_unknown_status_is_refused(
    project: Project, aircher: object,
) -> None:
    """`conversation list --status archived` printed `[]` while the retention policy had
    archived a conversation, and an unknown status (`--status bogus`) was an empty list where
    `session list` refuses it (QA round 15b: 02): the archive's conversations are listed (with
    their `archived_at`), here and with `--all`; a status none can have is exit 2."""
    old, new = _old_and_new(project)
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    for extra in ((), ("--all",)):
        listed = run(root, "conversation", "list", "--status", "archived", "--json", *extra)
        assert listed.code == 0, listed.err
        (item,) = json.loads(listed.out)
        assert (item["id"], item["status"], item["archived_at"], item["message_count"]) == (
            old, "archived", clock.now(), 1)
        assert item["title"] == "old talk" and item["context_name"] == "main"
        if extra:
            assert item["branch_name"] == "main" and item["worktree_path"] == str(root)
        table = run(root, "conversation", "list", "--status", "archived", *extra)
        assert table.code == 0 and old[:8] in table.out and "old talk" in table.out
    active = json.loads(run(root, "conversation", "list", "--status", "active", "--json").out)
    assert [c["id"] for c in active] == [new]
    # A live conversation an agent marked archived is listed beside the archive's.
    update_conversation(project, new, status="archived")
    both = json.loads(run(root, "conversation", "list", "--status", "archived", "--json").out)
    assert [c["id"] for c in both] == [new, old] and "archived_at" not in both[0]
    # Any other status an agent gave can be asked for; one nobody gave is refused.
    update_conversation(project, new, status="parked")
    parked = run(root, "conversation", "list", "--status", "parked", "--json")
    assert [c["id"] for c in json.loads(parked.out)] == [new]
    assert json.loads(run(root, "conversation", "list", "--status", "closed", "--json").out) == []
    bogus = run(root, "conversation", "list", "--status", "bogus")
    assert bogus.code == 2 and bogus.out == ""
    assert bogus.err.splitlines() == [
        "error: unknown conversation status 'bogus'",
        "hint: statuses: active, archived, closed, parked"]


def test_a_list_s_limit_bounds_what_is_read_and_the_list_is_the_same(project: Project) -> None:
    """QA round 26f: 03. `conversation list --all --limit 5` and `--status archived --limit 5`
    read and built every conversation (with a count of its messages), live and archived, and
    cut the list in Python after. Each store now gives its first `limit`; the list is the one
    the whole read cut gives, ties of one second and live rows marked archived among them."""
    import sys
    from types import FrameType
    from typing import Any

    from gitext.records.browse import browse_conversations
    from gitext.records.conversations import Conversation

    for i in range(24):
        clock.set_now(T0 + i // 3)  # three to a second
        conv = start_conversation(project, "anthropic" if i % 4 else "openai", title=f"c{i}")
        if i % 5 == 0:
            update_conversation(project, conv.id, status="archived")  # as an agent may
    clock.set_now(T0 + 100)
    project.config.values["storage.lifecycle.conversation_max_per_project"] = 8
    assert len(archive_conversations(project).ids) == 11  # not those marked archived
    built = [0]

    def hook(frame: FrameType, event: str, _arg: Any) -> None:
        if event == "call" and frame.f_code is Conversation.from_row.__code__:
            built[0] += 1

    for all_contexts in (False, True):
        for status in (None, "archived", "active"):
            for provider in (None, "openai"):
                whole = browse_conversations(project, all_contexts=all_contexts,
                                             status=status, provider=provider, limit=None)
                for limit in (1, 3, 5):
                    built[0] = 0
                    sys.setprofile(hook)
                    try:
                        found = browse_conversations(project, all_contexts=all_contexts,
                                                     status=status, provider=provider,
                                                     limit=limit)
                    finally:
                        sys.setprofile(None)
                    assert found == whole[:limit], (all_contexts, status, provider, limit)
                    assert built[0] <= 2 * limit, (all_contexts, status, provider, limit)


def test_searching_the_archive_takes_role_and_context_and_answers_as_the_live_search(
    project: Project, aircher: object,
) -> None:
    """`conversation search --archived` ignored `--role` and `--context` (a user hit for
    `--role assistant`, an unknown context accepted) and answered in another shape: `title`
    for `conversation_title`, no `score` or `context_id`, no [brackets], raw column names in
    the table (QA round 15b: 03). The filters apply, the hits have the live keys (`score`
    null, `archived_at` more) and the words they matched marked."""
    clock.set_now(T0)
    old = start_conversation(project, "anthropic", title="catalog talk")
    add_message(project, old.id, "user", "hello from the user about the log")
    clock.set_now(T0 + 1)
    add_message(project, old.id, "assistant", "hello back; see the catalog")
    add_message(project, old.id, "user", "the café menu has a naïve parser")
    clock.set_now(T0 + 60)
    start_conversation(project, "anthropic", title="newer")
    project.config.values["storage.lifecycle.conversation_max_per_project"] = 1
    assert archive_conversations(project).ids == [old.id]
    run = aircher  # type: ignore[assignment]
    root = project.repo.root

    def search(*args: str) -> list[dict[str, object]]:
        res = run(root, "conversation", "search", *args, "--archived", "--json")
        assert res.code == 0, res.err
        return json.loads(res.out)  # type: ignore[no-any-return]

    (hit,) = search("hello", "--role", "assistant")
    live_keys = {"message_id", "conversation_id", "conversation_title", "role", "timestamp",
                 "snippet", "score", "context_id"}
    assert set(hit) == live_keys | {"archived_at"}
    assert (hit["conversation_id"], hit["conversation_title"], hit["role"], hit["score"],
            hit["archived_at"]) == (old.id, "catalog talk", "assistant", None, clock.now())
    assert hit["snippet"] == "[hello] back; see the catalog"
    assert [h["role"] for h in search("hello")] == ["assistant", "user"]
    assert [h["role"] for h in search("hello", "--context", "main")] == ["assistant", "user"]
    # `log` is a word of one message only, as the live index reads it: not in `catalog`.
    (log,) = search("log")
    assert log["role"] == "user" and log["snippet"].endswith("about the [log]")
    # A title's words find the conversation (no message then), unless a role is asked for.
    (title,) = search("talk")
    assert (title["message_id"], title["role"], title["snippet"]) == (None, None,
                                                                       "catalog [talk]")
    assert search("talk", "--role", "user") == []
    # Case and accents folded as the live index folds them (QA round 16b: 04).
    for words in ("cafe", "CAFÉ", "naive parser"):
        assert [h["snippet"].count("[") for h in search(words)] == [len(words.split())], words
    unknown = run(root, "conversation", "search", "hello", "--archived", "--context", "nosuch")
    assert unknown.code == 2 and unknown.err.startswith("error: no context 'nosuch'")
    # A context holding none of them (a session started after) finds nothing.
    session = start_session(project, "feature")
    assert search("hello", "--context", session.id) == []
    table = run(root, "conversation", "search", "hello", "--archived", "--role", "user")
    header, row = table.out.splitlines()
    assert header.split() == ["conversation", "role", "time", "archived", "title", "snippet"]
    assert row.startswith(old.id[:8] + " ") and "[hello] from the user" in row


def test_an_export_reads_attachments_a_conversation_at_a_time_in_the_order_attached(
    project: Project, aircher: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """QA round 26f: 05. The export read each message's attachments with a statement of its
    own: 300,000 statements for 20,000 conversations. One per conversation now, live or
    archived; each message's attachments still in the order they were attached, those added
    to an earlier message after a later one's too."""
    import sqlite3

    from gitext.lifecycle import logs
    from gitext.lifecycle.dbfiles import ARCHIVE_DB

    ids = []
    for c in range(2):
        clock.set_now(T0 + 60 * c)
        conv = start_conversation(project, "anthropic", title=f"talk {c}")
        ids.append(conv.id)
        for m in range(3):
            add_message(project, conv.id, "user", f"message {m}", attachments=[
                AttachmentInput("code", data=f"{c}{m}{k}\n", path=f"c{c}m{m}k{k}.py")
                for k in range(m)])
    project.config.values["storage.lifecycle.conversation_max_per_project"] = 1
    assert archive_conversations(project).ids == [ids[0]]
    # One more attachment for each conversation's first message, after the others (rowid).
    with project.db("conversations").write() as conn:
        conn.execute("INSERT INTO message_attachments (id, message_id, type, path)"
                     " SELECT '00000000-0000-4000-8000-000000000001', id, 'code', 'late1.py'"
                     " FROM messages WHERE conversation_id = ? AND content = 'message 0'",
                     (ids[1],))
    project.close()
    with sqlite3.connect(project.layout.db(ARCHIVE_DB)) as conn:
        conn.execute("INSERT INTO message_attachments (id, message_id, type, path)"
                     " SELECT '00000000-0000-4000-8000-000000000000', id, 'code', 'late0.py'"
                     " FROM messages WHERE conversation_id = ? AND content = 'message 0'",
                     (ids[0],))
    conn.close()
    monkeypatch.setenv("AIRCHER_STORAGE_MONITORING_SLOW_QUERY_THRESHOLD", "0.001ms")  # all
    out = tmp_path / "all.jsonl"
    run = aircher  # type: ignore[assignment]
    res = run(project.repo.root, "conversation", "export", "-o", str(out))
    assert res.code == 0, res.err
    records = [json.loads(line) for line in out.read_text().splitlines()]
    shown = [r.get("content") or r.get("path") for r in records
             if r["kind"] in ("message", "attachment")]
    assert shown == [
        "message 0", "late0.py", "message 1", "c0m1k0.py", "message 2", "c0m2k0.py", "c0m2k1.py",
        "message 0", "late1.py", "message 1", "c1m1k0.py", "message 2", "c1m2k0.py", "c1m2k1.py"]
    statements = [line for line in logs.log_path(project.layout, "performance").read_text()
                  .splitlines() if "FROM message_attachments" in line]
    assert len(statements) == 2, statements


def test_an_archive_without_seq_exports(project: Project) -> None:
    """An import written into the archive before any archiving run gave it `seq` leaves its
    messages table without the column: the export crashed ("no such column: seq", exit 3).
    Its messages go out in time order, numbered from 1."""
    import sqlite3

    from gitext.lifecycle.dbfiles import ARCHIVE_DB

    old, _ = _old_and_new(project)
    project.close()
    with sqlite3.connect(project.layout.db(ARCHIVE_DB)) as conn:
        conn.execute("ALTER TABLE messages DROP COLUMN seq")
    conn.close()
    records = [json.loads(line) for line in _export(project).splitlines()]
    archived = [r for r in records if r["kind"] == "message" and r["conversation_id"] == old]
    assert [(r["content"], r["seq"]) for r in archived] == [("ancient words", 1)]


def test_prefix_shared_with_an_archived_conversation_is_ambiguous(
        project: Project, aircher: object, tmp_path: Path) -> None:
    """A prefix naming a live and an archived conversation was taken as the live one's, without
    a word, by `show`, `export` and every command taking a conversation, while two live ones
    sharing it were refused: an agent that noted the archived one's prefix read or rated
    another. Every command now refuses it as ambiguous, with the same message
    (QA round 22d: 03)."""
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    live, arch = ("abcd1111-1111-4111-8111-111111111111",
                  "abcd2222-2222-4222-8222-222222222222")
    header = {"kind": "header", "format": "git-aircher-conversations", "version": 1}
    lines = [header,
             {"kind": "conversation", "id": live, "title": "live one", "provider": "p"},
             {"kind": "conversation", "id": arch, "title": "archived one", "provider": "p",
              "status": "archived", "created_at": "2020-01-01 00:00:00",
              "updated_at": "2020-01-01 00:00:00", "archived_at": "2021-01-01 00:00:00"}]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert run(root, "conversation", "import", "--adopt", str(path)).code == 0
    assert archived_ids(project) == {arch}
    ambiguous = "error: conversation id prefix 'abcd' is ambiguous\n"
    for args in (("conversation", "show", "abcd"), ("conversation", "export", "abcd"),
                 ("conversation", "restore", "abcd"),
                 ("knowledge", "effectiveness", "record", "abcd", "0.5"),
                 ("knowledge", "feedback", "record", "src/app.py", "0.5",
                  "--conversation", "abcd"),
                 ("feedback", "src/app.py", "--useful", "0.5", "--conversation", "abcd")):
        res = run(root, *args)
        assert (res.code, res.err.splitlines()[0] + "\n") == (2, ambiguous), args
    assert "live one" in run(root, "conversation", "show", "abcd1").out
    res = run(root, "conversation", "show", "abcd2")
    assert res.code != 0 and f"conversation {arch} is archived" in res.err
    assert '"archived one"' in run(root, "conversation", "export", "abcd2").out
    assert run(root, "conversation", "restore", "abcd2").out == f"restored {arch}\n"
    assert archived_ids(project) == set()
