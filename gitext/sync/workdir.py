"""The work tree's own changes (for `git aircher index`): modified, added and untracked files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from gitext.git.names import storable
from gitext.git.objects import blob_id_in, file_blob_id
from gitext.git.run import Started, git
from gitext.sync.files import FileState

Stamp = tuple[int, ...]


def tree_stamp(git_dir: Path) -> Stamp:
    """What git changes whenever it moves this worktree: the index file, HEAD's reflog and
    HEAD (three stats). A scan of the work tree is only as good as the stamps around it agree:
    git checking out, rebasing or aborting meanwhile leaves files half way (a rebase that
    stopped and was aborted ends on the HEAD it started from, so HEAD alone does not tell).
    Our own `git status` writes no index (`GIT_OPTIONAL_LOCKS=0`). `git_dir`: the worktree's."""
    out: list[int] = []
    for path in (git_dir / "index", git_dir / "logs" / "HEAD", git_dir / "HEAD"):
        try:
            st = path.stat()
        except OSError:
            out += [0, 0]
            continue
        out += [st.st_mtime_ns, st.st_size]
    return tuple(out)


def workdir_states(root: Path) -> tuple[list[FileState], list[str]]:
    """Files whose work-tree content differs from HEAD, with blob ids of that content."""
    changed, removed = workdir_status(root)
    return hashed_states(root, changed), removed


# v2, for the mode git itself gives each changed file of the work tree: the one `git add` would
# store, which the disk alone does not tell (see `hashed_states`).
_STATUS = ["status", "--porcelain=v2", "-z", "--untracked-files=all", "--no-renames"]

# (path, status, mode): the mode git sees in the work tree, "" for an untracked file.
Listed = tuple[str, str, str]


def workdir_status(root: Path) -> tuple[list[Listed], list[str]]:
    """(path, status, mode) of each file the work tree changes or adds, and the paths it
    deletes: one `git status`, nothing read."""
    return _parse_status(root, git(_STATUS, root).stdout)


class StatusScan:
    """`workdir_states`, its `git status` begun at once: on a first index of a large work tree
    that status (0.2-0.4 s of git stat-ing every file) runs while this process lists HEAD's
    tree. `close` ends it when its result is not wanted after all."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._git = Started(_STATUS, root)

    def states(self) -> tuple[list[FileState], list[str]]:
        changed, removed = _parse_status(self.root, self._git.result().stdout)
        return hashed_states(self.root, changed), removed

    def close(self) -> None:
        self._git.close()


def _parse_status(root: Path, out: bytes) -> tuple[list[Listed], list[str]]:
    changed: list[Listed] = []
    removed: list[str] = []
    recs = iter(out.split(b"\0"))
    for rec in recs:
        kind = rec[:1]
        if kind == b"?":
            xy, mode, path = "??", "", rec[2:]
        elif kind in (b"1", b"2", b"u"):
            # 1 XY sub mH mI mW hH hI path; u XY sub m1 m2 m3 mW h1 h2 h3 path; 2 (a rename,
            # which --no-renames should leave out) is 1 plus a score, its old path next.
            cuts = {b"1": 8, b"2": 9, b"u": 10}[kind]
            fields = rec.split(b" ", cuts)
            if kind == b"2":
                next(recs, None)
            if len(fields) <= cuts:
                continue
            xy, path = fields[1].decode(), fields[-1]
            mode = fields[6 if kind == b"u" else 5].decode()
        else:
            continue  # an ignored file, a header, the empty tail
        name = path.decode("utf-8", "surrogateescape")
        if not storable(name):
            continue  # left out of the store, as the history leaves it out
        if "D" in xy:
            removed.append(name)
        elif xy == "??":
            changed.append((name, "untracked", mode))
        elif xy[0] == "A":
            changed.append((name, "added", mode))
        else:
            changed.append((name, "modified", mode))
    changed = [c for c in changed if _file_or_link(root / c[0])]
    return changed, removed


def _file_or_link(path: Path) -> bool:
    """A regular file or a symlink, whatever it points to. Not followed: `is_file()` follows a
    link, and a target too long for the file system raised ENAMETOOLONG out of every query
    (QA round 5: 01)."""
    try:
        mode = path.lstat().st_mode
    except OSError:
        return False  # gone since git listed it
    return stat.S_ISREG(mode) or stat.S_ISLNK(mode)


def hashed_states(root: Path, changed: list[Listed]) -> list[FileState]:
    """The blob and mode of each listed file as `git add` would store them. A symlink on disk
    is its own text. A tracked file takes the mode git gives it: with core.symlinks=false a
    symlink is checked out as a plain file holding its target, and git keeps the index's
    120000 when it is staged (QA round 5: 04); with core.fileMode=false git keeps the index's
    executable bit too. The file's bytes are then its blob, as git hashes them."""
    if not changed:
        return []
    links = {p for p, _, _ in changed if (root / p).is_symlink()}
    odd = {p for p, _, _ in changed if p not in links and _not_a_line(p)}
    files = [p for p, _, _ in changed if p not in links and p not in odd]
    blobs: dict[str, str] = {}
    if files:
        out = git(["hash-object", "--no-filters", "--stdin-paths"], root,
                  input="".join(p + "\n" for p in files).encode("utf-8", "surrogateescape"),
                  ).stdout.decode().split()
        blobs.update(zip(files, out, strict=True))
    if links or odd:
        blobs.update(_hashed_here(root, links, odd))
    states = []
    for path, status, seen in changed:
        if path not in blobs:
            continue  # a link gone since git listed it: the next look sees what is there
        if path in links:
            mode = "120000"
        elif seen in _FILE_MODES:
            mode = seen
        else:  # untracked: git has no say yet
            mode = "100755" if (root / path).stat().st_mode & 0o111 else "100644"
        st = FileState(path, mode, blobs[path], status)
        st.from_disk = True
        states.append(st)
    return states


_FILE_MODES = ("100644", "100755", "120000")


def _not_a_line(path: str) -> bool:
    """A path `hash-object --stdin-paths` would not read back as given: it reads lines (a
    "\n" cuts the path, a final "\r" goes with the line end) and unquotes one that starts with
    a double quote. One such untracked file failed every query's look at the work tree."""
    return "\n" in path or path.endswith("\r") or path.startswith('"')


def _hashed_here(root: Path, links: set[str], odd: set[str]) -> dict[str, str]:
    """path -> blob id, hashed here in the repository's object format, of what `hash-object
    --stdin-paths` cannot hash: each symlink (git stores the link's own text; hash-object
    follows links, and fails on a dangling one or one to a folder) and each file whose name
    it would not read back (`_not_a_line`), from its bytes as they are (as --no-filters)."""
    algo = git(["rev-parse", "--show-object-format"], root).stdout.decode().strip()
    out = {}
    for path in links:
        try:
            out[path] = blob_id_in(os.readlink(os.fsencode(root / path)), algo)
        except OSError:
            continue  # gone since git listed it: the next look sees what is there
    for path in odd:
        try:
            out[path] = file_blob_id(root / path, algo)
        except OSError:
            continue
    return out
