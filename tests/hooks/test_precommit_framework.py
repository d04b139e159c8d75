"""Our .pre-commit-hooks.yaml through the real pre-commit framework, and our shims living
beside the framework's own hooks (installed after it, and before it)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from gitext.git.rewritten import rebased
from gitext.hooks.framework_config import DOES_THE_WORK_OF
from gitext.hooks.install import HookState, hook_status, install_hooks
from gitext.hooks.shims import HOOK_NAMES, framework_script, is_shim, rendered_shims, write_shim
from gitext.hooks.uninstall import uninstall_hooks
from gitext.hooks.upgrade import outdated_shims, refresh_shims
from tests.conftest import (
    VENV_BIN,
    commit,
    git,
    head,
    open_project,
    run_git_aircher,
    write,
)
from tests.hooks import fake_tool, log_lines, run, script, snapshot
from tests.sync.helpers import query, wait_idle

SOURCE_ROOT = Path(__file__).resolve().parents[2]
AWS_KEY = "AKIA" + "ABCDEFGHIJKLMNOP"
SYNC_PASSED = re.compile(r"^git-aircher sync\.+Passed$", re.M)
GUARD_PASSED = re.compile(r"^git-aircher guard\.+Passed$", re.M)
GUARD_FAILED = re.compile(r"^git-aircher guard\.+Failed$", re.M)
USER_HOOK = "#!/bin/sh\necho user >> .git/user.log\n"
# A config naming other hooks than ours, for our shims beside the framework's hooks: with
# ours named, install leaves those hooks to the framework (QA round 22c: 06).
OTHER_HOOKS = (
    "repos:\n- repo: local\n  hooks:\n"
    "  - id: no-key\n    name: no key\n    entry: sh -c '! git diff --cached | grep -q AKIA'\n"
    "    language: system\n    always_run: true\n    pass_filenames: false\n"
    "    stages: [pre-commit]\n"
    "  - id: ok\n    name: ok\n    entry: 'true'\n    language: system\n    always_run: true\n"
    "    pass_filenames: false\n"
    "    stages: [post-checkout, post-commit, post-merge, post-rewrite]\n"
)
NO_KEY_PASSED = re.compile(r"^no key\.+Passed$", re.M)
NO_KEY_FAILED = re.compile(r"^no key\.+Failed$", re.M)
OK_PASSED = re.compile(r"^ok\.+Passed$", re.M)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose hooks come from a hook repo holding our .pre-commit-hooks.yaml."""
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-home"))
    hook_repo = tmp_path / "hook-repo"
    hook_repo.mkdir()
    git(hook_repo, "init", "-q")
    shutil.copy(SOURCE_ROOT / ".pre-commit-hooks.yaml", hook_repo / ".pre-commit-hooks.yaml")
    rev = _commit_all(hook_repo)
    proj = tmp_path / "project"
    proj.mkdir()
    git(proj, "init", "-q")
    commit(proj, {
        ".pre-commit-config.yaml": (
            f"repos:\n- repo: {hook_repo}\n  rev: {rev}\n  hooks:\n"
            "  - id: aircher-guard\n"
            "  - id: aircher-sync\n    verbose: true\n"  # so any output of it would show
        ),
        "README.md": "# project\n",
    }, "initial")
    return proj


@pytest.fixture
def beside(project: Path) -> Path:
    """A repository whose framework config runs other hooks than ours: our shims then go
    beside the framework's hooks, as its .legacy ones."""
    commit(project, {".pre-commit-config.yaml": OTHER_HOOKS}, "other hooks")
    return project


def _commit_all(repo: Path) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "hooks")
    return git(repo, "rev-parse", "HEAD").strip()


def framework_states(states: list[HookState]) -> set[str]:
    """The states of the hooks the framework has a stage for. It has none for post-applypatch
    (`git am`'s commits), where our own shim stays whatever the framework does (QA round 26b:
    01)."""
    assert {s.name: s.state for s in states}["post-applypatch"] == "ours"
    return {s.state for s in states if s.name != "post-applypatch"}


def but_applypatch(folder: Path) -> dict[str, object]:
    """The folder's files but our post-applypatch shim, which it holds (`framework_states`)."""
    files = snapshot(folder)
    assert is_shim(folder / "post-applypatch")
    del files["post-applypatch"]
    return files


def framework_install(proj: Path, command: str = "install") -> subprocess.CompletedProcess[str]:
    args = [str(VENV_BIN / "pre-commit"), command]
    for name in DOES_THE_WORK_OF:  # the framework has no post-applypatch
        args += ["--hook-type", name]
    proc = run(proj, *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def git_run(proj: Path, *args: str) -> tuple[int, str]:
    proc = run(proj, "git", *args)
    return proc.returncode, proc.stdout + proc.stderr


def assert_sync_silent(out: str, times: int) -> None:
    assert len(SYNC_PASSED.findall(out)) == times, out
    # verbose: the framework prints a hook's output after its duration line, after a blank one.
    assert not re.search(r"- hook id: aircher-sync\n- duration: [^\n]*\n\n", out), out


def test_guard_and_sync_stages_through_the_framework(project: Path) -> None:
    framework_install(project)

    write(project, "conf.py", f"key = '{AWS_KEY}'\n")
    git(project, "add", "conf.py")
    code, out = git_run(project, "commit", "-m", "with a key")
    assert code == 1
    assert GUARD_FAILED.search(out), out
    assert "error: conf.py:1: looks like an AWS access key" in out
    assert git(project, "log", "--format=%s").splitlines() == ["initial"]

    git(project, "rm", "-q", "--cached", "conf.py")
    (project / "conf.py").unlink()
    write(project, "ok.py", "ok = 1\n")
    git(project, "add", "ok.py")
    code, out = git_run(project, "commit", "-m", "clean")
    assert code == 0, out
    assert GUARD_PASSED.search(out), out
    assert_sync_silent(out, 1)  # post-commit

    code, out = git_run(project, "checkout", "-b", "side")
    assert code == 0, out
    assert_sync_silent(out, 1)  # post-checkout
    write(project, "side.py", "side = 1\n")
    git(project, "add", "side.py")
    code, out = git_run(project, "commit", "-m", "side")
    assert code == 0, out
    code, out = git_run(project, "checkout", "main")
    assert_sync_silent(out, 1)

    code, out = git_run(project, "merge", "--no-ff", "-m", "merge side", "side")
    assert code == 0, out
    assert_sync_silent(out, 1)  # post-merge

    code, out = git_run(project, "commit", "--amend", "-m", "merge side, amended")
    assert code == 0, out
    assert_sync_silent(out, 2)  # post-commit and post-rewrite


def test_init_installs_no_shim_where_the_frameworks_config_runs_ours(
    project: Path, tmp_path: Path
) -> None:
    """The framework set up as docs/hooks.md shows (`aircher-guard`, `aircher-sync`), then
    `git aircher init`: init put its shims in the framework's .legacy slots, so the guard ran
    twice and printed every finding twice, and every event was recorded twice (QA round 22c:
    06). Install now leaves those hooks to the framework, and says so in one line."""
    folder = project / ".git" / "hooks"
    framework_install(project)
    framework_hooks = snapshot(folder)
    r = run_git_aircher(project, "init")
    assert r.code == 0, r.err
    assert ("post-checkout, post-commit, post-merge, post-rewrite, pre-commit: left to the"
            " pre-commit framework, whose .pre-commit-config.yaml runs") in r.err
    assert but_applypatch(folder) == framework_hooks
    assert framework_states(hook_status(project)) == {"framework"}
    assert "hooks_missing" not in run_git_aircher(project, "doctor").out

    write(project, "conf.py", f"key = '{AWS_KEY}'\n")
    git(project, "add", "conf.py")
    code, out = git_run(project, "commit", "-m", "with a key")
    assert code == 1
    assert out.count("error: conf.py:1: looks like an AWS access key") == 1, out
    git(project, "rm", "-q", "--cached", "conf.py")
    code, out = git_run(project, "commit", "--allow-empty", "-m", "clean")
    assert code == 0, out
    assert_sync_silent(out, 1)

    r = run_git_aircher(project, "hooks", "install")  # idempotent: still none of ours
    assert r.code == 0 and "left to the pre-commit framework" in r.err, r.err
    assert but_applypatch(folder) == framework_hooks


def _config_of(project: Path) -> tuple[str, str]:
    """The hook repo and rev the project's config takes our hooks from."""
    text = (project / ".pre-commit-config.yaml").read_text()
    found = re.search(r"repo: (\S+)\n  rev: (\S+)", text)
    assert found is not None, text
    return found.group(1), found.group(2)


def test_a_config_narrowing_sync_to_a_stage_leaves_our_shims_in_the_others(
    project: Path,
) -> None:
    """`aircher-sync` with `stages: [post-commit]`: install left all four post-* hooks to the
    framework, which runs nothing of ours at post-checkout, so branch switches went unrecorded
    (QA round 23: 01). The framework's stages are honoured: only post-commit (and pre-commit,
    for the guard) are left to it; our shims stay in the other hooks."""
    hook_repo, rev = _config_of(project)
    commit(project, {".pre-commit-config.yaml": (
        f"repos:\n- repo: {hook_repo}\n  rev: {rev}\n  hooks:\n"
        "  - id: aircher-guard\n  - id: aircher-sync\n    stages: [post-commit]\n"
    )}, "narrowed")
    framework_install(project)
    r = run_git_aircher(project, "init")
    assert r.code == 0, r.err
    assert "post-commit, pre-commit: left to the pre-commit framework" in r.err, r.err
    states = {s.name: s.state for s in hook_status(project)}
    assert states == {"pre-commit": "framework", "post-commit": "framework",
                      "post-checkout": "wrapped", "post-merge": "wrapped",
                      "post-rewrite": "wrapped", "post-applypatch": "ours"}
    assert "hooks_missing" not in run_git_aircher(project, "doctor").out

    git(project, "checkout", "-q", "-b", "feat")
    wait_idle(project)
    assert query(project, "knowledge", "SELECT COUNT(*) FROM context_switches") == [(1,)]


@pytest.mark.parametrize("style", ["json", "flow"])
def test_a_config_in_flow_style_or_json_is_read_as_yaml(project: Path, style: str) -> None:
    """A config in JSON or YAML flow style (both YAML, both run by the framework) was not seen:
    the `id:` pattern wanted block style, so our shims went into the .legacy slots again and
    the guard reported twice (QA round 23: 04). The config is now read as YAML."""
    hook_repo, rev = _config_of(project)
    config = (
        f'{{"repos": [{{"repo": "{hook_repo}", "rev": "{rev}", "hooks":'
        ' [{"id": "aircher-guard"}, {"id": "aircher-sync"}]}]}\n'
        if style == "json" else
        f"repos:\n- repo: {hook_repo}\n  rev: {rev}\n"
        "  hooks: [{id: aircher-guard}, {id: aircher-sync}]\n"
    )
    commit(project, {".pre-commit-config.yaml": config}, style)
    framework_install(project)
    assert run_git_aircher(project, "init").code == 0
    assert framework_states(hook_status(project)) == {"framework"}

    write(project, "conf.py", f"key = '{AWS_KEY}'\n")
    git(project, "add", "conf.py")
    code, out = git_run(project, "commit", "-m", "with a key")
    assert code == 1
    assert out.count("error: conf.py:1: looks like an AWS access key") == 1, out


def test_a_config_that_does_not_parse_names_none_of_ours(project: Path) -> None:
    """A broken config runs nothing (the framework refuses it): our shims stay."""
    commit(project, {".pre-commit-config.yaml": "repos: [\n  - id: aircher-sync\n"}, "broken")
    framework_install(project)
    assert run_git_aircher(project, "init").code == 0
    assert framework_states(hook_status(project)) == {"wrapped"}


def test_hooks_install_takes_our_shims_out_where_the_framework_went_second(
    project: Path, tmp_path: Path
) -> None:
    """`git aircher init`, then `pre-commit install` with a config naming our hooks: the
    framework runs our shims as its .legacy hooks and its own aircher-guard and aircher-sync
    too, so everything ran twice (QA round 22c: 06). `hooks install` (or `init` again) takes our
    shims out of the .legacy slots and puts the hook they chained there, as uninstall does."""
    folder = project / ".git" / "hooks"
    script(folder / "pre-commit", USER_HOOK.removeprefix("#!/bin/sh\n"))
    log = tmp_path / "tool.log"
    exe = fake_tool(tmp_path / "bin", log)
    install_hooks(project, executable=exe)
    framework_install(project)
    assert framework_states(hook_status(project, executable=exe)) == {"wrapped"}

    done = install_hooks(project, executable=exe)
    assert framework_states(done) == {"framework"}
    assert {s.name: s.action for s in done}["pre-commit"] == (
        "removed our pre-commit.legacy: the pre-commit framework runs aircher-guard"
        " (.pre-commit-config.yaml); put back pre-commit.aircher-orig as pre-commit.legacy,"
        " which it runs")
    assert (folder / "pre-commit.legacy").read_text() == USER_HOOK
    # But post-applypatch, which the framework has no stage for.
    assert [p.name for p in folder.iterdir() if is_shim(p) or "aircher" in p.name] == [
        "post-applypatch"]

    write(project, "ok.py", "ok = 1\n")
    git(project, "add", "ok.py")
    code, out = git_run(project, "commit", "-m", "clean")
    assert code == 0, out
    assert len(GUARD_PASSED.findall(out)) == 1, out
    assert_sync_silent(out, 1)
    assert log_lines(log) == []  # no shim of ours ran
    assert (project / ".git" / "user.log").read_text() == "user\n"


def test_a_hook_left_by_the_frameworks_forced_install_is_set_aside(project: Path) -> None:
    """`pre-commit install -f` deleted our .legacy shim and left the user's hook it chained as
    .aircher-orig: with the config running ours, install puts nothing there, so that hook is
    no rival to refuse for; it is kept under a numbered name (QA round 22c: 06)."""
    folder = project / ".git" / "hooks"
    script(folder / "pre-commit", USER_HOOK.removeprefix("#!/bin/sh\n"))
    framework_install(project)
    (folder / "pre-commit.legacy").rename(folder / "pre-commit.aircher-orig")
    done = {s.name: s for s in install_hooks(project)}
    assert done["pre-commit"].state == "framework"
    assert done["pre-commit"].action == (
        "left to the pre-commit framework (aircher-guard in .pre-commit-config.yaml) (kept the"
        " earlier pre-commit.aircher-orig as pre-commit.aircher-orig.1, not run by git)")
    assert (folder / "pre-commit.aircher-orig.1").read_text() == USER_HOOK
    assert not (folder / "pre-commit.aircher-orig").exists()


def test_our_shims_installed_after_the_framework_are_its_legacy_hooks(
    beside: Path, tmp_path: Path
) -> None:
    """Our shims go where the framework keeps the hooks it runs first (`<hook>.legacy`), and the
    user's hook it kept there is the one our shim chains; uninstall puts it back there."""
    folder = beside / ".git" / "hooks"
    script(folder / "pre-commit", USER_HOOK.removeprefix("#!/bin/sh\n"))
    framework_install(beside)  # the user's hook becomes pre-commit.legacy
    framework_hooks = snapshot(folder)
    log = tmp_path / "tool.log"
    result = install_hooks(beside, executable=fake_tool(tmp_path / "bin", log))
    assert framework_states(result) == {"wrapped"}
    assert (folder / "pre-commit.aircher-orig").read_text() == USER_HOOK

    write(beside, "conf.py", f"key = '{AWS_KEY}'\n")
    git(beside, "add", "conf.py")
    code, out = git_run(beside, "commit", "-m", "with a key")
    assert code == 1  # the framework's failing hook still blocks
    assert NO_KEY_FAILED.search(out), out

    git(beside, "rm", "-q", "--cached", "conf.py")
    write(beside, "ok.py", "ok = 1\n")
    git(beside, "add", "ok.py")
    log.unlink(missing_ok=True)
    code, out = git_run(beside, "commit", "-m", "clean")
    assert code == 0, out
    assert len(OK_PASSED.findall(out)) == 1, out  # the framework's post-commit kept running
    assert log_lines(log) == ["ours post-commit"]
    assert (beside / ".git" / "user.log").read_text() == "user\nuser\n"

    uninstall_hooks(beside)
    assert snapshot(folder) == framework_hooks


def test_framework_installed_after_our_shims_wraps_them(beside: Path, tmp_path: Path) -> None:
    folder = beside / ".git" / "hooks"
    script(folder / "post-commit", "echo user >> .git/user.log\n")
    log = tmp_path / "tool.log"
    exe = fake_tool(tmp_path / "bin", log)
    install_hooks(beside, executable=exe)
    framework_install(beside)  # moves each of our shims to <hook>.legacy and runs it from there
    assert framework_states(hook_status(beside, executable=exe)) == {"wrapped"}

    write(beside, ".env.sample", "A=\n")  # a name the guard must look at: ours runs
    git(beside, "add", ".env.sample")
    code, out = git_run(beside, "commit", "-m", "sample")
    assert code == 0, out
    assert len(OK_PASSED.findall(out)) == 1, out
    assert log_lines(log) == ["ours pre-commit", "ours post-commit"]
    assert (beside / ".git" / "user.log").read_text() == "user\n"  # chained by our shim

    again = install_hooks(beside, executable=exe)  # e.g. `git aircher init` run again
    assert {s.action for s in again} == {"unchanged"}

    uninstall_hooks(beside)
    assert not any((folder / f"{name}.aircher-orig").exists() for name in HOOK_NAMES)
    # The user's hook is now the framework's legacy hook: it still runs, we do not.
    assert (folder / "post-commit.legacy").read_text() == "#!/bin/sh\necho user >> .git/user.log\n"
    log.unlink()
    code, out = git_run(beside, "commit", "--allow-empty", "-m", "after")
    assert code == 0, out
    assert (beside / ".git" / "user.log").read_text() == "user\nuser\n"
    assert log_lines(log) == []


def test_framework_installed_again_over_shims_that_chain_it(
    beside: Path, tmp_path: Path
) -> None:
    """`pre-commit install`, `git aircher init` (the framework's script kept as .aircher-orig),
    then `pre-commit install` again: the framework ran our .legacy shim, which ran the
    framework's script once more, which failed every commit ("bug: pre-commit's script is
    installed in migration mode"), and uninstall then made that script the .legacy one
    (QA round 10b: 05)."""
    framework_install(beside)
    folder = beside / ".git" / "hooks"
    framework_hooks = snapshot(folder)
    log = tmp_path / "tool.log"
    out = _framework_init_framework(beside, fake_tool(tmp_path / "bin", log), log)
    assert "bug:" not in out
    assert len(OK_PASSED.findall(out)) == 1, out

    uninstall_hooks(beside)
    assert snapshot(folder) == framework_hooks
    code, out = git_run(beside, "commit", "--allow-empty", "-m", "after")
    assert code == 0 and "bug:" not in out, out


def _framework_init_framework(project: Path, exe: Path, log: Path) -> str:
    """Our shims installed after the framework, the framework installed again, and a commit the
    guard looks at: each tool's hooks ran once (ours through the framework). Its output."""
    install_hooks(project, executable=exe)
    framework_install(project)
    assert framework_states(hook_status(project, executable=exe)) == {"wrapped"}
    write(project, ".env.sample", "A=\n")  # a name the guard must look at: ours runs
    git(project, "add", ".env.sample")
    code, out = git_run(project, "commit", "-m", "sample")
    assert code == 0, out
    assert len(NO_KEY_PASSED.findall(out)) == 1, out  # the framework's hooks ran once
    assert log_lines(log) == ["ours pre-commit", "ours post-commit"]
    return out


def test_framework_installed_again_then_uninstalled_keeps_the_users_hook(
    beside: Path, tmp_path: Path
) -> None:
    """`pre-commit install` over the user's hook, `git aircher init`, `pre-commit install` again:
    our shim, then in place, went to pre-commit.legacy over the user's hook the framework kept
    there, lost for good; `pre-commit uninstall` put our shim back, and it still ran the
    framework's script kept as .aircher-orig (QA round 11b: 01, 08)."""
    folder = beside / ".git" / "hooks"
    user_log = beside / ".git" / "user.log"
    script(folder / "pre-commit", USER_HOOK.removeprefix("#!/bin/sh\n"))
    framework_install(beside)
    log = tmp_path / "tool.log"
    exe = fake_tool(tmp_path / "bin", log)
    _framework_init_framework(beside, exe, log)
    assert user_log.read_text() == "user\n"

    framework_install(beside, "uninstall")
    assert not [p.name for p in folder.iterdir() if framework_script(p)]
    states = {s.name: s.state for s in hook_status(beside, executable=exe)}
    assert states == {**dict.fromkeys(HOOK_NAMES, "ours"), "pre-commit": "chained"}
    assert (folder / "pre-commit.aircher-orig").read_text() == USER_HOOK
    write(beside, ".env.sample", "B=\n")
    git(beside, "add", ".env.sample")
    log.unlink()
    code, out = git_run(beside, "commit", "-m", "after")
    assert code == 0, out
    assert "no key" not in out  # the framework's hooks are gone
    assert user_log.read_text() == "user\nuser\n"
    assert log_lines(log) == ["ours pre-commit", "ours post-commit"]


@pytest.mark.parametrize("how", ["hooks install", "worker"])
def test_an_older_install_chaining_the_framework_moves_to_its_legacy_slot(
    beside: Path, how: str
) -> None:
    """Hooks folders an older install set up: our shim in place chaining the framework's script
    (the user's hook still its .legacy), or as the framework's .legacy after `pre-commit install`
    again, with that script still kept. `hooks install` (doctor's hint) and the worker's rewrite
    move them to the framework's .legacy slot, so `pre-commit uninstall` leaves no framework
    hook behind (QA round 11b: 08)."""
    folder = beside / ".git" / "hooks"
    script(folder / "pre-commit", USER_HOOK.removeprefix("#!/bin/sh\n"))
    framework_install(beside)
    _, shims = rendered_shims(beside, None, None)  # this installation's, as the worker's
    for name in DOES_THE_WORK_OF:  # what install did before (there was no post-applypatch)
        (folder / name).rename(folder / f"{name}.aircher-orig")
        write_shim(folder / name, shims[name])
    # `pre-commit install --hook-type post-merge` once more: our shim became its .legacy.
    (folder / "post-merge").rename(folder / "post-merge.legacy")
    shutil.copy2(folder / "post-merge.aircher-orig", folder / "post-merge")
    stale = sorted(n if n != "post-merge" else "post-merge.legacy" for n in DOES_THE_WORK_OF)
    assert sorted(outdated_shims(beside)) == stale
    assert {s.name: s.state for s in hook_status(beside)}["pre-commit"] == "ours-outdated"

    if how == "worker":  # which also adds the hook a later version brought
        assert sorted(refresh_shims(beside).upgraded) == sorted([*stale, "post-applypatch"])
    else:
        assert framework_states(install_hooks(beside)) == {"wrapped"}

    for name in DOES_THE_WORK_OF:
        assert framework_script(folder / name), name
        assert (folder / f"{name}.legacy").read_bytes() == shims[name]
    kept = sorted(p.name for p in folder.glob("*.aircher-orig*"))
    assert kept == ["pre-commit.aircher-orig"]
    assert (folder / "pre-commit.aircher-orig").read_text() == USER_HOOK
    assert outdated_shims(beside) == []

    framework_install(beside, "uninstall")
    assert not [p.name for p in folder.iterdir() if framework_script(p)]
    states = {s.name: s.state for s in hook_status(beside)}
    assert states == {**dict.fromkeys(HOOK_NAMES, "ours"), "pre-commit": "chained"}


def test_an_amend_through_our_legacy_shim_is_recorded_as_a_rewrite(
    live: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The framework runs its .legacy post-rewrite hook (our shim, after `pre-commit install`
    over our shims) with an empty stdin: the amend was not recorded as a rewrite. The shim
    then has the list taken from HEAD's reflog, as `aircher-sync` does (QA round 11b: 06)."""
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-home"))
    commit(live, {".pre-commit-config.yaml": (
        "repos:\n- repo: local\n  hooks:\n  - id: ok\n    name: ok\n    entry: 'true'\n"
        "    language: system\n    always_run: true\n    pass_filenames: false\n"
        "    stages: [post-rewrite]\n")}, "config")
    proc = run(live, str(VENV_BIN / "pre-commit"), "install", "--hook-type", "post-rewrite")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert {s.name: s.state for s in hook_status(live)}["post-rewrite"] == "wrapped"
    old = head(live)

    code, out = git_run(live, "commit", "-q", "--amend", "-m", "config, amended")
    assert code == 0, out
    wait_idle(live)
    assert query(live, "file_index", "SELECT old_sha, new_sha, command FROM commit_rewrites"
                 ) == [(old, head(live), "amend")]



LOCAL_OK = ("repos:\n- repo: local\n  hooks:\n  - id: ok\n    name: ok\n    entry: 'true'\n"
            "    language: system\n    always_run: true\n    pass_filenames: false\n"
            "    stages: [post-rewrite]\n")


def _rebase(repo: Path, tmp_path: Path) -> list[tuple[object, ...]]:
    """`git rebase -i --autosquash main` of `topic` with a reworded, a dropped and a squashed
    commit; the commit_rewrites rows it left (the pinned dates give each run the same ids)."""
    todo = script(tmp_path / "todo.sh",
                  "sed -i -e '/ one$/s/^pick/reword/' -e '/ two$/s/^pick/drop/' \"$1\"\n")
    editor = script(tmp_path / "editor.sh", "sed -i 's/^one$/one, reworded/' \"$1\"\n")
    code, out = git_run(repo, "-c", f"sequence.editor={todo}", "-c", f"core.editor={editor}",
                        "rebase", "-q", "-i", "--autosquash", "main")
    assert code == 0, out
    wait_idle(repo)
    assert git(repo, "log", "--format=%s", "main..HEAD").splitlines() == [
        "four", "three", "one, reworded"]
    return sorted(query(repo, "file_index",
                        "SELECT old_sha, new_sha, command FROM commit_rewrites"))


@pytest.mark.parametrize("framework", ["aircher-sync", "legacy"])
def test_a_rebase_through_the_framework_is_recorded_as_our_shims_record_it(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, framework: str
) -> None:
    """The framework gives post-rewrite hooks `rebase` and an empty stdin, so a rebase went
    unrecorded in commit_rewrites, through `aircher-sync` and through our shim as its .legacy
    hook. The list is now rebuilt from the reflog as `git range-diff` pairs commits: the same
    rows as our shims record from git's own list, for the same rebase (session 18: hooks-1)."""
    if framework == "legacy":
        commit(project, {".pre-commit-config.yaml": LOCAL_OK}, "config")
    monkeypatch.setenv("AIRCHER_SKIP", "1")  # no worker for the set-up
    assert run_git_aircher(project, "init").code == 0
    git(project, "checkout", "-q", "-b", "topic")
    for name in ("one", "two", "three"):
        commit(project, {f"{name}.txt": f"{name}\n"}, name)
    commit(project, {"three.txt": "three\nmore\n"}, "squash! three")
    tip = commit(project, {"four.txt": "four\n"}, "four")
    git(project, "checkout", "-q", "main")
    commit(project, {"upstream.txt": "up\n"}, "upstream")  # so every commit is made anew
    git(project, "checkout", "-q", "topic")
    monkeypatch.delenv("AIRCHER_SKIP")

    expected = _rebase(project, tmp_path)  # by our shims, from git's list
    assert {r[2] for r in expected} == {"amend", "rebase"}
    assert len([r for r in expected if r[2] == "rebase"]) == 4  # all but the dropped `two`

    with open_project(project) as proj, proj.db("file_index").write() as conn:
        conn.execute("DELETE FROM commit_rewrites")
    git(project, "reset", "-q", "--hard", tip)
    if framework == "aircher-sync":
        assert run_git_aircher(project, "hooks", "uninstall").code == 0
    proc = run(project, str(VENV_BIN / "pre-commit"), "install", "--hook-type", "post-rewrite")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _rebase(project, tmp_path) == expected


def test_a_rebase_list_is_rebuilt_only_from_a_rebase_just_finished(repo: Path) -> None:
    """ORIG_HEAD outlives its rebase (a reset, a merge set it too): the list is rebuilt only
    while HEAD's reflog ends with the rebase's finish and its start (or the rebased branch's
    own finish, for `git rebase main topic` run elsewhere) names ORIG_HEAD."""
    git(repo, "checkout", "-q", "-b", "topic")
    one = commit(repo, {"one.txt": "1\n"}, "one")
    two = commit(repo, {"two.txt": "2\n"}, "two")
    git(repo, "checkout", "-q", "main")
    commit(repo, {"up.txt": "up\n"}, "upstream")
    git(repo, "rebase", "-q", "main", "topic")  # from main: HEAD's log starts there
    new_one, new_two = git(repo, "rev-list", "--reverse", "main..topic").split()
    assert rebased(repo) == [f"{two} {new_two}", f"{one} {new_one}"]

    git(repo, "reset", "-q", "--hard", "HEAD~1")  # ORIG_HEAD is now the rebased tip
    assert rebased(repo) == []
    git(repo, "reset", "-q", "--hard", new_two)
    assert rebased(repo) == []  # the newest entry is no rebase's finish
