"""A restore or repair killed between the renames that swap a database in (kill -9, the OOM
killer, a power cut). Before, the database was left missing, and the next command made it anew,
empty, while doctor said "healthy" (QA round 15c: 05). Now the swap's plan (`run/swap.json`)
lets the next process undo it: the store is as before, all or none, and the command can run
again. The kill is real: a child process runs the real restore and SIGKILLs itself right after
its Nth rename (the plan's, then each file's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitext.lifecycle.backup import create_backup
from gitext.lifecycle.restore import restore_backup
from gitext.project import Project
from gitext.records import add_message, start_conversation
from tests.conftest import open_project, run_git_aircher

CHILD = """
import os, signal, sys
from pathlib import Path
from gitext.cli.env import global_root
from gitext.lifecycle.restore import restore_backup
from gitext.project import Project

after, backup_id = int(sys.argv[1]), sys.argv[2]
project = Project.locate(Path.cwd(), global_root(), os.environ)
real, done = os.replace, [0]

def replace(src, dst):
    real(src, dst)
    done[0] += 1
    if done[0] == after:
        os.kill(os.getpid(), signal.SIGKILL)

os.replace = replace
restore_backup(project, backup_id, only=["conversations"])
"""


def _titles(root: Path) -> list[str]:
    r = run_git_aircher(root, "conversation", "list", "--json")
    assert r.code == 0, r.err
    return sorted(c["title"] for c in json.loads(r.out))


@pytest.mark.parametrize("after", [1, 2, 3])  # plan written; live file aside; new one in
def test_a_restore_killed_mid_swap_is_undone_by_the_next_command(
        project: Project, after: int) -> None:
    root = project.repo.root
    for title in ("kept", "also kept"):
        add_message(project, start_conversation(project, "p", title=title).id, "user", "hi")
    backup = create_backup(project)
    add_message(project, start_conversation(project, "p", title="after").id, "user", "hi")
    project.close()
    child = subprocess.run([sys.executable, "-c", CHILD, str(after), backup.id], cwd=root,
                           capture_output=True, text=True, env=os.environ.copy())
    killed = child.returncode == -9
    assert killed or child.returncode == 0, child.stderr
    # All or none: the store as before (undone), or the backup's (the swap had finished).
    titles = _titles(root)
    assert titles in (["after", "also kept", "kept"], ["also kept", "kept"]), titles
    if killed and titles != ["also kept", "kept"]:
        assert not (project.layout.run / "swap.json").exists()
        assert not list(project.layout.db("conversations").parent.glob(".*.restore-*"))
    doctor = run_git_aircher(root, "doctor")
    assert doctor.code == 0, doctor.out + doctor.err
    again = open_project(root)  # and the restore runs again, whole
    try:
        restore_backup(again, backup.id, only=["conversations"])
    finally:
        again.close()
    assert _titles(root) == ["also kept", "kept"]
