"""git's sweeps of ignored files pass the store by. `.agents/` is ignored, and before,
`git clean -fdx` (a common way to reset a checkout) deleted it with every conversation and
backup, and `git stash --all` moved it into a stash commit and off the disk. And the files a
project keeps in `.agents/` itself (`.agents/skills/`) stay the project's."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from gitext.git.shield import shield
from gitext.layout import STORE_FOLDERS
from gitext.records import add_message, start_conversation
from tests.conftest import commit, git, open_project, run_git_aircher, write
from tests.sync.helpers import settled, wait_idle


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
    wait_idle(live)  # the worker's own first scheduled backup may come beside ours
    made = run_git_aircher(live, "backup", "list", "--json")
    assert made.code == 0 and json.loads(made.out), made.out
    write(live, "build/out.o", "object code")
    write(live, "notes.txt", "untracked")

    out = git(live, "clean", "-fdx")
    assert "Removing build/" in out and "Removing notes.txt" in out
    assert "Skipping repository .agents/db" in out and "Removing .agents/db" not in out
    assert not (live / "build").exists() and not (live / "notes.txt").exists()
    assert conv in listed(live)
    backups = run_git_aircher(live, "backup", "list", "--json")
    assert backups.code == 0 and json.loads(backups.out) == json.loads(made.out), backups.out
    assert all(line.startswith("!! .agents/") for line in
               git(live, "status", "--porcelain", "--ignored").splitlines())
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


def unshield(live: Path) -> None:
    """The store as a version before the shield left it."""
    wait_idle(live)  # init's worker would put it back at once
    for name in STORE_FOLDERS:
        shutil.rmtree(live / ".agents" / name / ".git")


def test_a_store_made_before_the_shield_gets_it_at_its_next_event(live: Path) -> None:
    unshield(live)
    assert "Would remove .agents/" in git(live, "clean", "-ndx")
    commit(live, {"src/app.py": "print('hello')\n"}, "edit")
    wait_idle(live)
    assert all((live / ".agents" / name / ".git" / "HEAD").is_file() for name in STORE_FOLDERS)
    assert "Would remove .agents/db" not in git(live, "clean", "-ndx")


def test_the_project_s_own_files_in_the_store_folder_stay_its_own(repo: Path) -> None:
    skill = ".agents/skills/release/SKILL.md"
    commit(repo, {skill: "# Release\nTag, then publish the wheel.\n"}, "a skill")
    r = run_git_aircher(repo, "init")
    assert r.code == 0, r.err
    remember(repo)
    write(repo, skill, "# Release\nTag, changelog, then publish the wheel.\n")
    git(repo, "add", skill)
    new = ".agents/skills/triage/SKILL.md"
    write(repo, new, "# Triage\nLabel the issue.\n")
    git(repo, "add", new)  # only the store's own entries are ignored
    git(repo, "commit", "-q", "-m", "skills")  # the guard lets the project's files through
    assert sorted(git(repo, "show", "--name-only", "--format=", "HEAD").split()) == [skill, new]
    git(repo, "clean", "-fdx")
    assert (repo / ".agents" / "db" / "core" / "conversations.db").is_file()
    assert (repo / new).is_file()
    wait_idle(repo)
    r = run_git_aircher(repo, "search", "--json", "--", "changelog wheel")
    assert r.code == 0, r.err
    assert json.loads(r.out)[0]["path"] == skill  # searched like any tracked file


def test_only_a_store_inside_the_work_tree_is_shielded(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "store" / "db").mkdir(parents=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert shield([tree / "store" / "db"], tree) == [tree / "store" / "db"]
    assert shield([tree / "store" / "db"], tree) == []
    assert shield([outside], tree) == [] and not (outside / ".git").exists()
    (tree / "other").mkdir()
    (tree / "other" / ".git").write_text("gitdir: /somewhere\n")
    assert shield([tree / "other"], tree) == []  # someone else's .git is left as it is
    assert (tree / "other" / ".git").read_text() == "gitdir: /somewhere\n"


def test_doctor_finds_a_store_in_git_s_way_and_repair_puts_it_back(live: Path) -> None:
    unshield(live)
    exclude = live / ".git" / "info" / "exclude"
    exclude.write_text("".join(line for line in exclude.read_text().splitlines(keepends=True)
                               if ".agents" not in line))
    assert git(live, "status", "--porcelain") == "?? .agents/\n"

    r = run_git_aircher(live, "doctor")
    assert r.code == 1
    assert "store_not_ignored" in r.out and "store_unshielded" in r.out, r.out
    r = run_git_aircher(live, "repair")
    assert r.code == 0, r.out + r.err
    assert "listed in .git/info/exclude" in r.out and "shielded .agents/db/" in r.out
    assert run_git_aircher(live, "doctor").code == 0
    assert git(live, "status", "--porcelain") == ""
    assert all((live / ".agents" / name / ".git" / "HEAD").is_file() for name in STORE_FOLDERS)


def test_every_folder_the_store_makes_is_one_of_its_own(live: Path) -> None:
    made = {p.name for p in (live / ".agents").iterdir()}
    assert made <= set(STORE_FOLDERS) | {"config.toml"}
    tops = {p.relative_to(open_project(live).layout.root).parts[0]
            for p in open_project(live).layout.tree()}
    assert tops == set(STORE_FOLDERS)


def test_an_older_whole_folder_exclude_line_is_replaced(live: Path) -> None:
    wait_idle(live)
    exclude = live / ".git" / "info" / "exclude"
    exclude.write_text("*.swp\n# git-aircher's private store (never committed)\n/.agents/\n"
                       "/mine/\n")
    write(live, ".agents/skills/a/SKILL.md", "# A\n")
    git(live, "add", "-f", ".agents/skills/a/SKILL.md")  # what that line made people do
    git(live, "commit", "-q", "-m", "a skill")
    wait_idle(live)  # the worker puts the lines right
    lines = exclude.read_text().splitlines()
    assert lines[:2] == ["*.swp", "/mine/"] and "/.agents/" not in lines
    assert {f"/.agents/{n}/" for n in STORE_FOLDERS} <= set(lines)
    write(live, ".agents/skills/b/SKILL.md", "# B\n")
    assert git(live, "status", "--porcelain") == "?? .agents/skills/b/\n"


def test_a_file_where_the_store_goes_is_one_clear_error(repo: Path) -> None:
    write(repo, ".agents", "someone's notes\n")
    for args in (("init",), ("status",)):
        r = run_git_aircher(repo, *args)
        assert r.code == 2, r.err
        assert r.err.splitlines()[0] == (f"error: {repo / '.agents'} is a file; git-aircher"
                                         " keeps its store in a folder of that name")
        assert r.err.splitlines()[1].startswith("hint: ") and len(r.err.splitlines()) == 2
    assert (repo / ".agents").read_text() == "someone's notes\n"


def test_a_store_symlinked_to_another_disk_is_one_entry_to_git(repo: Path, tmp_path: Path
                                                                 ) -> None:
    disk = tmp_path / "disk2"
    disk.mkdir()
    (repo / ".agents").symlink_to(disk)
    r = run_git_aircher(repo, "init")
    assert r.code == 0, r.err
    wait_idle(repo)
    assert git(repo, "status", "--porcelain") == ""
    assert "/.agents" in (repo / ".git" / "info" / "exclude").read_text().splitlines()
    assert run_git_aircher(repo, "doctor").code == 0
    assert (disk / "db" / "core" / "knowledge.db").is_file()
    assert not (disk / "db" / ".git").exists()  # git's sweeps never reach another disk


def test_a_symlinked_exclude_file_stays_a_symlink(repo: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared-exclude"
    shared.write_text("*.swp\n")
    exclude = repo / ".git" / "info" / "exclude"
    exclude.unlink()
    exclude.symlink_to(shared)
    assert run_git_aircher(repo, "init").code == 0
    assert exclude.is_symlink()
    assert "/.agents/db/" in shared.read_text().splitlines()
    assert shared.read_text().startswith("*.swp\n")


def linked_store(repo: Path, tmp_path: Path) -> Path:
    """A store made through a symlink to another disk; returns where the data is."""
    disk = tmp_path / "disk2"
    disk.mkdir()
    (repo / ".agents").symlink_to(disk)
    assert run_git_aircher(repo, "init").code == 0
    wait_idle(repo)
    return disk


def test_a_store_link_git_clean_removed_is_made_again(repo: Path, tmp_path: Path) -> None:
    disk = linked_store(repo, tmp_path)
    conv = remember(repo)

    assert "Removing .agents" in git(repo, "clean", "-fdx")
    assert not (repo / ".agents").exists() and (disk / "db" / "core").is_dir()
    # The next hook finds the store where it was, and the commit is recorded in it.
    head = commit(repo, {"src/later.py": "y = 2\n"}, "later")
    wait_idle(repo)
    assert (repo / ".agents").is_symlink() and (repo / ".agents").resolve() == disk.resolve()
    assert conv in listed(repo)
    status = run_git_aircher(repo, "status", "--json")
    assert status.code == 0 and head in status.out, status.out
    # A command finds it too, and `init` keeps it rather than making an empty store.
    git(repo, "clean", "-fdx")
    r = run_git_aircher(repo, "init")
    assert r.code == 0, r.err
    assert (repo / ".agents").is_symlink() and conv in listed(repo)


def test_a_store_link_whose_store_was_removed_stays_removed(repo: Path, tmp_path: Path) -> None:
    disk = linked_store(repo, tmp_path)
    git(repo, "clean", "-fdx")
    shutil.rmtree(disk / "db")  # the store itself removed, on purpose
    r = run_git_aircher(repo, "status")
    assert r.code == 2 and "no git-aircher store" in r.err, r.err
    assert not os.path.lexists(repo / ".agents")


def test_a_store_brought_back_from_its_link_forgets_the_link(repo: Path, tmp_path: Path) -> None:
    disk = linked_store(repo, tmp_path)
    # The store moved back into the repository; the old copy stays on the other disk.
    (repo / ".agents").unlink()
    settled(disk)  # the worker closing its databases takes their -wal files away meanwhile
    shutil.copytree(disk, repo / ".agents", symlinks=True)
    commit(repo, {"src/back.py": "z = 3\n"}, "back")
    wait_idle(repo)
    assert not (repo / ".git" / "aircher-store-link").exists()
    git(repo, "clean", "-ffdx")  # forced twice: the store itself goes
    r = run_git_aircher(repo, "status")
    assert r.code == 2 and "no git-aircher store" in r.err, r.err  # not the old copy
    assert not os.path.lexists(repo / ".agents")


def test_git_stash_all_takes_a_store_link_and_pop_brings_it_back(repo: Path, tmp_path: Path
                                                                  ) -> None:
    linked_store(repo, tmp_path)
    conv = remember(repo)
    write(repo, "scratch.txt", "untracked work")
    git(repo, "stash", "--all")
    assert not os.path.lexists(repo / ".agents")  # the link is in the stash
    # Neither a hook nor a command puts it back meanwhile: `git stash pop` would refuse.
    commit(repo, {"src/meanwhile.py": "m = 1\n"}, "meanwhile")
    assert run_git_aircher(repo, "status").code == 2
    assert not os.path.lexists(repo / ".agents")
    git(repo, "stash", "pop", "-q")
    assert (repo / ".agents").is_symlink() and conv in listed(repo)
    head = commit(repo, {"src/after.py": "a = 1\n"}, "after")
    wait_idle(repo)
    status = run_git_aircher(repo, "status", "--json")
    assert status.code == 0 and head in status.out, status.out


def test_a_worker_whose_store_link_went_makes_no_store_in_its_place(
        repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gitext.sync import worker

    linked_store(repo, tmp_path)
    # The pass runs here, in pytest's own process: not in the idle class.
    monkeypatch.setattr(worker, "idle_priority", lambda: None)
    with open_project(repo) as project:
        (repo / ".agents").unlink()  # a sweep took the link while the worker ran
        worker.run_worker(project)
        worker.heavy(project, worker.follow_ups())
    assert not os.path.lexists(repo / ".agents")


def test_nothing_of_ours_makes_a_store_that_went(tmp_path: Path) -> None:
    from gitext.contexts import Context, write_context_file
    from gitext.lifecycle.runstate import try_lock, write_json
    from gitext.sync.logbook import log

    gone = tmp_path / "link-taken"  # where a store was, before a sweep took its link
    log(gone / "logs", "storage", "a line")
    with contextlib.suppress(FileNotFoundError), try_lock(gone / "run" / "lifecycle.lock"):
        pass
    with contextlib.suppress(FileNotFoundError):
        write_json(gone / "run" / "health.json", {})
    ctx = Context("c1", "worktree", "main", "p1", str(tmp_path), "main", None)
    with contextlib.suppress(FileNotFoundError):  # a checkout applied as the link went
        write_context_file(gone / "worktrees" / "main", ctx, tmp_path)
    assert not gone.exists()


def modes(repo: Path) -> dict[str, int]:
    return {name: (repo / ".agents" / name).stat().st_mode & 0o777 for name in STORE_FOLDERS}


def test_a_store_in_the_project_s_own_agents_folder_is_owner_only(repo: Path,
                                                                   tmp_path: Path) -> None:
    """A clone of a project that tracks `.agents/skills/` has `.agents/` 0755 before `init`:
    each of the store's folders is closed, or any user of the machine reads the conversations."""
    commit(repo, {".agents/skills/release/SKILL.md": "# Release\n"}, "a skill")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    assert (clone / ".agents").stat().st_mode & 0o777 == 0o755
    r = run_git_aircher(clone, "init")
    assert r.code == 0, r.err
    assert modes(clone) == dict.fromkeys(STORE_FOLDERS, 0o700)
    assert run_git_aircher(clone, "doctor").code == 0


def test_doctor_finds_a_store_others_may_read_and_the_next_event_closes_it(live: Path) -> None:
    wait_idle(live)
    (live / ".agents").chmod(0o700)  # an earlier version's: its top keeps others out
    (live / ".agents" / "db").chmod(0o755)
    (live / ".agents" / "sessions").chmod(0o750)
    assert run_git_aircher(live, "doctor").code == 0
    (live / ".agents").chmod(0o755)  # as a clone of a project that tracks .agents/skills/ has it
    r = run_git_aircher(live, "doctor")
    assert r.code == 1 and "store_readable" in r.out, r.out
    assert ".agents/db/" in r.out and ".agents/sessions/" in r.out
    r = run_git_aircher(live, "repair")
    assert r.code == 0 and "made .agents/db/ owner-only" in r.out, r.out + r.err
    assert modes(live) == dict.fromkeys(STORE_FOLDERS, 0o700)
    (live / ".agents" / "db").chmod(0o755)
    commit(live, {"src/app.py": "print('hello')\n"}, "edit")  # the worker mends as it passes
    wait_idle(live)
    assert modes(live) == dict.fromkeys(STORE_FOLDERS, 0o700)


def test_a_committed_store_link_is_reported_and_no_clone_adopts_its_store(
    repo: Path, tmp_path: Path
) -> None:
    """A store linked to another disk, committed (past the guard): doctor called it
    store_not_ignored and said `repair` fixes it, which only adds an exclude line git ignores
    for a tracked path; and `init` in a clone "reinitialized" the original's store, whose
    conversations the clone then listed (QA round 22a: 03)."""
    disk = tmp_path / "disk2"
    disk.mkdir()
    (repo / ".agents").symlink_to(disk)
    assert run_git_aircher(repo, "init").code == 0
    remember(repo)
    git(repo, "add", "-f", ".agents")
    git(repo, "-c", "core.hooksPath=/dev/null", "commit", "-q", "-m", "the link slipped in")
    wait_idle(repo)

    r = run_git_aircher(repo, "doctor")
    assert r.code == 1
    assert "warning: store_tracked: git tracks .agents (it was committed)" in r.out, r.out
    assert "  hint: git rm --cached -r -q -- .agents, then commit that" in r.out
    assert "store_not_ignored" not in r.out and "repair: listed" not in r.out

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    assert (clone / ".agents").is_symlink()
    r = run_git_aircher(clone, "init")
    assert r.code == 1
    assert r.err.splitlines() == [
        f"error: {clone / '.agents'} is {disk}, the store of another repository ({repo}):"
        " its conversations and records are that repository's",
        "hint: `git rm -q .agents` (the link only; commit that), then `git aircher init` makes"
        " this repository's own store",
    ]
    r = run_git_aircher(clone, "doctor")
    assert "warning: store_of_another:" in r.out, r.out
    worktrees = json.loads(run_git_aircher(repo, "worktree", "list", "--json").out)["worktrees"]
    assert [w["path"] for w in worktrees] == [str(repo)]  # the clone wrote nothing there

    git(clone, "rm", "-q", ".agents")  # as the hint says: a store of its own
    r = run_git_aircher(clone, "init")
    assert r.code == 0, r.err
    assert (clone / ".agents").is_dir() and not (clone / ".agents").is_symlink()
    assert json.loads(listed(clone)) == []
    assert len(json.loads(listed(repo))) == 1


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_the_store_s_top_is_listable_and_all_in_it_stays_private(repo: Path) -> None:
    """`.agents/` was 0700, so another user's git in a shared checkout could not match the
    exclude lines of its entries and took it for an untracked folder (QA round 24c: 03). It is
    as listable as the work tree's top now, never writable; each folder stays 0700 and
    config.toml 0600. An earlier version's closed top is opened at the next event, unless it
    holds something that is not the store's."""
    live = repo
    live.chmod(0o755)  # whatever the umask of the test run
    assert run_git_aircher(live, "init").code == 0
    assert mode(live / ".agents") == 0o755
    assert modes(live) == dict.fromkeys(STORE_FOLDERS, 0o700)
    assert run_git_aircher(live, "config", "set", "storage.max_db_size", "2GB").code == 0
    assert mode(live / ".agents" / "config.toml") == 0o600

    # An earlier version's store: its top closed, config.toml written with the umask's mode.
    wait_idle(live)
    (live / ".agents").chmod(0o700)
    (live / ".agents" / "config.toml").chmod(0o644)
    commit(live, {"src/app.py": "print('hello')\n"}, "edit")  # the worker mends as it passes
    wait_idle(live)
    assert mode(live / ".agents") == 0o755
    assert mode(live / ".agents" / "config.toml") == 0o600
    assert modes(live) == dict.fromkeys(STORE_FOLDERS, 0o700)

    # A file of the user's in a closed top: it stays closed.
    (live / ".agents").chmod(0o700)
    (live / ".agents" / "notes.md").write_text("mine\n")
    commit(live, {"src/app.py": "print('hello again')\n"}, "edit")
    wait_idle(live)
    assert mode(live / ".agents") == 0o700

    # A private work tree keeps its store's top private too.
    (live / ".agents" / "notes.md").unlink()
    live.chmod(0o700)
    commit(live, {"src/app.py": "print('and again')\n"}, "edit")
    wait_idle(live)
    assert mode(live / ".agents") == 0o700


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("runuser") is None,
                    reason="running git as another user needs root and runuser")
def test_another_user_s_git_in_a_shared_checkout_passes_the_store_by() -> None:
    """In a checkout shared with another user (a deploy user, a teammate with safe.directory),
    that user's git could not list the 0700 `.agents/`: a warning at every `git status`, `git
    stash -u` failed (exit 1) and `git clean -nd` offered to remove the store (QA round 24c:
    03). Now their git passes it by, and reads nothing of the store."""
    with tempfile.TemporaryDirectory(prefix="aircher-shared-") as name:
        shared = Path(name)
        shared.chmod(0o755)
        repo = shared / "repo"
        repo.mkdir()
        git(repo, "init", "-q", "--shared=all")
        commit(repo, {"a.py": "def foo(): return 1\n"}, "init")
        assert run_git_aircher(repo, "init").code == 0
        wait_idle(repo)
        subprocess.run(["chmod", "-R", "a+rwX", str(repo / ".git"), str(repo / "a.py")],
                       check=True)
        repo.chmod(0o777)
        other = shared / "other"
        other.mkdir()
        (other / ".gitconfig").write_text(
            "[safe]\n\tdirectory = *\n[user]\n\tname = other\n\temail = o@example.com\n"
            "[core]\n\thooksPath = /dev/null\n")
        shutil.chown(other, "nobody")
        shutil.chown(other / ".gitconfig", "nobody")

        def run(script: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                ["runuser", "-u", "nobody", "--", "env", "-i", "PATH=/usr/bin:/bin",
                 f"HOME={other}", "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C", "sh", "-c", script],
                cwd=repo, capture_output=True, text=True)

        st = run("git status --short --untracked-files=all")
        assert (st.returncode, st.stdout, st.stderr) == (0, "", "")
        stash = run("echo x > new.txt && git stash -u")
        assert stash.returncode == 0 and ".agents" not in stash.stderr, stash.stderr
        assert run("git stash pop -q").returncode == 0
        (repo / "new.txt").unlink()
        clean = run("git clean -nd")
        assert (clean.stdout, clean.stderr) == ("", "")
        for name in STORE_FOLDERS:
            assert run(f"ls .agents/{name}").returncode != 0
        wait_idle(repo)
