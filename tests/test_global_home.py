"""The global folder (`AIRCHER_HOME`, else the platform's config dir): `global.db`, the global
`config.toml`, `credentials.toml`, `logs/`. `init` makes it; the user may take it away."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_git_aircher


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
