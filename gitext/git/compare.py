"""Comparing refs: merge base, ahead/behind, numstat diffs, files changed on each side,
commit messages of a range, predicted merge conflicts, tracked files by pattern.

Names from users are resolved to commit ids once (`resolve_commit`, with --end-of-options so a
name such as `--output=x` is never an option); every later command gets ids only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gitext.git.history import shallow_boundary
from gitext.git.names import readable, storable
from gitext.git.run import git


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def resolve_commit(root: Path, name: str) -> str | None:
    """The commit id `name` names (branch, tag, id, HEAD~2…), or None."""
    if not name or name.startswith("-") or "\0" in name:
        return None
    # `:/text` (the newest commit whose message matches) takes everything after it as the
    # pattern, a `^{commit}` too: it names a commit already, and is asked for as it is.
    peeled = name if name.startswith(":/") else f"{name}^{{commit}}"
    proc = git(["rev-parse", "-q", "--verify", "--end-of-options", peeled], root, check=False)
    out = _text(proc.stdout).strip()
    return out if proc.returncode == 0 and out else None


def resolve_branch(root: Path, branch: str) -> str | None:
    """The commit of local branch `branch` (as the store names it), never a tag or remote of
    that name, which a bare name would prefer (git's ambiguity order); None when it is gone."""
    return resolve_commit(root, f"refs/heads/{raw_branch(root, branch)}")


def local_branches(root: Path) -> dict[str, str]:
    """Every local branch: short name -> commit id."""
    # lstrip=2, not short: a branch with a tag of the same name is "heads/x" in short form.
    out = _text(git(["for-each-ref", "--format=%(refname:lstrip=2)%00%(objectname)",
                     "refs/heads/"], root).stdout)
    branches = {}
    for line in out.splitlines():
        name, _, sha = line.partition("\0")
        if name and sha:
            branches[readable(name)] = sha  # as read_head and the journal name it
    return branches


def raw_branch(root: Path, name: str) -> str:
    """The branch git knows by `name` as given (bytes that are not UTF-8 kept as surrogates),
    or the one branch the store shows that way (`readable`), which is what `list` printed."""
    out = _text(git(["for-each-ref", "--format=%(refname:lstrip=2)", "refs/heads/"],
                    root).stdout)
    raws = [raw for raw in out.splitlines() if raw]
    if name in raws:
        return name
    shown = [raw for raw in raws if readable(raw) == readable(name)]
    return shown[0] if len(shown) == 1 else name


def merge_base(root: Path, a: str, b: str) -> str | None:
    proc = git(["merge-base", a, b], root, check=False)
    out = _text(proc.stdout).strip()
    return out if proc.returncode == 0 and out else None


def beyond_shallow(root: Path, common_dir: Path, a: str, b: str) -> bool:
    """Whether a shallow clone's boundary cuts the history of a or b: git then finds no merge
    base where one may well be, behind the cut, and cannot tell what a merge would do."""
    cut = shallow_boundary(common_dir)
    if not cut:
        return False
    # The commits at the boundary are roots to git until a fetch deepens the clone.
    roots = git(["rev-list", "--max-parents=0", a, b, "--"], root).stdout.decode().split()
    return any(sha in cut for sha in roots)


def ahead_behind(root: Path, a: str, b: str) -> tuple[int, int]:
    """(commits on a and not on b, commits on b and not on a)."""
    out = _text(git(["rev-list", "--left-right", "--count", f"{a}...{b}"], root).stdout).split()
    return int(out[0]), int(out[1])


@dataclass(frozen=True)
class NumstatEntry:
    path: str
    added: int | None  # None for a binary file
    deleted: int | None
    old_path: str | None = None  # set for a rename

    @property
    def binary(self) -> bool:
        return self.added is None


def diff_numstat(root: Path, a: str, b: str) -> list[NumstatEntry]:
    """Files that differ between the trees of a and b, with line counts (renames detected)."""
    out = git(["diff", "--numstat", "-z", "-M", "--no-ext-diff", a, b, "--"], root).stdout
    fields = out.split(b"\0")
    entries: list[NumstatEntry] = []
    i = 0
    while i < len(fields):
        head = fields[i].decode("utf-8", "replace")  # shown only, as names.readable
        i += 1
        if not head:
            continue
        added, deleted, path = head.split("\t", 2)
        old = None
        if path == "":  # a rename: the next two fields are the old and new path
            old, path = (fields[i].decode("utf-8", "replace"),
                         fields[i + 1].decode("utf-8", "replace"))
            i += 2
        entries.append(NumstatEntry(
            path, None if added == "-" else int(added), None if deleted == "-" else int(deleted),
            old,
        ))
    entries.sort(key=lambda e: e.path)
    return entries


def changed_files(root: Path, base: str | None, ref: str) -> set[str]:
    """Paths whose content differs between base and ref (both sides of a rename count).
    With no base (unrelated histories), against the empty tree: every file of ref."""
    if base is None:
        out = git(["ls-tree", "-r", "-z", "--name-only", "--end-of-options", ref], root).stdout
    else:
        out = git(["diff", "--name-only", "-z", "--no-renames", base, ref, "--"], root).stdout
    return {name for p in out.split(b"\0") if p and storable(name := _text(p))}


def both_changed(root: Path, a: str, b: str, base: str | None = None) -> list[str]:
    """Files changed on both sides since their merge base: where a merge may conflict."""
    base = base or merge_base(root, a, b)
    if base is None:
        return []
    return sorted(changed_files(root, base, a) & changed_files(root, base, b))


def merge_conflicts(root: Path, a: str, b: str, *, unrelated: bool = False) -> list[str] | None:
    """Files a merge of a and b would leave conflicted, by `git merge-tree --write-tree`
    (objects only; no ref, index or work tree moves). None when git cannot tell.

    `unrelated`: a and b have no merge base; git merges them from the empty tree, as
    `git merge --allow-unrelated-histories` would (without it git refuses: None).
    """
    args = ["merge-tree", "--write-tree", "--name-only", "--no-messages", "-z"]
    if unrelated:
        args.append("--allow-unrelated-histories")
    proc = git([*args, a, b], root, check=False)
    if proc.returncode not in (0, 1):
        return None
    parts = [_text(p) for p in proc.stdout.split(b"\0") if p]
    return sorted(set(parts[1:])) if proc.returncode == 1 else []


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    subject: str
    body: str
    files: list[str] = field(default_factory=list)


def log(
    root: Path,
    include: Sequence[str],
    exclude: Sequence[str] = (),
    *,
    limit: int | None = 200,
    with_files: bool = False,
    exclude_branches_except: str | None = None,
) -> list[CommitInfo]:
    """Commits reachable from `include` and not from `exclude`, newest first.

    `exclude_branches_except=NAME` also excludes every local branch but NAME: the commits
    only that branch has.
    """
    args = ["log", "-z", "--no-color", "--format=%x1e%H%x1f%s%x1f%b%x1f"]
    if with_files:
        args += ["--name-only", "--no-renames"]
    if limit is not None:
        args.append(f"--max-count={limit}")
    args += list(include)
    args += [f"^{x}" for x in exclude]
    if exclude_branches_except is not None:
        args += ["--not", f"--exclude={exclude_branches_except}", "--branches"]
    args.append("--")
    out = _text(git(args, root).stdout)
    commits = []
    for record in out.split("\x1e"):
        if not record.strip("\0\n"):
            continue
        parts = record.split("\x1f", 3)
        if len(parts) < 4:
            continue
        sha, subject, body, rest = parts
        files = [f for f in rest.strip("\0\n").split("\0") if f.strip("\n")] if with_files else []
        commits.append(CommitInfo(sha.strip("\0\n"), subject, body.strip(),
                                  [f.strip("\n") for f in files]))
    return commits


def paths_at(root: Path, commit: str) -> set[str]:
    """Every file path of `commit`'s tree."""
    out = git(["ls-tree", "-r", "-z", "--name-only", "--end-of-options", commit], root).stdout
    return {_text(p) for p in out.split(b"\0") if p}


def tracked_files(root: Path, patterns: Sequence[str]) -> list[str]:
    """Tracked paths of this worktree's index matching any glob (`*.md` matches in subfolders)."""
    out = git(["ls-files", "-z", "--", *patterns], root).stdout
    return sorted(name for p in out.split(b"\0") if p and storable(name := _text(p)))
