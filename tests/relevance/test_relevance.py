"""Relevance components move the way they should, on real repositories and real stores."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from gitext import clock
from gitext.lifecycle.archive import archive_conversations
from gitext.records.conversations import start_conversation
from tests.conftest import commit, git, open_project
from tests.relevance.conftest import relevant


def conversation(repo: Path) -> str:
    with open_project(repo) as p:
        return start_conversation(p, "anthropic", title="talk").id


def by_path(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["path"]: r for r in rows}


def rank(rows: list[dict[str, Any]], path: str) -> int:
    return [r["path"] for r in rows].index(path)


@pytest.fixture
def project(empty_repo: Path, aircher: Any) -> Path:
    commit(empty_repo, {
        "pkg/__init__.py": "",
        "pkg/helper.py": "def helper():\n    return 1\n",
        "pkg/main.py": "from pkg import helper\n\nprint(helper.helper())\n",
        "pkg/unrelated.py": "def unrelated():\n    return 2\n",
        "pkg/busy.py": "x = 0\n",
        "docs/guide.md": "# Guide\n\nHow to configure the retry budget of the client.\n",
    }, "start")
    for i in range(1, 6):
        commit(empty_repo, {"pkg/busy.py": f"x = {i}\n"}, f"tweak busy {i}")
    commit(empty_repo, {"pkg/main.py": "from pkg import helper\n\nprint(helper.helper() + 1)\n"},
           "change main")
    r = aircher(empty_repo, "index")
    assert r.code == 0, r.err
    return empty_repo


def test_changed_often_and_recently_outranks_untouched(project: Path, aircher: Any) -> None:
    rows = relevant(aircher, project)
    files = by_path(rows)
    busy, untouched = files["pkg/busy.py"], files["pkg/unrelated.py"]
    assert rank(rows, "pkg/busy.py") < rank(rows, "pkg/unrelated.py")
    assert busy["components"]["frequency_score"] > untouched["components"]["frequency_score"]
    # main.py changed last: the most recent, though busy.py changed more often.
    assert files["pkg/main.py"]["components"]["recency_score"] == pytest.approx(1.0)
    assert 0 < busy["components"]["recency_score"] < 1.0
    assert untouched["components"]["recency_score"] < busy["components"]["recency_score"]
    assert set(rows[0]) >= {"path", "score"}


def test_recent_work_lifts_what_it_imports(project: Path, aircher: Any) -> None:
    files = by_path(relevant(aircher, project))
    # main.py (the last change) imports helper.py; unrelated.py has no link to recent work.
    assert (files["pkg/helper.py"]["components"]["dependency_score"]
            > files["pkg/unrelated.py"]["components"]["dependency_score"])
    assert files["pkg/helper.py"]["score"] > files["pkg/unrelated.py"]["score"]


def test_feedback_changes_the_order(project: Path, aircher: Any) -> None:
    before = relevant(aircher, project)
    assert rank(before, "pkg/unrelated.py") > rank(before, "pkg/helper.py")
    c1 = conversation(project)
    r = aircher(project, "feedback", "pkg/unrelated.py", "--useful", "1", "--conversation", c1)
    assert r.code == 0, r.err
    r = aircher(project, "feedback", "pkg/helper.py", "--useful", "0")
    assert r.code == 0, r.err
    after = relevant(aircher, project)
    assert rank(after, "pkg/unrelated.py") < rank(after, "pkg/helper.py")
    assert by_path(after)["pkg/unrelated.py"]["components"]["success_correlation"] > 0
    assert by_path(after)["pkg/helper.py"]["components"]["success_correlation"] < 0
    with sqlite3.connect(project / ".agents/db/core/knowledge.db") as conn:
        rows = conn.execute("SELECT file_path, actual_usefulness, conversation_id FROM"
                            " context_relevance_feedback ORDER BY file_path").fetchall()
    assert rows == [("pkg/helper.py", 0.0, None), ("pkg/unrelated.py", 1.0, c1)]
    with sqlite3.connect(project / ".agents/db/core/file_index.db") as conn:
        n = conn.execute("SELECT count(*) FROM file_access_patterns WHERE access_type ="
                         " 'context_inclusion'").fetchone()[0]
    assert n == 2


def test_feedback_resolves_its_conversation_and_names_its_context(
        project: Path, aircher: Any) -> None:
    # --conversation takes what `conversation show` takes, and nothing else: a typo stored
    # unchecked is a reference nothing can follow. The access row names the context.
    clock.set_now(1_800_000_000.0)
    old = conversation(project)
    clock.set_now(1_800_000_060.0)
    live = conversation(project)
    clock.set_now(None)
    with open_project(project) as p:  # the older one archived, as the retention policy does
        p.config.values["storage.lifecycle.conversation_max_per_project"] = 1
        assert archive_conversations(p).ids == [old]
    for given, says in (("no-such-conversation", "error: no conversation 'no-such-conversation'"),
                        (old[:8], f"error: conversation {old} is archived")):
        r = aircher(project, "feedback", "pkg/helper.py", "--useful", "1",
                    "--conversation", given)
        assert (r.code, r.err.splitlines()[0]) == (2, says), r.err
        assert len(r.err.splitlines()) == 2 and r.err.splitlines()[1].startswith("hint: ")
    r = aircher(project, "feedback", "pkg/helper.py", "--useful", "1", "--conversation",
                live[:8], "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["conversation_id"] == live
    with sqlite3.connect(project / ".agents/db/core/knowledge.db") as conn:
        feedback = conn.execute("SELECT conversation_id FROM context_relevance_feedback").fetchall()
        contexts = {row[0] for row in conn.execute("SELECT id FROM contexts")}
    with sqlite3.connect(project / ".agents/db/core/file_index.db") as conn:
        access = conn.execute("SELECT context_id FROM file_access_patterns").fetchall()
    assert feedback == [(live,)]
    assert len(access) == 1 and access[0][0] in contexts


def test_feedback_counts_in_the_context_it_was_given_in(project: Path, aircher: Any) -> None:
    # Given on feat: it lifts the file on feat and in feat's sessions, not on main; feedback
    # recorded before it named a context (no context_id) counts everywhere, as it did.
    git(project, "checkout", "-q", "-b", "feat")
    assert aircher(project, "index").code == 0
    r = aircher(project, "session", "start", "feature", "--json")
    assert r.code == 0, r.err
    session = json.loads(r.out)["id"]  # a session's id names its context, as everywhere
    git(project, "checkout", "-q", "main")
    r = aircher(project, "feedback", "pkg/unrelated.py", "--useful", "1", "--context", "feat")
    assert r.code == 0, r.err
    with sqlite3.connect(project / ".agents/db/core/knowledge.db") as conn:
        conn.execute("INSERT INTO context_relevance_feedback (id, file_path, actual_usefulness,"
                     " recorded_at) VALUES ('old', 'pkg/helper.py', 0.0, ?)",
                     (clock.now(),))

    def parts(*args: str) -> dict[str, dict[str, float]]:
        return {p: row["components"] for p, row in by_path(relevant(aircher, project,
                                                                    *args)).items()}

    main, feat, in_session = parts("--context", "main"), parts("--context", "feat"), parts(
        "--context", session)
    # (Decayed by the second since it was given: equal up to that.)
    assert parts()["pkg/unrelated.py"]["success_correlation"] == 0
    assert main["pkg/unrelated.py"]["success_correlation"] == 0
    assert feat["pkg/unrelated.py"]["success_correlation"] > 0
    for part in ("success_correlation", "frequency_score"):
        assert in_session["pkg/unrelated.py"][part] == pytest.approx(
            feat["pkg/unrelated.py"][part], abs=1e-4)
    # The access the feedback records is feat's too.
    assert (feat["pkg/unrelated.py"]["frequency_score"]
            > main["pkg/unrelated.py"]["frequency_score"])
    assert all(c["pkg/helper.py"]["success_correlation"] < 0 for c in (main, feat, in_session))
    r = aircher(project, "relevant", "--context", "fet")
    assert (r.code, r.err) == (2, "error: no context 'fet'; closest: feat\n")


def test_feedback_lifts_a_file_without_overriding_history(project: Path, aircher: Any) -> None:
    # Feedback is weighed on the fused ranks' scale (docs/search.md): a small useful feedback
    # lifts unrelated.py above the files with the same history as it, but not above busy.py
    # (changed in most commits) or main.py (changed last), which history ranks far ahead.
    before = relevant(aircher, project)
    assert rank(before, "pkg/unrelated.py") > rank(before, "pkg/helper.py")
    r = aircher(project, "feedback", "pkg/unrelated.py", "--useful", "0.75")
    assert r.code == 0, r.err
    after = relevant(aircher, project)
    assert by_path(after)["pkg/unrelated.py"]["components"]["success_correlation"] == (
        pytest.approx(0.5, abs=1e-3))
    assert rank(after, "pkg/unrelated.py") < rank(after, "pkg/helper.py")
    assert rank(after, "pkg/unrelated.py") > rank(after, "pkg/busy.py")
    assert rank(after, "pkg/unrelated.py") > rank(after, "pkg/main.py")


def test_feedback_rejects_bad_input(project: Path, aircher: Any) -> None:
    r = aircher(project, "feedback", "pkg/helper.py", "--useful", "1.5")
    assert r.code == 2 and "between 0 and 1" in r.err
    r = aircher(project, "feedback", "no/such/file.py", "--useful", "1")
    assert r.code == 2 and "not in the file index" in r.err
    r = aircher(project, "feedback", "", "--useful", "1")
    assert (r.code, r.err.splitlines()[0]) == (
        2, "error: PATH is empty: name a file of this repository"), r.err


def test_task_fuses_search_with_relevance(project: Path, aircher: Any) -> None:
    rows = relevant(aircher, project, "--task", "configure the retry budget")
    assert rows[0]["path"] == "docs/guide.md"
    plain = relevant(aircher, project)
    assert plain[0]["path"] != "docs/guide.md"


def test_index_stores_every_component(project: Path) -> None:
    with sqlite3.connect(project / ".agents/db/core/file_index.db") as conn:
        rows = conn.execute(
            "SELECT f.path, s.context_type, s.base_score, s.frequency_score, s.recency_score,"
            " s.dependency_score, s.success_correlation, s.cross_context_boost, s.final_score,"
            " s.calculated_at, s.expires_at FROM file_relevance_scores s JOIN files f"
            " ON f.id = s.file_id").fetchall()
        dirty = conn.execute("SELECT count(*) FROM relevance_dirty").fetchone()[0]
    scores = {r[0]: r for r in rows}
    assert scores["pkg/busy.py"][1] == "worktree"
    assert scores["pkg/busy.py"][8] > scores["pkg/unrelated.py"][8]
    assert all(r[9] and r[10] and r[10] > r[9] for r in rows)
    assert dirty == 0


def test_cross_context_boost(project: Path, aircher: Any) -> None:
    from gitext.project import Project
    from gitext.relevance.scoring import compute, current_context, store

    with Project.locate(project, Path.home().parent / "aircher-home") as proj:
        here = current_context(proj)
        with proj.db("knowledge").write() as conn:
            conn.execute("INSERT INTO contexts (id, context_type, parent_context_id, name)"
                         " VALUES ('other', 'worktree', ?, 'feature')", (here.parent_id,))
            conn.execute("INSERT INTO context_relationships (id, source_context_id,"
                         " target_context_id, relationship_type, strength) VALUES"
                         " ('rel', ?, 'other', 'similar_task', 1.0)", (here.id,))
        other = compute(proj, current_context(proj, "other"))
        # Pretend the other context's work was all about unrelated.py.
        other.final[:] = 0.0
        other.final[other.paths.index("pkg/unrelated.py")] = 5.0
        store(proj, other)
        mine = compute(proj, here)
    boost = dict(zip(mine.paths, mine.parts["cross_context_boost"], strict=True))
    assert boost["pkg/unrelated.py"] == pytest.approx(1.0)
    assert boost["pkg/helper.py"] == 0.0


def test_relevant_in_a_fresh_repo_without_history(empty_repo: Path, aircher: Any) -> None:
    commit(empty_repo, {"a.py": "print(1)\n"}, "one")
    assert aircher(empty_repo, "index").code == 0
    rows = relevant(aircher, empty_repo)
    assert [r["path"] for r in rows] == ["a.py"]
    r = aircher(empty_repo, "relevant", "--task", "   ")
    assert r.code == 2 and "empty --task" in r.err


def test_feedback_given_while_scores_are_stored_is_not_lost(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A refresh computes, then stores and clears the dirty marks. A mark made in between
    (feedback given, a file taken in) must outlive it, or the stored scores stay without it
    until HEAD moves."""
    from gitext.relevance import record_feedback, scoring
    from tests.conftest import open_project

    def stored(path: str) -> float:
        with sqlite3.connect(project / ".agents/db/core/file_index.db") as conn:
            return float(conn.execute(
                "SELECT s.success_correlation FROM file_relevance_scores s JOIN files f"
                " ON f.id = s.file_id WHERE f.path = ?", (path,)).fetchone()[0])

    real = scoring.compute
    with open_project(project) as p:
        def compute_then_feedback(proj: Any, ctx: Any) -> Any:
            out = real(proj, ctx)
            record_feedback(p, "pkg/unrelated.py", 1.0)  # while this refresh runs
            return out

        record_feedback(p, "pkg/helper.py", 0.0)  # something for the refresh to take in
        monkeypatch.setattr(scoring, "compute", compute_then_feedback)
        scoring.refresh(p)
        assert stored("pkg/helper.py") < 0
        assert stored("pkg/unrelated.py") == 0.0
        monkeypatch.setattr(scoring, "compute", real)
        scoring.refresh(p)
    assert stored("pkg/unrelated.py") > 0


def test_a_small_last_commit_follows_the_first_file(empty_repo: Path, aircher: Any) -> None:
    """The files of a small last commit move up to just below the fused first file: the next
    commit often returns to them (the fix, its test), while the fusion ranks them by a
    history that has barely begun."""
    commit(empty_repo, {"CHANGES.md": "# Changes\n", "pkg/busy.py": "x = 0\n",
                        "pkg/core.py": "y = 0\n", "pkg/quiet.py": "q = 0\n"}, "start")
    for i in range(1, 7):
        commit(empty_repo, {"CHANGES.md": f"# Changes\n\n- {i}\n", "pkg/busy.py": f"x = {i}\n",
                            "pkg/core.py": f"y = {i}\n"}, f"work {i}")
    commit(empty_repo, {"pkg/fresh.py": "def fresh():\n    return 1\n",
                        "tests/test_fresh.py": "from pkg.fresh import fresh\n"}, "add fresh")
    commit(empty_repo, {"pkg/fresh.py": "def fresh():\n    return 2\n",
                        "tests/test_fresh.py": "from pkg.fresh import fresh\nfresh()\n"},
           "fix fresh")
    assert aircher(empty_repo, "index").code == 0
    order = [r["path"] for r in relevant(aircher, empty_repo)]
    busy = {"CHANGES.md", "pkg/busy.py", "pkg/core.py"}
    assert order[0] in busy  # the first place stays the fusion's
    assert set(order[1:3]) == {"pkg/fresh.py", "tests/test_fresh.py"}, order
    assert set(order[3:5]) == busy - {order[0]} and order[-1] == "pkg/quiet.py"


def test_feedback_without_a_context_goes_to_the_current_session(
        project: Path, aircher: Any) -> None:
    """Every write lands in the session current in this worktree; feedback went to the branch
    even then, so `relevant --context SESSION` could not tell it from a sibling session's."""
    r = aircher(project, "session", "start", "feature", "--json")
    assert r.code == 0, r.err
    session = json.loads(r.out)
    r = aircher(project, "feedback", "pkg/unrelated.py", "--useful", "1", "--json")
    assert r.code == 0, r.err
    with sqlite3.connect(project / ".agents/db/core/knowledge.db") as conn:
        [(given,)] = conn.execute("SELECT context_id FROM context_relevance_feedback")
    with sqlite3.connect(project / ".agents/db/core/sessions.db") as conn:
        [(own,)] = conn.execute("SELECT context_id FROM sessions WHERE id = ?",
                                (session["id"],))
    assert given == own
    # It counts there and on its branch, as feedback given in a session always did.
    for args in ((), ("--context", session["id"])):
        lifted = by_path(relevant(aircher, project, *args))["pkg/unrelated.py"]
        assert lifted["components"]["success_correlation"] > 0, args
