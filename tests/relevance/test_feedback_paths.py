"""Which paths `feedback` takes: a file of the index, named relative to the current directory."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from tests.conftest import commit


def test_a_root_file_whose_name_begins_with_two_dots_is_taken(
        empty_repo: Path, aircher: Any) -> None:
    """'..notes.md' is a file of the root, not a way out of it: the test looked at the text's
    prefix, not its first part (QA round 26g: 03)."""
    commit(empty_repo, {"..notes.md": "x\n", "sub/..cfg.txt": "y\n", "a.py": "z\n"}, "dots")
    assert aircher(empty_repo, "index").code == 0
    for path in ("..notes.md", "sub/..cfg.txt"):
        r = aircher(empty_repo, "feedback", path, "--useful", "1")
        assert r.code == 0, r.err
    r = aircher(empty_repo / "sub", "feedback", "..cfg.txt", "--useful", "1")
    assert r.code == 0, r.err
    with sqlite3.connect(empty_repo / ".agents/db/core/knowledge.db") as conn:
        paths = sorted(p for (p,) in conn.execute(
            "SELECT file_path FROM context_relevance_feedback"))
    assert paths == ["..notes.md", "sub/..cfg.txt", "sub/..cfg.txt"]
    # A real way out is still refused.
    r = aircher(empty_repo / "sub", "feedback", "../../outside.py", "--useful", "1")
    assert r.code == 2 and "not inside this repository" in r.err, r.err
