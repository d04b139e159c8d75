"""What the hook installer and the pre-commit guard ask git: where hooks live, what is staged,
and the staged content itself.

Light on purpose: the guard runs inside `git commit`, so this imports only the standard library
and ``gitext.git.run``. Everything goes through at most one ``git`` process per question.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from gitext.errors import AircherError, GitError, NotARepositoryError
from gitext.git.run import answer_lines, clean_env, failure, git

TURN_ON_HINT = ("to turn them on: `git config --unset core.hooksPath` (add --global where it is"
                " set there), then `git aircher hooks install`")


class HooksOff(AircherError):
    """git runs no hooks in this repository, and has no folder for them to name."""


def turned_off(folder: Path) -> bool:
    """core.hooksPath=/dev/null, the usual way to turn every hook off."""
    return folder == Path(os.devnull)


def not_a_folder(folder: Path) -> bool:
    """A hooks path that is there and is no folder (a file, a link to none): git runs no hook
    from it, and install cannot put one there. /dev/null is `turned_off`, on purpose."""
    return os.path.lexists(folder) and not folder.is_dir() and not turned_off(folder)


def not_a_folder_fix(where: HooksDir) -> str:
    """What makes ``where``, not a folder, one that git runs hooks from: said by install's
    refusal and by doctor, whose hint must be a step that works (QA round 26h: 02)."""
    if where.from_config:
        return ("move it aside, or point core.hooksPath elsewhere (`git config --unset"
                " core.hooksPath`, add --global where it is set there)")
    return "move it aside"


@dataclass(frozen=True)
class HooksDir:
    path: Path  # the folder git runs hooks from, absolute
    default: Path  # <common dir>/hooks: where they would be without core.hooksPath
    worktree_root: Path

    @property
    def from_config(self) -> bool:
        """Whether core.hooksPath moved the folder away from the common dir."""
        return self.path != self.default


def hooks_dir(start: Path) -> HooksDir:
    """The folder git runs this repository's hooks from.

    git resolves it for us: the common dir's hooks/ (shared by every worktree), or
    core.hooksPath with ``~`` expanded and a relative value taken against the worktree root,
    which is the directory git runs hooks in.
    """
    proc = git(
        ["rev-parse", "--path-format=absolute", "--git-path", "hooks", "--git-common-dir",
         "--show-toplevel"],
        start,
        check=False,
    )
    lines = answer_lines(proc.stdout)  # a "\r" in a path is no line end (QA round 8: 04)
    if proc.returncode != 0 and b"empty string is not a valid path" in proc.stderr:
        # `core.hooksPath=` (set to nothing): git runs no hook at all, and cannot say where.
        raise HooksOff("core.hooksPath is set to an empty string: git runs no hooks here, so"
                       " the store is kept current only by `git aircher sync` and by queries",
                       hint=TURN_ON_HINT)
    if proc.returncode != 0 or len(lines) < 3:
        raise NotARepositoryError(
            f"not inside the work tree of a git repository: {start}",
            hint="run it in a clone or a worktree of the repository",
        )
    return HooksDir(Path(lines[0]), Path(lines[1]) / "hooks", Path(lines[2]))


def other_worktrees_hooks(start: Path, here: HooksDir) -> list[HooksDir]:
    """The hooks folders of the repository's other worktrees, where they are not ``here``'s
    and exist.

    A relative core.hooksPath (husky v9's ``.husky/_``) is taken against each worktree's own
    root, so a linked worktree runs hooks from a folder of its own: shims only in the
    worktree where install ran left git running nothing of ours in the others. A folder that
    is not there is the tool's to make (husky makes it at `npm install`), not ours.
    """
    from gitext.git.repo import list_worktrees  # not on the guard's path

    found: list[HooksDir] = []
    seen = {here.path}
    for wt in list_worktrees(start):
        if wt.bare or wt.prunable or not wt.path.is_dir():
            continue
        try:
            where = hooks_dir(wt.path)
        except AircherError:
            continue
        if where.path not in seen and where.path.is_dir() and not turned_off(where.path):
            seen.add(where.path)
            found.append(where)
    return found


@dataclass(frozen=True)
class StagedFile:
    path: str  # relative to the worktree root, as git spells it (surrogate-escaped)
    mode: str  # "100644", "100755", "120000" (symlink), "160000" (submodule)
    blob: str  # object id of the staged content


def _index_env(index_file: str | None, cwd: Path) -> dict[str, str]:
    # The caller's GIT_INDEX_FILE, which clean_env drops: `git commit -a` and partial commits
    # stage into a temporary index, and that is the one whose content is being committed.
    if not index_file:
        return {}
    return {"GIT_INDEX_FILE": str(cwd / index_file)}  # a relative value is relative to cwd


def staged_files(worktree: Path, index_file: str | None = None) -> list[StagedFile]:
    """Files added or modified in the index against HEAD (all of them before the first commit).

    Deletions are left out (nothing is being committed), and renames count as additions of
    their new path.
    """
    proc = git(
        ["diff", "--cached", "--raw", "-z", "--no-abbrev", "--no-renames", "--no-ext-diff",
         "--ignore-submodules=none", "--diff-filter=AMT"],
        worktree,
        check=False,
        extra_env=_index_env(index_file, worktree),
    )
    if proc.returncode != 0:
        raise failure("diff --cached", proc.stderr, proc.returncode)
    return parse_raw_diff(proc.stdout)


def parse_raw_diff(out: bytes) -> list[StagedFile]:
    """``git diff --raw -z`` without renames: ":old new oldsha newsha X\\0path\\0" records."""
    fields = out.split(b"\0")
    result: list[StagedFile] = []
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        if not meta.startswith(b":"):
            continue
        parts = meta[1:].decode("ascii").split(" ")
        if len(parts) < 5:
            continue
        result.append(
            StagedFile(path.decode("utf-8", "surrogateescape"), parts[1], parts[3])
        )
    return result


@dataclass(frozen=True)
class Blob:
    oid: str
    size: int
    head: bytes  # at most ``keep`` bytes from the start: all of it when size <= keep


def read_blobs(worktree: Path, oids: Sequence[str], *, keep: int) -> Iterator[Blob]:
    """The content of ``oids`` through one ``git cat-file --batch``, in order.

    Only the first ``keep`` bytes of each object are held in memory; the rest is read and
    dropped, so a large staged file costs pipe bandwidth, not memory. Missing objects are
    skipped.
    """
    if not oids:
        return
    with tempfile.TemporaryFile() as requests:
        # Requests come from a file, not a pipe we write while reading: with thousands of
        # objects both pipes fill up and the two processes would wait on each other.
        requests.write("".join(f"{oid}\n" for oid in oids).encode("ascii"))
        requests.seek(0)
        try:
            proc = subprocess.Popen(
                ["git", "cat-file", "--batch"],
                cwd=worktree,
                stdin=requests,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=clean_env(),
            )
        except FileNotFoundError as exc:
            raise GitError("git is not installed or not on PATH") from exc
        assert proc.stdout is not None
        out = proc.stdout
        try:
            for _ in oids:
                header = out.readline()
                if not header:
                    break
                parts = header.split()
                if len(parts) < 3:  # "<oid> missing"
                    continue
                size = int(parts[2])
                head = out.read(min(size, keep))
                _discard(out, size - len(head))
                out.read(1)  # the newline after each object
                yield Blob(parts[0].decode("ascii"), size, head)
        finally:
            out.close()
            proc.wait()


def _discard(stream: IO[bytes], count: int) -> None:
    while count > 0:
        chunk = stream.read(min(count, 1 << 20))
        if not chunk:
            return
        count -= len(chunk)


def caller_index_file(environ: Mapping[str, str] | None = None) -> str | None:
    """GIT_INDEX_FILE as git set it for the hook that is running, if it did."""
    env = os.environ if environ is None else environ
    return env.get("GIT_INDEX_FILE") or None
