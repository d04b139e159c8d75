"""Installing and upgrading the hook shims without ever losing someone else's hook.

A hook already in place (a user's script, husky's, lefthook's) is renamed to
``<hook>.aircher-orig`` beside our shim, which runs it with the same arguments and stdin.
Renaming keeps its bytes, mode, owner and, for a symlink, its target, so ``uninstall`` renames
it back and the folder is as it was. The suffix differs from the framework's ``.legacy`` so
both can chain the same hook. The framework's own script stays the hook: our shim goes into
its ``.legacy`` slot, the one layout its re-install and uninstall keep
(``neighbours.under_framework``), unless the framework's config runs our hooks itself
(``_leave_to_framework``). When install has to create the hooks folder, it records that in the
folder (``.aircher-created``) so uninstall can remove exactly what it made. The shims' text
and the file operations shared with upgrade and uninstall are in ``shims.py``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gitext.errors import AircherError
from gitext.git.hookdir import (
    TURN_ON_HINT,
    HooksDir,
    hooks_dir,
    not_a_folder_fix,
    other_worktrees_hooks,
    turned_off,
)
from gitext.hooks.framework_config import CONFIG, taken_by_framework
from gitext.hooks.neighbours import (
    displaced_by_lefthook,
    drop_lefthook_copy,
    left_to_framework,
    old_framework_layout,
    settle_framework_layout,
    tracked_hooks,
    under_framework,
)
from gitext.hooks.shims import (
    CHAIN_SUFFIX,
    CREATED_MARKER,
    FRAMEWORK_SUFFIX,
    HOOK_NAMES,
    exists,
    folder_lock,
    framework_script,
    free_name,
    identical,
    is_shim,
    read_hook,
    shims_for,
    stage_shim,
    write_shim,
)


@dataclass(frozen=True)
class HookState:
    """One hook of ours as seen in the hooks folder.

    state: ``ours`` (current shim), ``chained`` (current shim, running a kept foreign hook),
    ``ours-outdated`` (a shim of ours from another version or install), ``foreign`` (someone
    else's hook, ours absent), ``tracked`` (a hook git tracks in the work tree: left alone),
    ``wrapped`` (the pre-commit framework's hook, which runs our
    shim from ``<hook>.legacy``), ``framework`` (the framework's hook, whose config runs our
    ``aircher-guard`` or ``aircher-sync`` instead of a shim), ``missing``.
    action: what install or uninstall just did to it, None for status.
    """

    name: str
    path: str
    state: str
    chained: str | None = None  # the kept foreign hook our shim runs, when there is one
    action: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {
            "name": self.name, "path": self.path, "state": self.state,
            "chained": self.chained, "action": self.action,
        }


def tracked_note(states: list[HookState]) -> str | None:
    """One line for the hooks install left alone because git tracks them: how the team's hook
    can run ours (as the pre-commit framework does), or None."""
    left = [s for s in states if s.state == "tracked"]
    if not left:
        return None
    names = ", ".join(s.name for s in left)
    folder = Path(left[0].path).parent
    if len(left) == 1:
        return (f"{names} in {folder} is tracked by git, so git-aircher left it as it is (a shim"
                " there would be committed): to run git-aircher from it, add"
                f' `git aircher hook {names} "$@"` to it (docs/hooks.md)')
    return (f"{names} in {folder} are tracked by git, so git-aircher left them as they are (a"
            " shim there would be committed): to run git-aircher from them, add"
            ' `git aircher hook <name> "$@"` to each (docs/hooks.md)')


def framework_note(states: list[HookState]) -> str | None:
    """One line for the hooks install left to the pre-commit framework, or None."""
    left = [s for s in states if s.state == "framework"]
    if not left:
        return None
    names = ", ".join(dict.fromkeys(s.name for s in left))
    return (f"{names}: left to the pre-commit framework, whose {CONFIG} runs git-aircher's"
            " aircher-guard/aircher-sync there: a shim of ours would run them a second time"
            " (docs/hooks.md)")


def _state(folder: Path, name: str, wanted: bytes, tracked: frozenset[str] = frozenset(),
           framework: Mapping[str, str] | None = None) -> HookState:
    path = folder / name
    orig = folder / (name + CHAIN_SUFFIX)
    chained = str(orig) if exists(orig) else None
    if name in tracked and not is_shim(path):
        return HookState(name, str(path), "tracked")
    if (name in (framework or {}) and framework_script(path)
            and not is_shim(folder / (name + FRAMEWORK_SUFFIX))):
        return HookState(name, str(path), "framework")
    if is_shim(path):
        current = read_hook(path) == wanted and old_framework_layout(folder, name) is None
        state = ("chained" if chained else "ours") if current else "ours-outdated"
        return HookState(name, str(path), state, chained)
    if exists(path):
        if is_shim(folder / (name + FRAMEWORK_SUFFIX)):
            return HookState(name, str(path), "wrapped", chained)  # our shim there runs it
        # No shim of ours runs a kept hook now (lefthook set ours aside as .old): said as
        # running, it told the user a hook ran that had stopped (QA round 15a: 03).
        return HookState(name, str(path), "foreign")
    return HookState(name, str(path), "missing")


def hook_status(
    repo_root: Path, *, executable: Path | None = None, data_dir: str | None = None
) -> list[HookState]:
    """Each hook's state; ``ours-outdated`` means install would rewrite it. Then those of the
    other worktrees' folders, where a relative core.hooksPath gives each its own."""
    where = hooks_dir(repo_root)
    states = folder_status(where, executable, data_dir)
    for other in other_worktrees_hooks(repo_root, where):
        states += folder_status(other, executable, data_dir)
    return states


def folder_status(
    where: HooksDir, executable: Path | None = None, data_dir: str | None = None
) -> list[HookState]:
    shims = shims_for(where, executable, data_dir)
    tracked = tracked_hooks(where.path)
    framework = taken_by_framework(where.worktree_root)
    return [_state(where.path, name, shims[name], tracked, framework) for name in HOOK_NAMES]


def install_hooks(
    repo_root: Path,
    *,
    force: bool = False,
    executable: Path | None = None,
    data_dir: str | None = None,
) -> list[HookState]:
    """Put our shim in place for every hook in HOOK_NAMES; idempotent.

    ``executable`` is the git-aircher the shims call (default: this installation's);
    ``data_dir`` the ``storage.data_dir`` setting the pre-commit shim's quick look uses
    (default: read as the guard reads it).
    ``force`` settles the one conflict install otherwise refuses: a foreign hook in place while
    an earlier ``<hook>.aircher-orig`` is still there. The hook in place is what git runs now,
    so it is the one chained; the earlier file is kept as ``<hook>.aircher-orig.N``.
    """
    where = hooks_dir(repo_root)
    folder = where.path
    try:
        _ensure_folder(where)
    except OSError as exc:
        raise fs_error("install", folder, exc) from exc
    # A relative core.hooksPath gives every worktree a folder of its own (husky's .husky/_).
    wanted = {folder: shims_for(where, executable, data_dir)}
    framework = {folder: taken_by_framework(where.worktree_root)}
    for other in other_worktrees_hooks(repo_root, where):
        wanted[other.path] = shims_for(other, executable, data_dir)
        framework[other.path] = taken_by_framework(other.worktree_root)
    return install_folders(wanted, force, framework)


def install_folders(wanted: dict[Path, dict[str, bytes]], force: bool = False,
                    framework: Mapping[Path, Mapping[str, str]] | None = None
                    ) -> list[HookState]:
    """Our shims (``wanted``: each folder's) in place in each folder, or an error and no
    change in any. ``framework``: each folder's hooks the pre-commit framework's config runs
    ours from (``taken_by_framework``)."""
    folder = next(iter(wanted))
    try:
        with contextlib.ExitStack() as locks:
            for folder in sorted(wanted):  # one order, so two installs cannot wait on each other
                locks.enter_context(folder_lock(folder))
            tracked = {folder: tracked_hooks(folder) for folder in wanted}
            left = {folder: left_to_framework(folder, (framework or {}).get(folder, {}))
                    for folder in wanted}
            # Every hook looked at before any is changed: a refusal halfway left post-checkout
            # installed and the rest not, which no later state explains (QA round 11b: 02).
            for folder in wanted:
                for name in HOOK_NAMES:
                    if name in tracked[folder] or name in left[folder]:
                        continue
                    if (refused := _refusal(folder, name, force)) is not None:
                        raise refused
            states: list[HookState] = []
            for folder, shims in wanted.items():
                states += [
                    _leave_tracked(folder, name) if name in tracked[folder]
                    else _leave_to_framework(folder, name, shims[name], left[folder])
                    if name in left[folder]
                    else _install_one(folder, name, shims[name]) for name in HOOK_NAMES]
                keep_out_of_git(folder)
            return states
    except OSError as exc:
        raise fs_error("install", folder, exc) from exc


def keep_out_of_git(folder: Path) -> None:
    """Our files in a hooks folder inside the work tree listed in .git/info/exclude, so `git
    add -A` leaves them out (gitext/hooks/worktree_files.py). Not worth failing an install
    over: the guard still refuses a staged shim of ours."""
    from gitext.errors import GitError
    from gitext.hooks.worktree_files import exclude_ours

    with contextlib.suppress(OSError, GitError):
        exclude_ours(folder)


def fs_error(verb: str, folder: Path, exc: OSError) -> AircherError:
    where = exc.filename or folder
    return AircherError(
        f"cannot {verb} the hooks in {folder}: {exc.strerror or exc} ({where})",
        hint="check that you may write there; what was done so far is safe to repeat",
    )


def _ensure_folder(where: HooksDir) -> None:
    folder = where.path
    if folder.is_dir():
        return
    if turned_off(folder):
        # The usual way to turn every hook off, not a file to move aside.
        raise AircherError(f"git runs no hooks here: core.hooksPath={folder} turns them off, so"
                           " the store is kept current only by `git aircher sync` and by queries",
                           hint=TURN_ON_HINT)
    if exists(folder):
        raise AircherError(f"{folder} is not a directory",
                           hint=f"git runs hooks from there: {not_a_folder_fix(where)}")
    created: list[Path] = []
    probe = folder
    while not exists(probe):
        created.append(probe)
        probe = probe.parent
    folder.mkdir(parents=True)
    # Relative to the hooks folder, outermost last, so uninstall can remove them in order.
    lines = [os.path.relpath(p, folder) for p in created]
    (folder / CREATED_MARKER).write_text("".join(line + "\n" for line in lines), "utf-8")


def _refusal(folder: Path, name: str, force: bool) -> AircherError | None:
    """Why install refuses to touch ``name`` (and so every hook), or None."""
    path = folder / name
    orig = folder / (name + CHAIN_SUFFIX)
    if is_shim(path) or not exists(path) or is_shim(folder / (name + FRAMEWORK_SUFFIX)):
        return None
    if path.is_dir():
        return AircherError(
            f"{path} is a directory, not a hook", hint="move it aside, then install again"
        )
    if framework_script(path):
        # Our shim goes to the framework's .legacy slot and chains the hook there (or nothing):
        # a different hook we kept is the rival then (the framework's own old script is not).
        legacy = folder / (name + FRAMEWORK_SUFFIX)
        if force or not exists(orig) or framework_script(orig) or (
                exists(legacy) and identical(orig, legacy)):
            return None
        path = legacy if exists(legacy) else path
    elif force or not exists(orig) or identical(orig, path) or displaced_by_lefthook(
            folder, name):
        return None
    return AircherError(
        f"{path} is someone else's hook, and {orig.name} (a hook kept by an earlier"
        " install) is still beside it",
        hint="keep the one you want as the hook, or run `git aircher hooks install"
        " --force` to chain the current one and keep the other under a new name",
    )


def refused_without_force(repo_root: Path) -> list[str]:
    """The hooks that make `install` refuse, and that `install --force` would chain: doctor's
    hint for missing hooks names the command that works."""
    folder = hooks_dir(repo_root).path
    return [name for name in HOOK_NAMES if _refusal(folder, name, False) is not None
            and _refusal(folder, name, True) is None]


def _install_one(folder: Path, name: str, wanted: bytes) -> HookState:
    """Our shim in place of ``name``; ``_refusal`` has let it through."""
    path = folder / name
    orig = folder / (name + CHAIN_SUFFIX)
    legacy = folder / (name + FRAMEWORK_SUFFIX)
    settled = settle_framework_layout(folder, name, wanted)
    if settled:
        return _with(_state(folder, name, wanted), settled)
    if is_shim(path):
        if read_hook(path) == wanted:
            return _with(_state(folder, name, wanted), "unchanged")
        write_shim(path, wanted)
        return _with(_state(folder, name, wanted), "upgraded")
    if not exists(path):
        write_shim(path, wanted)
        return _with(_state(folder, name, wanted), "created")
    if is_shim(legacy):
        # The pre-commit framework was installed over our shim and runs it as its legacy
        # hook: we are in the chain already. Keep that shim current, change nothing else.
        if read_hook(legacy) != wanted:
            write_shim(legacy, wanted)
            return _with(_state(folder, name, wanted), "upgraded")
        return _with(_state(folder, name, wanted), "unchanged")
    if framework_script(path):
        done = under_framework(folder, name, wanted)  # before the state is read
        return _with(_state(folder, name, wanted), done)
    action = "chained"
    if exists(orig) and identical(orig, path):
        # A tool rewrote its hooks over our shims (husky's `prepare` at every `npm install`, a
        # second `lefthook install`): the hook in place is the very one we kept, so chaining it
        # in the kept one's place loses nothing, and refusing would leave git without ours.
        action = f"chained (the same as the kept {orig.name}, which it replaces)"
    elif exists(orig):  # --force, or lefthook set our shim that kept it aside
        aside = free_name(orig)
        os.rename(orig, aside)
        action = f"chained (kept the earlier {orig.name} as {aside.name})"
    # Staged first, so between the two renames the hook is missing for an instant only.
    tmp = stage_shim(path, wanted)
    os.rename(path, orig)
    os.replace(tmp, path)
    if (dropped := drop_lefthook_copy(folder, name)) is not None:
        action = f"{action}; {dropped}"
    return _with(_state(folder, name, wanted), action)


def _leave_tracked(folder: Path, name: str) -> HookState:
    """A hook git tracks stays the team's (``tracked_hooks``). One an earlier install had put
    its shim over, keeping the team's as ``<hook>.aircher-orig``, gets it back."""
    path = folder / name
    orig = folder / (name + CHAIN_SUFFIX)
    action = "left alone: tracked by git"
    if is_shim(path) and exists(orig):
        os.replace(orig, path)
        action = "put back the tracked hook our shim had replaced"
    return _with(_state(folder, name, b"", frozenset({name})), action)


def _leave_to_framework(folder: Path, name: str, wanted: bytes, taken: Mapping[str, str]
                        ) -> HookState:
    """No shim of ours where the framework's config runs our hook itself (``aircher-guard``,
    ``aircher-sync``): with both, the guard ran twice, printed every finding twice, and every
    event was recorded twice (QA round 22c: 06). Our shim the framework set aside as
    ``<hook>.legacy`` when it was installed after us is taken out, the hook it chained put
    there instead, as `hooks uninstall` does: the same one run, whichever went first."""
    orig = folder / (name + CHAIN_SUFFIX)
    legacy = folder / (name + FRAMEWORK_SUFFIX)
    settle_framework_layout(folder, name, wanted)  # an older install's: the framework's in place
    action = f"left to the pre-commit framework ({taken[name]} in {CONFIG})"
    if is_shim(legacy):
        legacy.unlink()
        action = (f"removed our {legacy.name}: the pre-commit framework runs {taken[name]}"
                  f" ({CONFIG})")
        if framework_script(orig):
            orig.unlink()  # generated, and as .legacy it would fail every commit
        elif exists(orig):
            os.rename(orig, legacy)
            action += f"; put back {orig.name} as {legacy.name}, which it runs"
    elif exists(orig):
        if framework_script(orig) or (exists(legacy) and identical(orig, legacy)):
            orig.unlink()  # the framework's generated script, or a copy of its .legacy
        else:
            # `pre-commit install -f` dropped our .legacy shim, which chained it: git has not
            # run it since. Nothing of ours goes in its place, so it is no rival to refuse
            # for; kept under a name no install refuses beside.
            aside = free_name(orig)
            os.rename(orig, aside)
            action += f" (kept the earlier {orig.name} as {aside.name}, not run by git)"
    return _with(_state(folder, name, wanted, framework=taken), action)


def _with(state: HookState, action: str) -> HookState:
    return HookState(state.name, state.path, state.state, state.chained, action)
