"""A store this user may not write (QA 04.sh: `chmod -R a-w .agents`).

Hooks stay silent (their records are dropped; git keeps the facts and `sync` catches up), and
commands give one `error:` line with a hint instead of a crash log, a "readonly database" with
a pointer to doctor, or doctor's advice to salvage databases that are sound. Root ignores
modes, so as root the store is made immutable (`chattr +i`), which stops root too.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import commit, git, run_git_aircher
from tests.sync.helpers import changes, store, wait_idle


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    if os.geteuid() != 0:
        subprocess.run(["chmod", "-R", "a-w", str(folder)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chmod", "-R", "u+w", str(folder)], check=True)
        return
    if shutil.which("chattr") is None or subprocess.run(
            ["chattr", "-R", "+i", str(folder)], capture_output=True).returncode != 0:
        subprocess.run(["chattr", "-R", "-i", str(folder)], capture_output=True)
        pytest.skip("as root, only an immutable flag makes a folder read-only, and this file"
                    " system has none")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-R", "-i", str(folder)], check=True)


def test_hooks_stay_silent_and_sync_catches_up_later(live: Path) -> None:
    wait_idle(live)
    with read_only(store(live)):
        (live / "ro.txt").write_text("roword\n")
        git(live, "add", "ro.txt")
        proc = subprocess.run(["git", "commit", "-q", "-m", "ro"], cwd=live,
                              capture_output=True, text=True)
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
        proc = subprocess.run(["git", "switch", "-q", "-c", "robranch"], cwd=live,
                              capture_output=True, text=True)
        assert (proc.returncode, proc.stderr) == (0, "")
    r = run_git_aircher(live, "sync")
    assert r.code == 0, r.err
    assert any(c[2] == "ro.txt" for c in changes(live))


def test_commands_say_the_store_is_not_writable(live: Path) -> None:
    wait_idle(live)
    commit(live, {"more.txt": "more\n"}, "more")
    wait_idle(live)
    with read_only(store(live)):
        for args in (["status"], ["search", "--", "more"], ["sync"]):
            r = run_git_aircher(live, *args)
            lines = r.err.splitlines()
            assert r.code == 1, (args, r.err)
            assert len(lines) == 2 and lines[0].startswith("error: cannot write "), (args, r.err)
            assert lines[1] == ("hint: the store is not writable: check its permissions"
                                " (git-aircher updates it as it answers)")
        r = run_git_aircher(live, "doctor")
    assert r.code == 1
    assert f"error: store_readonly: you may not write {store(live)}" in r.out
    assert "salvaged" not in r.out and "unreadable" not in r.out


def test_a_read_only_shm_left_behind_is_reported(live: Path) -> None:
    """SQLite makes -wal and -shm with their database's mode: a database once read-only and
    writable again leaves them read-only, and every write fails while the rest looks sound."""
    import sqlite3

    wait_idle(live)
    database = store(live) / "db" / "core" / "sessions.db"
    shm = database.with_name("sessions.db-shm")
    holder = sqlite3.connect(database)  # while it is open, its -shm is there
    try:
        holder.execute("SELECT count(*) FROM sqlite_master").fetchone()
        assert shm.exists()
        with read_only(shm):
            r = run_git_aircher(live, "doctor")
    finally:
        holder.close()
    assert r.code == 1 and f"store_readonly: you may not write {shm}" in r.out, r.out


def test_a_read_only_global_folder_is_reported_not_called_damage(live: Path) -> None:
    """QA 20: with AIRCHER_HOME read-only (a sandbox's read-only HOME) doctor said healthy
    while every command failed on global.db; it now says why, and repair does not crash."""
    wait_idle(live)
    home = Path(os.environ["AIRCHER_HOME"])
    with read_only(home):
        doctor = run_git_aircher(live, "doctor")
        status = run_git_aircher(live, "status")
        repair = run_git_aircher(live, "repair")
    assert doctor.code == 1, doctor.out
    assert f"error: store_readonly: you may not write {home}" in doctor.out, doctor.out
    assert "salvaged" not in doctor.out and "unreadable" not in doctor.out
    # status may answer from what it reads (as root the immutable flag lets it); if it writes,
    # it fails in one line.
    assert status.code == 0 or status.err.startswith("error: cannot write "), status.err
    assert "Traceback" not in repair.err and "unexpected" not in repair.err, repair.err
    assert repair.code == 1 and "store_readonly" in repair.out + repair.err
