from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitext import clock
from gitext.errors import UsageError
from gitext.ids import new_id
from gitext.insights.compare import compare
from gitext.project import Project
from gitext.records import (
    add_decision,
    add_message,
    record_pattern,
    start_conversation,
    start_session,
)
from tests.conftest import commit, git
from tests.insights.scenario import build, documented
from tests.records.helpers import open_project, same_shape
from tests.sync.helpers import wait_idle


def _score(project: Project, context_id: str, at: str, scores: dict[str, float]) -> None:
    """Relevance rows as the relevance engine would write them, computed at commit `at`."""
    meta = json.dumps({"head": at})
    with project.db("file_index").write() as conn:
        for path, score in scores.items():
            conn.execute("INSERT OR IGNORE INTO files (id, path, name) VALUES (?, ?, ?)",
                         (new_id(), path, path.rsplit("/", 1)[-1]))
            fid = conn.execute("SELECT id FROM files WHERE path = ?", (path,)).fetchone()[0]
            conn.execute(
                "INSERT INTO file_relevance_scores (id, file_id, context_id, context_type,"
                " final_score, calculated_at, metadata) VALUES (?, ?, ?, 'worktree', ?, ?, ?)",
                (new_id(), fid, context_id, score, clock.now(), meta),
            )


def test_compare_two_branches(project: Project, aircher: object, tmp_path: Path) -> None:
    sc = build(project)
    add_decision(project, "api", "Keep login synchronous")
    login = open_project(sc.login)
    try:
        start_session(login, "feature", "token refresh")
        conv = start_conversation(login, "anthropic", title="refresh tokens")
        add_message(login, conv.id, "user", "make refresh retry", tokens=5)
        record_pattern(login, "testing", "test every auth change")
    finally:
        login.close()
    _score(project, sc.contexts["main"].id, git(sc.main, "rev-parse", "main").strip(),
           {"README.md": 0.9, "auth.py": 0.5})

    cmp = compare(project, "main", "feature/login")
    data = cmp.to_json()
    same_shape(documented("compare"), data)
    assert (data["a_ahead"], data["b_ahead"]) == (1, 2)
    assert data["a"]["ref"] == "main" and data["b"]["context_name"] == "feature/login"
    diff = {d["path"]: (d["added"], d["deleted"]) for d in data["diff"]}
    assert diff == {"README.md": (0, 1), "auth.py": (1, 1), "tests/test_auth.py": (1, 1)}
    assert data["diff_totals"] == {"files": 3, "added": 2, "deleted": 3}
    assert data["both_changed"] == ["auth.py"] and data["conflicts"] == ["auth.py"]
    assert [d["title"] for d in data["a"]["decisions"]] == ["Keep login synchronous"]
    assert data["b"]["decisions"] == []
    assert [c["title"] for c in data["b"]["conversations"]] == ["refresh tokens"]
    assert data["b"]["conversations"][0]["messages"] == 1
    assert [s["task_type"] for s in data["b"]["sessions"]] == ["feature"]
    assert [p["description"] for p in data["b"]["patterns"]] == ["test every auth change"]
    assert data["a"]["relevant_source"] == "relevance"
    assert [f["path"] for f in data["a"]["relevant_files"]] == ["README.md", "auth.py"]
    assert data["b"]["relevant_source"] == "changes"
    assert data["b"]["relevant_files"][0] == {"path": "auth.py", "score": 1.0, "changes": 2}
    assert data["relevant_overlap"] == ["auth.py"]
    assert [c["subject"] for c in data["b"]["commits"]] == [
        "login: retry the token refresh on expiry", "login: refresh the session token in auth"]

    by_path = compare(project, str(sc.signup), "feature/login").to_json()
    assert by_path["a"]["ref"] == "feature/signup"
    assert by_path["conflicts"] == ["auth.py", "tests/test_auth.py"]

    run = aircher  # type: ignore[assignment]
    table = run(sc.main, "compare", "main", "feature/login")
    assert table.code == 0
    assert "a merge would conflict in: auth.py" in table.out
    assert "relevant to both: auth.py" in table.out
    one = json.loads(run(sc.main, "compare", "main", "feature/login", "--json").out)
    two = json.loads(run(sc.main, "worktree", "compare", "main", "feature/login", "--json").out)
    assert one == two == json.loads(json.dumps(data))

    wrong = run(sc.main, "compare", "main", "feature/logn")
    assert wrong.code == 2
    assert wrong.err.count("\n") == 1 and "closest: feature/login" in wrong.err

    trap = tmp_path / "written-by-git"
    with pytest.raises(UsageError, match="no branch, worktree or context"):
        compare(project, f"--output={trap}", "main")
    assert not trap.exists()


def test_context_whose_commit_git_no_longer_has(live: Path, aircher: object) -> None:
    run = aircher  # type: ignore[assignment]
    commit(live, {"b.txt": "b\n"}, "b")
    commit(live, {"c.txt": "c\n"}, "c")
    git(live, "checkout", "-q", "--detach", "HEAD~1")
    git(live, "switch", "-q", "-c", "topic")
    commit(live, {"t.txt": "t\n"}, "t")
    git(live, "switch", "-q", "main")
    wait_idle(live)
    assert run(live, "compare", "main", "(detached)", "--json").code == 0
    git(live, "branch", "-q", "-D", "topic")
    git(live, "reset", "-q", "--hard", "HEAD~2")  # the detached HEAD's commit is left too
    commit(live, {"d.txt": "d\n"}, "d")
    git(live, "reflog", "expire", "--expire=now", "--all")
    git(live, "gc", "-q", "--prune=now")
    wait_idle(live)
    for name in ("topic", "(detached)"):
        gone = run(live, "compare", "main", name)
        assert gone.code == 1
        lines = gone.err.splitlines()
        assert lines[0].startswith(f"error: context '{name}' was last at ")
        assert lines[0].endswith(", which is no longer in the repository")
        assert len(lines) == 2 and lines[1].startswith("hint: ")
    # A name the store does not know is still one, with other names as the closest.
    wrong = run(live, "compare", "main", "topics")
    assert wrong.code == 2 and wrong.err == "error: no branch, worktree or context 'topics';" \
        " closest: topic\n"


def test_commit_subjects_are_redacted_as_the_store_keeps_them(
        live: Path, aircher: object, monkeypatch: pytest.MonkeyPatch) -> None:
    run = aircher  # type: ignore[assignment]
    key = "AKIA" + "QWERTYUIOPASDFGH"  # split so this file does not trip scanners itself
    git(live, "switch", "-q", "-c", "topic")
    monkeypatch.setenv("AIRCHER_SKIP", "1")  # past the guard, as a commit made elsewhere
    commit(live, {"t.txt": "t\n"}, f"use {key} for now")
    monkeypatch.delenv("AIRCHER_SKIP")
    git(live, "switch", "-q", "main")
    data = json.loads(run(live, "compare", "main", "topic", "--json").out)
    assert [c["subject"] for c in data["b"]["commits"]] == ["use [redacted] for now"]
    table = run(live, "compare", "main", "topic")
    assert table.code == 0 and key not in table.out


def test_unborn_branch_has_no_commits_yet(live: Path, aircher: object) -> None:
    run = aircher  # type: ignore[assignment]
    git(live, "switch", "-q", "--orphan", "orph")
    wait_idle(live)  # the store knows the branch's context, with no commit
    unborn = run(live, "compare", "main", "orph")
    assert unborn.code == 1
    assert unborn.err.splitlines() == [
        "error: branch 'orph' has no commits yet",
        "hint: commit on it first; there is nothing to compare before that"]
    # Left before its first commit: the branch never existed, and no commit was removed.
    git(live, "switch", "-q", "main")
    left = run(live, "compare", "main", "orph")
    assert left.code == 1 and len(left.err.splitlines()) == 2
    assert "has no commit" in left.err and "git gc" not in left.err
    assert "no longer in the repository" not in left.err


def _relevant_paths(run: object, repo: Path, *args: str) -> list[str]:
    out = run(repo, *args, "--json")  # type: ignore[operator]
    assert out.code == 0, out.err
    return [f["path"] for f in json.loads(out.out)]


def test_relevant_files_of_a_branch_left_right_after_a_commit(
        live: Path, aircher: object) -> None:
    """A branch left at once after a commit (`git commit` then `git checkout -b feat`) kept
    the scores stored before that commit, as nothing refreshes a context no worktree is on:
    `compare` named main's renamed-away old.py and not new.py, while `relevant --context main`
    answered new.py. Scores computed at another commit than the side's are now recomputed at
    the side's, as `relevant --context` computes them (QA round 22b: 02)."""
    run = aircher
    commit(live, {"a.py": "x = 1\n", "old.py": "old = 1\n"}, "init")
    assert run(live, "sync").code == 0  # type: ignore[operator]
    wait_idle(live)
    git(live, "mv", "old.py", "new.py")
    git(live, "commit", "-q", "-m", "rename old to new")
    git(live, "checkout", "-q", "-b", "feat")
    wait_idle(live)
    assert run(live, "sync").code == 0  # type: ignore[operator]
    wait_idle(live)
    data = json.loads(run(live, "compare", "main", "feat", "--json").out)  # type: ignore[operator]
    main_files = [f["path"] for f in data["a"]["relevant_files"]]
    assert data["a"]["relevant_source"] == "relevance"
    assert "old.py" not in main_files and "new.py" in main_files
    assert main_files == _relevant_paths(run, live, "relevant", "--context", "main")


def _feat_with_its_own_file(live: Path) -> None:
    """Branch feat, three commits of a file only it has, then back on main."""
    commit(live, {"a.py": "x = 1\n"}, "init")
    git(live, "checkout", "-q", "-b", "feat")
    for n in range(3):
        commit(live, {"feat_only.py": f"feature = {n}\n"}, f"feat {n}")
    git(live, "checkout", "-q", "main")


def test_relevant_for_another_branch_s_context_ranks_that_branch_s_files(
        live: Path, aircher: object) -> None:
    """`relevant --context feat` run on main scored main's files for feat: feat's own file was
    missing and main's new one was named, while `compare main feat` named feat's. A context
    of another branch is now ranked at that branch's tip, as `compare` ranks it."""
    run = aircher
    _feat_with_its_own_file(live)
    commit(live, {"main_only.py": "main = 1\n"}, "main work")
    wait_idle(live)
    assert run(live, "sync").code == 0  # type: ignore[operator]
    wait_idle(live)
    feat = _relevant_paths(run, live, "relevant", "--context", "feat")
    assert "feat_only.py" in feat and "main_only.py" not in feat, feat
    here = _relevant_paths(run, live, "relevant")
    assert "main_only.py" in here and "feat_only.py" not in here, here
    data = json.loads(run(live, "compare", "main", "feat", "--json").out)  # type: ignore[operator]
    shown = [f["path"] for f in data["b"]["relevant_files"]]
    assert shown == feat[:len(shown)]


def test_relevant_for_a_context_whose_commit_git_no_longer_has(
        live: Path, aircher: object) -> None:
    """`relevant --context feat`, feat deleted and its commits gone with `git gc`, answered
    main's files in feat's name, exit 0 and no word, where `compare` refuses the context; it
    now gives compare's error (QA round 26g: 04)."""
    run = aircher
    _feat_with_its_own_file(live)
    wait_idle(live)
    assert "feat_only.py" in _relevant_paths(run, live, "relevant", "--context", "feat")
    git(live, "branch", "-q", "-D", "feat")
    git(live, "reflog", "expire", "--expire=now", "--all")
    git(live, "gc", "-q", "--prune=now")
    wait_idle(live)
    gone = run(live, "relevant", "--context", "feat", "--json")  # type: ignore[operator]
    assert (gone.code, gone.out) == (1, "")
    lines = gone.err.splitlines()
    assert lines[0] == run(live, "compare", "main", "feat").err.splitlines()[0]  # type: ignore[operator]
    assert lines[0].startswith("error: context 'feat' was last at ")
    assert lines[0].endswith(", which is no longer in the repository")
    assert len(lines) == 2 and lines[1].startswith("hint: ")


def test_relevant_files_of_a_side_take_feedback_in_at_once(
        empty_repo: Path, aircher: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """`compare` served a side's stored scores while they were computed at its commit, though
    `feedback` had marked them dirty: the file fed back stayed last there while `relevant`
    moved it up, until the next commit or `index` (QA round 26g: 01)."""
    monkeypatch.setenv("AIRCHER_SKIP", "1")  # no worker refreshes the stored scores meanwhile
    run = aircher
    repo = empty_repo
    commit(repo, {f"src/m{i}.py": f"def f{i}():\n    return {i}\n" for i in range(1, 7)}, "init")
    for i in range(1, 9):
        commit(repo, {f"src/m{i % 3 + 1}.py": f"def f():\n    return {i}\n"}, f"change {i}")
    assert run(repo, "index").code == 0  # type: ignore[operator]
    git(repo, "branch", "other", "HEAD~1")
    last = _relevant_paths(run, repo, "relevant", "--top", "50")[-1]
    for useful in ("1", "0"):
        r = run(repo, "feedback", last, "--useful", useful)  # type: ignore[operator]
        assert r.code == 0, r.err
        here = json.loads(run(repo, "relevant", "--json", "--top", "50").out)  # type: ignore[operator]
        side = json.loads(run(repo, "compare", "main", "other", "--json",  # type: ignore[operator]
                              "--top", "50").out)["a"]
        assert side["relevant_source"] == "relevance"
        shown = {f["path"]: f["score"] for f in side["relevant_files"]}
        assert list(shown) == [f["path"] for f in here]
        assert shown[last] == pytest.approx(
            next(f["score"] for f in here if f["path"] == last), abs=1e-3)


def test_files_outside_the_sparse_checkout_are_named_by_neither_side(
        empty_repo: Path, aircher: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a sparse checkout `compare` named files outside it as each side's top relevant files
    (from stored scores and from the branch's recent changes alike), where `relevant` leaves
    them out since an agent cannot open them; both sides now leave them out by the same rule
    (QA round 22b: 03)."""
    monkeypatch.setenv("AIRCHER_SKIP", "1")  # the test drives every step; no worker races it
    run = aircher
    repo = empty_repo
    commit(repo, {"sub/s.py": "s = 1\n", "other/o.py": "o = 1\n"}, "init")
    for i in range(2, 5):
        commit(repo, {"other/o.py": f"o = {i}\n"}, f"o{i}")
    assert run(repo, "index").code == 0  # type: ignore[operator]
    git(repo, "branch", "feat")  # no event meets it: its side ranks its recent changes
    git(repo, "sparse-checkout", "set", "sub")
    assert not (repo / "other").exists()
    assert _relevant_paths(run, repo, "relevant") == ["sub/s.py"]
    data = json.loads(run(repo, "compare", "main", "feat", "--json").out)  # type: ignore[operator]
    assert (data["a"]["relevant_source"], data["b"]["relevant_source"]) == (
        "relevance", "recent")
    assert [f["path"] for f in data["a"]["relevant_files"]] == ["sub/s.py"]
    assert [f["path"] for f in data["b"]["relevant_files"]] == ["sub/s.py"]


def test_a_side_s_counts_are_its_context_s_not_the_cut_lists(
        project: Project, aircher: object) -> None:
    """`compare` printed the length of the list `--top` cut as the count, "decisions 10: …" for
    a branch with 15, and nothing said the list was cut (QA round 25d: 07). The table gives
    the context's counts now, the JSON a side's `counts`, and a cut list is noted on stderr."""
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    git(root, "switch", "-q", "-c", "feat")
    for i in range(1, 16):
        add_decision(project, "api", f"feat decision {i}")
    commit(root, {"a.py": "x = 2\n"}, "feat")
    git(root, "switch", "-q", "main")
    table = run(root, "compare", "main", "feat")
    assert table.code == 0, table.err
    row = next(line for line in table.out.splitlines() if line.startswith("decisions"))
    assert row.split()[1:3] == ["0", "15:"]
    cut = run(root, "compare", "main", "feat", "--json")
    feat = json.loads(cut.out)["b"]
    assert (len(feat["decisions"]), feat["counts"]["decisions"]) == (10, 15)
    assert cut.err.startswith("note: ")
    whole = run(root, "compare", "main", "feat", "--json", "--top", "20")
    assert len(json.loads(whole.out)["b"]["decisions"]) == 15 and whole.err == ""
