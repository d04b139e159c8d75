"""Removing the hook shims: every hook we kept goes back under its own name, and what other
tools (the pre-commit framework, lefthook) set aside of ours is cleared, so nothing of
git-aircher runs again once it is uninstalled (gitext/hooks/install.py puts them in place).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from gitext.errors import GitError
from gitext.git.hookdir import hooks_dir, other_worktrees_hooks
from gitext.hooks.install import HookState, fs_error
from gitext.hooks.shims import (
    CHAIN_SUFFIX,
    CREATED_MARKER,
    FRAMEWORK_SUFFIX,
    HOOK_NAMES,
    LEFTHOOK_SUFFIX,
    STAGED_SUFFIX,
    exists,
    folder_lock,
    framework_script,
    free_name,
    identical,
    is_shim,
    lefthook_script,
)
from gitext.hooks.worktree_files import unexclude_gone, worktree_place


def uninstall_hooks(repo_root: Path) -> list[HookState]:
    """Remove our shims and put every kept hook back under its own name, in the folder git runs
    hooks from and, when core.hooksPath moved it, in the repository's own hooks/ and in the
    other worktrees' folders too (rows only for what was done there)."""
    where = hooks_dir(repo_root)
    states = _uninstall_folder(where.path)
    if where.from_config and where.default.is_dir():
        # Shims `init` wrote before a tool set core.hooksPath (husky): left there, they were
        # live hooks again once the tool was dropped and the setting unset (QA round 11b: 09).
        states += [s for s in _uninstall_folder(where.default) if s.action != "absent"]
    for other in other_worktrees_hooks(repo_root, where):  # a relative core.hooksPath's
        states += [s for s in _uninstall_folder(other.path) if s.action != "absent"]
    return states


def _uninstall_folder(folder: Path) -> list[HookState]:
    try:
        if not folder.is_dir():
            return [_uninstall_one(folder, name) for name in HOOK_NAMES]
        place = worktree_place(folder)  # before the folder may go with _remove_created
        with folder_lock(folder):
            states = [_uninstall_one(folder, name) for name in HOOK_NAMES]
        _remove_created(folder)
    except OSError as exc:
        raise fs_error("uninstall", folder, exc) from exc
    if place is not None:
        with contextlib.suppress(OSError, GitError):  # lines left over do no harm
            unexclude_gone(folder, place)
    return states


def _uninstall_one(folder: Path, name: str) -> HookState:
    path = folder / name
    orig = folder / (name + CHAIN_SUFFIX)
    legacy = folder / (name + FRAMEWORK_SUFFIX)
    moved = folder / (name + LEFTHOOK_SUFFIX)
    action = "absent"
    put_back = path  # where the hook we kept goes back to
    for staged in folder.glob(f"{name}{STAGED_SUFFIX}*"):  # left by a killed install
        staged.unlink(missing_ok=True)
    if is_shim(path) or (not exists(path) and exists(orig)):
        path.unlink(missing_ok=True)
        action = "removed"
        if exists(orig):
            os.rename(orig, path)
            action = "restored"
    elif exists(path) and (is_shim(legacy) or is_shim(moved)):
        # Another manager set our shim aside when it installed: the pre-commit framework as
        # .legacy, which it runs, or lefthook as .old, which it puts back as the hook when it
        # is uninstalled. What we chained goes there instead, as if we had never been there.
        aside = legacy if is_shim(legacy) else moved
        aside.unlink()
        action = "removed"
        if aside == legacy and framework_script(orig):
            # The framework's own earlier script (`pre-commit install` run again over our
            # shim): as its .legacy the framework would refuse it at every commit ("installed
            # in migration mode"), and its script in place does that work. Generated, not
            # anyone's hook: `pre-commit install` writes it again at will.
            orig.unlink()
            action = f"removed (and {orig.name}, the pre-commit framework's earlier script)"
        elif aside == moved and lefthook_script(orig):
            # lefthook's own hook, which we chained before its next `lefthook install` set our
            # shim aside again: as its .old, lefthook's uninstall would leave lefthook's hook
            # live and the user's hook, set aside as .aircher-orig.N, stranded (QA round 12:
            # 03). It is lefthook's to write; the earlier hook goes to .old below.
            orig.unlink()
            action = f"removed (and {orig.name}, lefthook's own hook)"
        elif exists(orig):
            os.rename(orig, aside)
            action = "restored"
            put_back = aside
    elif exists(path) and exists(orig) and identical(orig, path):
        # A tool wrote the very hook we kept over our shim (husky's `prepare` at every `npm
        # install`): the kept one is a copy of the hook in place, as for .aircher-orig.N.
        orig.unlink()
        action = f"removed {orig.name}, the same as {name}"
    elif exists(path) and exists(orig):
        # Our shim is gone (a tool wrote its hook over it) and the hook we kept has not run
        # since. Left as .aircher-orig, the next install would refuse beside it: numbered, it
        # is one more earlier hook for _settle_set_aside to report.
        os.rename(orig, free_name(orig))
    if is_shim(moved):  # lefthook's uninstall would make it a live hook again
        moved.unlink()
        action = "removed" if action == "absent" else action
    settled = _settle_set_aside(orig, put_back)
    if settled:
        action = f"{action} ({settled})"
    chained = str(orig) if exists(orig) else None
    return HookState(name, str(path), "foreign" if exists(path) else "missing", chained, action)


def _settle_set_aside(orig: Path, put_back: Path) -> str | None:
    """The earlier hooks ``install --force`` kept as ``<hook>.aircher-orig.N``.

    One with the same content as the hook now put back is a copy of it (an earlier install
    forced over a tool's rewrite of the same hook): removed, nothing is lost. The others stay
    under their numbered name, which no install refuses: renamed back to ``.aircher-orig`` one
    was our file after uninstall, and the next install or init refused beside it (QA round 11b:
    02). What was done, or None.
    """
    numbered = []
    for path in orig.parent.glob(f"{orig.name}.*"):
        n = path.name[len(orig.name) + 1:]
        if n.isdigit():
            numbered.append((int(n), path))
    removed: list[str] = []
    kept: list[Path] = []
    for _, path in sorted(numbered):
        if identical(path, put_back):
            path.unlink()
            removed.append(path.name)
        else:
            kept.append(path)
    done = [f"removed {', '.join(removed)}, the same as {put_back.name}"] if removed else []
    hook = orig.with_name(orig.name[:-len(CHAIN_SUFFIX)])
    if kept and (handed := _hand_to_lefthook(hook, kept[-1])) is not None:
        kept.pop()
        done.append(handed)
    if kept:
        done.append(f"an earlier hook stays as {', '.join(p.name for p in kept)}, not run by git")
    return "; ".join(done) or None


def _hand_to_lefthook(hook: Path, earlier: Path) -> str | None:
    """``earlier`` (a hook set aside for lefthook's) given to lefthook as its ``.old`` when
    lefthook's hook is back in place without one: `lefthook uninstall` then puts it back as
    the hook, as it would have without us. Stranded as .aircher-orig.N, the user's hook never
    came back (QA round 11b: 04). What was done, or None."""
    old = hook.with_name(hook.name + LEFTHOOK_SUFFIX)
    if exists(old) or not lefthook_script(hook):
        return None
    os.rename(earlier, old)
    return f"put {earlier.name} back as {old.name}, which lefthook's uninstall restores"


def _remove_created(folder: Path) -> None:
    marker = folder / CREATED_MARKER
    try:
        lines = marker.read_text("utf-8").splitlines()
    except OSError:
        return
    marker.unlink()
    for rel in lines:
        try:
            # Lexical, not resolve(): the folders may be gone or be symlinks by now.
            Path(os.path.normpath(folder / rel)).rmdir()  # only when empty: user files stay
        except OSError:
            return
