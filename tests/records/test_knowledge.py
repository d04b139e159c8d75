from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gitext.errors import UsageError
from gitext.project import Project
from gitext.records import (
    add_decision,
    add_message,
    analyze_doc,
    current_context,
    list_decisions,
    record_effectiveness,
    record_feedback,
    record_pattern,
    record_pattern_outcome,
    refresh_docs,
    revert_decision,
    start_conversation,
    start_session,
    supersede_decision,
    upsert_component,
)
from gitext.records.docs_analysis import blob_id, list_docs
from gitext.records.knowledge import list_components
from tests.conftest import commit
from tests.records.helpers import count, rows


def test_decisions_move_one_way(project: Project) -> None:
    old = add_decision(project, "storage", "Use SQLite", rationale="local, no server",
                       alternatives=["Postgres"], tags=["db"])
    assert old.context_id == current_context(project).id and old.status == "active"
    new = add_decision(project, "storage", "SQLite with WAL")
    done = supersede_decision(project, old.id[:8], by=new.id)
    assert (done.status, done.superseded_by) == ("superseded", new.id)
    with pytest.raises(UsageError, match="superseded, not active"):
        revert_decision(project, old.id)
    assert revert_decision(project, new.id).status == "reverted"
    lone = add_decision(project, "x", "y")
    with pytest.raises(UsageError, match="cannot supersede itself"):
        supersede_decision(project, lone.id, by=lone.id)
    revert_decision(project, lone.id)
    assert [d.title for d in list_decisions(project, status="superseded")] == ["Use SQLite"]
    assert len(list_decisions(project, status=None)) == 3
    with pytest.raises(UsageError, match="title"):
        add_decision(project, "storage", "")


def test_supersede_only_by_an_active_decision(project: Project, aircher: object) -> None:
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    a = add_decision(project, "storage", "Use SQLite")
    b = add_decision(project, "storage", "Use Postgres")
    c = add_decision(project, "storage", "Use files")
    supersede_decision(project, a.id, by=b.id)
    # B superseded by A (already superseded by B) would be a cycle with nothing in force.
    res = run(root, "decision", "supersede", b.id, "--by", a.id)
    assert res.code == 2 and res.err.count("\n") == 1 and res.err.startswith("error: ")
    assert "superseded, not active" in res.err
    revert_decision(project, c.id)
    with pytest.raises(UsageError, match="reverted, not active"):
        supersede_decision(project, b.id, by=c.id)
    assert [d.title for d in list_decisions(project)] == ["Use Postgres"]


def test_decision_cli(project: Project, aircher: object) -> None:
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    first = run(root, "decision", "add", "Use click", "--rationale", "lazy groups",
                "--alternative", "argparse", "--tag", "cli").out.strip()
    second = run(root, "decision", "add", "Use click 8", "--json")
    second_id = json.loads(second.out)["id"]
    listed = json.loads(run(root, "decision", "list", "--json").out)
    assert {d["id"] for d in listed} == {first, second_id}
    assert listed[0]["context_name"] == "main"
    assert run(root, "decision", "supersede", first, "--by", second_id).code == 0
    assert run(root, "decision", "revert", second_id).code == 0
    assert json.loads(run(root, "decision", "list", "--json").out) == []
    everything = json.loads(run(root, "decision", "list", "--status", "all", "--json").out)
    assert {d["status"] for d in everything} == {"superseded", "reverted"}
    assert run(root, "decision", "revert", "nope").code == 2


def test_components_patterns_effectiveness_feedback(project: Project) -> None:
    a = upsert_component(project, "gitext/store", "module", description="databases",
                         confidence=0.8, evidence={"files": 3})
    b = upsert_component(project, "gitext/store", "module", description="the store")
    assert a.id == b.id and count(project, "knowledge", "project_components") == 1
    assert list_components(project)[0].description == "the store"
    with pytest.raises(UsageError, match="confidence"):
        upsert_component(project, "x", "module", confidence=1.5)
    # Only the fields given change: the confidence above did not erase the evidence.
    assert (b.confidence, b.evidence) == (0.8, {"files": 3})

    p = record_pattern(project, "testing", "real repos, no mocks", confidence=0.8)
    ctx = current_context(project)
    assert p.discovered_in_context == ctx.id and p.applicable_contexts == [ctx.id]
    p = record_pattern_outcome(project, p.id, success=True)
    p = record_pattern_outcome(project, p.id, success=False)
    assert (p.usage_count, p.effectiveness_rating) == (2, 0.5)
    assert p.cross_context_effectiveness[ctx.id] == {
        "name": "main", "type": "worktree", "uses": 2, "successes": 1, "score": 0.5}

    conv = start_conversation(project, "p", context_type="feature")
    add_message(project, conv.id, "user", "hi", tokens=40, cost=0.5)
    eff = record_effectiveness(project, conv.id, success_score=0.9, user_satisfaction=5)
    assert (eff.task_type, eff.tokens_used, eff.cost) == ("feature", 40, 0.5)
    with pytest.raises(UsageError, match="user_satisfaction"):
        record_effectiveness(project, conv.id, success_score=0.5, user_satisfaction=6)
    with pytest.raises(UsageError, match="no conversation"):
        record_effectiveness(project, "1234-nope", success_score=0.5)
    with pytest.raises(UsageError, match="completion_time_minutes"):
        record_effectiveness(project, conv.id, success_score=0.5, completion_time_minutes=-3)
    fb = record_feedback(project, "src/app.py", actual_usefulness=1.0, relevance_score=0.3,
                         conversation_id=conv.id)
    assert (fb.file_path, fb.feedback_source) == ("src/app.py", "explicit")
    with pytest.raises(UsageError, match="actual_usefulness"):
        record_feedback(project, "x", actual_usefulness=-0.1)


def test_knowledge_feedback_path_is_taken_as_feedback_takes_it(
    project: Project, aircher: object
) -> None:
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    (root.parent / "outside.py").write_text("x = 1\n")
    for bad in ("/etc/passwd", ".", "../outside.py", str(root.parent / "outside.py"), "nope.py"):
        res = run(root, "knowledge", "feedback", "record", bad, "0.5")
        assert res.code == 2 and res.err.startswith("error: "), bad
    with project.db("file_index").write() as conn:
        conn.execute("DELETE FROM relevance_dirty")  # as a refresh leaves it
    # Relative to the current directory, as git takes paths: ./app.py in src/ is src/app.py.
    assert run(root / "src", "knowledge", "feedback", "record", "./app.py", "1").code == 0
    stored = json.loads(run(root, "knowledge", "feedback", "list", "--json").out)
    assert [f["file_path"] for f in stored] == ["src/app.py"]
    # The stored scores are recomputed at the next refresh, as after `git aircher feedback`.
    assert [r[0] for r in rows(project, "file_index", "SELECT f.path FROM relevance_dirty d"
                               " JOIN files f ON f.id = d.file_id")] == ["src/app.py"]
    scores = {f["path"]: f["components"]["success_correlation"]
              for f in json.loads(run(root, "relevant", "--json").out)}
    assert scores["src/app.py"] > 0



def test_knowledge_feedback_list_path_is_taken_as_feedback_takes_it(
    project: Project, aircher: object
) -> None:
    """`knowledge feedback list --path s.py` in `sub/` took the path from the root and listed
    nothing, where `feedback` and `knowledge feedback record` (and git) take it from the current
    directory; it now takes it as they do (QA round 22b: 04)."""
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    src = root / "src"
    assert run(src, "feedback", "app.py", "--useful", "1").code == 0
    assert run(src, "knowledge", "feedback", "record", "app.py", "0.9").code == 0

    def listed(cwd: Path, path: str) -> list[str]:
        res = run(cwd, "knowledge", "feedback", "list", "--path", path, "--json")
        assert res.code == 0, res.err
        return [f["file_path"] for f in json.loads(res.out)]

    for cwd, path in ((src, "app.py"), (src, "./app.py"), (root, "src/app.py"),
                      (src, str(src / "app.py"))):
        assert listed(cwd, path) == ["src/app.py", "src/app.py"], (cwd, path)
    assert listed(src, "../README.md") == []
    outside = run(src, "knowledge", "feedback", "list", "--path", "../../x.py")
    assert outside.code == 2 and outside.err.startswith("error: ")

def test_knowledge_cli(project: Project, aircher: object) -> None:
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    assert run(root, "knowledge", "components", "add", "cli", "layer").code == 0
    assert json.loads(run(root, "knowledge", "components", "list", "--json").out)[0][
        "component"] == "cli"
    pid = run(root, "knowledge", "patterns", "add", "review", "small PRs").out.strip()
    # Neither flag is an error, not a silent success.
    forgot = run(root, "knowledge", "patterns", "outcome", pid)
    assert forgot.code == 2 and "--success or --failure" in forgot.err
    assert run(root, "knowledge", "patterns", "outcome", pid, "--failure").code == 0
    pats = json.loads(run(root, "knowledge", "patterns", "list", "--json").out)
    assert pats[0]["usage_count"] == 1 and pats[0]["effectiveness_rating"] == 0.0
    conv = start_conversation(project, "p")
    assert run(root, "knowledge", "effectiveness", "record", conv.id, "0.7").code == 0
    assert json.loads(run(root, "knowledge", "effectiveness", "list", "--json").out)[0][
        "success_score"] == 0.7
    assert run(root, "knowledge", "feedback", "record", "src/app.py", "0.2").code == 0
    assert json.loads(run(root, "knowledge", "feedback", "list", "--json").out)[0][
        "file_path"] == "src/app.py"
    assert run(root, "knowledge", "effectiveness", "record", conv.id, "7").code == 2


def test_updating_a_component_from_the_cli_keeps_what_it_does_not_name(
        project: Project, aircher: object) -> None:
    run = aircher  # type: ignore[assignment]
    upsert_component(project, "auth", "module", description="login and token refresh",
                     confidence=0.5, evidence=["auth.py"], metadata={"owner": "agent"})
    assert run(project.repo.root, "knowledge", "components", "add", "auth", "module",
               "--confidence", "0.9").code == 0
    [c] = list_components(project)
    assert (c.description, c.confidence, c.evidence, c.metadata) == (
        "login and token refresh", 0.9, ["auth.py"], {"owner": "agent"})


def test_knowledge_lists_take_a_limit_and_say_when_they_are_cut(
        project: Project, aircher: object) -> None:
    # 105 rows each, past the 100 a table shows by default: a table says it was cut, JSON has
    # every row unless --limit asks for fewer, and says so too (before, it was cut at 100
    # without a word: session 18, cli-3).
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    conv = start_conversation(project, "p")
    for i in range(105):
        record_feedback(project, "src/app.py", actual_usefulness=0.5)  # an indexed file
        record_effectiveness(project, conv.id, success_score=0.5)
        record_pattern(project, "review", f"pattern {i}")
    for kind in ("feedback", "effectiveness", "patterns"):
        assert_cut_only_when_asked(run, root, ("knowledge", kind, "list"), 105, 100)
    assert_cut_only_when_asked(run, root, ("context", "patterns"), 105, 100)
    assert run(root, "knowledge", "feedback", "list", "--limit", "-1").code == 2


def assert_cut_only_when_asked(run: Any, root: Path, command: tuple[str, ...], n: int,
                               default: int) -> None:
    """`command` lists n > default rows: JSON all of them, a table `default`; --limit N
    cuts both, and a cut list says so on stderr."""
    note = "note: the first {} shown; --limit 0 shows all\n"
    full = run(root, *command, "--json")
    assert (full.code, len(json.loads(full.out)), full.err) == (0, n, ""), command
    table = run(root, *command)
    assert (table.code, len(table.out.splitlines()), table.err) == (
        0, default + 1, note.format(default)), command
    few = run(root, *command, "--json", "--limit", "3")
    assert (len(json.loads(few.out)), few.err) == (3, note.format(3)), command
    assert len(run(root, *command, "--limit", "3").out.splitlines()) == 4, command
    for every in ("0", str(n)):
        whole = run(root, *command, "--limit", every)
        assert (len(whole.out.splitlines()), whole.err) == (n + 1, ""), command
        assert len(json.loads(run(root, *command, "--json", "--limit", every).out)) == n


def test_conversation_and_session_lists_give_json_whole(project: Project,
                                                         aircher: object) -> None:
    """The same --limit as the knowledge lists: before, `--json` was cut at 50 without a word,
    and so was the table (session 18: cli-3)."""
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    for i in range(53):
        start_conversation(project, "p", title=f"c{i}")
        start_session(project, "feature", f"s{i}")
    assert_cut_only_when_asked(run, root, ("conversation", "list"), 53, 50)
    assert_cut_only_when_asked(run, root, ("conversation", "list", "--all"), 53, 50)
    assert_cut_only_when_asked(run, root, ("session", "list"), 53, 50)


MARKDOWN = """---
title: Front
---
<p align="center"><img src="logo.png"></p>

# git-aircher

[![build](https://ci/badge.svg)](https://ci)

A private, git-aware memory for AI coding agents. It keeps conversations.

```sh
# not a heading
[not a link](nowhere.md)
```

Setup guide
-----------

See [the API](docs/api.md#records), [design](../shared/DESIGN.md),
[home](https://example.com) and [below](#usage); ![diagram](img/arch.png).

## Usage ##

[ref]: ./CONTRIBUTING.md
"""

RST = """=========
 Records
=========

:Author: someone

What the record API stores, and why.

Install
=======

Run ``pip``. See :doc:`usage <guide/usage>` and :ref:`config-keys`.

.. include:: ../snippets/setup.rst

Details
-------

Read `the spec <spec.rst>`_ or `online <https://example.com>`_.
"""


def test_analyze_markdown_and_rst(repo: object) -> None:
    md = analyze_doc("docs/README.md", MARKDOWN, "abc")
    assert (md.title, md.doc_type, md.content_hash) == ("git-aircher", "readme", "abc")
    assert md.purpose == "A private, git-aware memory for AI coding agents."
    assert [(s["level"], s["title"]) for s in md.sections] == [
        (1, "git-aircher"), (2, "Setup guide"), (2, "Usage")]
    refs = {(r["target"], r["anchor"], r["kind"]) for r in md.cross_refs}
    assert refs == {("docs/docs/api.md", "records", "doc"), ("shared/DESIGN.md", None, "doc"),
                    ("docs/img/arch.png", None, "image"), ("docs/CONTRIBUTING.md", None, "doc")}
    rst = analyze_doc("docs/records.rst", RST)
    assert (rst.title, rst.purpose, rst.doc_type) == (
        "Records", "What the record API stores, and why.", "guide")
    assert [(s["level"], s["title"]) for s in rst.sections] == [
        (1, "Records"), (2, "Install"), (3, "Details")]
    assert {(r["target"], r["kind"]) for r in rst.cross_refs} == {
        ("docs/guide/usage", "doc"), ("config-keys", "label"), ("snippets/setup.rst", "file"),
        ("docs/spec.rst", "doc")}
    hashed = subprocess.run(["git", "hash-object", "--stdin"], input=RST.encode(),
                            capture_output=True, check=True).stdout.decode().strip()
    assert rst.content_hash == blob_id(RST) == hashed


def test_refresh_docs_skips_unchanged_and_drops_removed(project: Project,
                                                        aircher: object) -> None:
    changed = [("README.md", blob_id(MARKDOWN), MARKDOWN), ("src/app.py", "x", "print()")]
    assert refresh_docs(project, changed) == 1
    assert refresh_docs(project, changed) == 0
    assert list_docs(project)[0]["title"] == "git-aircher"
    assert refresh_docs(project, [], removed=["README.md"]) == 1
    assert list_docs(project) == []
    commit(project.repo.root, {"docs/guide.rst": RST}, "docs")
    run = aircher  # type: ignore[assignment]
    res = run(project.repo.root, "knowledge", "docs", "refresh", "--json")
    assert json.loads(res.out) == {"written": 2}
    docs = {d["path"]: d for d in json.loads(
        run(project.repo.root, "knowledge", "docs", "list", "--json").out)}
    assert set(docs) == {"README.md", "docs/guide.rst"}
    assert docs["docs/guide.rst"]["content_hash"] == blob_id(RST)


def test_docs_named_like_secrets_are_never_read(project: Project, aircher: object) -> None:
    """`knowledge docs refresh` stored credentials.md's first sentence, a password, which sync
    and search never read; a row stored so goes at the next refresh (QA round 26d: 02)."""
    secret = "# Production credentials\n\nThe admin password is hunter2-ZORBLAX for the console.\n"
    root = project.repo.root
    commit(root, {"credentials.md": secret, "ops/.env.md": secret, "keys/id_rsa.rst": secret,
                  "docs/guide.rst": RST}, "docs")
    with project.db("knowledge").write() as conn:  # what an earlier refresh stored
        conn.execute("INSERT INTO documentation_files (id, file_path, doc_type, title, purpose)"
                     " VALUES ('d1', 'credentials.md', 'doc', 'Production credentials',"
                     " 'The admin password is hunter2-ZORBLAX for the console.')")
    run = aircher  # type: ignore[assignment]
    assert run(root, "knowledge", "docs", "refresh").code == 0
    assert [d["path"] for d in list_docs(project)] == ["README.md", "docs/guide.rst"]
    # Whoever read it: the hook's pass hands over what a change touched.
    assert refresh_docs(project, [("credentials.md", blob_id(secret), secret)]) == 0
    assert [d["path"] for d in list_docs(project)] == ["README.md", "docs/guide.rst"]
    assert "hunter2" not in run(root, "knowledge", "docs", "list").out


def test_newest_first_lists_keep_insertion_order_within_one_second(
        project: Project, aircher: object) -> None:
    """Timestamps are whole seconds: the newest-first lists broke a tie by the random UUID, so
    of records made in one second the newest was first only by chance (`--limit 1` kept a
    random one) and `session list` disagreed with `session show`. Ties now go to the later
    insertion, in every list (QA round 22d: 02)."""
    from gitext import clock

    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    clock.set_now(1_900_000_000)
    made: dict[str, list[str]] = {k: [] for k in
                                  ("session", "decision", "conversation", "effectiveness",
                                   "feedback")}
    for i in range(8):
        made["session"].append(start_session(project, "feature", f"s{i}").id)
        made["decision"].append(add_decision(project, "architecture", f"d{i}").id)
        conv = start_conversation(project, "p", title=f"c{i}")
        made["conversation"].append(conv.id)
        made["effectiveness"].append(record_effectiveness(project, conv.id,
                                                          success_score=0.5).id)
        made["feedback"].append(record_feedback(project, "src/app.py",
                                                actual_usefulness=0.5).id)
    lists = {"session": ("session", "list"), "decision": ("decision", "list"),
             "conversation": ("conversation", "list", "--all"),
             "effectiveness": ("knowledge", "effectiveness", "list"),
             "feedback": ("knowledge", "feedback", "list")}
    for kind, args in lists.items():
        listed = [r["id"] for r in json.loads(run(root, *args, "--json").out)]
        assert listed == made[kind][::-1], kind
        if kind != "decision":  # `decision list` has no --limit
            top = json.loads(run(root, *args, "--limit", "1", "--json").out)
            assert [r["id"] for r in top] == made[kind][-1:], kind
    assert json.loads(run(root, "session", "show", "--json").out)["id"] == made["session"][-1]
    # A session's conversations (`session show`) in the same order.
    clock.set_now(1_900_000_100)
    sess = start_session(project, "feature", "many")
    convs = [start_conversation(project, "p").id for _ in range(6)]
    shown = json.loads(run(root, "session", "show", sess.id, "--json").out)
    assert [c["id"] for c in shown["conversations"]] == convs[::-1]


def test_an_upgrade_mends_negative_tokens_and_costs_of_effectiveness_rows(
        project: Project, aircher: object) -> None:
    """Before 905c35b `knowledge effectiveness record` took a negative tokens_used, and a
    rating without tokens or cost copied its conversation's totals, which an older import could
    have stored negative: conversations.db 006 mended the totals, not these copies, and the
    list showed a conversation that used fewer than no tokens (known, session 22). Opening a
    store of the previous schema version mends them once, as 006 did: unknown, null."""
    import sqlite3

    repo = project.repo.root
    path = project.layout.db("knowledge")
    project.close()
    raw = sqlite3.connect(path)
    with raw:
        raw.executemany(
            "INSERT INTO conversation_effectiveness (id, conversation_id, success_score,"
            " tokens_used, cost, recorded_at) VALUES (?, 'c', 0.5, ?, ?, ?)",
            [("e1", -50, -1.5, "2020-01-01 00:00:00"), ("e2", 7, 0.25, "2020-01-02 00:00:00")])
        raw.execute("PRAGMA user_version = 4")  # before 005, which this test is about
    raw.close()
    res = aircher(repo, "knowledge", "effectiveness", "list", "--json")  # type: ignore[operator]
    assert res.code == 0, res.err
    assert [(r["id"], r["tokens_used"], r["cost"]) for r in json.loads(res.out)] == [
        ("e2", 7, 0.25), ("e1", None, None)]
