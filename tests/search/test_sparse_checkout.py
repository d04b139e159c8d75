"""In a sparse checkout, search and `relevant` name only files that are in the work tree.

The store's view is HEAD's tree, so it lists the files outside the cone too; before, search
answered them with previews and line ranges, and `relevant` ranked them, though an agent could
not open them (QA round 7: 07). They stay in the store (metadata, history); `git
sparse-checkout set/add/disable` runs no hook, so each query asks git which are left out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import commit, git, write
from tests.sync.helpers import query

FILES = {f"d{i}/f.py": f"def dir_fn_{i}():\n    return 'pangolin {i}'\n" for i in range(1, 5)}


@pytest.fixture
def sparse_repo(empty_repo: Path, aircher: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AIRCHER_SKIP", "1")  # the test drives every step; no worker races it
    for path, text in FILES.items():
        commit(empty_repo, {path: text}, f"add {path}")
    assert aircher(empty_repo, "index").code == 0
    return empty_repo


def answered(aircher: Any, repo: Path, command: str, *args: str) -> set[str]:
    r = aircher(repo, command, "--json", *args)
    assert r.code == 0, r.err
    return {h["path"] for h in json.loads(r.out)}


def queries(aircher: Any, repo: Path) -> list[set[str]]:
    return [answered(aircher, repo, "search", "--", "pangolin dir_fn"),
            answered(aircher, repo, "search", "--mode", "vector", "--", "pangolin"),
            answered(aircher, repo, "relevant"),
            answered(aircher, repo, "relevant", "--task", "pangolin")]


def test_files_outside_the_cone_are_not_answered(sparse_repo: Path, aircher: Any) -> None:
    repo = sparse_repo
    assert all(found == set(FILES) for found in queries(aircher, repo))

    git(repo, "sparse-checkout", "set", "d1")
    assert not (repo / "d2").exists()
    assert all(found == {"d1/f.py"} for found in queries(aircher, repo))
    # Still known to the store, with their history.
    assert len(query(repo, "file_index", "SELECT 1 FROM files WHERE path LIKE 'd%/f.py'")) == 4

    git(repo, "sparse-checkout", "add", "d3")  # runs no hook: the next query follows
    assert all(found == {"d1/f.py", "d3/f.py"} for found in queries(aircher, repo))

    git(repo, "sparse-checkout", "disable")
    assert all(found == set(FILES) for found in queries(aircher, repo))


def test_a_skip_worktree_file_on_disk_is_still_answered(sparse_repo: Path,
                                                        aircher: Any) -> None:
    """`git update-index --skip-worktree` on a file kept in place (a local config file): it
    can be opened, so it is an answer; deleted, it is not."""
    repo = sparse_repo
    git(repo, "update-index", "--skip-worktree", "d2/f.py")
    write(repo, "d2/f.py", FILES["d2/f.py"])
    assert "d2/f.py" in answered(aircher, repo, "search", "--", "pangolin")
    (repo / "d2" / "f.py").unlink()  # git status does not report it: the bit hides it
    assert "d2/f.py" not in answered(aircher, repo, "search", "--", "pangolin")
    assert "d2/f.py" not in answered(aircher, repo, "relevant")
