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
from tests.conftest import commit, open_project, run_git_aircher

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


WRITER = """
import os, signal
from pathlib import Path
from gitext.cli.env import global_root
from gitext.project import Project
from gitext.records import add_message, start_conversation

project = Project.locate(Path.cwd(), global_root(), os.environ)
add_message(project, start_conversation(project, "p", title="unsaved").id, "user", "hi")
os.kill(os.getpid(), signal.SIGKILL)  # its rows committed in the -wal, never written back
"""


# The plan written; the database aside; its -wal; its -shm; the new file in.
@pytest.mark.parametrize("after", [1, 2, 3, 4, 5])
def test_a_restore_killed_mid_swap_is_undone_by_the_next_command(
        project: Project, after: int) -> None:
    """The undo deleted the original's -wal when the kill came between the database's rename
    and the -wal's, and with it the committed rows of a writer killed before (QA round 16a:
    03): here one such writer leaves its conversation in the -wal alone."""
    root = project.repo.root
    for title in ("kept", "also kept"):
        add_message(project, start_conversation(project, "p", title=title).id, "user", "hi")
    backup = create_backup(project)
    add_message(project, start_conversation(project, "p", title="after").id, "user", "hi")
    project.close()
    writer = subprocess.run([sys.executable, "-c", WRITER], cwd=root, capture_output=True,
                            text=True, env=os.environ.copy())
    assert writer.returncode == -9, writer.stderr
    assert project.layout.db("conversations").with_name("conversations.db-wal").exists()
    child = subprocess.run([sys.executable, "-c", CHILD, str(after), backup.id], cwd=root,
                           capture_output=True, text=True, env=os.environ.copy())
    killed = child.returncode == -9
    assert killed or child.returncode == 0, child.stderr
    # Doctor first: read as it lay, the database moved aside was "missing", and repair then
    # put back the last backup (QA round 15c: 01, case B).
    doctor = run_git_aircher(root, "doctor")
    assert doctor.code == 0, doctor.out + doctor.err
    # All or none: the store as before (undone), or the backup's (the swap had finished).
    titles = _titles(root)
    assert titles in (["after", "also kept", "kept", "unsaved"], ["also kept", "kept"]), titles
    if killed and titles != ["also kept", "kept"]:
        assert not (project.layout.run / "swap.json").exists()
        assert not list(project.layout.db("conversations").parent.glob(".*.restore-*"))
    again = open_project(root)  # and the restore runs again, whole
    try:
        restore_backup(again, backup.id, only=["conversations"])
    finally:
        again.close()
    assert _titles(root) == ["also kept", "kept"]


def test_a_garbled_plan_moves_and_removes_nothing(project: Project) -> None:
    """A plan that cannot be read was taken as naming the current directory as its folder of
    files set aside, and the clean-up removed the empty folders under wherever the command
    ran (QA round 16a: 01). It is kept aside, logged, and nothing moves."""
    root = project.repo.root
    for folder in ("build/out", "build/cache/x"):
        (root / folder).mkdir(parents=True)
    plan = project.layout.run / "swap.json"
    project.close()
    for garbled in ("", "{\"aside\": \"\", \"pairs\": []}", "{\"aside\": \"backups\"}"):
        plan.write_text(garbled)
        status = run_git_aircher(root / "build", "status")
        assert status.code == 0, status.err
        assert (root / "build" / "out").is_dir() and (root / "build" / "cache" / "x").is_dir()
        assert not plan.exists() and plan.with_name("swap.json.unreadable").exists()
    log = (project.layout.logs / "storage.log").read_text()
    assert " ERROR " in log and "swap.json cannot be read" in log


WHOLE_CHILD = CHILD.replace('only=["conversations"]', "")


def test_a_restore_killed_while_setting_the_archive_aside_is_undone(project: Project) -> None:
    """A whole restore of a backup that has no archive moves the live archive aside with
    nothing in its place (QA round 20c: 04); killed at any rename, the next command puts it
    back with the rest, and the restore runs again, whole."""
    import time

    from gitext.lifecycle.archive import archive_conversations, archived_ids
    from tests.lifecycle.util import add_conversations, counts

    root = project.repo.root
    old = add_conversations(project, 1, when=time.strftime(
        "%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - 400 * 86400)))
    backup = create_backup(project)
    assert archive_conversations(project).archived == 1
    project.close()
    archive = project.layout.db("conversations_archive")
    archive_aside = False
    for after in range(2, 60):  # each rename in turn, until the swap finishes
        child = subprocess.run([sys.executable, "-c", WHOLE_CHILD, str(after), backup.id],
                               cwd=root, capture_output=True, text=True, env=os.environ.copy())
        if child.returncode == 0:
            break
        assert child.returncode == -9, child.stderr
        archive_aside = archive_aside or not archive.exists()
        assert run_git_aircher(root, "status").code == 0  # the next command undoes it
        assert not (project.layout.run / "swap.json").exists()
        with open_project(root) as again:
            assert archived_ids(again) == set(old)  # archived, not live
            assert counts(again.layout.db("conversations"))["conversations"] == 0
    assert archive_aside  # the kill after the archive's move was met
    assert not archive.exists()
    assert counts(project.layout.db("conversations"))["conversations"] == 1


GLOBAL_CHILD = CHILD.replace('only=["conversations"]', 'include_global=True')


def test_another_project_meeting_a_killed_global_restore_undoes_it(
        project: Project, tmp_path: Path) -> None:
    """The plan of a restore with global.db lived in the restoring project's store only: killed
    after moving global.db aside, another project made global.db anew, empty, and the undo
    later threw away what it wrote there (QA round 16a: 02). The global folder now points at
    the plan, and any project that opens the store undoes it."""
    from gitext.init import init_project
    from tests.conftest import commit, git

    project.close()
    other_root = tmp_path / "other"
    other_root.mkdir()
    git(other_root, "init", "-q")
    commit(other_root, {"a.txt": "a\n"}, "a")
    with open_project(other_root) as other:
        init_project(other)
    with open_project(project.repo.root) as again:
        backup = create_backup(again)
    home = Path(os.environ["AIRCHER_HOME"])
    before = _projects(home)
    assert len(before) == 2
    global_aside = False
    for after in range(2, 40):  # each rename in turn, until the swap finishes
        child = subprocess.run([sys.executable, "-c", GLOBAL_CHILD, str(after), backup.id],
                               cwd=project.repo.root, capture_output=True, text=True,
                               env=os.environ.copy())
        if child.returncode == 0:
            break
        assert child.returncode == -9, child.stderr
        assert (home / "swap.pending").exists()
        global_aside = global_aside or not (home / "global.db").exists()
        r = run_git_aircher(other_root, "status")
        assert r.code == 0, r.err
        assert not (home / "swap.pending").exists()
        assert not (project.layout.run / "swap.json").exists()
        assert _projects(home) == before
    assert global_aside  # the case that lost writes was met


def _projects(home: Path) -> list[str]:
    import sqlite3

    with sqlite3.connect(home / "global.db") as conn:
        return sorted(r[0] for r in conn.execute("SELECT id FROM projects"))


KILLED_AFTER_SWAP = """
import os, signal, sys
from pathlib import Path
from gitext.cli.env import global_root
from gitext.lifecycle import restore
from gitext.project import Project

project = Project.locate(Path.cwd(), global_root(), os.environ)
real = restore.swap_in

def swap_in(*args, **kwargs):
    real(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)  # the swap done, nothing after it

restore.swap_in = swap_in
restore.restore_backup(project, sys.argv[1])
"""


def test_a_restore_killed_right_after_its_swap_leaves_no_stamp_vouching_for_it(
        project: Project) -> None:
    """The restore dropped the search stamps only after its swap (and after reopening
    knowledge.db): killed in between (SIGKILL, or SIGTERM from `timeout`), the restored
    file_index, whose text index backups leave out, stayed under a stamp vouching for HEAD, and
    every search said "no match" until the next commit or a repair (QA round 25b: 01). The
    stamps now go before the swap."""
    root = project.repo.root
    commit(root, {"otter.py": "def otter_den_locator(river):\n    return river.banks\n"})
    assert run_git_aircher(root, "index").code == 0
    backup = create_backup(project)
    found = run_git_aircher(root, "search", "--json", "otter den locator")
    assert [h["path"] for h in json.loads(found.out)][:1] == ["otter.py"]
    assert list(project.layout.run.glob("indexed-*"))  # HEAD vouched for
    project.close()
    child = subprocess.run([sys.executable, "-c", KILLED_AFTER_SWAP, backup.id], cwd=root,
                           capture_output=True, text=True, env=os.environ.copy())
    assert child.returncode == -9, child.stderr
    assert not (project.layout.run / "swap.json").exists()  # the swap stands
    found = run_git_aircher(root, "search", "--json", "otter den locator")
    assert found.code == 0, found.err
    assert [h["path"] for h in json.loads(found.out)][:1] == ["otter.py"]


def test_a_restore_killed_after_its_swap_is_finished_by_repair(project: Project) -> None:
    """Killed after its swap, a restore left the backup's attachment files uncopied and the
    vector rows unchecked, and nothing said so: doctor found the attachment rows without a
    file, and `repair --clean` dropped them while the backup held the files. The restore now
    leaves a note until it is done; doctor reports it and repair finishes it."""
    from gitext.records import AttachmentInput, add_attachment

    root = project.repo.root
    message = add_message(project, start_conversation(project, "p", title="t").id, "user", "x")
    add_attachment(project, message.id, AttachmentInput("diff", data=b"-old\n+new\n"))
    backup = create_backup(project)
    project.close()
    stored = next(p for p in project.layout.attachments.rglob("*") if p.is_file())
    stored.unlink()  # lost after the backup: the restore is what brings it back
    child = subprocess.run([sys.executable, "-c", KILLED_AFTER_SWAP, backup.id], cwd=root,
                           capture_output=True, text=True, env=os.environ.copy())
    assert child.returncode == -9, child.stderr
    assert not stored.exists()
    doctor = run_git_aircher(root, "doctor")
    assert doctor.code == 1, doctor
    assert f"restore_unfinished: the restore of backup {backup.id} stopped" in doctor.out
    dry = run_git_aircher(root, "repair", "--dry-run")
    assert "would finish" in dry.out and not stored.exists(), dry
    fixed = run_git_aircher(root, "repair")
    assert fixed.code == 0, fixed
    assert "finished" in fixed.out and stored.read_bytes() == b"-old\n+new\n"
    after = run_git_aircher(root, "doctor")
    assert after.code == 0 and "restore_unfinished" not in after.out, after


def test_a_restore_that_ran_to_its_end_leaves_no_note(project: Project) -> None:
    backup = create_backup(project)
    restore_backup(project, backup.id)
    assert not list(project.layout.run.glob("restore-*"))
    assert run_git_aircher(project.repo.root, "doctor").code == 0
