"""Feedback and the access it records stay with a file through `git mv`, as its history does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import commit, git
from tests.relevance.conftest import relevant


def components(aircher: Any, repo: Path) -> dict[str, dict[str, float]]:
    return {r["path"]: r["components"] for r in relevant(aircher, repo)}


def test_feedback_follows_the_file_it_was_given_on_through_a_rename(
        empty_repo: Path, aircher: Any) -> None:
    """Feedback on m6.py, then `git mv m6.py auth.py`: the row stayed on m6.py, a name no view
    has, and auth.py scored as if nothing had been said (QA round 26g: 02). A file given the
    old name afterwards is another file: the feedback is not its."""
    repo = empty_repo
    commit(repo, {f"m{i}.py": f"def f{i}():\n    return {i}\n" for i in range(1, 7)}, "init")
    for i in range(1, 9):
        commit(repo, {f"m{i % 3 + 1}.py": f"def f():\n    return {i}\n"}, f"change {i}")
    assert aircher(repo, "index").code == 0
    r = aircher(repo, "feedback", "m6.py", "--useful", "1")
    assert r.code == 0, r.err
    assert components(aircher, repo)["m6.py"]["success_correlation"] > 0.9
    # m5.py moves in the same commit: the same history, no feedback and no access.
    git(repo, "mv", "m6.py", "auth.py")
    git(repo, "mv", "m5.py", "other.py")
    git(repo, "commit", "-q", "-m", "rename")
    commit(repo, {"m6.py": "new = 1\n"}, "a new file under the old name")
    assert aircher(repo, "index").code == 0
    after = components(aircher, repo)
    assert after["auth.py"]["success_correlation"] > 0.9
    assert after["other.py"]["success_correlation"] == 0.0
    assert after["auth.py"]["frequency_score"] > after["other.py"]["frequency_score"]
    assert after["m6.py"]["success_correlation"] == 0.0
