"""git's sweeps of ignored files pass the store by. `.agents/` is ignored, and before,
`git clean -fdx` (a common way to reset a checkout) deleted it with every conversation and
backup, and `git stash --all` moved it into a stash commit and off the disk."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from gitext.git.shield import shield
from gitext.records import add_message, start_conversation
from tests.conftest import commit, git, open_project, run_git_aircher, write
from tests.sync.helpers import wait_idle


def remember(root: Path) -> str:
    project = open_project(root)
    conv = start_conversation(project, "anthropic", title="auth bug")
    add_message(project, conv.id, "user", "the token refresh races the logout")
    return conv.id


def listed(root: Path) -> str:
    r = run_git_aircher(root, "conversation", "list", "--json")
    assert r.code == 0, r.err
    return r.out


def test_git_clean_fdx_leaves_the_store_and_its_backups(live: Path) -> None:
    conv = remember(live)
    assert run_git_aircher(live, "backup", "create").code == 0
    write(live, "build/out.o", "object code")
    write(live, "notes.txt", "untracked")

    out = git(live, "clean", "-fdx")
    assert "build/" in out and "notes.txt" in out and ".agents" not in out
    assert not (live / "build").exists() and not (live / "notes.txt").exists()
    assert conv in listed(live)
    backups = run_git_aircher(live, "backup", "list", "--json")
    assert backups.code == 0 and len(json.loads(backups.out)) == 1, backups.out
    assert git(live, "status", "--porcelain", "--ignored") == "!! .agents/\n"
    git(live, "add", "-f", ".agents/db/core/conversations.db")  # a nested repository's file
    assert git(live, "diff", "--cached", "--name-only") == ""  # is never staged


def test_git_stash_all_keeps_the_store_on_disk_and_out_of_the_stash(live: Path) -> None:
    conv = remember(live)
    write(live, "scratch.txt", "untracked work")
    git(live, "stash", "--all")
    assert not (live / "scratch.txt").exists()
    assert conv in listed(live)  # the store never left the disk
    stashed = git(live, "ls-tree", "-r", "--name-only", "stash@{0}^3")
    assert stashed == "scratch.txt\n"  # nothing of the store in git's objects
    git(live, "stash", "pop", "-q")
    assert (live / "scratch.txt").read_text() == "untracked work"


def test_commands_run_inside_the_store_find_the_repository_around_it(live: Path) -> None:
    inside = live / ".agents" / "logs"
    r = run_git_aircher(inside, "status")
    assert r.code == 0, r.err
    assert f"store:  {live / '.agents'}" in r.out
    assert not (live / ".agents" / ".agents").exists()


def test_a_store_made_before_the_shield_gets_it_at_its_next_event(live: Path) -> None:
    wait_idle(live)  # init's worker would put it back at once
    marker = live / ".agents" / ".git"
    shutil.rmtree(marker)  # as a store made before the shield
    assert "Would remove .agents/" in git(live, "clean", "-ndx")
    commit(live, {"src/app.py": "print('hello')\n"}, "edit")
    wait_idle(live)
    assert (marker / "HEAD").is_file()
    assert ".agents" not in git(live, "clean", "-ndx")


def test_only_a_store_inside_the_work_tree_is_shielded(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "store").mkdir(parents=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert shield(tree / "store", tree) and not shield(tree / "store", tree)
    assert not shield(outside, tree) and not (outside / ".git").exists()
    (tree / "other").mkdir()
    (tree / "other" / ".git").write_text("gitdir: /somewhere\n")
    assert not shield(tree / "other", tree)  # someone else's .git is left as it is
    assert (tree / "other" / ".git").read_text() == "gitdir: /somewhere\n"


def test_doctor_finds_a_store_in_git_s_way_and_repair_puts_it_back(live: Path) -> None:
    wait_idle(live)
    exclude = live / ".git" / "info" / "exclude"
    exclude.write_text("".join(line for line in exclude.read_text().splitlines(keepends=True)
                               if ".agents" not in line))
    marker = live / ".agents" / ".git"
    shutil.rmtree(marker)  # as a store made before the shield
    assert git(live, "status", "--porcelain") == "?? .agents/\n"

    r = run_git_aircher(live, "doctor")
    assert r.code == 1
    assert "store_not_ignored" in r.out and "store_unshielded" in r.out, r.out
    r = run_git_aircher(live, "repair")
    assert r.code == 0, r.out + r.err
    assert "listed in .git/info/exclude" in r.out and "shielded (.agents/.git)" in r.out
    assert run_git_aircher(live, "doctor").code == 0
    assert git(live, "status", "--porcelain") == ""
    assert (marker / "HEAD").is_file()
