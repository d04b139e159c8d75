"""The global folder (`AIRCHER_HOME`, else the platform's config dir): `global.db`, the global
`config.toml`, `credentials.toml`, `logs/`. `init` makes it; the user may take it away."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from tests.conftest import run_git_aircher
from tests.sync.helpers import wait_idle


@pytest.mark.parametrize("below", ["", "sub"])
def test_a_global_folder_that_is_a_file_is_one_clear_error(
        live: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, below: str) -> None:
    """AIRCHER_HOME naming a file, or a folder under a file, made every command end in
    "error: unexpected NotADirectoryError" (exit 3) with a crash log dropped into /tmp
    (QA round 15c: 06). It is one error line and a hint now, as a file named .agents is."""
    notadir = tmp_path / "notadir"
    notadir.write_text("not a folder\n")
    home = notadir / below if below else notadir
    monkeypatch.setenv("AIRCHER_HOME", str(home))
    for args in (("status",), ("doctor",), ("config", "get", "storage.data_dir"),
                 ("config", "set", "--global", "storage.max_db_size", "2GB"), ("init",)):
        r = run_git_aircher(live, *args)
        lines = r.err.splitlines()
        assert r.code == 2, (args, r.err)
        assert lines[0] == (f"error: {notadir} is a file; git-aircher keeps its global settings"
                            f" and database in the folder {home}"), (args, r.err)
        assert len(lines) == 2 and lines[1].startswith("hint: ") and "AIRCHER_HOME" in lines[1]
    assert notadir.read_text() == "not a folder\n"


def test_a_removed_global_folder_is_made_again(live: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """With AIRCHER_HOME removed after init (a cleaned ~/.config, a fresh HOME in a container),
    or set to a folder whose parent does not exist yet, every command but init failed with
    "cannot open …/global.db: unable to open database file" and no hint; doctor said `repair`
    fixes it, and repair failed the same way (QA round 15c: 01). Commands make the folder
    again, 0700, as init does."""
    wait_idle(live)
    home = Path(os.environ["AIRCHER_HOME"])
    shutil.rmtree(home)
    shutil.rmtree(live / ".agents" / "content" / "backups")  # as in QA's case: none yet
    doctor = run_git_aircher(live, "doctor")
    assert doctor.code == 1 and "missing: global" in doctor.out, doctor.out + doctor.err
    repair = run_git_aircher(live, "repair")
    assert repair.code == 0, repair.out + repair.err
    assert "(b) global: created empty" in repair.out, repair.out
    assert run_git_aircher(live, "doctor").code == 0
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    shutil.rmtree(home)
    status = run_git_aircher(live, "status")
    assert status.code == 0, status.err
    assert (home / "global.db").is_file() and stat.S_IMODE(home.stat().st_mode) == 0o700
    elsewhere = tmp_path / "new" / "parent" / "aircher"
    monkeypatch.setenv("AIRCHER_HOME", str(elsewhere))
    for args in (("status",), ("search", "print")):
        r = run_git_aircher(live, *args)
        assert r.code == 0, (args, r.err)
    assert (elsewhere / "global.db").is_file() and stat.S_IMODE(elsewhere.stat().st_mode) == 0o700


def test_a_removed_global_folder_restored_from_a_backup_is_owner_only(live: Path) -> None:
    """Repair restoring global.db from a backup into a removed AIRCHER_HOME made the folder
    with the default mode, 0755, and without logs/ or credentials.toml (seen in session 19)."""
    wait_idle(live)
    assert run_git_aircher(live, "backup", "create").code == 0
    home = Path(os.environ["AIRCHER_HOME"])
    shutil.rmtree(home)
    repair = run_git_aircher(live, "repair")
    assert repair.code == 0, repair.out + repair.err
    assert "(b) global: restored" in repair.out, repair.out
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert (home / "logs").is_dir() and (home / "credentials.toml").is_file()
