"""Living beside other hook managers: hooks git tracks (husky's `.husky/`), the pre-commit
framework (its script stays the hook, ours in its `.legacy` slot, or none where its config
runs ours), and lefthook (which sets hooks aside as `.old`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from gitext.hooks.shims import (
    CHAIN_SUFFIX,
    FRAMEWORK_SUFFIX,
    HOOK_NAMES,
    LEFTHOOK_SUFFIX,
    exists,
    framework_script,
    free_name,
    identical,
    is_shim,
    read_hook,
    stage_shim,
    write_shim,
)


def tracked_hooks(folder: Path) -> frozenset[str]:
    """Our hook names that git tracks in ``folder``, when it is in a work tree (husky v5-v8's
    ``.husky/``, a team's shared hooks folder in the repository).

    Such a hook is the team's, shared through commits: a shim of ours there was committed by
    the next `git commit -a`, with this machine's paths, and the team's hook stopped running
    for everyone (QA round 22c: 02). The repository's own ``.git/hooks`` is in no work tree,
    and git says so; a folder git cannot look at has none."""
    from gitext.errors import GitError
    from gitext.git.run import git

    if not folder.is_dir():
        return frozenset()
    try:
        proc = git(["ls-files", "-z", "--", *HOOK_NAMES], folder, check=False)
    except GitError:
        return frozenset()
    if proc.returncode != 0:
        return frozenset()
    names = {n.decode("utf-8", "surrogateescape") for n in proc.stdout.split(b"\0") if n}
    return frozenset(names & set(HOOK_NAMES))


def displaced_by_lefthook(folder: Path, name: str) -> bool:
    """Whether lefthook set our shim aside as ``<hook>.old``, and with it the hook it chained:
    lefthook runs neither. The kept hook beside lefthook's is then no rival for the hook in
    place, so install sets it aside as ``--force`` would, and doctor's hint works without
    ``--force`` (QA round 11b: 03)."""
    return is_shim(folder / (name + LEFTHOOK_SUFFIX))


def left_to_framework(folder: Path, taken: Mapping[str, str]) -> dict[str, str]:
    """Those of ``taken`` (hook name: the framework hook that does its work) whose hook is the
    pre-commit framework's script, or an older install's shim chaining it."""
    return {name: hook_id for name, hook_id in taken.items()
            if framework_script(folder / name) or old_framework_layout(folder, name) is not None}


def drop_lefthook_copy(folder: Path, name: str) -> str | None:
    """lefthook renames the hook it replaces to ``<hook>.old``, ours included. With our shim
    back in place that copy is stale, and in the way: every later `lefthook install` refused
    ("can't rename … file already exists"), so did lefthook's sync at every commit (QA round
    11b: 05). What was done, or None."""
    old = folder / (name + LEFTHOOK_SUFFIX)
    if not is_shim(old):
        return None
    old.unlink()
    return f"removed {old.name}, our shim lefthook had set aside"


def _room_for(orig: Path, source: Path | None) -> str:
    """Makes ``orig`` free for ``source``, the hook about to be chained (None: nothing is), as
    `_install_one` does for the hook in place: a kept hook there stays only when it is the same
    hook; else (`_refusal` let it through: ``--force``) it is set aside. What was done."""
    if not exists(orig):
        return ""
    if source is not None and identical(orig, source):
        # A tool rewrote its hooks over our shims (husky's `prepare` at every `npm install`, a
        # second `lefthook install`): the hook in place is the very one we kept, so chaining it
        # in the kept one's place loses nothing, and refusing would leave git without ours.
        return f" (the same as the kept {orig.name}, which it replaces)"
    aside = free_name(orig)
    os.rename(orig, aside)
    return f" (kept the earlier {orig.name} as {aside.name})"


def under_framework(folder: Path, name: str, wanted: bytes) -> str:
    """Our shim put in the pre-commit framework's ``<hook>.legacy`` slot, its script left as
    the hook; a hook the framework kept there is the one our shim chains.

    Taking the hook's place instead (the framework's script chained as .aircher-orig) did not
    survive the framework's next `pre-commit install`: it moves any hook not its own to .legacy,
    so our shim went over the user's hook kept there, lost for good; and `pre-commit uninstall`
    put our shim back, which went on running the framework's script (QA round 11b: 01, 08). In
    the .legacy slot ours is what the framework set aside: it runs it first, a re-install keeps
    it, its uninstall makes it the hook again. The layout the framework makes when installed
    after us (status `wrapped`)."""
    orig = folder / (name + CHAIN_SUFFIX)
    legacy = folder / (name + FRAMEWORK_SUFFIX)
    _drop_framework_script(orig)
    source = legacy if exists(legacy) else None
    done = "wrapped" + _room_for(orig, source)
    tmp = stage_shim(folder / name, wanted)  # the name uninstall clears up after a kill
    if source is not None:
        os.rename(source, orig)
    os.replace(tmp, legacy)
    return done


def _drop_framework_script(orig: Path) -> None:
    """Removes the pre-commit framework's own script kept as ``orig`` by an older install: run
    from its .legacy hook it would fail every commit, and it is generated, not anyone's hook
    (`pre-commit install` writes it again at will)."""
    if framework_script(orig):
        orig.unlink()


def old_framework_layout(folder: Path, name: str) -> Path | None:
    """Our shim that chains the pre-commit framework's script as ``<hook>.aircher-orig``, the
    layout install made before QA round 11b, or None: in place (`pre-commit uninstall` is then
    a no-op and a re-install loses the hook kept as .legacy) or as .legacy (a re-install made
    it so)."""
    if not framework_script(folder / (name + CHAIN_SUFFIX)):
        return None
    for path in (folder / name, folder / (name + FRAMEWORK_SUFFIX)):
        if is_shim(path):
            return path
    return None


def settle_framework_layout(folder: Path, name: str, wanted: bytes) -> str | None:
    """Moves an older install's shim that chains the framework's script to the layout
    `under_framework` makes; what was done, or None when there was nothing to do.

    In place, ours gives the framework's script its place back and goes to .legacy, and the
    hook kept there becomes the one ours chains. As .legacy already, the framework's earlier
    script it kept is dead weight (the shim skips it under the framework) and goes."""
    path = folder / name
    orig = folder / (name + CHAIN_SUFFIX)
    legacy = folder / (name + FRAMEWORK_SUFFIX)
    shim = old_framework_layout(folder, name)
    if shim is None:
        return None
    if shim == legacy:
        _drop_framework_script(orig)
        if read_hook(legacy) != wanted:
            write_shim(legacy, wanted)
        return f"removed {orig.name}, the pre-commit framework's earlier script"
    tmp = stage_shim(path, wanted)
    # Every step a rename: for an instant one hook runs without ours or the kept one, never
    # with a half-written file.
    os.replace(orig, path)
    if exists(legacy) and not is_shim(legacy):
        os.rename(legacy, orig)
    os.replace(tmp, legacy)
    return f"wrapped (moved to {legacy.name}: the pre-commit framework's script runs it)"
