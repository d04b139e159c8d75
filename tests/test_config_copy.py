"""The project's settings survive git's sweeps of ignored files. config.toml is a file at the
store's top, where no shield goes: before, `git clean -fdx` deleted it and every project
setting went back to its default without a word."""

from __future__ import annotations

import json
from pathlib import Path

from gitext.config_copy import keep
from tests.conftest import commit, git, open_project, run_git_aircher, write
from tests.sync.helpers import query, wait_idle


def setting(root: Path, key: str) -> tuple[str, str]:
    r = run_git_aircher(root, "config", "get", "--json", key)
    assert r.code == 0, r.err
    data = json.loads(r.out)
    return str(data["value"]), str(data["source"])


def configured(live: Path) -> Path:
    for key, value in (("storage.sync.history_limit", "321"),
                       ("storage.embeddings.similarity_threshold", "0.4")):
        r = run_git_aircher(live, "config", "set", key, value)
        assert r.code == 0, r.err
    wait_idle(live)
    return live / ".agents" / "config.toml"


def test_git_clean_fdx_loses_no_project_setting(live: Path) -> None:
    config = configured(live)
    before = config.read_text()
    assert "history_limit = 321" in before

    out = git(live, "clean", "-fdx")
    assert "Removing .agents/config.toml" in out and not config.exists()
    # Until the next event the settings are read from the copy ...
    value, source = setting(live, "storage.sync.history_limit")
    assert value == "321" and source.endswith(".agents/db/saved-config.toml")
    doctor = run_git_aircher(live, "doctor")
    assert doctor.code == 0 and "info: store_config_removed" in doctor.out, doctor.out

    # ... and the next commit puts the file back as it was.
    commit(live, {"src/more.py": "x = 1\n"}, "more")
    wait_idle(live)
    assert config.read_text() == before
    assert setting(live, "storage.sync.history_limit") == ("321", str(config))
    assert run_git_aircher(live, "doctor").code == 0
    assert git(live, "status", "--porcelain") == ""


def test_repair_puts_the_file_back(live: Path) -> None:
    config = configured(live)
    before = config.read_text()
    git(live, "clean", "-fdx")
    r = run_git_aircher(live, "repair")
    assert r.code == 0, r.out + r.err
    assert ".agents/config.toml put back from its copy" in r.out, r.out
    assert config.read_text() == before


def test_a_setting_changed_after_the_sweep_keeps_the_others(live: Path) -> None:
    config = configured(live)
    git(live, "clean", "-fdx")
    r = run_git_aircher(live, "config", "set", "storage.sync.history_limit", "99")
    assert r.code == 0, r.err
    text = config.read_text()
    assert "history_limit = 99" in text and "similarity_threshold = 0.4" in text
    git(live, "clean", "-fdx")
    assert setting(live, "storage.sync.history_limit")[0] == "99"  # the copy took the change


def test_a_hand_edit_is_what_comes_back(live: Path) -> None:
    config = configured(live)
    config.write_text(config.read_text().replace("321", "555"))
    commit(live, {"a.py": "a = 1\n"}, "a")  # an event: the copy takes the edit
    wait_idle(live)
    good = config.read_text()
    git(live, "clean", "-fdx")
    assert setting(live, "storage.sync.history_limit")[0] == "555"
    commit(live, {"c.py": "c = 1\n"}, "c")
    wait_idle(live)
    assert config.read_text() == good


def test_a_file_that_does_not_load_is_not_copied(live: Path) -> None:
    config = configured(live)
    project = open_project(live)
    saved = project.layout.saved_config
    good = saved.read_text()
    assert good == config.read_text()
    config.write_text("[storage.sync\nhistory_limit = oops\n")  # not TOML
    assert keep(project.layout, live) is False
    assert saved.read_text() == good
    # Removed, as its error's hint says ("fix or remove the file"): the last good one returns.
    config.unlink()
    assert keep(project.layout, live) is True
    assert config.read_text() == good


def test_a_config_taken_by_git_stash_all_is_left_to_stash_pop(live: Path) -> None:
    config = configured(live)
    before = config.read_text()
    write(live, "scratch.txt", "untracked work")
    git(live, "stash", "--all")
    assert not config.exists()
    commit(live, {"d.py": "d = 1\n"}, "d")
    wait_idle(live)
    # Put back now, the file would make `git stash pop` refuse ("already exists").
    assert not config.exists()
    assert "store_config_removed" not in run_git_aircher(live, "doctor").out
    assert setting(live, "storage.sync.history_limit")[0] == "321"
    git(live, "stash", "pop", "-q")
    assert config.read_text() == before and (live / "scratch.txt").exists()


def test_a_branch_that_tracks_its_own_agents_config_toml(repo: Path) -> None:
    """Another tool's `.agents/config.toml`, committed on a branch: git writes it over ours at
    every checkout of that branch (an ignored file is expendable to git). The store reads its
    settings from its copy meanwhile: before, every command failed on the other tool's keys and
    the worker applied no record while that branch was checked out."""
    git(repo, "switch", "-q", "-c", "other")
    commit(repo, {".agents/config.toml": '[tool]\nname = "other-agent-tool"\n'}, "its config")
    git(repo, "switch", "-q", "main")
    assert run_git_aircher(repo, "init").code == 0
    assert run_git_aircher(repo, "config", "set", "storage.backup_interval", "12h").code == 0
    wait_idle(repo)
    git(repo, "switch", "-q", "other")
    assert "other-agent-tool" in (repo / ".agents" / "config.toml").read_text()
    assert setting(repo, "storage.backup_interval") == ("12h", str(
        repo / ".agents" / "db" / "saved-config.toml"))
    commit(repo, {"b.py": "b = 1\n"}, "b")
    wait_idle(repo)
    assert git(repo, "rev-parse", "HEAD").strip() in {
        r[0] for r in query(repo, "file_index", "SELECT sha FROM commits")}
    r = run_git_aircher(repo, "config", "set", "storage.backup_interval", "1h")
    assert r.code == 2 and "a file of the project's own" in r.err, r.err
    assert "other-agent-tool" in (repo / ".agents" / "config.toml").read_text()
    r = run_git_aircher(repo, "doctor")  # the branch's own file is not ours left unignored
    assert r.code == 0 and "store_not_ignored" not in r.out, r.out
    git(repo, "switch", "-q", "main")
    wait_idle(repo)
    assert setting(repo, "storage.backup_interval")[0] == "12h"
