"""Installing the shims: chaining foreign hooks, core.hooksPath, worktrees, uninstall exactness.

Hooks are run by real `git commit` / `git checkout` in subprocesses. Where a test needs to see
whether our part ran, the shims point at a stand-in git-aircher script that logs its calls.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from gitext.errors import AircherError
from gitext.hooks.install import HookState, hook_status, install_hooks, tracked_note
from gitext.hooks.shims import CHAIN_SUFFIX, HOOK_NAMES, SHIM_ID, render_shim
from gitext.hooks.uninstall import uninstall_hooks
from gitext.resources import data_dir
from tests.conftest import VENV_BIN, commit, git, run_git_aircher, write
from tests.hooks import fake_tool, log_lines, run, script, snapshot

Tool = tuple[Path, Path]  # the stand-in git-aircher script, and the log it writes


@pytest.fixture
def tool(tmp_path: Path) -> Tool:
    log = tmp_path / "tool.log"
    return fake_tool(tmp_path / "bin", log), log


def hooks_of(repo: Path) -> Path:
    return repo / ".git" / "hooks"


def states(result: list[HookState]) -> dict[str, str]:
    return {s.name: s.state for s in result}


def test_templates_are_sh_shims_with_marker_and_mode() -> None:
    folder = data_dir("hooks")
    for name in HOOK_NAMES:
        path = folder / name
        text = path.read_text()
        assert text.startswith("#!/bin/sh\n# git-aircher hook shim\n")
        assert f"# ID: {SHIM_ID}" in text
        assert f"\nhook={name}\n" in text
        assert stat.S_IMODE(path.stat().st_mode) == 0o755


def test_install_into_fresh_repo_then_reinstall_is_a_no_op(repo: Path, tool: Tool) -> None:
    exe, _ = tool
    result = install_hooks(repo, executable=exe)
    assert [s.name for s in result] == list(HOOK_NAMES)
    assert {s.action for s in result} == {"created"}
    assert set(states(result).values()) == {"ours"}
    for name in HOOK_NAMES:
        path = hooks_of(repo) / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o755
        text = path.read_text()
        assert text.startswith("#!/bin/sh\n# git-aircher hook shim\n")
        assert f"exe='{exe}'" in text  # the absolute path recorded at install
    before = snapshot(hooks_of(repo))
    again = install_hooks(repo, executable=exe)
    assert {s.action for s in again} == {"unchanged"}
    assert snapshot(hooks_of(repo)) == before


def test_default_executable_is_this_installs_console_script(repo: Path) -> None:
    install_hooks(repo)
    text = (hooks_of(repo) / "post-commit").read_text()
    assert f"exe='{VENV_BIN / 'git-aircher'}'" in text
    # The real tool behind the shims: a commit passes and our hooks print nothing.
    write(repo, "b.txt", "b\n")
    git(repo, "add", "b.txt")
    proc = run(repo, "git", "commit", "-q", "-m", "b")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""


def test_outdated_shim_of_ours_is_upgraded_in_place(repo: Path, tool: Tool) -> None:
    exe, log = tool
    folder = hooks_of(repo)
    folder.mkdir(exist_ok=True)
    user = script(folder / "post-commit", "echo user >> user.log\n")
    install_hooks(repo, executable=exe)
    kept = (folder / ("post-commit" + CHAIN_SUFFIX)).read_bytes()
    # An older shim: our ID, other content (here: another install's recorded path).
    old = render_shim("post-commit", Path("/old/venv/bin/git-aircher"))
    (folder / "post-commit").write_bytes(old)
    status = {s.name: s for s in hook_status(repo, executable=exe)}
    assert status["post-commit"].state == "ours-outdated"
    assert status["post-commit"].chained == str(user.with_name("post-commit" + CHAIN_SUFFIX))

    result = {s.name: s for s in install_hooks(repo, executable=exe)}
    assert result["post-commit"].action == "upgraded"
    assert result["post-commit"].state == "chained"
    assert (folder / "post-commit").read_bytes() == render_shim(
        "post-commit", exe, ".agents/", repo.resolve() / ".agents" / "journal", folder)
    assert (folder / ("post-commit" + CHAIN_SUFFIX)).read_bytes() == kept
    commit(repo, {"c.txt": "c\n"}, "c")
    assert "ours post-commit" in log_lines(log)
    assert (repo / "user.log").read_text() == "user\n"


def test_a_new_store_folder_makes_the_pre_commit_shim_outdated(repo: Path, tool: Tool) -> None:
    exe, _ = tool
    install_hooks(repo, executable=exe)  # storage.data_dir from config: the default .agents
    assert "store='.agents/'" in (hooks_of(repo) / "pre-commit").read_text()
    moved = states(hook_status(repo, executable=exe, data_dir=".memory"))
    # pre-commit names the store's folder, post-* shims its journal: all follow the store.
    assert moved["pre-commit"] == "ours-outdated" and moved["post-commit"] == "ours-outdated"
    install_hooks(repo, executable=exe, data_dir=".memory")
    assert "store='.memory/'" in (hooks_of(repo) / "pre-commit").read_text()


def test_foreign_hooks_are_chained_with_args_and_stdin_then_restored(
    repo: Path, tool: Tool
) -> None:
    exe, log = tool
    folder = hooks_of(repo)
    script(folder / "post-commit", 'echo "post-commit $#" >> .git/user.log\n')
    script(folder / "pre-commit", "echo pre-commit >> .git/user.log\n"
           "[ ! -e .git/block ] || { echo 'user hook says no' >&2; exit 3; }\n")
    script(folder / "post-rewrite", 'echo "post-rewrite $1" >> .git/user.log\n'
           "sed 's/^/user-stdin /' >> .git/user.log\n")
    script(folder / "post-checkout", 'echo "post-checkout $3" >> .git/user.log\n', mode=0o700)
    script(folder / "post-applypatch", 'echo "post-applypatch $#" >> .git/user.log\n')
    before = snapshot(folder)

    result = install_hooks(repo, executable=exe)
    assert states(result) == {
        "post-applypatch": "chained", "post-checkout": "chained", "post-commit": "chained",
        "post-merge": "ours", "post-rewrite": "chained", "pre-commit": "chained",
    }
    user_log = repo / ".git" / "user.log"

    # A failing foreign pre-commit blocks the commit; the guard ran too (a name it must see).
    (repo / ".git" / "block").touch()
    head = git(repo, "rev-parse", "HEAD")
    write(repo, ".env.local", "x\n")
    git(repo, "add", ".env.local")
    proc = run(repo, "git", "commit", "-q", "-m", "x")
    assert proc.returncode != 0
    assert "user hook says no" in proc.stderr
    assert git(repo, "rev-parse", "HEAD") == head
    assert log_lines(log) == ["ours pre-commit"]
    assert user_log.read_text() == "pre-commit\n"

    (repo / ".git" / "block").unlink()
    log.unlink()
    user_log.unlink()
    git(repo, "commit", "-q", "-m", "x")
    assert log_lines(log) == ["ours pre-commit", "ours post-commit"]
    assert user_log.read_text() == "pre-commit\npost-commit 0\n"

    # post-rewrite: both sides get the arguments and the same stdin (old new).
    log.unlink()
    user_log.unlink()
    old = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "commit", "-q", "--amend", "-m", "x2")
    new = git(repo, "rev-parse", "HEAD").strip()
    assert "ours post-rewrite amend" in log_lines(log)
    assert f"ours-stdin {old} {new}" in log_lines(log)
    assert user_log.read_text().splitlines()[-2:] == ["post-rewrite amend",
                                                      f"user-stdin {old} {new}"]

    git(repo, "checkout", "-q", "-b", "other")
    assert user_log.read_text().splitlines()[-1] == "post-checkout 1"
    assert "ours post-checkout" in " ".join(log_lines(log))

    # post-applypatch: what git runs, instead of post-commit, for each commit `git am` makes.
    patches = repo.parent / "patches"
    git(repo, "format-patch", "-q", "-1", "HEAD", "-o", str(patches))
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    log.unlink()
    git(repo, "am", "-q", *sorted(str(p) for p in patches.iterdir()))
    assert log_lines(log) == ["ours post-applypatch"]
    assert user_log.read_text().splitlines()[-1] == "post-applypatch 0"

    undone = uninstall_hooks(repo)
    assert {s.name: s.action for s in undone} == {
        "post-applypatch": "restored", "post-checkout": "restored", "post-commit": "restored",
        "post-merge": "removed", "post-rewrite": "restored", "pre-commit": "restored",
    }
    assert snapshot(folder) == before


def test_symlinked_and_unreadable_foreign_hooks_are_chained(repo: Path, tool: Tool) -> None:
    exe, log = tool
    folder = hooks_of(repo)
    target = script(repo / ".git" / "shared-hook.sh", "echo linked >> .git/user.log\n")
    (folder / "post-commit").symlink_to(os.path.relpath(target, folder))
    script(folder / "post-merge", "exit 0\n", mode=0o311)  # executable, not readable
    before = snapshot(folder)
    result = states(install_hooks(repo, executable=exe))
    assert result["post-commit"] == "chained" and result["post-merge"] == "chained"
    assert (folder / ("post-commit" + CHAIN_SUFFIX)).is_symlink()
    commit(repo, {"y.txt": "y\n"}, "y")
    assert (repo / ".git" / "user.log").read_text() == "linked\n"
    assert "ours post-commit" in log_lines(log)
    uninstall_hooks(repo)
    assert snapshot(folder) == before


def test_leftover_kept_hook_beside_a_foreign_one_needs_force(repo: Path, tool: Tool) -> None:
    """The refusal changes nothing, and what `--force` set aside never blocks a later install:
    install stopped halfway (post-checkout in place, nothing after), and uninstall renamed the
    set-aside .aircher-orig.1 back to .aircher-orig, so the next install or init refused
    (QA round 11b: 02)."""
    exe, _ = tool
    folder = hooks_of(repo)
    script(folder / "post-commit", "echo now\n")
    script(folder / ("post-commit" + CHAIN_SUFFIX), "echo earlier\n")
    before = snapshot(folder)
    with pytest.raises(AircherError, match="post-commit.aircher-orig"):
        install_hooks(repo, executable=exe)
    assert snapshot(folder) == before  # post-checkout, before it in order, is not there either

    result = {s.name: s for s in install_hooks(repo, executable=exe, force=True)}
    assert result["post-commit"].state == "chained"
    assert "post-commit.aircher-orig.1" in (result["post-commit"].action or "")
    assert (folder / ("post-commit" + CHAIN_SUFFIX)).read_text() == "#!/bin/sh\necho now\n"
    assert (folder / "post-commit.aircher-orig.1").read_text() == "#!/bin/sh\necho earlier\n"
    undone = {s.name: s.action for s in uninstall_hooks(repo)}
    assert undone["post-commit"] == ("restored (an earlier hook stays as"
                                     " post-commit.aircher-orig.1, not run by git)")
    assert sorted(p.name for p in folder.glob("post-commit*")) == [
        "post-commit", "post-commit.aircher-orig.1"]
    assert (folder / "post-commit").read_text() == "#!/bin/sh\necho now\n"

    # A tool then writes its hook over our shim, and uninstall finds no shim of ours there:
    # the hook we kept is numbered too, and install goes ahead again without --force.
    assert states(install_hooks(repo, executable=exe))["post-commit"] == "chained"
    script(folder / "post-commit", "echo tool\n")
    undone = {s.name: s.action for s in uninstall_hooks(repo)}
    assert undone["post-commit"] == ("absent (an earlier hook stays as post-commit.aircher-orig.1,"
                                     " post-commit.aircher-orig.2, not run by git)")
    assert (folder / "post-commit.aircher-orig.2").read_text() == "#!/bin/sh\necho now\n"
    assert states(install_hooks(repo, executable=exe))["post-commit"] == "chained"


def test_a_tool_that_rewrote_the_hook_we_kept_is_chained_again(repo: Path, tool: Tool) -> None:
    """husky's `prepare` (every `npm install`) or a second `lefthook install` writes its hooks
    over our shims: the kept .aircher-orig is the same as the hook in place. doctor said
    hooks_missing with the hint `git aircher hooks install`, which refused, and `--force` left
    a copy as .aircher-orig.N that uninstall never removed (QA round 10b: 02)."""
    from gitext.hooks.presence import absent_hooks

    exe, log = tool
    folder = repo / ".husky" / "_"
    stub = '#!/usr/bin/env sh\necho "$(basename "$0")" >> .git/team.log'
    for name in ("post-commit", "pre-commit"):
        script(folder / name, "").write_text(stub)
    git(repo, "config", "core.hooksPath", ".husky/_")
    before = snapshot(folder)
    install_hooks(repo, executable=exe)
    for name in ("post-commit", "pre-commit"):  # as husky writes them: over the shims' bytes
        (folder / name).write_text(stub)
    absent = absent_hooks(repo)
    assert absent is not None and absent.missing == ["post-commit", "pre-commit"]

    result = {s.name: s for s in install_hooks(repo, executable=exe)}
    assert result["post-commit"].state == "chained"
    assert "the same as the kept post-commit.aircher-orig" in (result["post-commit"].action or "")
    assert absent_hooks(repo) is None
    assert not list(folder.glob("*.aircher-orig.*"))
    commit(repo, {"c.txt": "c\n"}, "c")
    assert log_lines(log) == ["ours post-commit"]
    assert (repo / ".git" / "team.log").read_text().splitlines() == [
        "pre-commit.aircher-orig", "post-commit.aircher-orig"]
    uninstall_hooks(repo)
    assert snapshot(folder) == before

    # What `--force` made of it before: a copy set aside, which uninstall now removes.
    install_hooks(repo, executable=exe)
    (folder / "post-commit").write_text(stub)
    (folder / "post-commit.aircher-orig").rename(folder / "post-commit.aircher-orig.1")
    (folder / "post-commit").rename(folder / "post-commit.aircher-orig")
    install_hooks(repo, executable=exe)
    undone = {s.name: s.action for s in uninstall_hooks(repo)}
    assert undone["post-commit"] == ("restored (removed post-commit.aircher-orig.1, the same as"
                                     " post-commit)")
    assert snapshot(folder) == before

    # uninstall right after the tool's rewrite: the kept hooks, copies of the ones in place,
    # stayed as five .aircher-orig files that `hooks status` still listed (QA round 11b: 07).
    install_hooks(repo, executable=exe)
    for name in ("post-commit", "pre-commit"):
        (folder / name).write_text(stub)
    undone = {s.name: s.action for s in uninstall_hooks(repo)}
    assert undone["pre-commit"] == "removed pre-commit.aircher-orig, the same as pre-commit"
    assert snapshot(folder) == before


def test_uninstall_takes_our_shims_lefthook_kept_as_old(repo: Path, tool: Tool) -> None:
    """lefthook, installed after us, renames each hook it replaces to <hook>.old and renames it
    back when it is uninstalled: our .old shims stayed through `hooks uninstall`, and
    `lefthook uninstall` made them live again (QA round 10b: 04)."""
    exe, _ = tool
    folder = hooks_of(repo)
    script(folder / "post-commit", "echo user\n")
    script(folder / "post-merge.old", "echo not ours\n")
    before = snapshot(folder)
    install_hooks(repo, executable=exe)
    lefthook = "#!/bin/sh\necho lefthook\n"
    for name in ("post-commit", "pre-commit"):  # what `lefthook install` does
        (folder / name).rename(folder / f"{name}.old")
        script(folder / name, "echo lefthook\n")

    undone = {s.name: s.action for s in uninstall_hooks(repo)}
    assert undone["post-commit"] == "restored" and undone["pre-commit"] == "removed"
    assert (folder / "post-commit.old").read_text() == "#!/bin/sh\necho user\n"
    assert not (folder / "pre-commit.old").exists()
    for name in ("post-commit", "pre-commit"):  # what `lefthook uninstall` does
        assert (folder / name).read_text() == lefthook
        (folder / name).unlink()
        if (folder / f"{name}.old").exists():
            (folder / f"{name}.old").rename(folder / name)
    assert snapshot(folder) == before


# lefthook's hook as `lefthook install` writes it: lefthook knows its own by this word.
LEFTHOOK = ('#!/bin/sh\nif [ "$LEFTHOOK" = "0" ]; then exit 0; fi\n'
            'echo "lefthook $0" >> .git/team.log\n')


def lefthook_install(folder: Path, *names: str) -> None:
    """What `lefthook install` does to each hook of its config (lefthook 2.2): a hook not its
    own goes to <hook>.old, and an .old already there makes it fail."""
    for name in names:
        hook = folder / name
        if hook.exists() and "LEFTHOOK" not in hook.read_text():
            assert not (folder / f"{name}.old").exists(), (
                f"lefthook install: can't rename {name} to {name}.old - file already exists")
            hook.rename(folder / f"{name}.old")
        hook.write_text(LEFTHOOK)
        hook.chmod(0o755)


def lefthook_uninstall(folder: Path) -> None:
    """What `lefthook uninstall` does: its own hooks removed, each <hook>.old put back."""
    for hook in list(folder.iterdir()):
        if hook.is_file() and "LEFTHOOK" in hook.read_text(errors="replace"):
            hook.unlink()
            if (folder / f"{hook.name}.old").exists():
                (folder / f"{hook.name}.old").rename(hook)


def test_install_over_lefthook_removes_its_old_copies_of_our_shims(repo: Path, tool: Tool) -> None:
    """`lefthook install` after init sets our shims aside as <hook>.old; install then chains
    its hooks, and the stale .old copies made every later `lefthook install` (and lefthook's
    sync at each commit) fail (QA round 11b: 05)."""
    exe, _ = tool
    folder = hooks_of(repo)
    install_hooks(repo, executable=exe)
    lefthook_install(folder, "post-commit", "post-merge", "pre-commit")
    result = {s.name: s for s in install_hooks(repo, executable=exe)}
    assert result["post-merge"].state == "chained"
    assert result["post-merge"].action == (
        "chained; removed post-merge.old, our shim lefthook had set aside")
    assert not list(folder.glob("*.old"))
    lefthook_install(folder, "post-commit", "post-merge", "pre-commit")  # goes through again
    assert states(install_hooks(repo, executable=exe))["post-merge"] == "chained"
    assert not list(folder.glob("*.old"))


def test_install_over_lefthook_that_set_our_chain_aside(repo: Path, tool: Tool) -> None:
    """A user's hook, init, `lefthook install`: doctor's hint `git aircher hooks install`
    refused, the user's kept hook being beside lefthook's. lefthook had set our shim aside, and
    the user's hook with it, so install sets that one aside as --force would (QA round 11b:
    03)."""
    from gitext.hooks.presence import absent_hooks

    exe, log = tool
    folder = hooks_of(repo)
    script(folder / "post-commit", "echo user >> .git/user.log\n")
    before = snapshot(folder)
    install_hooks(repo, executable=exe)
    lefthook_install(folder, "post-commit", "pre-commit")
    # Nothing runs the user's kept hook now: status said lefthook's "runs too" it (QA round
    # 15a: 03).
    shown = {s.name: (s.state, s.chained) for s in hook_status(repo, executable=exe)}
    assert shown["post-commit"] == ("foreign", None)
    absent = absent_hooks(repo)
    assert absent is not None and absent.missing == ["post-commit", "pre-commit"]
    assert absent.hint() == "`git aircher hooks install` puts them there"

    result = {s.name: s for s in install_hooks(repo, executable=exe)}
    assert result["post-commit"].action == (
        "chained (kept the earlier post-commit.aircher-orig as post-commit.aircher-orig.1);"
        " removed post-commit.old, our shim lefthook had set aside")
    assert absent_hooks(repo) is None
    assert (folder / "post-commit.aircher-orig").read_text() == LEFTHOOK
    assert (folder / "post-commit.aircher-orig.1").read_text() == (
        "#!/bin/sh\necho user >> .git/user.log\n")
    commit(repo, {"c.txt": "c\n"}, "c")
    assert log_lines(log) == ["ours post-commit"]
    assert (repo / ".git" / "team.log").read_text().splitlines() == [
        "lefthook .git/hooks/pre-commit.aircher-orig",
        "lefthook .git/hooks/post-commit.aircher-orig"]

    # Uninstalling both gives the user's hook back, as lefthook alone would: stranded as
    # post-commit.aircher-orig it never ran again (QA round 11b: 04).
    undone = {s.name: s.action for s in uninstall_hooks(repo)}
    assert undone["post-commit"] == ("restored (put post-commit.aircher-orig.1 back as"
                                     " post-commit.old, which lefthook's uninstall restores)")
    assert (folder / "post-commit").read_text() == LEFTHOOK
    lefthook_uninstall(folder)
    assert snapshot(folder) == before


def test_lefthook_installed_again_after_the_hint_still_gives_the_user_s_hook_back(
        repo: Path, tool: Tool) -> None:
    """A user's hook, init, `lefthook install`, `hooks install`, `lefthook install` again (its
    npm postinstall does so at every `npm install`), `hooks uninstall`, `lefthook uninstall`:
    lefthook's own hook went to .old and came back live, the user's hook stranded as
    post-commit.aircher-orig.1 (QA round 12: 03)."""
    exe, _log = tool
    folder = hooks_of(repo)
    script(folder / "post-commit", "echo user >> .git/user.log\n")
    before = snapshot(folder)
    install_hooks(repo, executable=exe)
    lefthook_install(folder, "post-commit", "pre-commit")
    install_hooks(repo, executable=exe)
    lefthook_install(folder, "post-commit", "pre-commit")
    uninstall_hooks(repo)
    lefthook_uninstall(folder)
    assert snapshot(folder) == before


def test_uninstall_also_takes_our_shims_from_the_repositorys_own_folder(
    repo: Path, tool: Tool
) -> None:
    """init, then husky (core.hooksPath=.husky/_), `hooks install` there, `hooks uninstall`:
    the shims init wrote in .git/hooks stayed, and were live hooks again once husky was dropped
    (`git config --unset core.hooksPath`) (QA round 11b: 09)."""
    exe, _ = tool
    folder = hooks_of(repo)
    script(folder / "post-commit", "echo user\n")
    before = snapshot(folder)
    install_hooks(repo, executable=exe)
    (repo / ".husky" / "_").mkdir(parents=True)
    git(repo, "config", "core.hooksPath", ".husky/_")
    install_hooks(repo, executable=exe)

    r = run_git_aircher(repo, "hooks", "uninstall", "--json")
    assert r.code == 0, r.err
    done = [(h["path"], h["action"]) for h in json.loads(r.out)["hooks"]]
    assert done[6:] == [
        (str(folder / "post-applypatch"), "removed"),
        (str(folder / "post-checkout"), "removed"), (str(folder / "post-commit"), "restored"),
        (str(folder / "post-merge"), "removed"), (str(folder / "post-rewrite"), "removed"),
        (str(folder / "pre-commit"), "removed")]
    assert snapshot(folder) == before
    assert snapshot(repo / ".husky" / "_") == {}
    assert run_git_aircher(repo, "hooks", "uninstall", "--json").out.count('"path"') == 6


def test_absolute_core_hooks_path(repo: Path, tmp_path: Path, tool: Tool) -> None:
    exe, log = tool
    shared = tmp_path / "shared-hooks"
    script(shared / "post-commit", 'echo "user $#" >> "$HOME/user.log"\n')
    git(repo, "config", "core.hooksPath", str(shared))
    before = snapshot(shared)
    result = install_hooks(repo, executable=exe)
    assert {Path(s.path).parent for s in result} == {shared}
    assert not (hooks_of(repo) / "post-commit").exists()
    commit(repo, {"z.txt": "z\n"}, "z")
    assert "ours post-commit" in log_lines(log)
    assert (Path(os.environ["HOME"]) / "user.log").read_text() == "user 0\n"
    uninstall_hooks(repo)
    assert snapshot(shared) == before


def test_a_shared_folder_naming_a_deleted_store_starts_no_python_without_a_store(
        tmp_path: Path, tool: Tool) -> None:
    """A core.hooksPath shared by every repository, whose shims were installed by a store
    since deleted (the user's only trial repository): every post-* event in every repository
    took the slow path, starting Python in git's way, for good, even where there is no store to
    record into (QA round 22c: 05). A repository without a store where the setting puts it
    now starts nothing; one with a store (or a moved repository) still takes the slow path,
    which records the event and has its worker rewrite the shims."""
    exe, log = tool
    shared = tmp_path / "shared-hooks"
    repos = {}
    for name in ("trial", "other", "stored"):
        r = tmp_path / name
        r.mkdir()
        git(r, "init", "-q")
        git(r, "config", "core.hooksPath", str(shared))
        commit(r, {"a.txt": "a\n"}, "one")
        repos[name] = r
    (repos["trial"] / ".agents" / "journal").mkdir(parents=True)
    install_hooks(repos["trial"], executable=exe)
    shutil.rmtree(repos["trial"])

    commit(repos["other"], {"a.txt": "b\n"}, "two")
    git(repos["other"], "checkout", "-q", "-b", "topic")
    assert log_lines(log) == []  # nothing to record, nothing started

    (repos["stored"] / ".agents" / "journal").mkdir(parents=True)  # a store of its own
    commit(repos["stored"], {"a.txt": "b\n"}, "two")
    assert log_lines(log) == ["ours post-commit"]


def test_shims_copied_by_a_hook_template_start_no_python_without_a_store(
        tmp_path: Path, tool: Tool) -> None:
    """Shims copied into new repositories by git's own hook template (init.templateDir) name
    the journal of the store they were installed for, which is still there: every post-* event
    of every repository made from the template started Python, for good, with nothing to
    record there (QA round 26h: 01). Without a store, in its main worktree or a linked one,
    they now start nothing; a repository with a store still takes the slow path."""
    exe, log = tool
    first = tmp_path / "first"
    first.mkdir()
    git(first, "init", "-q")
    commit(first, {"a.txt": "a\n"}, "one")
    (first / ".agents" / "journal").mkdir(parents=True)
    install_hooks(first, executable=exe)
    template = tmp_path / "template"
    shutil.copytree(hooks_of(first), template / "hooks", symlinks=True)

    repos = {}
    for name in ("plain", "stored"):
        r = tmp_path / name
        git(tmp_path, "init", "-q", f"--template={template}", name)
        repos[name] = r
    commit(repos["plain"], {"a.txt": "a\n"}, "one")
    git(repos["plain"], "checkout", "-q", "-b", "topic")
    git(repos["plain"], "worktree", "add", "-q", str(tmp_path / "linked"))
    commit(tmp_path / "linked", {"b.txt": "b\n"}, "two")
    assert (first / ".agents" / "journal").is_dir()
    assert log_lines(log) == []  # nothing to record, nothing started

    (repos["stored"] / ".agents" / "journal").mkdir(parents=True)  # a store of its own
    commit(repos["stored"], {"a.txt": "b\n"}, "two")
    assert log_lines(log) == ["ours post-commit"]

    # A git dir kept apart from its work tree (`--separate-git-dir`) holds the store itself:
    # the copies must not take it for a repository without one (the fix's first form did,
    # and that repository's commits went unrecorded).
    apart = tmp_path / "apart"
    git(tmp_path, "init", "-q", f"--template={template}",
        f"--separate-git-dir={tmp_path / 'gd'}", "apart")
    (tmp_path / "gd" / ".agents" / "journal").mkdir(parents=True)
    commit(apart, {"a.txt": "c\n"}, "three")
    assert log_lines(log) == ["ours post-commit", "ours post-commit"]


def test_relative_core_hooks_path_husky_style(repo: Path, tool: Tool) -> None:
    exe, log = tool
    script(repo / ".husky" / "pre-commit", "echo husky >> .git/user.log\n")
    git(repo, "config", "core.hooksPath", ".husky")
    before = snapshot(repo / ".husky")
    (repo / "src").mkdir(exist_ok=True)

    result = install_hooks(repo / "src", executable=exe)  # from a subdirectory
    assert {Path(s.path).parent for s in result} == {repo / ".husky"}
    assert states(result)["pre-commit"] == "chained"  # not tracked: chained as anywhere
    commit(repo, {"w.txt": "w\n"}, "w")
    assert (repo / ".git" / "user.log").read_text() == "husky\n"
    assert log_lines(log) == ["ours post-commit"]  # nothing for the guard: Python not started

    uninstall_hooks(repo)
    assert snapshot(repo / ".husky") == before


def test_tracked_hooks_are_left_as_they_are(repo: Path, tool: Tool) -> None:
    """husky v5-v8 (core.hooksPath=.husky) tracks the team's hooks: install put its shim over
    .husky/pre-commit, so an everyday `git commit -a` committed the shim (this machine's paths)
    over the team's hook, which stopped running for everyone (QA round 22c: 02). A tracked hook
    is now left alone, and install says how to call git-aircher from it."""
    exe, log = tool
    script(repo / ".husky" / "pre-commit", "echo husky >> .git/user.log\n")
    commit(repo, {".husky/pre-commit": (repo / ".husky" / "pre-commit").read_text()}, "husky")
    (repo / ".husky" / "pre-commit").chmod(0o755)
    git(repo, "config", "core.hooksPath", ".husky")
    team = (repo / ".husky" / "pre-commit").read_bytes()

    result = install_hooks(repo, executable=exe)
    assert states(result)["pre-commit"] == "tracked"
    assert states(result)["post-commit"] == "ours"  # untracked names get shims as anywhere
    assert (repo / ".husky" / "pre-commit").read_bytes() == team
    assert not (repo / ".husky" / "pre-commit.aircher-orig").exists()
    assert "git aircher hook pre-commit" in (tracked_note(result) or "")
    write(repo, "README.md", "# changed\n")
    assert run(repo, "git", "commit", "-q", "-a", "-m", "fix typo").returncode == 0
    assert git(repo, "show", "HEAD:.husky/pre-commit").encode() == team
    assert (repo / ".git" / "user.log").read_text() == "husky\n"
    assert states(hook_status(repo, executable=exe))["pre-commit"] == "tracked"

    # An earlier install's shim over the tracked hook: install puts the team's hook back.
    os.rename(repo / ".husky" / "pre-commit", repo / ".husky" / "pre-commit.aircher-orig")
    write(repo, ".husky/pre-commit", render_shim("pre-commit", exe))
    result = install_hooks(repo, executable=exe)
    assert states(result)["pre-commit"] == "tracked"
    assert (repo / ".husky" / "pre-commit").read_bytes() == team
    assert not (repo / ".husky" / "pre-commit.aircher-orig").exists()
    assert git(repo, "status", "--porcelain", "--", ".husky/pre-commit") == ""

    res = run_git_aircher(repo, "hooks", "install")
    assert res.code == 0, res.err
    assert "git aircher hook pre-commit" in res.err  # one line saying how


def test_shims_in_a_work_tree_hooks_folder_are_listed_in_the_exclude_file(repo: Path) -> None:
    """core.hooksPath=.husky with the team's pre-commit tracked: the shims install wrote for
    the other hook names (and a hook it kept as .aircher-orig) were new untracked files, so
    `git add -A` staged them and the guard then refused the commit (QA round 22c: 02,
    follow-up). Install lists them in .git/info/exclude; uninstall takes those lines out."""
    script(repo / ".husky" / "pre-commit", "echo team >> .git/user.log\n")
    git(repo, "add", ".husky/pre-commit")
    git(repo, "commit", "-q", "-m", "husky")
    script(repo / ".husky" / "post-merge", "echo mine >> .git/user.log\n")  # untracked, mine
    git(repo, "config", "core.hooksPath", ".husky")
    exclude = repo / ".git" / "info" / "exclude"
    assert git(repo, "status", "--porcelain") == "?? .husky/post-merge\n"

    r = run_git_aircher(repo, "init")
    assert r.code == 0, r.err
    assert (repo / ".husky" / "post-commit").exists()
    assert (repo / ".husky" / "post-merge.aircher-orig").exists()
    lines = exclude.read_text().splitlines()
    start = lines.index("# git-aircher's hook shims in the work tree (never committed)") + 1
    assert lines[start:start + 6] == [
        "/.husky/post-applypatch", "/.husky/post-checkout", "/.husky/post-commit",
        "/.husky/post-merge",
        "/.husky/post-merge.aircher-orig", "/.husky/post-rewrite"]
    assert git(repo, "status", "--porcelain") == ""

    write(repo, "README.md", "# changed\n")
    git(repo, "add", "-A")
    done = run(repo, "git", "commit", "-q", "-m", "everyday")
    assert done.returncode == 0, done.stdout + done.stderr
    assert git(repo, "show", "--name-only", "--format=", "HEAD") == "README.md\n"

    again = exclude.read_text()
    assert run_git_aircher(repo, "hooks", "install").code == 0
    assert exclude.read_text() == again  # listed once

    r = run_git_aircher(repo, "hooks", "uninstall")
    assert r.code == 0, r.err
    assert "hook shims" not in exclude.read_text()
    assert "/.husky/" not in exclude.read_text()
    assert git(repo, "status", "--porcelain") == "?? .husky/post-merge\n"  # mine, as before


# husky v9's files in .husky/_ as its `husky` command writes them: each hook a stub (no final
# newline) that sources the dispatcher `h`, which runs .husky/<the name it was run as>. 9.0 and
# 9.1 spell both differently; the dispatchers are cut to what finds and runs the team's hook.
HUSKY_V9 = {
    "9.0": ('#!/usr/bin/env sh\n. "${0%/*}/h"',
            '#!/usr/bin/env sh\nh="${0##*/}"\ns="${0%/*/*}/$h"\n[ ! -f "$s" ] && exit 0\n'
            'sh -e "$s" "$@"\nc=$?\n[ $c != 0 ] && echo "husky - $h script failed (code $c)"\n'
            "exit $c\n"),
    "9.1": ('#!/usr/bin/env sh\n. "$(dirname "$0")/h"',
            '#!/usr/bin/env sh\nn=$(basename "$0")\ns=$(dirname "$(dirname "$0")")/$n\n'
            '[ ! -f "$s" ] && exit 0\nsh -e "$s" "$@"\nc=$?\n'
            '[ $c != 0 ] && echo "husky - $n script failed (code $c)"\nexit $c\n'),
}


@pytest.mark.parametrize("version", sorted(HUSKY_V9))
def test_husky_v9_hooks_still_run_when_chained(repo: Path, tool: Tool, version: str) -> None:
    """husky v9's stub, kept as <hook>.aircher-orig, asked its dispatcher for the team's hook
    by that name, found none and passed: the team's checks silently stopped after init (QA
    round 10b: 01). The shim runs that exact stub under the hook's own name."""
    exe, log = tool
    stub, dispatcher = HUSKY_V9[version]
    generated = repo / ".husky" / "_"
    generated.mkdir(parents=True)
    (generated / "h").write_text(dispatcher)
    for name in HOOK_NAMES:
        script(generated / name, "").write_text(stub)
    write(repo, ".husky/pre-commit",
          'if git diff --cached --name-only | grep -qx bad; then echo "team: no" >&2; exit 3; fi\n')
    write(repo, ".husky/post-commit", 'echo "post-commit $#" >> .git/team.log\n')
    write(repo, ".husky/post-rewrite", 'echo "post-rewrite $1" >> .git/team.log\n'
          "sed 's/^/stdin /' >> .git/team.log\n")
    git(repo, "config", "core.hooksPath", ".husky/_")
    result = states(install_hooks(repo, executable=exe))
    assert set(result.values()) == {"chained"}

    write(repo, "bad", "x\n")
    git(repo, "add", "bad")
    proc = run(repo, "git", "commit", "-q", "-m", "bad")
    assert proc.returncode != 0
    assert "team: no\nhusky - pre-commit script failed (code 3)" in proc.stderr
    assert git(repo, "log", "-1", "--format=%s").strip() == "initial"

    git(repo, "rm", "-q", "--cached", "bad")
    old = commit(repo, {"good.txt": "g\n"}, "good")
    git(repo, "commit", "-q", "--amend", "-m", "good, amended")
    new = git(repo, "rev-parse", "HEAD").strip()
    assert (repo / ".git" / "team.log").read_text().splitlines() == [
        "post-commit 0", "post-commit 0", "post-rewrite amend", f"stdin {old} {new}"]
    assert "ours post-rewrite amend" in log_lines(log)


def test_linked_worktree_installs_into_the_shared_folder(repo: Path, tmp_path: Path,
                                                         tool: Tool) -> None:
    exe, log = tool
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", "-b", "feature", str(linked))
    result = install_hooks(linked, executable=exe)
    assert {Path(s.path).parent for s in result} == {hooks_of(repo)}
    commit(linked, {".env": "f\n"}, "in the worktree")
    assert log_lines(log) == ["ours pre-commit", "ours post-commit"]
    assert states(hook_status(repo, executable=exe)) == dict.fromkeys(HOOK_NAMES, "ours")


def test_missing_hooks_folder_is_created_then_removed(repo: Path, tool: Tool) -> None:
    exe, _ = tool
    shutil.rmtree(hooks_of(repo))
    install_hooks(repo, executable=exe)
    assert (hooks_of(repo) / "pre-commit").is_file()
    uninstall_hooks(repo)
    assert not hooks_of(repo).exists()


def test_tool_gone_prints_one_line_and_never_blocks(repo: Path, tmp_path: Path) -> None:
    install_hooks(repo, executable=tmp_path / "uninstalled" / "git-aircher")
    git_dir = str(Path(shutil.which("git") or "/usr/bin/git").parent)
    assert not (Path(git_dir) / "git-aircher").exists()
    write(repo, "g.txt", "g\n")
    git(repo, "add", "g.txt")
    proc = run(repo, "git", "commit", "-q", "-m", "g", env={"PATH": git_dir})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 2  # pre-commit, post-commit: one line each
    assert lines[0].startswith("git-aircher: not found, its pre-commit hook did nothing")
    assert lines[1].startswith("git-aircher: not found, its post-commit hook did nothing")
    # The fix that works: reinstalling alone leaves the shims naming the path that is gone
    # (QA round 22c: 04).
    assert all("run `git aircher hooks install` in this repository" in line for line in lines)
    assert git(repo, "log", "-1", "--format=%s").strip() == "g"


def test_an_install_being_replaced_loses_no_record_and_says_nothing(
        live: Path, tmp_path: Path) -> None:
    """`./install.sh` run again reinstalls the package, and its script is missing for a moment:
    the recorded link points at nothing. A post-* hook then said "not found", and the branch
    switch was never recorded (QA round 20a: 04). The record is written all the same; the next
    event's worker (here `sync`) applies it."""
    from tests.sync.helpers import query, store, wait_idle

    wait_idle(live)
    link = tmp_path / "bin" / "git-aircher"
    link.parent.mkdir()
    link.symlink_to(tmp_path / "venv-being-replaced" / "bin" / "git-aircher")
    install_hooks(live, executable=link)
    git_dir = str(Path(shutil.which("git") or "/usr/bin/git").parent)
    proc = run(live, "git", "checkout", "-q", "-b", "during-upgrade", env={"PATH": git_dir})
    assert (proc.returncode, proc.stderr) == (0, "")
    [record] = (store(live) / "journal").glob("*.ev")
    assert "hook post-checkout" in record.read_text()
    install_hooks(live, executable=VENV_BIN / "git-aircher")  # the upgrade is over
    assert run_git_aircher(live, "sync").code == 0
    switched = query(live, "knowledge", "SELECT t.name FROM context_switches s JOIN contexts t"
                     " ON t.id = s.to_context_id")
    assert ("during-upgrade",) in switched


def test_tool_whose_interpreter_was_removed_never_blocks(repo: Path, tmp_path: Path) -> None:
    broken = tmp_path / "venv" / "bin" / "git-aircher"
    broken.parent.mkdir(parents=True)
    broken.write_text(f"#!{tmp_path / 'venv' / 'bin' / 'python-gone'}\n")
    broken.chmod(0o755)
    install_hooks(repo, executable=broken)
    write(repo, "i.key", "i\n")  # a name the guard must look at: the tool is started
    git(repo, "add", "i.key")
    proc = run(repo, "git", "commit", "-q", "-m", "i")
    assert proc.returncode == 0, proc.stderr
    assert "git-aircher: cannot run" in proc.stderr
    assert git(repo, "log", "-1", "--format=%s").strip() == "i"


def test_path_fallback_when_the_recorded_tool_moved(repo: Path, tmp_path: Path) -> None:
    log = tmp_path / "tool.log"
    install_hooks(repo, executable=tmp_path / "moved" / "git-aircher")
    bin_dir = fake_tool(tmp_path / "elsewhere", log).parent
    commit_env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    write(repo, "h.pem", "h\n")
    git(repo, "add", "h.pem")
    proc = run(repo, "git", "commit", "-q", "-m", "h", env=commit_env)
    assert proc.returncode == 0, proc.stderr
    assert log_lines(log) == ["ours pre-commit", "ours post-commit"]


@pytest.mark.parametrize("value, runs", [("1", False), ("yes", False), ("0", True), ("", True)])
def test_aircher_skip_turns_our_part_off_only(repo: Path, tool: Tool, value: str,
                                              runs: bool) -> None:
    exe, log = tool
    script(hooks_of(repo) / "post-commit", "echo user >> .git/user.log\n")
    install_hooks(repo, executable=exe)
    write(repo, ".env", "s\n")  # a name the guard must look at: our pre-commit part runs
    git(repo, "add", ".env")
    proc = run(repo, "git", "commit", "-q", "-m", "s", env={"AIRCHER_SKIP": value})
    assert proc.returncode == 0, proc.stderr
    assert log_lines(log) == (["ours pre-commit", "ours post-commit"] if runs else [])
    assert (repo / ".git" / "user.log").read_text() == "user\n"  # the chained hook still ran


def test_uninstall_puts_back_a_kept_hook_whose_shim_was_deleted(repo: Path, tool: Tool) -> None:
    exe, _ = tool
    folder = hooks_of(repo)
    script(folder / "post-merge", "echo mine\n")
    before = snapshot(folder)
    install_hooks(repo, executable=exe)
    (folder / "post-merge").unlink()
    assert states(hook_status(repo, executable=exe))["post-merge"] == "missing"
    uninstall_hooks(repo)
    assert snapshot(folder) == before


def test_cli_install_status_uninstall(repo: Path, aircher: object) -> None:
    run_cli = aircher  # in-process `git aircher -C repo …`
    res = run_cli(repo, "hooks", "install")  # type: ignore[operator]
    assert res.code == 0, res.err
    assert f"hooks folder: {hooks_of(repo)}" in res.out
    assert "created" in res.out
    res = run_cli(repo, "hooks", "status", "--json")  # type: ignore[operator]
    assert res.code == 0
    data = json.loads(res.out)
    assert data["hooks_dir"] == str(hooks_of(repo))
    assert [h["state"] for h in data["hooks"]] == ["ours"] * len(HOOK_NAMES)
    res = run_cli(repo, "hooks", "uninstall")  # type: ignore[operator]
    assert res.code == 0 and "removed" in res.out
    assert states(hook_status(repo)) == dict.fromkeys(HOOK_NAMES, "missing")


def test_cli_outside_a_repository_is_a_usage_error(tmp_path: Path, aircher: object) -> None:
    res = aircher(tmp_path, "hooks", "status")  # type: ignore[operator]
    assert res.code == 2
    assert res.err.startswith("error: not inside the work tree")


def test_installs_at_once_take_turns_and_keep_the_users_hook(repo: Path, tool: Tool) -> None:
    """QA round 4: two installs at once (two `init`s in two shells) could each take the
    user's hook for the one to chain; the second then kept the first's new shim in its place,
    the user's hook was lost and the shim chained itself. An install waits for the folder."""
    import contextlib
    import subprocess
    import sys

    from gitext.hooks.shims import folder_lock

    exe, _ = tool
    folder = hooks_of(repo)
    user = script(folder / "pre-commit", "echo user >> .git/user.log\n").read_bytes()
    code = ("import sys; from pathlib import Path; from gitext.hooks.install import"
            " install_hooks; install_hooks(Path(sys.argv[1]), executable=Path(sys.argv[2]))")
    with folder_lock(folder):
        both = [subprocess.Popen([sys.executable, "-c", code, str(repo), str(exe)])
                for _ in range(2)]
        with contextlib.suppress(subprocess.TimeoutExpired):
            both[0].wait(timeout=3)
        waited = all(p.poll() is None for p in both)
        untouched = (folder / "pre-commit").read_bytes() == user
    assert [p.wait(timeout=60) for p in both] == [0, 0]
    assert waited and untouched
    assert (folder / ("pre-commit" + CHAIN_SUFFIX)).read_bytes() == user
    assert not list(folder.glob("*.aircher-new*"))
    assert not (folder / ("pre-commit" + CHAIN_SUFFIX + CHAIN_SUFFIX)).exists()
    assert states(hook_status(repo, executable=exe))["pre-commit"] == "chained"


def _husky_folder(worktree: Path) -> Path:
    """.husky/_ as husky's `npm install` makes it in a worktree: a stub for one hook."""
    folder = worktree / ".husky" / "_"
    script(folder / "pre-commit",
           'echo "husky $PWD" >> "$(git rev-parse --git-common-dir)/user.log"\n')
    return folder


def test_relative_hooks_path_covers_every_worktree(repo: Path, tool: Tool, tmp_path: Path
                                                   ) -> None:
    """A relative core.hooksPath (husky v9's .husky/_) is each worktree's own folder: install,
    uninstall and status acted on the folder of the worktree they ran in only, so a linked
    worktree ran nothing of ours. A worktree without the folder (no `npm install` there yet)
    keeps it missing (session 18: hooks-2)."""
    exe, log = tool
    git(repo, "config", "core.hooksPath", ".husky/_")
    main_folder = _husky_folder(repo)
    linked = tmp_path / "linked"
    bare = tmp_path / "no-husky"
    git(repo, "worktree", "add", "-q", "-b", "linked", str(linked))
    git(repo, "worktree", "add", "-q", "-b", "bare", str(bare))
    linked_folder = _husky_folder(linked)
    before = snapshot(linked_folder)

    result = install_hooks(repo, executable=exe)
    assert {(Path(s.path).parent, s.state) for s in result} == {
        (main_folder, "ours"), (main_folder, "chained"),
        (linked_folder, "ours"), (linked_folder, "chained")}
    assert not (bare / ".husky").exists()
    status = hook_status(linked, executable=exe)  # from the linked worktree: its own first
    assert [Path(s.path).parent for s in status] == ([linked_folder] * len(HOOK_NAMES)
                                                     + [main_folder] * len(HOOK_NAMES))

    commit(linked, {"l.txt": "l\n"}, "in the linked worktree")
    assert log_lines(log) == ["ours post-commit"]  # the guard's quick look found nothing
    assert (repo / ".git" / "user.log").read_text() == f"husky {linked}\n"

    done = uninstall_hooks(repo)
    assert {Path(s.path).parent for s in done if s.action != "absent"} == {
        main_folder, linked_folder}
    assert snapshot(linked_folder) == before
