from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from gitext.project import Project
from gitext.records import add_decision, start_conversation, start_session
from tests.conftest import commit, git, run_git_aircher
from tests.insights.scenario import build, documented
from tests.records.helpers import count, open_project, rows, same_shape


def test_worktree_list_and_switch(project: Project, aircher: object) -> None:
    sc = build(project)
    login = open_project(sc.login)
    try:
        start_conversation(login, "p", title="on login")
        start_session(login, "feature")
    finally:
        login.close()
    run = aircher  # type: ignore[assignment]

    view = json.loads(run(sc.main, "worktree", "list", "--json").out)
    same_shape(documented("worktrees"), view)
    trees = {w["branch"]: w for w in view["worktrees"]}
    assert set(trees) == {"main", "feature/login", "feature/signup"}
    assert trees["main"]["current"] and not trees["feature/login"]["current"]
    contexts = {c["name"]: c for c in view["contexts"]}
    assert contexts["feature/login"]["worktree_path"] == str(sc.login)
    assert (contexts["feature/login"]["conversations"], contexts["feature/login"]["sessions"],
            contexts["main"]["conversations"]) == (1, 1, 0)
    table = run(sc.main, "worktree", "list").out
    assert "feature/signup" in table and "1 (1 active)" in table

    went = run(sc.main, "worktree", "switch", "feature/login")
    assert (went.code, went.out.strip()) == (0, str(sc.login))
    switches = rows(project, "knowledge", "SELECT from_context_id, to_context_id, switch_reason"
                    " FROM context_switches")
    assert [tuple(r) for r in switches] == [
        (sc.contexts["main"].id, sc.contexts["feature/login"].id, "worktree switch")]

    git(sc.main, "branch", "plain")
    here = run(sc.main, "worktree", "switch", "plain")
    assert (here.code, here.out.strip()) == (0, str(sc.main))
    assert git(sc.main, "symbolic-ref", "--short", "HEAD").strip() == "plain"
    assert count(project, "knowledge", "context_switches") == 1  # the hook records this one

    wrong = run(sc.main, "worktree", "switch", "feature/sigup")
    assert wrong.code == 2 and wrong.out == ""
    assert wrong.err.strip().splitlines() == [
        "error: no branch 'feature/sigup'; closest: feature/signup, feature/login"]
    assert run(sc.main, "worktree", "switch", "--", "-x").code == 2

    git(sc.main, "worktree", "remove", "--force", str(sc.signup))
    git(sc.main, "branch", "-D", "feature/signup")
    after = json.loads(run(sc.main, "worktree", "list", "--json").out)
    assert {c["name"]: c["status"] for c in after["contexts"]}["feature/signup"] == "stale"
    gone = [w for w in after["worktrees"] if w["path"] == str(sc.signup)]
    assert [w["status"] for w in gone] == ["stale"]  # the store remembers it, git does not


def test_context_show_and_conversations_per_branch(project: Project, aircher: object) -> None:
    sc = build(project)
    add_decision(project, "api", "Keep it small")
    start_conversation(project, "p", title="main talk")
    login = open_project(sc.login)
    try:
        session = start_session(login, "debugging", "flaky login")
        start_conversation(login, "p", title="login talk")
    finally:
        login.close()
    run = aircher  # type: ignore[assignment]

    shown = json.loads(run(sc.login, "context", "show", "--json").out)
    same_shape({k: v for k, v in documented("context_show").items()}, shown)
    assert [lv["context_type"] for lv in shown["levels"]] == [
        "global", "project", "worktree", "session"]
    assert shown["current"] == session.context_id == shown["levels"][-1]["id"]
    assert shown["levels"][1]["holds"]["decisions"] == 1
    assert shown["levels"][2]["holds"]["conversations"] == 1
    assert shown["levels"][3]["holds"]["session"]["task_description"] == "flaky login"
    text = run(sc.login, "context", "show").out
    assert "* " in text and "session: session-" in text
    other = json.loads(run(sc.main, "context", "show", "feature/login", "--json").out)
    assert [lv["name"] for lv in other["levels"]][2:] == ["feature/login"]
    assert run(sc.main, "context", "show", "nope").code == 2

    def titles(cwd: object, *args: str) -> set[str]:
        out = run(cwd, "conversation", "list", *args, "--json").out
        return {c["title"] for c in json.loads(out)}

    assert titles(sc.main) == {"main talk"}
    assert titles(sc.login) == {"login talk"}
    assert titles(sc.main, "--context", "feature/login") == {"login talk"}
    every = json.loads(run(sc.main, "conversation", "list", "--all", "--json").out)
    assert {(c["title"], c["branch_name"]) for c in every} == {
        ("main talk", "main"), ("login talk", "feature/login")}
    assert json.loads(run(sc.main, "session", "list", "--context", "feature/login",
                          "--json").out)[0]["branch"] == "feature/login"
    assert "closest: feature/login" in run(sc.main, "conversation", "list", "--context",
                                           "feature/logon").err


def test_worktree_list_places_detached_and_unborn_contexts(project: Project,
                                                           aircher: object) -> None:
    """The detached context is where the worktrees on a detached HEAD are, and a branch
    checked out before its first commit is active, not stale (QA round 6, not scripted)."""
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    (root / "a.txt").write_text("a\n")
    git(root, "add", "a.txt")
    git(root, "commit", "-qm", "one")
    detached = root.parent / "det"
    git(root, "worktree", "add", "-q", "--detach", str(detached))
    git(detached, "commit", "--allow-empty", "-qm", "on a detached HEAD")
    git(root, "switch", "-q", "--orphan", "fresh")
    run(detached, "sync")
    run(root, "sync")
    view = json.loads(run(root, "worktree", "list", "--json").out)
    contexts = {c["name"]: c for c in view["contexts"]}
    assert (contexts["fresh"]["status"], contexts["fresh"]["worktree_path"]) == (
        "active", str(root))
    assert contexts["(detached)"]["worktree_path"] == str(detached)
    assert contexts["(detached)"]["worktree_paths"] == [str(detached)]
    assert contexts["fresh"]["worktree_paths"] == [str(root)]
    table = run(root, "worktree", "list").out
    assert any(line.startswith("(detached)") and line.rstrip().endswith(str(detached))
               for line in table.splitlines())


def test_worktree_switch_refused_by_git_says_why(live: Path) -> None:
    """git's refusal was cut to its last stderr line, `error: git switch failed: Aborting`,
    saying neither why nor which file; the error now carries git's error line with the paths
    it lists, and its advice as the hint (QA round 15b: 04)."""
    commit(live, {"a.py": "x = 1\n"}, "a.py")
    git(live, "switch", "-q", "-c", "other")
    commit(live, {"a.py": "on other\n"}, "other's a.py")
    git(live, "switch", "-q", "main")
    (live / "a.py").write_text("local change\n")
    r = run_git_aircher(live, "worktree", "switch", "other")
    assert r.code == 1 and r.out == ""
    assert r.err.splitlines() == [
        "error: git switch failed: Your local changes to the following files would be"
        " overwritten by checkout: a.py",
        "hint: Please commit your changes or stash them before you switch branches.",
    ]


def test_a_branch_never_checked_out_is_a_context(live: Path) -> None:
    """`git branch nb` (or a fetched branch tracked locally) made no context, and every
    `--context nb` said "no context 'nb'" though `compare` took the name. Reads now answer for
    it (empty, or computed as for a branch renamed under the hooks); a write made for it
    makes its context, as the hooks would; a name git has no branch for is still an error
    (QA round 15b: 10)."""
    git(live, "branch", "nb")
    git(live, "branch", "nc")
    rel = run_git_aircher(live, "relevant", "--context", "nb", "--json")
    assert rel.code == 0, rel.err
    assert {r["path"] for r in json.loads(rel.out)} >= {"README.md", "src/app.py"}
    shown = run_git_aircher(live, "context", "show", "nb", "--json")
    assert shown.code == 0, shown.err
    view = json.loads(shown.out)
    assert [lv["context_type"] for lv in view["levels"]] == ["global", "project", "worktree"]
    assert view["levels"][-1]["name"] == "nb" and view["levels"][-1]["id"] == view["current"]
    assert run_git_aircher(live, "context", "insights", "--context", "nb").out == "no insights\n"
    fb = run_git_aircher(live, "feedback", "src/app.py", "--useful", "1", "--context", "nb")
    assert fb.code == 0, fb.err
    assert run_git_aircher(live, "decision", "add", "main decision").code == 0
    moved = run_git_aircher(live, "context", "transfer", "main", "nc", "--json")
    assert moved.code == 0, moved.err
    assert json.loads(moved.out)["decisions"] == 1
    # The contexts made are the ones the hooks make at the first checkout: one per branch.
    git(live, "switch", "-q", "nb")
    here = json.loads(run_git_aircher(live, "context", "show", "--json").out)
    assert here["current"] == view["current"]
    knowledge = sqlite3.connect(live / ".agents" / "db" / "core" / "knowledge.db")
    try:
        named = knowledge.execute(
            "SELECT f.context_id, c.name FROM context_relevance_feedback f"
            " LEFT JOIN contexts c ON c.id = f.context_id").fetchall()
    finally:
        knowledge.close()
    assert named == [(view["current"], "nb")]  # the feedback names a context that exists
    wrong = run_git_aircher(live, "relevant", "--context", "nosuch")
    assert wrong.code == 2 and wrong.err.startswith("error: no context 'nosuch'"), wrong.err
    wrong = run_git_aircher(live, "feedback", "src/app.py", "--useful", "1", "--context", "nx")
    assert wrong.code == 2 and wrong.err.startswith("error: no context 'nx'"), wrong.err


def test_context_show_calls_a_deleted_branch_s_context_stale(project: Project,
                                                             aircher: object) -> None:
    """`worktree list` called a deleted branch's context `stale` (derived when read) and
    `context show` called the same context `active` (the stored row, which nothing moves): one
    context, two statuses (QA round 25d: 04). Both say `stale` now, and a live branch's
    context stays `active`."""
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    git(root, "switch", "-q", "-c", "feat")
    assert run(root, "decision", "add", "feat: retry the refresh").code == 0
    git(root, "switch", "-q", "main")
    git(root, "branch", "-D", "feat")
    run(root, "sync")

    def statuses(name: str) -> tuple[str, str]:
        listed = json.loads(run(root, "worktree", "list", "--json").out)
        shown = json.loads(run(root, "context", "show", name, "--json").out)
        return ({c["name"]: c["status"] for c in listed["contexts"]}[name],
                shown["levels"][-1]["status"])

    assert statuses("feat") == ("stale", "stale")
    assert "worktree: feat (stale, " in run(root, "context", "show", "feat").out
    assert statuses("main") == ("active", "active")
