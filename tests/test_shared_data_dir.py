"""`storage.data_dir` set to an absolute path: a folder of stores, one folder per repository.

Before, every repository took that folder itself for its store: `init` in a second repository
"reinitialized" the first one's, listed its conversations and marked its worktree stale.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gitext import records
from tests.conftest import Result, commit, git, open_project

Run = Callable[..., Result]


def _repo(tmp_path: Path, name: str) -> Path:
    repo = tmp_path / name
    repo.mkdir()
    git(repo, "init", "-q")
    commit(repo, {"f.txt": f"file of {name}\n"}, name)
    return repo


def _created_at(store: Path) -> float:
    """When a store was made, as its project context recorded it (whole seconds)."""
    from gitext.clock import from_ts

    with sqlite3.connect(store / "db" / "core" / "knowledge.db") as conn:
        (made,) = conn.execute("SELECT created_at FROM contexts WHERE context_type = 'project'"
                               ).fetchone()
    conn.close()
    return from_ts(str(made))


def _as_made_before_marks(repo: Path, store: Path) -> None:
    """What an earlier version left: no mark in the repository's config, none in its store."""
    git(repo, "config", "--unset", "aircher.store")
    with sqlite3.connect(store / "db" / "core" / "knowledge.db") as conn:
        conn.execute("UPDATE contexts SET metadata = NULL WHERE context_type = 'project'")
    conn.close()


def _status(aircher: Run, repo: Path) -> dict[str, object]:
    r = aircher(repo, "status", "--json")
    assert r.code == 0, r.err
    return json.loads(r.out)  # type: ignore[no-any-return]


def _private_conversation(repo: Path) -> None:
    with open_project(repo) as project:
        conv = records.start_conversation(project, "anthropic", title="private to A")
        records.add_message(project, conv.id, "user", "A's plans")


def _titles(aircher: Run, repo: Path) -> list[str]:
    r = aircher(repo, "conversation", "list", "--all", "--json")
    assert r.code == 0, r.err
    return [c["title"] for c in json.loads(r.out)]


def test_each_repository_has_its_own_store_in_an_absolute_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aircher: Run
) -> None:
    stores = tmp_path / "stores"
    monkeypatch.setenv("AIRCHER_STORAGE_DATA_DIR", str(stores))
    a, b = _repo(tmp_path, "A"), _repo(tmp_path, "B")
    for repo in (a, b):
        r = aircher(repo, "init")
        assert r.code == 0, r.err
        assert r.out.startswith("Initialized git-aircher store in ")  # never "Reinitialized"
    _private_conversation(a)

    homes = {Path(str(_status(aircher, repo)["data_dir"])) for repo in (a, b)}
    assert len(homes) == 2
    assert {home.parent for home in homes} == {stores}
    assert sorted(home.name.rsplit("-", 1)[0] for home in homes) == ["A", "B"]
    assert _titles(aircher, a) == ["private to A"]
    assert _titles(aircher, b) == []
    seen_in_b = _status(aircher, b)["worktrees"]
    assert [w["worktree_path"] for w in seen_in_b] == [str(b)]  # type: ignore[attr-defined]
    seen_in_a = _status(aircher, a)["worktrees"]
    assert [w["status"] for w in seen_in_a] == ["active"]  # type: ignore[attr-defined]


def test_a_store_made_directly_in_the_folder_stays_its_repository_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aircher: Run
) -> None:
    """An earlier version put the store in the folder itself: it stays the store of the
    repository whose records it holds, and another repository gets a folder of its own."""
    stores = tmp_path / "stores"
    monkeypatch.setenv("AIRCHER_STORAGE_DATA_DIR", str(stores))
    a, b = _repo(tmp_path, "A"), _repo(tmp_path, "B")
    monkeypatch.setenv("AIRCHER_SKIP", "1")  # no worker writing while the store is moved
    assert aircher(a, "init").code == 0
    _private_conversation(a)
    own = Path(str(_status(aircher, a)["data_dir"]))
    for entry in own.iterdir():  # the store as the earlier version laid it out
        shutil.move(entry, stores / entry.name)
    own.rmdir()

    assert _status(aircher, a)["data_dir"] == str(stores)
    assert _titles(aircher, a) == ["private to A"]
    r = aircher(b, "init")
    assert r.code == 0, r.err
    assert r.out.startswith(f"Initialized git-aircher store in {stores}/B-")
    assert _titles(aircher, b) == []
    assert _titles(aircher, a) == ["private to A"]
    assert _status(aircher, a)["data_dir"] == str(stores)


@pytest.mark.parametrize("marked", [True, False], ids=["marked", "before-marks"])
def test_a_moved_repository_is_told_where_its_store_was_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aircher: Run, marked: bool
) -> None:
    """In a folder of stores a store is named after the git common dir, so a moved repository
    found none: `init` made a new, empty one and said nothing of the old (session 16). Now init
    and doctor name the old store, and the `mv` their hint gives adopts it. A store whose
    repository was removed, not moved, is no one's to adopt: it bears no mark (a store from
    before marks: it shares no commit)."""
    import re

    monkeypatch.setenv("AIRCHER_SKIP", "1")  # no worker writing while stores are moved
    stores = tmp_path / "stores"
    monkeypatch.setenv("AIRCHER_STORAGE_DATA_DIR", str(stores))
    gone, a = _repo(tmp_path, "gone"), _repo(tmp_path, "A")
    for repo in (gone, a):
        assert aircher(repo, "init").code == 0
        if not marked:
            _as_made_before_marks(repo, Path(str(_status(aircher, repo)["data_dir"])))
    shutil.rmtree(gone)  # its store stays behind, of no repository
    _private_conversation(a)
    old = Path(str(_status(aircher, a)["data_dir"]))
    # Before marks: `init` in the very second the repository was made, as a set-up script runs
    # them: the store's created_at has whole seconds, and that second counts as after it (QA
    # round 9: 01).
    made = _created_at(old)
    os.utime(a / ".git" / "description", (made + 0.9, made + 0.9))
    moved = tmp_path / "elsewhere" / "renamed"
    moved.parent.mkdir()
    a.rename(moved)
    before = sorted(stores.iterdir())

    for command in ("init", "doctor"):
        r = aircher(moved, command)
        assert r.code == 1, (command, r.out, r.err)
        lines = r.err.splitlines()
        assert lines[0] == (f"error: {old} holds this repository's store from before it was"
                            f" moved (made for {a}, which is gone)"), r.err
        assert len(lines) == 2 and lines[1].startswith("hint: keep its records: mv "), r.err
    assert sorted(stores.iterdir()) == before  # nothing made, nothing moved

    move = re.search(r"keep its records: (mv .*), then `git aircher init`", lines[1])
    assert move is not None and shlex.split(move.group(1))[:2] == ["mv", str(old)]
    subprocess.run(["sh", "-c", move.group(1)], check=True)
    r = aircher(moved, "init")
    assert r.code == 0 and r.out.startswith("Reinitialized"), r.err
    assert _titles(aircher, moved) == ["private to A"]


@pytest.mark.parametrize("marked", [True, False], ids=["marked", "before-marks"])
def test_a_new_clone_of_a_deleted_one_is_no_move(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aircher: Run, marked: bool
) -> None:
    """A clone deleted, the project cloned again: the new clone shares the old store's commits,
    but bears no mark of it (before marks: is younger than that store), so it is no moved
    repository and `init` makes its own store (QA round 8: 02: it refused, naming the deleted
    clone's store as its own). A moved one in a folder whose name needs quoting gets a hint
    whose `mv` runs (QA round 8: 03)."""
    monkeypatch.setenv("AIRCHER_SKIP", "1")
    stores = tmp_path / "it's stores"
    monkeypatch.setenv("AIRCHER_STORAGE_DATA_DIR", str(stores))
    first = _repo(tmp_path, "first")
    assert aircher(first, "init").code == 0
    if not marked:
        _as_made_before_marks(first, next(stores.iterdir()))
    upstream = tmp_path / "upstream.git"
    git(tmp_path, "clone", "-q", "--bare", str(first), str(upstream))
    shutil.rmtree(first)
    again = tmp_path / "again"
    git(tmp_path, "clone", "-q", str(upstream), str(again))
    # Before marks, made after the old store (a second later at least: within its second,
    # which is all created_at tells, it would count as before it).
    later = _created_at(next(stores.iterdir())) + 2
    os.utime(again / ".git" / "description", (later, later))
    r = aircher(again, "init")
    assert r.code == 0 and r.out.startswith("Initialized"), r.err
    assert len(list(stores.iterdir())) == 2
    if not marked:
        _as_made_before_marks(again, Path(str(_status(aircher, again)["data_dir"])))

    # (Before marks, the moved clone must be older than its store.)
    day_ago = time.time() - 86400
    os.utime(again / ".git" / "description", (day_ago, day_ago))
    moved = tmp_path / "moved"
    again.rename(moved)
    r = aircher(moved, "init")
    assert r.code == 1, r.out
    hint = r.err.splitlines()[1]
    move = hint.split("keep its records: ", 1)[1].split(", then `git aircher init`", 1)[0]
    subprocess.run(["sh", "-c", move], check=True)
    assert aircher(moved, "init").out.startswith("Reinitialized")


def test_an_older_clone_never_initialised_is_no_move(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aircher: Run
) -> None:
    """Clone A made, clone B made after it and initialised, B deleted: `init` in A refused,
    calling B's store A's from before a move, as A has B's commits and is older than B's store
    (session 18: sync-3). B's repository bore its store's mark and A bears none: A gets a
    store of its own, and once moved in turn it is told of that one, not of B's."""
    monkeypatch.setenv("AIRCHER_SKIP", "1")
    stores = tmp_path / "stores"
    monkeypatch.setenv("AIRCHER_STORAGE_DATA_DIR", str(stores))
    upstream = _repo(tmp_path, "upstream")
    older, newer = tmp_path / "x-older", tmp_path / "b-newer"  # B's store is looked at first
    for clone in (older, newer):
        git(tmp_path, "clone", "-q", str(upstream), str(clone))
    assert aircher(newer, "init").code == 0
    shutil.rmtree(newer)
    r = aircher(older, "init")
    assert r.code == 0 and r.out.startswith("Initialized"), r.err
    own = Path(str(_status(aircher, older)["data_dir"]))
    assert own.name.startswith("x-older-") and len(list(stores.iterdir())) == 2

    moved = tmp_path / "moved"
    older.rename(moved)
    r = aircher(moved, "init")
    assert r.code == 1 and r.err.startswith(f"error: {own} holds this repository's store"), r.err


def test_the_folder_of_stores_is_owner_only_under_any_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under umask 000 each store was 0700 but the folder of stores `init` made for them
    (an absolute storage.data_dir, and any folder above it it made) was 0777: anyone could
    list which repositories a user has, and add folders (QA round 22a: "checked and found
    working", the note on the data_dir)."""
    from tests.conftest import VENV_BIN

    stores = tmp_path / "shared" / "stores"
    monkeypatch.setenv("AIRCHER_STORAGE_DATA_DIR", str(stores))
    repo = _repo(tmp_path, "A")
    done = subprocess.run([str(VENV_BIN / "git-aircher"), "init"], cwd=repo, check=False,
                          capture_output=True, text=True, preexec_fn=lambda: os.umask(0))
    assert done.returncode == 0, done.stderr
    for folder in (tmp_path / "shared", stores, *stores.iterdir()):
        assert oct(folder.stat().st_mode & 0o777) == oct(0o700), folder
