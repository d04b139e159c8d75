"""The store in `.git/info/exclude`, one line per entry of its own, never in a tracked file.

Each entry is listed rather than the store's folder: the folder may also hold the project's own
files (`.agents/skills/`, a convention agents read). With the whole folder excluded, git refused
to add a new skill without `-f`, and `git add` of a tracked one staged it but failed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from gitext.folders import make_folder
from gitext.git.repo import RepoInfo
from gitext.git.run import git

HEADER = "# git-aircher's private store (never committed)"


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
    text = exclude.read_text("utf-8", "surrogateescape") if exclude.exists() else ""
    lines = text.splitlines()
    # An older version's two lines: our header, then the whole folder. They are ours to replace.
    kept = [line for i, line in enumerate(lines)
            if not (line == prefix and i and lines[i - 1] == HEADER)
            and not (line == HEADER and lines[i + 1:i + 2] == [prefix])]
    missing = [line for line in wanted if line not in kept]
    if not missing and kept == lines:
        return False
    out = kept + ([] if HEADER in kept else [HEADER]) + missing
    # info/ of a git dir that is there, never the git dir: a repository `rm -rf`'d while a
    # worker mended its store stays deleted (`gitext.folders`).
    make_folder(exclude.parent, info.common_dir)
    target = exclude.resolve()  # a symlinked exclude file (shared by clones) stays a symlink
    tmp = target.with_name(f".{target.name}.aircher-{os.getpid()}")
    tmp.write_text("\n".join(out) + "\n", "utf-8", "surrogateescape")
    os.replace(tmp, target)  # git never reads half a file
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
