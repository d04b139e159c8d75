"""Every command that takes a record's id answers a prefix too short, an ambiguous one and an
unknown id alike (`gitext.records.lookup.record_id`). Before, a 3-character prefix was "too
short" for a conversation but "no decision" or "no session" elsewhere, and a pattern took no
prefix at all though `patterns list` shows 8 characters (session 18: cli-2)."""

from __future__ import annotations

from typing import Any

from gitext.project import Project
from gitext.records import add_decision, record_pattern, start_conversation, start_session


def _share_a_prefix(project: Project, db: str, table: str, ids: list[str]) -> None:
    """Two rows of `table` whose ids both start `abcd`, as two random ids now and then do."""
    with project.db(db).write() as conn:
        for n, old in enumerate(ids):
            conn.execute(f"UPDATE {table} SET id = ? WHERE id = ?",
                         (f"abcd{n}{old[5:]}", old))


def test_every_command_taking_a_record_id_answers_alike(project: Project, aircher: Any) -> None:
    root = project.repo.root
    _share_a_prefix(project, "knowledge", "project_decisions",
                    [add_decision(project, "storage", f"d{n}").id for n in range(2)])
    kept = add_decision(project, "storage", "kept").id
    _share_a_prefix(project, "sessions", "sessions",
                    [start_session(project, "feature", f"s{n}").id for n in range(2)])
    _share_a_prefix(project, "conversations", "conversations",
                    [start_conversation(project, "p", title=f"c{n}").id for n in range(2)])
    _share_a_prefix(project, "knowledge", "success_patterns",
                    [record_pattern(project, "testing", f"p{n}").id for n in range(2)])
    commands: dict[str, list[tuple[str, ...]]] = {
        "decision": [("decision", "revert", "{}"), ("decision", "supersede", "{}"),
                     ("decision", "supersede", kept, "--by", "{}")],
        "session": [("session", "show", "{}"), ("session", "end", "{}")],
        "conversation": [("conversation", "show", "{}"), ("conversation", "export", "{}"),
                         ("knowledge", "effectiveness", "record", "{}", "0.5")],
        "pattern": [("knowledge", "patterns", "outcome", "{}", "--success")],
    }
    for what, forms in commands.items():
        for form in forms:
            for given, said in [
                    ("abc", f"error: {what} id prefix 'abc' is too short: give at least 4"
                            " characters"),
                    ("abcd", f"error: {what} id prefix 'abcd' is ambiguous"),
                    ("ffff0000", f"error: no {what} 'ffff0000'")]:
                r = aircher(root, *(a.format(given) for a in form))
                assert (r.code, r.err.splitlines()[0]) == (2, said), (form, given, r.err)
                assert r.err.splitlines()[1].startswith("hint: "), (form, given, r.err)
    # The archive's own command, with no archive yet: the short prefix is said the same way.
    r = aircher(root, "conversation", "restore", "abc")
    assert r.err.startswith("error: conversation id prefix 'abc' is too short"), r.err
    # And a unique prefix of 4 names the record everywhere, the pattern's included.
    r = aircher(root, "knowledge", "patterns", "outcome", "abcd1", "--success")
    assert r.code == 0 and "1 uses" in r.out, r.err


def test_effectiveness_list_takes_a_conversation_prefix(project: Project, aircher: Any) -> None:
    """`effectiveness list --conversation` took the full id only, and a prefix listed nothing
    without a word, though the table beside it shows 8 characters (seen in session 18)."""
    import json

    from gitext.records import delete_conversation, record_effectiveness

    root = project.repo.root
    rated, unrated = (start_conversation(project, "p", title=t).id for t in ("r", "u"))
    record_effectiveness(project, rated, success_score=0.75)

    def listed(given: str) -> Any:
        r = aircher(root, "knowledge", "effectiveness", "list", "--conversation", given, "--json")
        return json.loads(r.out) if r.code == 0 else (r.code, r.err.splitlines()[0])

    assert [e["conversation_id"] for e in listed(rated[:8])] == [rated]
    assert listed(unrated[:8]) == []  # a live conversation, not rated yet
    assert listed("ffff0000") == (2, "error: no conversation 'ffff0000'")
    # Ratings outlive their conversation: its prefix still names them.
    delete_conversation(project, rated)
    assert [e["success_score"] for e in listed(rated[:6])] == [0.75]


def test_a_context_id_prefix_two_contexts_share_is_ambiguous(project: Project,
                                                             aircher: Any) -> None:
    """Every `--context` (and `context show`, `context transfer`, `compare`) answered a prefix
    the ids of two contexts begin with as "no context", the words for a name nothing has
    (QA round 26c: 03)."""
    from gitext.contexts import project_context, worktree_context_id
    from gitext.insights.transfer import transfer
    from tests.conftest import git

    root = project.repo.root
    with project.db("knowledge").read() as conn:
        proj = project_context(conn)
    assert proj is not None
    seen: dict[str, str] = {}
    for n in range(1_000_000):  # two names whose (name-derived) ids share 6 hex digits
        name = f"b{n}"
        start = worktree_context_id(proj.id, name)[:6]
        if start in seen:
            break
        seen[start] = name
    first, second = seen[start], name
    for branch in (first, second):
        git(root, "branch", branch)
    transfer(project, first, second)  # both contexts made
    for form in (("context", "show", "{}"), ("context", "insights", "--context", "{}"),
                 ("decision", "list", "--context", "{}"), ("relevant", "--context", "{}"),
                 ("context", "transfer", "{}", "main"), ("compare", "{}", "main")):
        r = aircher(root, *(a.format(start) for a in form))
        assert (r.code, r.err.splitlines()[:2]) == (
            2, [f"error: context id prefix '{start}' is ambiguous",
                "hint: give more characters of the id"]), (form, r.err)
    # Up to the first character they differ in, the prefix names one of them.
    ids = [worktree_context_id(proj.id, b) for b in (first, second)]
    cut = next(i for i, (a, b) in enumerate(zip(*ids, strict=True)) if a != b) + 1
    for full in ids:
        r = aircher(root, "context", "show", full[:cut], "--json")
        assert r.code == 0 and full in r.out, r.err
