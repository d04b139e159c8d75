from __future__ import annotations

import json

import pytest

from gitext.errors import UsageError
from gitext.insights.insights import refresh
from gitext.insights.queries import context_insights, rate_insight
from gitext.insights.transfer import transfer
from gitext.project import Project
from gitext.records import (
    add_decision,
    add_message,
    list_patterns,
    record_pattern,
    record_pattern_outcome,
    revert_decision,
    start_conversation,
    supersede_decision,
)
from tests.conftest import commit, git
from tests.insights.scenario import build, documented
from tests.records.helpers import count, open_project, rows, same_shape


def test_transfer_is_idempotent_and_chains(project: Project, aircher: object) -> None:
    sc = build(project)
    ctx = sc.contexts
    signup = open_project(sc.signup)
    login = open_project(sc.login)
    try:
        add_decision(signup, "security", "Use JWT")
        add_decision(login, "api", "Refresh tokens eagerly", rationale="fewer 401s")
        pattern = record_pattern(login, "retry", "retry once on 401", confidence=0.8)
    finally:
        signup.close()
        login.close()

    first = transfer(project, "feature/signup", "feature/login")
    assert (first.decisions, first.patterns, first.insights, first.created) == (1, 0, 0, 2)
    second = transfer(project, "feature/login", "main")
    assert (second.patterns, second.decisions, second.insights, second.created) == (1, 1, 1, 4)
    same_shape(documented("transfer"), second.to_json())
    before = count(project, "knowledge", "cross_context_insights")
    again = transfer(project, "feature/login", ctx["main"].id)
    assert (again.created, again.relationship_id) == (0, second.relationship_id)
    assert count(project, "knowledge", "cross_context_insights") == before
    assert count(project, "knowledge", "context_relationships") == 2

    [stored] = [p for p in list_patterns(project) if p.id == pattern.id]
    assert ctx["main"].id in stored.applicable_contexts
    seen = {(i["insight_type"], i["source_context"], i["description"])
            for i in context_insights(project)}
    assert seen == {
        ("best_practice", "feature/login",
         "decision made on feature/login: Refresh tokens eagerly"),
        ("best_practice", "feature/signup", "decision made on feature/signup: Use JWT"),
        ("pattern_reuse", "feature/login", "pattern from feature/login: retry once on 401"),
    }
    low = context_insights(project, min_confidence=0.85)
    assert {i["insight_type"] for i in low} == {"best_practice"}
    rated = rate_insight(project, low[0]["id"], 0.4)
    assert rated == {"id": low[0]["id"], "usage_count": 1, "effectiveness_rating": 0.4}
    assert context_insights(project, min_confidence=0.85)[0]["id"] == low[0]["id"]  # rated first

    with pytest.raises(UsageError, match="closest: feature/login"):
        transfer(project, "feature/logn", "main")
    with pytest.raises(UsageError, match="same context"):
        transfer(project, "main", ctx["main"].id)
    run = aircher  # type: ignore[assignment]
    res = run(sc.main, "context", "transfer", "feature/login", "main", "--json")
    assert res.code == 0 and json.loads(res.out)["created"] == 0
    listed = json.loads(run(sc.main, "context", "insights", "--json").out)
    same_shape(documented("insights"), listed)
    assert len(listed) == 3
    assert "Use JWT" in run(sc.main, "context", "insights").out


def test_a_decision_given_up_takes_back_the_advice_transfers_gave(
    project: Project, aircher: object
) -> None:
    """A transferred decision stayed 'best_practice' advice on the target, and on the branches
    later transfers passed it to, after it was superseded or reverted; a new transfer counted
    `decisions: 1` while the target still saw the superseded one (QA round 26c: 01)."""
    sc = build(project)
    login = open_project(sc.login)
    try:
        old = add_decision(login, "cache", "cache tokens in memory")
        new = add_decision(login, "cache", "cache tokens in redis")
        sync = add_decision(login, "api", "keep login synchronous")
    finally:
        login.close()

    def advised(context: str) -> set[str]:
        return {i["description"].rsplit(": ", 1)[1]
                for i in context_insights(project, name=context)}

    transfer(project, "feature/login", "main")
    transfer(project, "main", "feature/signup")  # main's advice passed on, as a copy
    both = {"cache tokens in memory", "cache tokens in redis", "keep login synchronous"}
    assert advised("main") == advised("feature/signup") == both

    supersede_decision(project, old.id, by=new.id)
    assert advised("main") == advised("feature/signup") == both - {"cache tokens in memory"}
    again = transfer(project, "feature/login", "main")
    assert (again.decisions, again.created) == (2, 0)
    assert len(context_insights(project, name="main")) == again.decisions

    # Advice a store kept from before (the decision given up, the insight left): the next
    # transfer to anywhere takes it back, and counts what the target then sees.
    with project.db("knowledge").write() as conn:
        conn.execute("UPDATE project_decisions SET status = 'reverted' WHERE id = ?", (sync.id,))
    run = aircher  # type: ignore[assignment]
    res = run(sc.main, "context", "transfer", "feature/login", "main", "--json")
    assert res.code == 0 and json.loads(res.out)["decisions"] == 1
    assert advised("main") == advised("feature/signup") == {"cache tokens in redis"}

    revert_decision(project, new.id)
    assert context_insights(project, name="main") == []
    assert context_insights(project, name="feature/signup") == []
    assert count(project, "knowledge", "cross_context_insights") == 0


def test_a_rating_or_an_outcome_that_is_not_one_is_refused(project: Project) -> None:
    """`rate_insight(…, None)` stored a use rated 0.0, which sank the insight in the ranking,
    and `record_pattern_outcome(…, success="no")` counted a success (QA round 26c: 04)."""
    sc = build(project)
    login = open_project(sc.login)
    try:
        add_decision(login, "api", "Refresh tokens eagerly")
        pattern = record_pattern(login, "retry", "retry once on 401")
    finally:
        login.close()
    transfer(project, "feature/login", "main")
    [insight] = [i for i in context_insights(project) if i["insight_type"] == "best_practice"]
    for bad in (None, True, "0.5", 1.5):
        with pytest.raises(UsageError, match="rating"):
            rate_insight(project, insight["id"], bad)  # type: ignore[arg-type]
    for bad in ("no", 1, None):
        with pytest.raises(UsageError, match="success must be True or False"):
            record_pattern_outcome(project, pattern.id, success=bad)  # type: ignore[arg-type]
    [insight] = [i for i in context_insights(project) if i["id"] == insight["id"]]
    assert (insight["usage_count"], insight["effectiveness_rating"]) == (0, None)
    [stored] = [p for p in list_patterns(project) if p.id == pattern.id]
    assert (stored.usage_count, stored.cross_context_effectiveness) == (0, {})


def test_refresh_finds_conflicts_shared_patterns_and_similar_tasks(
    project: Project, aircher: object
) -> None:
    sc = build(project)
    ctx = {name: c.id for name, c in sc.contexts.items()}
    for path, title in ((sc.login, "token refresh fails after expiry"),
                        (sc.signup, "token refresh after signup")):
        other = open_project(path)
        try:
            conv = start_conversation(other, "p", title=title)
            add_message(other, conv.id, "user", f"{title}: refresh the auth token")
        finally:
            other.close()

    assert refresh(project) > 0
    anti = rows(project, "knowledge", "SELECT source_context_id, target_context_id,"
                " confidence_score, evidence FROM cross_context_insights"
                " WHERE insight_type = 'anti_pattern'")
    pairs = {(r[0], r[1]) for r in anti}
    names = list(ctx.values())
    assert pairs == {(a, b) for a in names for b in names if a != b}
    assert all(r[2] == 0.9 and "auth.py" in json.loads(r[3])["conflicts"] for r in anti)

    shared = rows(project, "knowledge", "SELECT source_context_id, target_context_id, metadata"
                  " FROM context_relationships WHERE relationship_type = 'shared_pattern'")
    assert [(r[0], r[1]) for r in shared] == [(ctx["feature/login"], ctx["feature/signup"])]
    assert json.loads(shared[0][2])["pairs"] == [["auth.py", "tests/test_auth.py"]]
    [co] = [p for p in list_patterns(project) if p.pattern_type == "co_change"]
    assert set(co.applicable_contexts) == {ctx["feature/login"], ctx["feature/signup"]}

    similar = rows(project, "knowledge", "SELECT source_context_id, target_context_id, strength"
                   " FROM context_relationships WHERE relationship_type = 'similar_task'")
    pair = {frozenset((r[0], r[1])): r[2] for r in similar}
    assert pair[frozenset((ctx["feature/login"], ctx["feature/signup"]))] >= 0.3
    assert all(v < pair[frozenset((ctx["feature/login"], ctx["feature/signup"]))]
               for k, v in pair.items() if ctx["main"] in k)

    assert refresh(project) == 0  # nothing moved: nothing written

    run = aircher  # type: ignore[assignment]
    across = json.loads(run(sc.main, "context", "patterns", "--across-worktrees", "--json").out)
    same_shape(documented("patterns"), across)
    assert [p["pattern_type"] for p in across] == ["co_change"]
    assert json.loads(run(sc.main, "context", "patterns", "--json").out) == []

    git(sc.main, "worktree", "remove", "--force", str(sc.signup))
    git(sc.main, "branch", "-D", "feature/signup")
    assert json.loads(run(sc.main, "context", "refresh", "--json").out)["written"] > 0
    left = rows(project, "knowledge", "SELECT count(*) FROM cross_context_insights WHERE"
                " source_context_id = ? OR target_context_id = ?",
                (ctx["feature/signup"], ctx["feature/signup"]))
    assert left[0][0] == 0
    assert count(project, "knowledge", "success_patterns") == 0


def test_refresh_keeps_the_outcomes_recorded_on_a_co_change_pattern(project: Project) -> None:
    """The refresh wrote its `{commits}` entries over the whole of a co-change pattern's
    cross_context_effectiveness: the uses agents had recorded there were gone (usage_count
    still counted them), and the refresh counted a write with nothing new in git (QA round
    26c: 02)."""
    sc = build(project)
    ctx = {name: c.id for name, c in sc.contexts.items()}
    refresh(project)
    [co] = [p for p in list_patterns(project) if p.pattern_type == "co_change"]
    record_pattern_outcome(project, co.id, success=True)  # on main
    record_pattern_outcome(project, co.id, success=True)
    record_pattern_outcome(project, co.id, success=False, context_id=ctx["feature/login"])

    assert refresh(project) == 0  # nothing new in git: nothing written
    [co] = [p for p in list_patterns(project) if p.id == co.id]
    per = co.cross_context_effectiveness
    assert per[ctx["main"]] == {"name": "main", "type": "worktree", "uses": 2,
                                "successes": 2, "score": 1.0}
    assert per[ctx["feature/login"]] == {"name": "feature/login", "type": "worktree",
                                         "commits": 1, "uses": 1, "successes": 0,
                                         "score": 0.0}
    assert per[ctx["feature/signup"]] == {"name": "feature/signup", "type": "worktree",
                                          "commits": 1}
    assert co.usage_count == 3

    # Git moves: the commits counted afresh, the uses kept beside them.
    commit(sc.login, {"auth.py": "def login():\n    return 3\n",
                      "tests/test_auth.py": "def test_login():\n    assert 3\n"}, "login: again")
    assert refresh(project) > 0
    [co] = [p for p in list_patterns(project) if p.id == co.id]
    assert co.cross_context_effectiveness[ctx["feature/login"]] == {
        "name": "feature/login", "type": "worktree", "commits": 2, "uses": 1, "successes": 0,
        "score": 0.0}
    assert co.cross_context_effectiveness[ctx["main"]]["uses"] == 2


def test_refresh_keeps_keys_in_commit_messages_out_of_its_terms(project: Project) -> None:
    """'similar_task' relationships and 'similar_solution' insights store the terms two
    branches share, and those were taken from `git log` as it is: a key in a commit message of
    both branches' history became a shared term in knowledge.db, while the store keeps commit
    messages redacted (session 16, noticed while fixing QA round 6: 01)."""
    key = "AKIA" + "Z7QW3ERTY5UIOP2A"
    sc = build(project)
    for path in (sc.login, sc.signup):
        (path / "notes.txt").write_text("token refresh\n")
        git(path, "add", "notes.txt")
        git(path, "commit", "-qm", f"token refresh with {key}\n\nrotate {key} after expiry")
    refresh(project)
    stored = rows(project, "knowledge", "SELECT metadata FROM context_relationships"
                  " WHERE relationship_type = 'similar_task'")
    stored += rows(project, "knowledge", "SELECT evidence || description FROM"
                   " cross_context_insights WHERE insight_type = 'similar_solution'")
    assert stored and "token" in " ".join(str(r[0]) for r in stored)
    assert not any(key.lower() in str(r[0]).lower() for r in stored), stored


def test_refresh_keeps_keys_said_in_conversations_out_of_knowledge(project: Project) -> None:
    """The terms two branches share were also taken from their conversations' titles and
    messages as they are: a key said on both branches was stored, lower-cased, in knowledge.db
    as a shared term of the relationship and the insights (QA round 10c: 01). Half a key, where
    the first CONVERSATION_CHARS of a long message end inside it, is no key to redact and must
    not be kept either."""
    from gitext.insights.insights import CONVERSATION_CHARS

    key = "AKIA" + "ZQ4XW7PLMN3RTY6U"
    other = "AKIA" + "QQ7Z2W3E4R5T6Y7U"
    sc = build(project)
    for path in (sc.login, sc.signup):
        side = open_project(path)
        try:
            conv = start_conversation(side, "debugging", title=f"token {key}")
            add_message(side, conv.id, "user", f"login token refresh uses key {key} expiry")
            pad = "token " * (CONVERSATION_CHARS // 6) + "refresh " * 2
            long = pad[: CONVERSATION_CHARS - 8] + " " + other + " expiry"
            add_message(side, conv.id, "assistant", long)
        finally:
            side.close()
    refresh(project)
    stored = rows(project, "knowledge", "SELECT metadata FROM context_relationships"
                  " WHERE relationship_type = 'similar_task'")
    assert stored and "token" in " ".join(str(r[0]) for r in stored)
    project.close()  # the WAL checkpointed into the files read below
    files = [f for f in project.layout.core.iterdir() if not f.name.startswith("conversations")]
    raw = b"".join(f.read_bytes() for f in files if f.is_file()).lower()
    for secret in (key, other):
        # the whole key, and the fragment the cut at CONVERSATION_CHARS would have left
        for form in (secret, secret[:7]):
            assert form.lower().encode() not in raw, form
