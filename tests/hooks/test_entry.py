"""`git-aircher hook from-pre-commit`: what the pre-commit framework's `aircher-sync` runs."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import VENV_BIN, commit, git
from tests.hooks import run
from tests.sync.helpers import query, wait_idle


def test_framework_amend_is_recorded_as_a_rewrite_without_gits_list(live: Path) -> None:
    # The framework gives post-rewrite hooks the command, not git's old->new list on stdin:
    # the commit amended comes from HEAD's reflog.
    commit(live, {"b.py": "b = 1\n"}, "b")
    old = git(live, "rev-parse", "HEAD").strip()
    skip = {"AIRCHER_SKIP": "1"}  # our own shims record nothing: only the framework's way
    assert run(live, "git", "commit", "-q", "--amend", "-m", "b2", env=skip).returncode == 0
    new = git(live, "rev-parse", "HEAD").strip()
    proc = run(live, str(VENV_BIN / "git-aircher"), "hook", "from-pre-commit", input="",
               env={"PRE_COMMIT_REWRITE_COMMAND": "amend"})
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    wait_idle(live)
    assert query(live, "file_index", "SELECT old_sha, new_sha, command FROM commit_rewrites"
                 ) == [(old, new, "amend")]
