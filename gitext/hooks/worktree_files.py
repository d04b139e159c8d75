"""Our files in a hooks folder inside the work tree (a relative core.hooksPath such as husky
v5-v8's ``.husky/``, a team's shared hooks folder) listed in ``.git/info/exclude``.

Left untracked, the shims install writes there (and the hooks they chain, kept as
``<hook>.aircher-orig``) were staged by the next `git add -A`, and the guard then refused the
commit for the staged shim (QA round 22c: 02, follow-up). Listed one path a line, under a header
of their own, beside the store's lines; uninstall takes out the lines of files it removed.
"""

from __future__ import annotations

from pathlib import Path

from gitext.errors import GitError
from gitext.git.exclude import HOOKS_HEADER, add_listed, drop_listed, listed, literal
from gitext.git.run import git
from gitext.hooks.shims import (
    CHAIN_SUFFIX,
    CREATED_MARKER,
    FRAMEWORK_SUFFIX,
    HOOK_NAMES,
    LEFTHOOK_SUFFIX,
    is_shim,
)


def worktree_place(folder: Path) -> tuple[Path, str] | None:
    """The common git dir and the folder as git names it from its work tree's top
    (``.husky/``), when the folder is inside a work tree; None for ``.git/hooks`` and any
    folder outside one."""
    try:
        proc = git(["rev-parse", "--is-inside-work-tree", "--show-prefix",
                    "--path-format=absolute", "--git-common-dir"], folder, check=False)
    except GitError:
        return None
    out = proc.stdout.decode("utf-8", "surrogateescape").split("\n")
    if proc.returncode != 0 or len(out) < 3 or out[0] != "true":
        return None
    return Path(out[2]), out[1]


def _ours(path: Path) -> bool:
    """A file install writes or keeps: a shim, a hook it kept, the note of a folder it made."""
    name = path.name
    if name == CREATED_MARKER:
        return path.is_file()
    if any(name.startswith(hook + CHAIN_SUFFIX) for hook in HOOK_NAMES):
        return path.is_symlink() or path.exists()
    return is_shim(path)


def _candidates(folder: Path) -> list[Path]:
    names = [CREATED_MARKER]
    for hook in HOOK_NAMES:
        names += [hook, hook + FRAMEWORK_SUFFIX, hook + LEFTHOOK_SUFFIX, hook + CHAIN_SUFFIX]
    found = [folder / n for n in names]
    found += [p for hook in HOOK_NAMES for p in folder.glob(f"{hook}{CHAIN_SUFFIX}.*")]
    return [p for p in found if _ours(p)]


def exclude_ours(folder: Path) -> list[str]:
    """Our untracked files in ``folder`` listed in the exclude file, when the folder is in a
    work tree, unless git ignores them already (husky v9's ``.husky/_`` ignores itself). The
    lines added."""
    place = worktree_place(folder)
    if place is None:
        return []
    common_dir, prefix = place
    names = [p.name for p in _candidates(folder)]
    if not names:
        return []
    # Tracked files are no exclude rule's business, and check-ignore leaves them out.
    proc = git(["check-ignore", "--stdin", "-z", "--verbose", "--non-matching"], folder,
               check=False, input=b"".join(n.encode("utf-8", "surrogateescape") + b"\0"
                                          for n in names))
    fields = proc.stdout.decode("utf-8", "surrogateescape").split("\0")
    # --verbose -z: source, line number, pattern, path per entry; an empty source: not ignored.
    loose = {fields[i + 3] for i in range(0, len(fields) - 3, 4) if not fields[i]}
    tracked = _tracked(folder, names)
    lines = [literal(prefix + n) for n in names if n in loose and n not in tracked]
    return lines if lines and add_listed(common_dir, HOOKS_HEADER, lines) else []


def _tracked(folder: Path, names: list[str]) -> set[str]:
    proc = git(["ls-files", "-z", "--", *names], folder, check=False)
    return {n.decode("utf-8", "surrogateescape") for n in proc.stdout.split(b"\0") if n}


def unexclude_gone(folder: Path, place: tuple[Path, str]) -> bool:
    """The lines of ``folder``'s files that are no longer ours taken out (after uninstall:
    removed, or the user's own hook back under its name); ``place`` as ``worktree_place``
    found it before (uninstall may have removed the folder). True when the file changed."""
    common_dir, prefix = place
    lines = {literal(prefix + p.name): p for p in _candidates(folder)}
    stale = [line for line in listed(common_dir, HOOKS_HEADER)
             if line.startswith(literal(prefix)) and "/" not in line[len(literal(prefix)):]
             and line not in lines]
    return bool(stale) and drop_listed(common_dir, HOOKS_HEADER, stale)
