"""The store in `.git/info/exclude`, one line per entry of its own, never in a tracked file.

Each entry is listed rather than the store's folder: the folder may also hold the project's own
files (`.agents/skills/`, a convention agents read). With the whole folder excluded, git refused
to add a new skill without `-f`, and `git add` of a tracked one staged it but failed.

Hook shims written into a hooks folder inside the work tree are listed there too, under a
header of their own (``add_listed``, ``drop_listed``): gitext/hooks/worktree_files.py.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from gitext.folders import make_folder
from gitext.git.repo import RepoInfo
from gitext.git.run import git

HEADER = "# git-aircher's private store (never committed)"
HOOKS_HEADER = "# git-aircher's hook shims in the work tree (never committed)"


def _lines(info: RepoInfo, data_dir: Path, entries: Sequence[str]) -> tuple[str, list[str]]:
    """The store as git names it from the work tree's top ("/.agents"), and its lines."""
    # Not resolved itself: a store that is a symlink to another disk is one entry to git.
    rel = (data_dir.parent.resolve() / data_dir.name).relative_to(info.main_root).as_posix()
    base = "/" + rel.rstrip("/")
    if data_dir.is_symlink():
        return base, [base]
    return base, [f"{base}/{e}" for e in entries]


def ensure_excluded(info: RepoInfo, data_dir: Path, entries: Sequence[str]) -> bool:
    """List each of the store's `entries` (folders ending in "/"); True when the file changed."""
    try:
        base, wanted = _lines(info, data_dir, entries)
    except ValueError:
        return False  # outside the work tree: nothing for git to see
    prefix = base + "/"
    exclude = info.common_dir / "info" / "exclude"
    lines = _read(exclude)
    # An older version's two lines: our header, then the whole folder. They are ours to replace.
    kept = [line for i, line in enumerate(lines)
            if not (line == prefix and i and lines[i - 1] == HEADER)
            and not (line == HEADER and lines[i + 1:i + 2] == [prefix])]
    missing = [line for line in wanted if line not in kept]
    if not missing and kept == lines:
        return False
    where = _block(kept, HEADER)
    if where is None:
        kept += [HEADER, *missing]
    else:  # under its header: after the hook shims' lines they would be taken for theirs
        kept[where[1]:where[1]] = missing
    _write(exclude, kept)
    return True


def _read(exclude: Path) -> list[str]:
    return (exclude.read_text("utf-8", "surrogateescape") if exclude.exists() else ""
            ).splitlines()


def _write(exclude: Path, lines: list[str]) -> None:
    # info/ of a git dir that is there, never the git dir: a repository `rm -rf`'d while a
    # worker mended its store stays deleted (`gitext.folders`).
    make_folder(exclude.parent, exclude.parent.parent)
    target = exclude.resolve()  # a symlinked exclude file (shared by clones) stays a symlink
    tmp = target.with_name(f".{target.name}.aircher-{os.getpid()}")
    tmp.write_text("".join(line + "\n" for line in lines), "utf-8", "surrogateescape")
    os.replace(tmp, target)  # git never reads half a file


def literal(path: str) -> str:
    """A pattern matching exactly ``path`` (from the work tree's top), as git reads exclude
    lines: its wildcards and a trailing space escaped."""
    out = "".join("\\" + c if c in "*?[\\" else c for c in path)
    return "/" + (out[:-1] + "\\ " if out.endswith(" ") else out)


def _block(lines: list[str], header: str) -> tuple[int, int] | None:
    """Where the lines under ``header`` are: up to a blank or comment line, or the end."""
    if header not in lines:
        return None
    start = lines.index(header) + 1
    end = start
    while end < len(lines) and lines[end] and not lines[end].startswith("#"):
        end += 1
    return start, end


def add_listed(common_dir: Path, header: str, patterns: Sequence[str]) -> bool:
    """``patterns`` listed under ``header`` (made when missing); True when the file changed."""
    exclude = common_dir / "info" / "exclude"
    lines = _read(exclude)
    missing = [p for p in dict.fromkeys(patterns) if p not in lines]
    if not missing:
        return False
    where = _block(lines, header)
    if where is None:
        lines += [header, *missing]
    else:
        lines[where[1]:where[1]] = missing
    _write(exclude, lines)
    return True


def listed(common_dir: Path, header: str) -> list[str]:
    """The lines under ``header``."""
    lines = _read(common_dir / "info" / "exclude")
    where = _block(lines, header)
    return [] if where is None else lines[where[0]:where[1]]


def drop_listed(common_dir: Path, header: str, patterns: Sequence[str]) -> bool:
    """``patterns`` taken out from under ``header``, and the header with the last of them;
    True when the file changed."""
    exclude = common_dir / "info" / "exclude"
    lines = _read(exclude)
    where = _block(lines, header)
    if where is None:
        return False
    start, end = where
    kept = [line for line in lines[start:end] if line not in set(patterns)]
    if len(kept) == end - start:
        return False
    lines[start - (0 if kept else 1):end] = kept
    _write(exclude, lines)
    return True


def not_ignored(info: RepoInfo, paths: Sequence[Path]) -> list[str]:
    """Those of `paths` (in the main work tree) git does not ignore, as git names them."""
    rels = [(p.parent.resolve() / p.name).relative_to(info.main_root).as_posix()
            + ("/" if p.is_dir() and not p.is_symlink() else "") for p in paths]
    if not rels:
        return []
    done = git(["check-ignore", "--stdin", "-z"], info.main_root, check=False,
               input=("\0".join(rels) + "\0").encode())
    ignored = set(done.stdout.decode("utf-8", "surrogateescape").split("\0"))
    return [r for r in rels if r not in ignored]


def tracked_entries(root: Path, rels: Sequence[str]) -> list[str]:
    """Those of ``rels`` (as git names them from ``root``) that git tracks, itself or files in
    it: an exclude line does nothing for them (`git rm --cached` does)."""
    out = []
    for rel in rels:
        # ":(literal)" so a name with glob characters is taken as it is.
        listed = git(["ls-files", "-z", "--", f":(literal){rel.rstrip('/')}"], root,
                     check=False).stdout
        if listed.strip(b"\0"):
            out.append(rel)
    return out
