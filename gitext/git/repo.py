"""Finding a repository and reading its worktrees, HEAD and exclude file."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, replace
from pathlib import Path

from gitext.errors import GitError, NotARepositoryError
from gitext.folders import store_there
from gitext.git.names import readable
from gitext.git.run import answer_lines, git, git_out
from gitext.git.shield import is_shield

NULL_SHAS = frozenset({"0" * 40, "0" * 64})


@dataclass(frozen=True)
class RepoInfo:
    worktree_root: Path  # the work tree we were called in
    git_dir: Path  # that work tree's own git dir (.git/worktrees/<name> for a linked one)
    common_dir: Path  # shared by every worktree: objects, refs, hooks, info/exclude
    main_root: Path  # the main worktree's root: where the project store lives

    @property
    def is_linked_worktree(self) -> bool:
        return self.git_dir != self.common_dir


@dataclass(frozen=True)
class Worktree:
    path: Path
    head: str | None  # None in an empty repository
    branch: str | None  # short name; None when detached
    bare: bool = False
    prunable: bool = False
    locked: bool = False


def _abs(path: str, cwd: Path) -> Path:
    p = Path(path)
    return (p if p.is_absolute() else cwd / p).resolve()


def discover(start: Path) -> RepoInfo:
    """The repository whose work tree holds ``start``; refuses bare repositories."""
    start = start.resolve()
    if not start.is_dir():
        raise NotARepositoryError(f"not a directory: {start}")
    proc = git(
        ["rev-parse", "--is-bare-repository", "--is-inside-work-tree", "--absolute-git-dir",
         "--git-common-dir", "--show-toplevel"],
        start,
        check=False,
    )
    lines = answer_lines(proc.stdout)
    if b"dubious ownership" in proc.stderr:
        # git refuses a repository someone else owns (safe.directory); saying "not a git
        # repository" sent people looking for the wrong problem.
        raise NotARepositoryError(
            f"git refuses {start}: it belongs to another user (dubious ownership)",
            hint=f"if you trust it: git config --global --add safe.directory {start}")
    if proc.returncode != 0 or len(lines) < 5:
        if lines and lines[0] == "true":
            raise NotARepositoryError(
                "this is a bare repository; git-aircher needs a work tree",
                hint="run it in a clone or a worktree of this repository",
            )
        if len(lines) >= 2 and lines[1] == "false":
            raise NotARepositoryError(
                "not inside a work tree", hint="run it from the repository's working directory"
            )
        raise NotARepositoryError(
            f"not a git repository: {start}", hint="run `git init` first, or cd into a repository"
        )
    if len(lines) > 5:
        # A newline in a path (refused by Project.locate, which needs it named exactly): each
        # answer on its own, its whole output one path.
        lines = lines[:2] + [_one_path(option, start) for option in (
            "--absolute-git-dir", "--git-common-dir", "--show-toplevel")]
    git_dir = _abs(lines[2], start)
    common_dir = _abs(lines[3], start)
    worktree_root = _abs(lines[4], start)
    if is_shield(worktree_root):
        return discover(worktree_root.parent)  # inside a store: its repository is around it
    return RepoInfo(worktree_root, git_dir, common_dir,
                    _main_root(common_dir, worktree_root, git_dir))


def _one_path(option: str, start: Path) -> str:
    return "\n".join(answer_lines(git(["rev-parse", option], start).stdout))


def _main_root(common_dir: Path, worktree_root: Path, git_dir: Path) -> Path:
    # The main worktree with its git dir elsewhere (`--separate-git-dir`, a submodule): git
    # keeps no note of where that work tree is, so it is noted when met (`WORK_TREE_KEY`).
    elsewhere = git_dir == common_dir and worktree_root not in (common_dir, common_dir.parent)
    if elsewhere:
        _note_work_tree(common_dir, worktree_root)
    if common_dir.name == ".git" and not (elsewhere or _noted_elsewhere(common_dir)):
        return common_dir.parent
    # A separate git dir (`git init --separate-git-dir`, submodules): ask git.
    listed = _listed(worktree_root)
    if listed and listed[0].bare:
        return _bare_home(common_dir, listed)
    for wt in listed:
        if not wt.bare:
            if wt.path == common_dir:
                return _configured_work_tree(common_dir) or wt.path
            if wt.path == common_dir.parent and common_dir.name == ".git":
                # A separate git dir named `.git`: git lists the folder that holds it, which is
                # no work tree. The store sits in the git dir, as for any separate git dir; one
                # an earlier version made in that folder is still found there.
                if (wt.path / ".agents").is_dir():
                    return wt.path
                return _configured_work_tree(common_dir) or common_dir
            return wt.path
    return worktree_root


def _bare_home(common_dir: Path, listed: list[Worktree]) -> Path:
    """Where a bare repository's worktrees (`git clone --bare`, then `git worktree add`) share
    their store: the repository itself, as with `--separate-git-dir`. Any of the worktrees may
    go, and `git worktree remove` deletes what it holds, ignored files included: a store in the
    first of them was lost with it. A store an earlier version made there is still found there
    (`doctor` says how to move it). Only its databases tell it: a project that commits
    `.agents/skills/` has an `.agents/` in every worktree, and the store went into the first
    of them again (QA round 25c: 01)."""
    first = next((wt.path for wt in listed if not wt.bare), None)
    if first is not None and store_there(first / ".agents"):
        return first
    return common_dir


def _configured_work_tree(common_dir: Path) -> Path | None:
    """The main work tree ``core.worktree`` names, for a git dir git lists as its own worktree.

    `git worktree list` names the git dir itself as the main worktree when the work tree lives
    elsewhere: a submodule (`.git/modules/NAME`, whose ``core.worktree`` points back at it) or
    `--separate-git-dir`. A store already made under the git dir (before submodules were told
    apart) stays where it is, so no one's records move out of sight.
    """
    if (common_dir / ".agents").is_dir():
        return None
    return _core_worktree(common_dir)


def _core_worktree(common_dir: Path) -> Path | None:
    proc = git(["config", "--file", str(common_dir / "config"), "--get", "core.worktree"],
               common_dir, check=False)
    value = proc.stdout.decode("utf-8", "surrogateescape").strip()
    if proc.returncode != 0 or not value:
        # No record of the work tree: every worktree of this repository then agrees on the git
        # dir, which is better than two stores for one project.
        return None
    path = (common_dir / os.path.expanduser(value)).resolve()
    return path if path.is_dir() else None


def list_worktrees(root: Path) -> list[Worktree]:
    """`git worktree list`, the main worktree named by its work tree where git names its git
    dir (a submodule, `--separate-git-dir`); worktrees whose path the store refuses (a newline:
    `names.unusable_path`) left out, as if they were not there."""
    result = [wt for wt in _listed(root) if "\n" not in str(wt.path)]
    if result and not result[0].bare:
        # Every event, query and view names the work tree, so the list does too; else the real
        # work tree would look removed (stale) and the git dir behind git.
        work_tree = _main_work_tree(result[0].path)
        if work_tree is not None:
            result[0] = replace(result[0], path=work_tree)
    return result


WORK_TREE_KEY = "aircher.worktree"  # the repository's own config, see `_note_work_tree`


def _main_work_tree(listed: Path) -> Path | None:
    """The main work tree of a repository whose git dir git lists as its main worktree
    (``listed``): the git dir itself, or, for a separate git dir named `.git`, the folder
    holding it. ``core.worktree`` names it for a submodule; a `--separate-git-dir`'s is the
    one noted when met (`_note_work_tree`)."""
    if _is_git_dir(listed):
        return _core_worktree(listed) or _noted_work_tree(listed)
    noted = _noted_work_tree(listed / ".git")
    return noted if noted is not None and noted != listed else None


def _noted_work_tree(common_dir: Path) -> Path | None:
    try:
        # Most repositories have no such key: their config is not worth a git process. Every
        # store's has `aircher.store`, so the key's own name must follow the section's.
        text = (common_dir / "config").read_text("utf-8", "replace").lower()
    except OSError:
        return None
    _, section, rest = text.partition("[aircher")
    if not section or "worktree" not in rest:
        return None
    value = own_config_get(common_dir, WORK_TREE_KEY)
    if not value:
        return None
    path = Path(value)
    if not path.is_dir():
        return None
    # Still this repository's work tree (moved or deleted, another may be there): its `.git`
    # names this git dir.
    proc = git(["rev-parse", "--absolute-git-dir"], path, check=False)
    answer = answer_lines(proc.stdout)
    if proc.returncode != 0 or len(answer) != 1 or _abs(answer[0], path) != common_dir:
        return None
    return path


def _noted_elsewhere(common_dir: Path) -> bool:
    """A separate git dir named `.git` whose main work tree was noted elsewhere than around it
    (a linked worktree cannot tell otherwise)."""
    noted = _noted_work_tree(common_dir)
    return noted is not None and noted != common_dir.parent


def _note_work_tree(common_dir: Path, work_tree: Path) -> None:
    """Notes, in the repository's own config, the main work tree of a git dir kept elsewhere,
    as ``core.worktree`` does for a submodule: git records it nowhere, and lists the git dir in
    its place, so from the git dir or a linked worktree it could not be found."""
    if _core_worktree(common_dir) is not None:
        return  # a submodule: git's own note says it
    if own_config_get(common_dir, WORK_TREE_KEY) == str(work_tree):
        return
    # A config git cannot write leaves the git dir listed, as before.
    with contextlib.suppress(GitError):
        own_config_set(common_dir, WORK_TREE_KEY, str(work_tree))


def _listed(root: Path) -> list[Worktree]:
    """`git worktree list` as git says it."""
    out = git(["worktree", "list", "--porcelain", "-z"], root).stdout
    result: list[Worktree] = []
    for record in out.split(b"\0\0"):
        fields: dict[str, str] = {}
        for item in record.split(b"\0"):
            if not item:
                continue
            key, _, value = item.decode("utf-8", "surrogateescape").partition(" ")
            fields[key] = value
        if "worktree" not in fields:
            continue
        head = fields.get("HEAD")
        branch = fields.get("branch")
        result.append(
            Worktree(
                path=Path(fields["worktree"]),
                head=None if head is None or head in NULL_SHAS else head,
                branch=readable(branch.removeprefix("refs/heads/")) if branch else None,
                bare="bare" in fields,
                prunable="prunable" in fields,
                locked="locked" in fields,
            )
        )
    return result


def _is_git_dir(path: Path) -> bool:
    # A work tree's top holds `.git`, never git's own files.
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and \
        not (path / ".git").exists()


@dataclass(frozen=True)
class Head:
    commit: str | None  # None before the first commit
    branch: str | None  # None when detached


def read_head(root: Path) -> Head:
    # Not `--short`: with a tag of the same name git shortens the branch to "heads/x".
    proc = git(["symbolic-ref", "-q", "HEAD"], root, check=False)
    ref = proc.stdout.decode("utf-8", "replace").strip()  # as names.readable
    branch = ref.removeprefix("refs/heads/") or None
    proc = git(["rev-parse", "-q", "--verify", "HEAD^{commit}"], root, check=False)
    commit = proc.stdout.decode().strip() or None
    return Head(commit, branch)


def config_get(root: Path, key: str) -> str | None:
    proc = git(["config", "--get", key], root, check=False)
    if proc.returncode == 1:
        return None
    if proc.returncode != 0:
        raise GitError(f"git config --get {key} failed")
    return proc.stdout.decode("utf-8", "surrogateescape").rstrip("\n")


def own_config_get(common_dir: Path, key: str) -> str | None:
    """``key`` in the repository's own config file only (`.git/config`: what moves with it;
    never the user's or the system's)."""
    proc = git(["config", "--file", str(common_dir / "config"), "--get", key], common_dir,
               check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", "surrogateescape").rstrip("\n") or None


def own_config_set(common_dir: Path, key: str, value: str) -> None:
    git(["config", "--file", str(common_dir / "config"), key, value], common_dir)


class GitRepo:
    """A repository bound to one work tree; the handle the rest of the library uses."""

    def __init__(self, info: RepoInfo) -> None:
        self.info = info

    @classmethod
    def find(cls, start: Path | None = None) -> GitRepo:
        return cls(discover(start or Path(os.getcwd())))

    @property
    def root(self) -> Path:
        return self.info.worktree_root

    def head(self) -> Head:
        return read_head(self.root)

    def worktrees(self) -> list[Worktree]:
        return list_worktrees(self.root)

    def out(self, *args: str) -> str:
        return git_out(args, self.root)
