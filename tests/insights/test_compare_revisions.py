from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitext.project import Project
from gitext.records import current_context
from tests.conftest import commit, git


def test_compare_takes_the_revisions_git_takes(project: Project, aircher: object) -> None:
    """`:/text` names a commit by its message; `^{commit}` appended to it became part of the
    pattern, so compare called it unknown (QA round 6, not scripted)."""
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    (root / "a.txt").write_text("a\n")
    git(root, "add", "a.txt")
    git(root, "commit", "-qm", "the first one")
    first = git(root, "rev-parse", "HEAD").strip()
    (root / "a.txt").write_text("b\n")
    git(root, "commit", "-qam", "the second")
    out = run(root, "compare", "--json", ":/first one", "HEAD")
    assert out.code == 0, out.err
    data = json.loads(out.out)
    assert (data["a"]["commit"], data["b"]["commit"]) == (
        first, git(root, "rev-parse", "HEAD").strip())
    tilde = json.loads(run(root, "compare", "--json", "HEAD~1", "HEAD^{commit}").out)
    assert tilde["a"]["commit"] == first
    missing = run(root, "compare", ":/no such message", "HEAD")
    assert missing.code != 0 and missing.err.startswith("error: no branch, worktree or context")


def test_files_from_changes_are_files_the_side_has(project: Project, aircher: object) -> None:
    """A side's relevant files counted from its commits named the old path of a file it
    renamed, and files it deleted (QA round 6, not scripted)."""
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    (root / "a.txt").write_text("a\n" * 20)
    (root / "gone.txt").write_text("g\n")
    git(root, "add", ".")
    git(root, "commit", "-qm", "base")
    git(root, "switch", "-qc", "topic")
    git(root, "mv", "a.txt", "b.txt")
    (root / "b.txt").write_text("a\n" * 20 + "b\n")
    git(root, "rm", "-q", "gone.txt")
    git(root, "commit", "-qam", "rename and delete")
    data = json.loads(run(root, "compare", "--json", "main", "topic").out)
    assert data["b"]["relevant_source"] == "changes"
    assert [f["path"] for f in data["b"]["relevant_files"]] == ["b.txt"]


def test_unrelated_histories_have_every_commit_their_own(
        project: Project, aircher: object) -> None:
    """With no merge base (an orphan branch with its own root commit) compare said each side
    was 1 commit ahead but listed no commits, nothing changed and `conflicts: []`, where
    `git merge-tree --allow-unrelated-histories` reports an add/add conflict (QA round 20b: 05)."""
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    (root / "m1.py").write_text("def f1(): return 1\n")
    (root / "only_main.py").write_text("x = 1\n")
    git(root, "add", ".")
    git(root, "commit", "-qm", "main root")
    git(root, "switch", "-q", "--orphan", "other")
    (root / "m1.py").write_text("def f1(): return 9\n")
    git(root, "add", "m1.py")
    git(root, "commit", "-qm", "other root")
    git(root, "switch", "-q", "main")
    out = run(root, "compare", "--json", "main", "other")
    assert out.code == 0, out.err
    data = json.loads(out.out)
    assert data["merge_base"] is None and data["merge_base_unknown"] is False
    assert (data["a_ahead"], data["b_ahead"]) == (2, 1)
    assert [c["subject"] for c in data["a"]["commits"]] == ["main root", "initial"]
    assert [c["subject"] for c in data["b"]["commits"]] == ["other root"]
    assert data["a"]["changed_since_base"] == ["README.md", "m1.py", "only_main.py",
                                               "src/app.py"]
    assert data["b"]["changed_since_base"] == ["m1.py"]
    assert data["both_changed"] == ["m1.py"]
    assert data["conflicts"] == ["m1.py"]
    table = run(root, "compare", "main", "other")
    assert table.code == 0, table.err
    assert "merge base none (unrelated histories)" in table.out
    assert "a merge would conflict in: m1.py" in table.out


def test_branch_context_is_its_branch_not_a_tag_of_its_name(
        project: Project, aircher: object) -> None:
    """With a branch and a tag both named `feat`, compare found the branch's context but
    resolved it with `git rev-parse feat`, which prefers the tag: the branch's own commit and
    diff were gone from the comparison (QA round 20b: 06)."""
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    git(root, "tag", "feat")
    git(root, "switch", "-qc", "feat")
    (root / "a.py").write_text("y = 2\n")
    git(root, "add", "a.py")
    git(root, "commit", "-qm", "feat work")
    branch = git(root, "rev-parse", "refs/heads/feat").strip()
    assert current_context(project).name == "feat"
    git(root, "switch", "-q", "main")
    data = json.loads(run(root, "compare", "--json", "main", "feat").out)
    assert data["b"]["context_name"] == "feat"
    assert (data["b"]["commit"], data["b_ahead"]) == (branch, 1)
    assert [d["path"] for d in data["diff"]] == ["a.py"]
    # A branch the store has no context for yet is the branch as well.
    git(root, "branch", "plain", branch)
    git(root, "tag", "plain", "main")
    plain = json.loads(run(root, "compare", "--json", "main", "plain").out)
    assert (plain["b"]["commit"], plain["b_ahead"]) == (branch, 1)
    # A linked worktree's path names its branch too, not the tag.
    git(root, "worktree", "add", "-q", str(root.parent / "w"), "feat")
    by_path = json.loads(run(root, "compare", "--json", "main", str(root.parent / "w")).out)
    assert by_path["b"]["commit"] == branch


def test_a_merge_base_beyond_a_shallow_clones_boundary_is_unknown(
        tmp_path: Path, aircher: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a shallow clone whose boundary cuts both branches above their merge base, compare
    called them unrelated histories, counted every file as changed on both sides and predicted
    conflicts a real merge would not have. git cannot find the merge base there: it is unknown,
    not absent, so `merge_base_unknown` says so and nothing is claimed about conflicts
    (QA round 22b: 05)."""
    monkeypatch.setenv("AIRCHER_SKIP", "1")
    run = aircher  # type: ignore[assignment]
    src = tmp_path / "src"
    src.mkdir()
    git(src, "init", "-q")
    commit(src, {"a.py": "a = 1\n", "b.py": "b = 1\n"}, "init")
    git(src, "checkout", "-q", "-b", "other")
    commit(src, {"b.py": "b = 2\n"}, "other: b")
    git(src, "checkout", "-q", "main")
    for i in (2, 3):
        commit(src, {"a.py": f"a = {i}\n"}, f"main: a{i}")
    git(tmp_path, "clone", "-q", "--depth", "1", "--no-single-branch", src.as_uri(), "sh")
    root = tmp_path / "sh"
    git(root, "branch", "-q", "other", "origin/other")
    assert run(root, "init").code == 0
    data = json.loads(run(root, "compare", "--json", "main", "other").out)
    assert data["merge_base"] is None and data["merge_base_unknown"] is True
    assert data["conflicts"] is None and data["both_changed"] == []
    assert data["a"]["changed_since_base"] == [] and data["b"]["changed_since_base"] == []
    assert [c["subject"] for c in data["b"]["commits"]] == ["other: b"]
    table = run(root, "compare", "main", "other")
    assert table.code == 0, table.err
    assert "merge base unknown (beyond the shallow clone's boundary)" in table.out
    assert "unrelated" not in table.out and "would conflict" not in table.out
    # Deepened, git finds it.
    git(root, "fetch", "-q", "--unshallow")
    deep = json.loads(run(root, "compare", "--json", "main", "other").out)
    assert deep["merge_base"] is not None and deep["merge_base_unknown"] is False
    assert deep["conflicts"] == []

