"""Shims written by an earlier version of this installation are brought up to date by the
background worker; shims of another installation are left alone and reported by `status`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from gitext.hooks.install import hook_status, install_hooks
from gitext.hooks.shims import HOOK_NAMES, git_aircher_executable, is_shim, render_shim
from gitext.hooks.upgrade import outdated_shims, recorded_executable, refresh_shims
from tests.conftest import commit, git, run_git_aircher, write
from tests.hooks import script, snapshot
from tests.sync.helpers import changes, failures, settled, store, store_files, wait_idle

SEQ_LINE = "[ -z \"$seq\" ] || printf 'seq %s\\n' \"$seq\"\n"


def _make_old(path: Path) -> None:
    """What an earlier version wrote: the same shim without the `seq` record line."""
    text = path.read_text()
    assert SEQ_LINE in text
    path.write_text(text.replace(SEQ_LINE, ""))


def test_worker_upgrades_old_shims_of_this_installation(live: Path) -> None:
    hooks = live / ".git" / "hooks"
    current = {name: (hooks / name).read_bytes() for name in HOOK_NAMES}
    wait_idle(live)
    for name in ("post-commit", "post-checkout"):
        _make_old(hooks / name)
    # The worker looks at the shims at most every ten minutes; `init`'s own worker just did.
    (store(live) / "run" / "hooks.last").unlink(missing_ok=True)

    commit(live, {"src/new.py": "x = 1\n"}, "add new")
    wait_idle(live)

    assert ("created", "src/new.py") in [(r[0], r[2]) for r in changes(live)]  # old shim ran
    assert {name: (hooks / name).read_bytes() for name in HOOK_NAMES} == current
    assert (hooks / "post-commit").stat().st_mode & 0o777 == 0o755
    assert failures(live) == ""
    log = (store(live) / "logs" / "storage.log").read_text()
    assert "upgraded hook shims: post-checkout, post-commit" in log


def test_worker_adds_a_hook_a_later_version_brought(live: Path) -> None:
    """Shims installed before post-applypatch was one of ours: the worker puts it beside them,
    as `hooks install` would, and `git am` is recorded from then on; doctor said
    `hooks_missing` in every repository until `hooks install` ran there (QA round 26b: 01)."""
    hooks = live / ".git" / "hooks"
    wanted = (hooks / "post-applypatch").read_bytes()
    wait_idle(live)
    (hooks / "post-applypatch").unlink()  # what the earlier version installed: the others
    assert "hooks_missing" in run_git_aircher(live, "doctor").out
    (store(live) / "run" / "hooks.last").unlink(missing_ok=True)

    commit(live, {"src/new.py": "x = 1\n"}, "add new")
    wait_idle(live)

    assert (hooks / "post-applypatch").read_bytes() == wanted
    assert (hooks / "post-applypatch").stat().st_mode & 0o777 == 0o755
    assert "upgraded hook shims: post-applypatch" in (
        store(live) / "logs" / "storage.log").read_text()
    assert "hooks_missing" not in run_git_aircher(live, "doctor").out
    assert failures(live) == ""


def test_a_later_hook_in_someone_elses_hook_place_is_left_to_install(live: Path) -> None:
    """A hook of someone else's where the later version's goes is install's to chain, on the
    user's word (doctor's hint), not the worker's."""
    hooks = live / ".git" / "hooks"
    (hooks / "post-applypatch").unlink()
    theirs = script(hooks / "post-applypatch", "echo theirs\n").read_bytes()

    assert "post-applypatch" not in refresh_shims(live).upgraded
    assert (hooks / "post-applypatch").read_bytes() == theirs
    assert "hooks_missing" in run_git_aircher(live, "doctor").out
    assert {s.name: s.state for s in install_hooks(live)}["post-applypatch"] == "chained"


def test_shims_of_another_installation_are_left_and_reported(live: Path, tmp_path: Path) -> None:
    other = script(tmp_path / "elsewhere" / "git-aircher", "exit 0\n")
    install_hooks(live, executable=other)
    hooks = live / ".git" / "hooks"
    before = snapshot(hooks)

    result = refresh_shims(live)

    assert result.upgraded == []
    assert sorted(result.foreign_outdated) == sorted(HOOK_NAMES)
    assert snapshot(hooks) == before
    status = run_git_aircher(live, "status", "--json")
    assert status.code == 0, status.err
    warnings = json.loads(status.out)["warnings"]
    assert any("hooks written by another git-aircher" in w and "post-commit" in w
               for w in warnings), warnings

    install_hooks(live)  # what the warning says to run
    assert outdated_shims(live) == []
    status = run_git_aircher(live, "status", "--json")
    assert not any("hooks written" in w for w in json.loads(status.out)["warnings"])


def test_framework_wrapped_shim_is_upgraded_and_the_framework_hook_kept(repo: Path) -> None:
    hooks = repo / ".git" / "hooks"
    install_hooks(repo)
    wanted = (hooks / "pre-commit").read_bytes()
    # The pre-commit framework moved our shim to pre-commit.legacy and put its own hook there.
    (hooks / "pre-commit").rename(hooks / "pre-commit.legacy")
    framework = script(hooks / "pre-commit", "# File generated by pre-commit\nexit 0\n")
    legacy = hooks / "pre-commit.legacy"
    legacy.write_bytes(wanted.replace(b"# Runs", b"# Once ran"))

    assert outdated_shims(repo) == ["pre-commit.legacy"]
    result = refresh_shims(repo)

    assert result.upgraded == ["pre-commit.legacy"]
    assert legacy.read_bytes() == wanted
    assert framework.read_text() == "#!/bin/sh\n# File generated by pre-commit\nexit 0\n"


def test_user_hooks_are_never_rewritten(repo: Path) -> None:
    hooks = repo / ".git" / "hooks"
    mine = script(hooks / "post-merge", "echo mine\n")
    # Mentions our marker in a comment but is not a shim of ours by its first lines' ID.
    notes = write(repo, ".git/hooks/post-commit", "#!/bin/sh\n# calls git-aircher\nexit 0\n")
    before = snapshot(hooks)
    assert refresh_shims(repo).upgraded == []
    assert snapshot(hooks) == before
    assert mine.read_text().endswith("echo mine\n") and notes.exists()


def test_recorded_executable_reads_quoted_paths() -> None:
    odd = Path("/opt/it's here/git-aircher")
    for name in HOOK_NAMES:
        assert recorded_executable(render_shim(name, odd)) == odd
    assert recorded_executable(render_shim("post-commit", None)) is None
    ours = git_aircher_executable()
    assert ours is not None
    assert recorded_executable(render_shim("post-commit", ours)) == ours


def test_shims_of_a_moved_repository_are_rewritten_at_its_next_event(
        live: Path, tmp_path: Path) -> None:
    """QA round 3: the shims name the journal by its absolute path; after the repository was
    moved, every event took the slow path (Python in git's way) for good, since the worker
    took the old journal for another store's and left the shims."""
    wait_idle(live)
    moved = tmp_path / "moved"
    live.rename(moved)
    hooks = moved / ".git" / "hooks"
    old_journal = str(live / ".agents" / "journal")
    assert old_journal in (hooks / "post-commit").read_text()

    commit(moved, {"src/after.py": "x = 1\n"}, "after the move")
    wait_idle(moved)

    new_journal = str(moved / ".agents" / "journal")
    for name in ("post-commit", "post-checkout", "post-merge", "post-rewrite"):
        text = (hooks / name).read_text()
        assert new_journal in text and old_journal not in text, name
    assert outdated_shims(moved) == []
    assert ("created", "src/after.py") in [(r[0], r[2]) for r in changes(moved)]
    assert failures(moved) == ""


def _copy(source: Path, target: Path) -> None:
    """`cp -a`, again if a database's -wal or -shm went away while it was read (a process of
    the original closing its last connection removes them; each is optional to SQLite)."""
    for _ in range(5):
        if subprocess.run(["cp", "-a", str(source), str(target)]).returncode == 0:
            return
        shutil.rmtree(target, ignore_errors=True)
    raise AssertionError(f"cp -a {source} kept failing")


def test_a_copied_repository_gets_its_own_shims_and_leaves_the_original_alone(
        live: Path, tmp_path: Path) -> None:
    """QA round 5: after `cp -a repoA repoB`, repoB's shims named repoA's journal. Every event
    in repoB was written into repoA's store and passed on by repoA's worker; the shims stayed
    `ours-outdated` (that journal was there, so taken for another store's), and `doctor` said
    healthy. The shims know the folder they were installed into: run from another, they take
    the slow path, which records in the copy's own store, and its worker rewrites them."""
    wait_idle(live)
    settled(live / ".agents")  # a worker closes its databases after its marker is gone
    copy = tmp_path / "copy"
    _copy(live, copy)
    original = store_files(live / ".agents")

    r = run_git_aircher(copy, "doctor", "--json")
    report = json.loads(r.out)
    found = [f for f in report["findings"] if f["check"] == "hooks_outdated"]
    assert r.code == 1 and not report["healthy"] and len(found) == 1, r.out
    assert "post-commit" in found[0]["message"]
    assert "git aircher hooks install" in found[0]["hint"]

    commit(copy, {"src/copied.py": "x = 1\n"}, "in the copy")
    wait_idle(copy)

    assert outdated_shims(copy) == []
    states = json.loads(run_git_aircher(copy, "hooks", "status", "--json").out)
    assert {h["state"] for h in states["hooks"]} == {"ours"}, states
    assert ("created", "src/copied.py") in [(r[0], r[2]) for r in changes(copy)]
    assert failures(copy) == ""
    # Nothing of it reached the original: not a record in passing, not a worker run.
    assert store_files(live / ".agents") == original
    assert "src/copied.py" not in [r[2] for r in changes(live)]

    # Shims of an earlier version record no folder; in the repository's own hooks folder they
    # are its own all the same, whatever journal they name.
    hooks = copy / ".git" / "hooks"
    exe = git_aircher_executable()
    for name in ("post-commit", "post-merge"):
        (hooks / name).write_bytes(render_shim(name, exe, ".agents/",
                                               live.resolve() / ".agents" / "journal"))
    assert refresh_shims(copy).upgraded == ["post-commit", "post-merge"]
    assert outdated_shims(copy) == []


def test_worker_puts_shims_into_a_worktree_folder_that_appeared(live: Path, tmp_path: Path
                                                                ) -> None:
    """husky (core.hooksPath=.husky/_, relative) makes its folder in a new worktree at the
    `npm install` after `git worktree add`: that worktree ran nothing of ours until someone ran
    `hooks install` there. doctor says so, and the worker, at the next event anywhere, puts the
    shims there by install's rules (session 18: hooks-2)."""
    git(live, "config", "core.hooksPath", ".husky/_")
    (live / ".husky" / "_").mkdir(parents=True)
    assert run_git_aircher(live, "hooks", "install").code == 0
    linked = tmp_path / "linked"
    git(live, "worktree", "add", "-q", "-b", "linked", str(linked))
    wait_idle(live)
    husky = script(linked / ".husky" / "_" / "post-commit", "exit 0\n")  # `npm install` there

    doctor = run_git_aircher(live, "doctor")
    assert (f"hooks_missing: git runs hooks of the worktree {linked} from {husky.parent}"
            " (core.hooksPath), which lacks git-aircher's") in doctor.out, doctor.out

    commit(live, {"src/more.py": "y = 2\n"}, "in the main worktree")
    wait_idle(live)
    assert is_shim(husky)
    assert (husky.parent / "post-commit.aircher-orig").read_text() == "#!/bin/sh\nexit 0\n"
    assert {s.state for s in hook_status(linked)[:5]} == {"ours", "chained"}  # its own first
    assert f"installed hook shims in {husky.parent}" in (
        store(live) / "logs" / "storage.log").read_text()
    assert "hooks_missing" not in run_git_aircher(live, "doctor").out


def test_shims_lefthook_set_aside_are_put_back_by_the_next_worker(live: Path) -> None:
    """`lefthook install` (often a package manager's postinstall) renames our shims to
    <hook>.old and never runs them: commits went unrecorded by the hooks until doctor's hint
    was followed. The agent's next query catches the commit up and starts the worker, which
    does what the hint does: our shims back in front, lefthook's hooks chained."""
    from tests.hooks.test_install import LEFTHOOK, lefthook_install

    hooks = live / ".git" / "hooks"
    wait_idle(live)
    lefthook_install(hooks, "post-commit", "pre-commit")
    assert is_shim(hooks / "post-commit.old")
    commit(live, {"src/while_off.py": "z = 3\n"}, "while lefthook had our place")
    assert run_git_aircher(live, "search", "--json", "while off").code == 0
    wait_idle(live)

    assert is_shim(hooks / "post-commit") and is_shim(hooks / "pre-commit")
    assert (hooks / "post-commit.aircher-orig").read_text() == LEFTHOOK
    assert not list(hooks.glob("*.old"))
    assert "hook shims put back in front of lefthook's in" in (
        store(live) / "logs" / "storage.log").read_text()
    commit(live, {"src/after.py": "w = 4\n"}, "lefthook's and ours both run")
    wait_idle(live)
    assert ("created", "src/after.py") in [(r[0], r[2]) for r in changes(live)]
    team = (live / ".git" / "team.log").read_text().splitlines()
    assert team.count("lefthook .git/hooks/post-commit.aircher-orig") == 1  # chained, still run
    assert failures(live) == ""
    lefthook_install(hooks, "post-commit", "pre-commit")  # lefthook's next install goes through


def test_shims_of_another_installation_lefthook_set_aside_are_left(repo: Path,
                                                                  tmp_path: Path) -> None:
    """Only this installation's shims are put back: another's are that one's to manage."""
    from gitext.hooks.upgrade import retake_from_lefthook
    from tests.hooks import fake_tool
    from tests.hooks.test_install import lefthook_install

    hooks = repo / ".git" / "hooks"
    install_hooks(repo, executable=fake_tool(tmp_path / "bin", tmp_path / "tool.log"))
    lefthook_install(hooks, "post-commit")
    before = snapshot(hooks)
    assert retake_from_lefthook(repo) == []
    assert snapshot(hooks) == before


def test_shims_naming_a_tool_that_is_gone_follow_the_installation_found(
        live: Path, tmp_path: Path) -> None:
    """The tool's checkout moved and `./install.sh` run again from there: every shim kept
    naming the old venv's git-aircher, which no longer exists. The worker left them as "another
    installation's", so every commit from a git GUI (no shell PATH) said "not found …
    (reinstall it …)", after the reinstall too (QA round 22c: 04). A shim whose executable is
    gone belongs to no installation: its next event from a terminal, where PATH finds the tool,
    makes the worker rewrite it for this one."""
    hooks = live / ".git" / "hooks"
    wait_idle(live)
    gone = tmp_path / "tool" / ".venv" / "bin" / "git-aircher"  # never there: moved away
    install_hooks(live, executable=gone)
    assert recorded_executable((hooks / "post-commit").read_bytes()) == gone

    commit(live, {"src/terminal.py": "x = 1\n"}, "from a terminal")  # PATH finds this checkout
    wait_idle(live)

    for name in HOOK_NAMES:
        assert recorded_executable((hooks / name).read_bytes()) == git_aircher_executable()
    assert outdated_shims(live) == []
    assert "upgraded hook shims" in (store(live) / "logs" / "storage.log").read_text()
    assert ("created", "src/terminal.py") in [(r[0], r[2]) for r in changes(live)]
    assert failures(live) == ""
