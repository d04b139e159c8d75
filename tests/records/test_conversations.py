from __future__ import annotations

import io
import json
import os
import uuid
from pathlib import Path

import pytest

from gitext import clock
from gitext.contexts import project_context, worktree_context_id
from gitext.errors import UsageError
from gitext.project import Project
from gitext.records import (
    AttachmentInput,
    add_attachment,
    add_message,
    current_context,
    current_ids,
    delete_conversation,
    export_jsonl,
    get_conversation,
    import_jsonl,
    list_compactions,
    list_messages,
    read_attachment,
    record_compaction,
    start_conversation,
    start_session,
    update_conversation,
)
from gitext.records.browse import conversation_detail
from gitext.records.conversations import conversations_across_worktrees
from gitext.worktrees import worktree_id
from tests.conftest import commit, git
from tests.records.helpers import count, open_project, rows


def test_agent_records_a_full_conversation(project: Project, tmp_path: Path) -> None:
    clock.set_now(1_800_000_000)
    conv = start_conversation(project, "anthropic", model="claude", title="Fix login",
                              context_type="debugging", metadata={"tool": "agent"})
    assert uuid.UUID(conv.id)
    with project.db("knowledge").read() as conn:
        proj = project_context(conn)
    assert proj is not None
    assert conv.project_id == proj.id
    assert conv.worktree_id == worktree_id(proj.id, project.repo.root)
    assert conv.context_id == worktree_context_id(proj.id, "main")
    assert conv.session_id is None and conv.total_tokens == 0

    source = tmp_path / "notes.txt"
    source.write_bytes(b"stack trace\n")
    clock.set_now(1_800_000_060)
    first = add_message(project, conv.id, "user", "Why does login fail?", tokens=12, cost=0.25,
                        attachments=[AttachmentInput("file", source=source, path="notes.txt"),
                                     AttachmentInput("code", data="print('x')\n")])
    second = add_message(project, conv.id, "assistant", "The token expired.", tokens=30,
                         cost=0.5, tool_calls=[{"name": "read", "args": {"path": "auth.py"}}],
                         tool_results=[{"ok": True}])
    after = get_conversation(project, conv.id)
    assert (after.total_tokens, after.total_cost) == (42, 0.75)
    assert after.updated_at == clock.to_ts(1_800_000_060) != conv.updated_at
    assert after.message_count == 2

    msgs = list_messages(project, conv.id)
    assert [m.id for m in msgs] == [first.id, second.id]
    assert [m.seq for m in msgs] == [1, 2]
    assert msgs[1].tool_calls == [{"name": "read", "args": {"path": "auth.py"}}]
    assert msgs[0].project_id == conv.project_id and msgs[0].worktree_id == conv.worktree_id
    files = {a.type: a for a in msgs[0].attachments}
    assert files["file"].path == "notes.txt" and files["file"].size_bytes == 12
    assert read_attachment(project, files["file"].id) == b"stack trace\n"
    stored = project.layout.attachments / files["code"].content_hash[:2] / \
        files["code"].content_hash
    assert stored.read_bytes() == b"print('x')\n"

    comp = record_compaction(project, conv.id, "token_limit", original_message_count=2,
                             compacted_message_count=1, tokens_saved=30, summary="expired token",
                             preserved_messages=[first.id])
    assert list_compactions(project, conv.id) == [comp]
    assert comp.preserved_messages == [first.id]


def test_attachments_are_deduplicated_and_named_by_content(project: Project,
                                                            tmp_path: Path) -> None:
    conv = start_conversation(project, "p")
    evil = tmp_path / "..evil name;rm -rf"
    evil.write_bytes(b"same bytes")
    m = add_message(project, conv.id, "user", "a",
                    attachments=[AttachmentInput("file", source=evil),
                                 AttachmentInput("file", data=b"same bytes", path="../../x")])
    add_attachment(project, m.id, AttachmentInput("diff", data=b"same bytes"))
    stored = [p for p in project.layout.attachments.rglob("*") if p.is_file()]
    assert len(stored) == 1
    digest = stored[0].name
    assert len(digest) == 64 and stored[0].parent.name == digest[:2]
    assert count(project, "conversations", "message_attachments") == 3
    assert {r[0] for r in rows(project, "conversations",
                               "SELECT content_hash FROM message_attachments")} == {digest}


def test_attachments_keep_credentials_out(project: Project, tmp_path: Path) -> None:
    """An attachment copied a `.env` or `id_rsa` byte for byte into the store, and a key
    pasted as text stayed whole, while everywhere else the store never reads a file named like
    a secret and redacts key-shaped strings (QA round 10c: 02)."""
    conv = start_conversation(project, "p")
    key = "sk-proj-" + "Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz"
    (tmp_path / ".env").write_text(f"OPENAI_API_KEY={key}\nDB_PASSWORD=hunter2\n")
    (tmp_path / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n")
    for refused in (AttachmentInput("file", data=b"x", path="config/.env.local"),
                    AttachmentInput("file", source=tmp_path / ".env", path="settings.txt"),
                    AttachmentInput("file", source=tmp_path / "id_rsa")):
        with pytest.raises(UsageError, match=r"cannot attach .*(\.env|id_rsa).*credentials"):
            add_message(project, conv.id, "user", "see attached",
                        attachments=[AttachmentInput("code", data="fine"), refused])
    assert count(project, "conversations", "messages") == 0
    assert not project.layout.attachments.exists() or not any(
        p.is_file() for p in project.layout.attachments.rglob("*"))

    log = tmp_path / "run.log"
    log.write_text(f"calling with\n{key}\ndone\n")
    png = b"\x89PNG\r\n\x1a\n\x00\x00" + key.encode()
    m = add_message(project, conv.id, "tool", "output",
                    attachments=[AttachmentInput("file", source=log),
                                 AttachmentInput("code", data=f"api_key = '{key}'\n"),
                                 AttachmentInput("file", data=f"token={key}".encode()),
                                 AttachmentInput("image", data=png)])
    got = [read_attachment(project, a.id) for a in m.attachments]
    assert got[:3] == [b"calling with\n[redacted]\ndone\n", b"api_key = '[redacted]'\n",
                       b"token=[redacted]"]
    assert got[3] == png  # binary content is stored as given
    assert m.attachments[0].size_bytes == len(got[0])

    # A link named innocently to a secret file, and UTF-16 text (NUL bytes, yet text by its
    # byte-order mark) (QA round 11a: 03, 04).
    (tmp_path / "current-settings").symlink_to(tmp_path / ".env")
    with pytest.raises(UsageError, match=r"cannot attach .*\.env.*credentials"):
        add_message(project, conv.id, "user", "x",
                    attachments=[AttachmentInput("file", source=tmp_path / "current-settings")])
    wide = tmp_path / "out.txt"
    wide.write_bytes(f"key: {key}\r\n".encode("utf-16"))
    m = add_message(project, conv.id, "tool", "output",
                    attachments=[AttachmentInput("file", source=wide),
                                 AttachmentInput("file", data=wide.read_bytes())])
    for a in m.attachments:
        assert read_attachment(project, a.id).decode("utf-16") == "key: [redacted]\r\n"


def test_deleting_a_conversation_deletes_its_attachment_files(project: Project) -> None:
    """delete_conversation took the rows and left the attachments' files (a pasted secret too)
    in .agents/content/attachments/ for good, copied by every backup (QA round 10c: 05). Files
    of the same bytes attached elsewhere, live or archived, stay."""
    from gitext.lifecycle.archive import archive_conversations
    from gitext.records import delete_conversation
    from gitext.records.attachments import content_path, insert, prepare

    root = project.layout.attachments
    t0 = 1_800_000_000
    convs, files = [], {}
    for n, blobs in enumerate(([b"archived too"], [b"shared"],
                               [b"DB_PASSWORD=only-here\n", b"shared", b"archived too"])):
        clock.set_now(t0 + n)
        conv = start_conversation(project, "p")
        m = add_message(project, conv.id, "user", "see attached",
                        attachments=[AttachmentInput("file", data=b) for b in blobs])
        files.update({b: content_path(root, a.content_hash or "")
                      for b, a in zip(blobs, m.attachments, strict=True)})
        convs.append((conv, m))
    project.config.values["storage.lifecycle.conversation_max_per_project"] = 2
    assert archive_conversations(project).archived == 1
    delete_conversation(project, convs[2][0].id)
    assert not files[b"DB_PASSWORD=only-here\n"].exists()
    assert files[b"shared"].exists() and files[b"archived too"].exists()
    assert read_attachment(project, convs[1][1].attachments[0].id) == b"shared"

    # A writer that found the file present before the deletion took it stores it again.
    prepared = prepare(project, AttachmentInput("file", data=b"shared"))
    delete_conversation(project, convs[1][0].id)
    assert not files[b"shared"].exists()
    kept = start_conversation(project, "p")
    m = add_message(project, kept.id, "user", "x")
    with project.db("conversations").write() as conn:
        insert(conn, root, m.id, [prepared])
    assert files[b"shared"].read_bytes() == b"shared"


def test_compaction_refuses_messages_of_another_conversation(project: Project) -> None:
    a = start_conversation(project, "p")
    b = start_conversation(project, "p")
    other = add_message(project, b.id, "user", "elsewhere")
    with pytest.raises(UsageError, match="not a message of conversation"):
        record_compaction(project, a.id, "manual", preserved_messages=[other.id])
    assert count(project, "conversations", "compaction_history") == 0


def test_compactions_of_one_second_keep_the_order_they_were_made_in(project: Project) -> None:
    """An agent compacts several times in one second: ordered by the random id after the
    time, the history came back shuffled (`show` printed 9 -> 8, 7 -> 6, 6 -> 5, 8 -> 7), in
    export too (QA round 26e: 04). It is the order they were made in, and an import keeps it."""
    clock.set_now(1_796_000_000.0)
    conv = start_conversation(project, "p")
    add_message(project, conv.id, "user", "x")
    for i in range(8):
        record_compaction(project, conv.id, "token_limit", summary=f"pass {i}",
                          original_message_count=20 - i, compacted_message_count=19 - i)
    made = [f"pass {i}" for i in range(8)]
    assert [c.summary for c in list_compactions(project, conv.id)] == made
    assert [c["summary"] for c in conversation_detail(project, conv.id)["compactions"]] == made
    out = io.StringIO()
    export_jsonl(project, out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["summary"] for r in lines if r["kind"] == "compaction"] == made
    delete_conversation(project, conv.id)
    import_jsonl(project, out.getvalue().encode())
    assert [c.summary for c in list_compactions(project, conv.id)] == made


BAD_MESSAGES: list[tuple[dict[str, object], str]] = [
    ({"role": "wizard", "content": "x"}, "role must be one of"),
    ({"role": "user", "content": "x", "tokens": -1}, "tokens must be at least 0"),
    ({"role": "user", "content": "x", "cost": float("nan")}, "cost must be a finite number"),
    # an open upper bound is left out of the message, not shown as 'None'
    ({"role": "user", "content": "x", "cost": -1}, "^cost must be at least 0, got -1$"),
    ({"role": "user", "content": "bad \udc80 surrogate"}, "not valid Unicode"),
    ({"role": "user", "content": "x", "metadata": {"f": object()}}, "not JSON-serialisable"),
    ({"role": "user", "content": "x", "attachments": [AttachmentInput("movie", data=b"1")]},
     "attachment type"),
]


def test_bad_message_is_refused_whole(project: Project) -> None:
    conv = start_conversation(project, "p")
    for kwargs, message in BAD_MESSAGES:
        with pytest.raises(UsageError, match=message):
            add_message(project, conv.id, **kwargs)  # type: ignore[arg-type]
    assert count(project, "conversations", "messages") == 0
    assert count(project, "conversations", "message_attachments") == 0
    assert get_conversation(project, conv.id).total_tokens == 0


def test_unknown_conversation_and_bad_fields(project: Project) -> None:
    with pytest.raises(UsageError, match="no conversation"):
        add_message(project, str(uuid.uuid4()), "user", "x")
    with pytest.raises(UsageError, match="context_type"):
        start_conversation(project, "p", context_type="party")
    with pytest.raises(UsageError, match="provider"):
        start_conversation(project, "  ")
    with pytest.raises(UsageError, match="no conversation"):
        get_conversation(project, "%%%%")  # a LIKE wildcard is not a prefix of everything
    conv = start_conversation(project, "p")
    # Shorter than a prefix can be: said so, not "no conversation" for one that exists.
    with pytest.raises(UsageError, match=f"prefix '{conv.id[:3]}' is too short: give at least 4"):
        get_conversation(project, conv.id[:3])
    assert get_conversation(project, conv.id[:4]).id == conv.id
    delete_conversation(project, conv.id)
    assert count(project, "conversations", "conversations") == 0


def test_sql_metacharacters_are_data(project: Project) -> None:
    nasty = "Robert'); DROP TABLE conversations; -- \"%_\\ ' OR 1=1"
    conv = start_conversation(project, nasty, title=nasty, metadata={nasty: nasty})
    add_message(project, conv.id, "user", nasty)
    update_conversation(project, conv.id, status="archived")
    got = get_conversation(project, conv.id)
    assert (got.title, got.provider, got.metadata, got.status) == \
        (nasty, nasty, {nasty: nasty}, "archived")
    assert list_messages(project, conv.id)[0].content == nasty
    assert count(project, "conversations", "conversations") == 1


def test_a_one_megabyte_message(project: Project) -> None:
    conv = start_conversation(project, "p")
    big = ("needle " + "x" * 1000 + "\n") * 1040
    assert len(big) > 1_000_000
    add_message(project, conv.id, "user", big, tokens=250_000)
    assert list_messages(project, conv.id)[0].content == big
    assert get_conversation(project, conv.id).total_tokens == 250_000


def test_conversation_in_a_session_and_after_a_branch_switch(project: Project) -> None:
    session = start_session(project, "feature", "login work")
    conv = start_conversation(project, "p")
    assert conv.session_id == session.id and conv.context_id == session.context_id
    git(project.repo.root, "switch", "-q", "-c", "other")
    ctx = current_context(project)
    assert (ctx.context_type, ctx.name) == ("worktree", "other")
    later = start_conversation(project, "p")
    assert later.session_id is None and later.context_id == ctx.id


def test_ids_given_to_start_conversation_must_name_this_store_s(project: Project) -> None:
    """QA round 26e: 01: a context, project or worktree id naming nothing, or a session filed
    under another session's context, was stored as given: an orphan doctor reported, or a
    conversation in no list, or one `session show` of the wrong session listed."""
    first = start_session(project, "feature", "one")
    second = start_session(project, "review", "two")
    branch = current_ids(project).branch_context
    bad = [({"context_id": "nope"}, "no context 'nope'"),
           ({"project_id": "bogus"}, "no project 'bogus'"),
           ({"project_id": branch.id}, "must be the project context's id"),
           ({"worktree_id": "bogus"}, "no worktree 'bogus'"),
           ({"session_id": "bogus", "context_id": second.context_id}, "no session 'bogus'"),
           ({"session_id": second.id, "context_id": first.context_id},
            f"session {second.id} is not of context {first.context_id}"),
           ({"session_id": second.id, "context_id": branch.id}, "is not of context")]
    for kwargs, message in bad:
        with pytest.raises(UsageError, match=message):
            start_conversation(project, "p", **kwargs)
    assert count(project, "conversations", "conversations") == 0
    ids = current_ids(project)
    conv = start_conversation(project, "p", project_id=ids.project_id,
                              worktree_id=ids.worktree_id, session_id=first.id,
                              context_id=first.context_id)
    assert (conv.session_id, conv.context_id) == (first.id, first.context_id)
    alone = start_conversation(project, "p", session_id=first.id)
    assert alone.context_id == first.context_id
    assert start_conversation(project, "p", context_id=branch.id).context_id == branch.id


def test_conversations_across_worktrees(project: Project, repo: Path) -> None:
    commit(repo, {"b.py": "b\n"}, "second")
    linked = repo.parent / "linked"
    git(repo, "worktree", "add", "-q", "-b", "feature", str(linked))
    start_conversation(project, "p", title="on main", context_type="debugging")
    other = open_project(linked)
    try:
        start_conversation(other, "p", title="on feature", context_type="debugging")
        start_conversation(other, "p", title="plain")
    finally:
        other.close()
    found = conversations_across_worktrees(project, context_type="debugging")
    by_title = {r["title"]: r for r in found}
    assert set(by_title) == {"on main", "on feature"}
    assert by_title["on feature"]["branch_name"] == "feature"
    assert by_title["on feature"]["worktree_path"] == str(linked.resolve())
    assert by_title["on main"]["context_name"] == "main"
    assert os.path.samefile(by_title["on main"]["worktree_path"], repo)


def test_listing_every_worktree_names_each_conversation_s_own_context(
        project: Project, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gitext.cli import main

    conv = start_conversation(project, "p", title="made on main")
    add_message(project, conv.id, "user", "hello")
    add_message(project, conv.id, "assistant", "hi")
    git(repo, "switch", "-q", "-c", "other")  # the worktree's branch is now another
    assert main(["-C", str(repo), "sync"]) == 0
    [row] = conversations_across_worktrees(project)
    assert (row["message_count"], row["context_name"], row["branch_name"]) == (2, "main", "other")
    capsys.readouterr()
    assert main(["-C", str(repo), "conversation", "list", "--all"]) == 0
    line = capsys.readouterr().out.splitlines()[1].split()
    # Before: "other" (the worktree's branch now) and "-" for the message count.
    assert line[3:5] == ["main", "general"] and line[6] == "2"


def test_listing_one_context_and_every_worktree_at_once_is_refused(
        project: Project, repo: Path, aircher: object) -> None:
    """`conversation list --context feat --all` listed every branch's conversations, and
    `--context nosuch --all` too, without a word: `--all` silently won (QA round 15b: 09).
    The two alternatives of the synopsis together are bad input, exit 2."""
    run = aircher  # type: ignore[assignment]
    start_conversation(project, "p", title="on main")
    git(repo, "switch", "-q", "-c", "feat")
    assert run(repo, "sync").code == 0  # feat's context
    git(repo, "switch", "-q", "main")
    assert run(repo, "sync").code == 0
    assert run(repo, "conversation", "list", "--context", "feat").out == "no conversations\n"
    for name in ("feat", "nosuch"):
        both = run(repo, "conversation", "list", "--context", name, "--all", "--json")
        assert both.code == 2 and both.out == ""
        assert both.err.splitlines() == [
            "error: --context and --all do not go together",
            "hint: --context NAME lists one branch's or session's conversations, --all every"
            " worktree's"]
    assert len(json.loads(run(repo, "conversation", "list", "--all", "--json").out)) == 1


def test_human_output_escapes_terminal_control_sequences_in_stored_text(
        project: Project, aircher: object) -> None:
    from gitext.records import add_decision, upsert_component

    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    clip = "\x1b]52;c;cm0gLXJmIH4=\x07"  # OSC 52: writes the user's clipboard
    start_session(project, "feature", f"session {clip}")
    conv = start_conversation(project, "p", title=f"fix build {clip} done")
    add_message(project, conv.id, "user", "hello \x1b]0;pwned\x07 world\r\nline two\tand \x9b2J")
    add_decision(project, "storage", f"decision {clip}")
    upsert_component(project, "auth", "module", description=f"component {clip}")
    outputs = {args: run(root, *args) for args in [
        ("conversation", "list"), ("conversation", "search", "hello"),
        ("conversation", "show", conv.id), ("session", "list"), ("session", "show"),
        ("decision", "list"), ("knowledge", "components", "list")]}
    for args, r in outputs.items():
        assert r.code == 0, (args, r.err)
        assert not any(c in r.out for c in "\x1b\x07\x9b\r"), (args, r.out)
    # Shown escaped, as git quotes a path; a message keeps its lines and tabs.
    assert "fix build \\033]52;c;cm0gLXJmIH4=\\a done" in outputs["conversation", "list"].out
    shown = outputs["conversation", "show", conv.id].out
    assert "hello \\033]0;pwned\\a world\nline two\tand \\302\\2332J" in shown
    # JSON is for programs and already escapes control characters: the text comes back whole.
    out = run(root, "conversation", "show", conv.id, "--json").out
    assert "\x1b" not in out and json.loads(out)["title"] == f"fix build {clip} done"


def test_json_output_escapes_del_and_c1_controls(project: Project, aircher: object) -> None:
    """json.dumps with ensure_ascii=False escaped ESC but left DEL and the C1 controls raw, so
    `--json` shown on a terminal could carry a CSI (U+009B) sequence (session 18: cli-1)."""
    from gitext.records import upsert_component

    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    odd = "a\x1b[2Jb\x7fc\x9b2Jd"
    conv = start_conversation(project, "p", title=f"title {odd}")
    add_message(project, conv.id, "user", f"pangolin {odd}")
    upsert_component(project, "auth", "module", description=f"component {odd}")
    name = f"src/{odd}.py"
    commit(root, {name: "pangolin = 1\n"}, "an odd name")
    assert run(root, "index").code == 0
    outputs = {args: run(root, *args) for args in [
        ("conversation", "show", conv.id, "--json"),
        ("conversation", "search", "pangolin", "--json"),
        ("knowledge", "components", "list", "--json"),
        ("search", "--json", "--mode", "text", "--", "pangolin"),
        ("conversation", "export", conv.id)]}  # JSONL, most often read in a pager
    for args, r in outputs.items():
        assert r.code == 0, (args, r.err)
        assert not any(c in r.out for c in "\x1b\x7f\x9b"), (args, r.out)
        # JSON's own escapes: the value is exact for a program.
        assert "\\u001b" in r.out and "\\u007f" in r.out and "\\u009b" in r.out, (args, r.out)
    shown = json.loads(outputs["conversation", "show", conv.id, "--json"].out)
    assert shown["title"] == f"title {odd}"
    assert shown["messages"][0]["content"] == f"pangolin {odd}"
    [component] = json.loads(outputs["knowledge", "components", "list", "--json"].out)
    assert component["description"] == f"component {odd}"
    hits = json.loads(outputs["search", "--json", "--mode", "text", "--", "pangolin"].out)
    assert name in {h["path"] for h in hits}
    exported = outputs["conversation", "export", conv.id].out
    lines = [json.loads(line) for line in exported.splitlines()]
    assert [m["content"] for m in lines if m["kind"] == "message"] == [f"pangolin {odd}"]


def test_a_limit_below_one_is_refused_not_taken_as_one_row(project: Project,
                                                            aircher: object) -> None:
    """`limit=0` (or -1) gave one row through the API, where the CLI's `--limit 0` means all
    (QA round 26e saw it): an agent asking for "no limit" got a list of one. Each list now
    refuses it; None is all, as documented, and the CLI's 0 still is."""
    from gitext.insights.queries import context_insights
    from gitext.records import list_conversations, list_decisions, list_patterns
    from gitext.records.browse import browse_conversations, search_scope

    for i in range(3):
        add_message(project, start_conversation(project, "p", title=f"t{i}").id, "user", "hi")
    assert len(list_conversations(project, limit=None)) == 3
    assert len(browse_conversations(project, limit=2)) == 2
    for call in (lambda n: list_conversations(project, limit=n),
                 lambda n: browse_conversations(project, limit=n),
                 lambda n: browse_conversations(project, all_contexts=True, limit=n),
                 lambda n: browse_conversations(project, status="archived", limit=n),
                 lambda n: search_scope(project, "hi", limit=n),
                 lambda n: search_scope(project, "hi", limit=n, archived=True),
                 lambda n: list_decisions(project, limit=n),
                 lambda n: list_patterns(project, limit=n),
                 lambda n: context_insights(project, limit=n)):
        for bad in (0, -1):
            with pytest.raises(UsageError, match="limit must be at least 1"):
                call(bad)
    project.close()
    r = aircher(project.repo.root, "conversation", "list", "--limit", "0", "--json")  # type: ignore[operator]
    assert r.code == 0 and len(json.loads(r.out)) == 3, r
