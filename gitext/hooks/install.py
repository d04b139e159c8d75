"""Installing, upgrading and removing the hook shims without ever losing someone else's hook.

A hook already in place (a user's script, the pre-commit framework's, husky's) is renamed to
``<hook>.aircher-orig`` beside our shim, which runs it with the same arguments and stdin.
Renaming keeps its bytes, mode, owner and, for a symlink, its target, so ``uninstall`` renames
it back and the folder is as it was. The suffix differs from the framework's ``.legacy`` so
both can chain the same hook. When install has to create the hooks folder, it records that in
the folder (``.aircher-created``) so uninstall can remove exactly what it made.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gitext.errors import AircherError
from gitext.git.hookdir import TURN_ON_HINT, HooksDir, hooks_dir, turned_off
from gitext.resources import data_dir

HOOK_NAMES = ("post-checkout", "post-commit", "post-merge", "post-rewrite", "pre-commit")
SHIM_ID = "5b0e3c9a71d24f68"
# IDs of earlier shim versions: still recognised as ours, so they get upgraded, not chained.
PRIOR_SHIM_IDS: tuple[str, ...] = ()
CHAIN_SUFFIX = ".aircher-orig"
FRAMEWORK_SUFFIX = ".legacy"  # where the pre-commit framework keeps the hook it replaced
LEFTHOOK_SUFFIX = ".old"  # where lefthook keeps the hook it replaced (not run; put back later)
CREATED_MARKER = ".aircher-created"
STAGED_SUFFIX = ".aircher-new"  # a shim being written, renamed over the hook once complete
PLACEHOLDER = "@GIT_AIRCHER@"
STORE_PLACEHOLDER = "@STORE@"  # the pre-commit shim's quick look needs the store's folder
JOURNAL_PLACEHOLDER = "@JOURNAL@"  # where post-* shims write their records (absolute)
HOOKS_PLACEHOLDER = "@HOOKS@"  # the folder a post-* shim was installed into (absolute)
_SNIFF = 2048  # the marker sits in the first lines of a shim


@dataclass(frozen=True)
class HookState:
    """One hook of ours as seen in the hooks folder.

    state: ``ours`` (current shim), ``chained`` (current shim, running a kept foreign hook),
    ``ours-outdated`` (a shim of ours from another version or install), ``foreign`` (someone
    else's hook, ours absent), ``wrapped`` (the pre-commit framework's hook, which runs our
    shim from ``<hook>.legacy``), ``missing``.
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


def git_aircher_executable() -> Path | None:
    """The console script the shims should call: the one of this installation.

    The script beside the running interpreter belongs to the same install as this code, so it
    wins over whatever PATH finds first; PATH is the fallback (e.g. a zipapp or `python -m`).
    """
    beside = Path(sys.executable).parent / "git-aircher"
    if os.access(beside, os.X_OK) and beside.is_file():
        return beside.absolute()
    found = shutil.which("git-aircher")
    return Path(found).absolute() if found else None


def _sh_single_quoted(text: str) -> str:
    """``text`` for inside '…' in sh: a quote closes, is escaped, and reopens."""
    return text.replace("'", "'\\''")


def render_shim(
    name: str, executable: Path | None, store_prefix: str | None = ".agents/",
    journal: Path | None = None, folder: Path | None = None,
) -> bytes:
    template = (data_dir("hooks") / name).read_text("utf-8")
    recorded = "" if executable is None else _sh_single_quoted(str(executable))
    text = template.replace(PLACEHOLDER, recorded)
    text = text.replace(STORE_PLACEHOLDER, _sh_single_quoted(store_prefix or ""))
    text = text.replace(JOURNAL_PLACEHOLDER, _sh_single_quoted(str(journal or "")))
    text = text.replace(HOOKS_PLACEHOLDER, _sh_single_quoted(str(folder or "")))
    return text.encode("utf-8", "surrogateescape")


def repo_store_prefix(repo_root: Path, data_dir_value: str | None = None) -> str | None:
    """Where the store sits in this repository, from ``storage.data_dir`` (default: the
    global config and environment, as the guard reads it)."""
    from gitext.hooks.guard import configured_data_dir, store_prefix_of

    value = data_dir_value if data_dir_value is not None else configured_data_dir(os.environ)[0]
    return store_prefix_of(repo_root, value)


def is_shim(path: Path) -> bool:
    """Whether ``path`` is a regular file (not a symlink) carrying one of our shim IDs."""
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return False
        with path.open("rb") as fh:
            head = fh.read(_SNIFF)
    except OSError:
        return False
    return any(f"# ID: {i}".encode() in head for i in (SHIM_ID, *PRIOR_SHIM_IDS))


def _exists(path: Path) -> bool:
    return path.is_symlink() or path.exists()


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Install, uninstall and the worker's upgrade one at a time in a hooks folder. Two at
    once (two `init`s in two shells) could each see the user's hook, and the second then took
    the first's new shim for it: the user's hook was lost and the shim chained itself (QA round
    4: 04). The lock is on the folder itself, so it leaves no file behind."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _stage_shim(path: Path, content: bytes) -> Path:
    """The shim written under a temporary name beside ``path``, mode 0755, ready to rename."""
    tmp = path.with_name(f"{path.name}{STAGED_SUFFIX}.{os.getpid()}")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o755)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    os.chmod(tmp, 0o755)  # the umask may have taken bits away
    return tmp


def write_shim(path: Path, content: bytes) -> None:
    # Renamed over the target: git never runs half a script.
    os.replace(_stage_shim(path, content), path)


def read_hook(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _state(folder: Path, name: str, wanted: bytes) -> HookState:
    path = folder / name
    orig = folder / (name + CHAIN_SUFFIX)
    chained = str(orig) if _exists(orig) else None
    if is_shim(path):
        current = read_hook(path) == wanted
        state = ("chained" if chained else "ours") if current else "ours-outdated"
        return HookState(name, str(path), state, chained)
    if _exists(path):
        wrapped = is_shim(folder / (name + FRAMEWORK_SUFFIX))
        return HookState(name, str(path), "wrapped" if wrapped else "foreign", chained)
    return HookState(name, str(path), "missing", chained)


def rendered_shims(
    repo_root: Path, executable: Path | None, data_dir_value: str | None
) -> tuple[Path, dict[str, bytes]]:
    where = hooks_dir(repo_root)
    return where.path, shims_for(where, executable, data_dir_value)


def shims_for(
    where: HooksDir, executable: Path | None, data_dir_value: str | None
) -> dict[str, bytes]:
    """Each shim as install would write it into the folder ``where`` names."""
    exe = executable or git_aircher_executable()
    prefix = repo_store_prefix(where.worktree_root, data_dir_value)
    journal = _journal(where.worktree_root, data_dir_value)
    return {name: render_shim(name, exe, prefix, journal, where.path) for name in HOOK_NAMES}


def _journal(repo_root: Path, data_dir_value: str | None) -> Path | None:
    """The store's journal, absolute: every worktree's hooks write into the one store."""
    from gitext.git.repo import discover
    from gitext.hooks.guard import configured_data_dir
    from gitext.store_place import project_store

    value = data_dir_value if data_dir_value is not None else configured_data_dir(os.environ)[0]
    return project_store(value, discover(repo_root)) / "journal"


def hook_status(
    repo_root: Path, *, executable: Path | None = None, data_dir: str | None = None
) -> list[HookState]:
    """Each hook's state; ``ours-outdated`` means install would rewrite it."""
    folder, shims = rendered_shims(repo_root, executable, data_dir)
    return [_state(folder, name, shims[name]) for name in HOOK_NAMES]


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
    folder, shims = rendered_shims(repo_root, executable, data_dir)
    try:
        _ensure_folder(folder)
        with folder_lock(folder):
            return [_install_one(folder, name, shims[name], force) for name in HOOK_NAMES]
    except OSError as exc:
        raise _fs_error("install", folder, exc) from exc


def _fs_error(verb: str, folder: Path, exc: OSError) -> AircherError:
    where = exc.filename or folder
    return AircherError(
        f"cannot {verb} the hooks in {folder}: {exc.strerror or exc} ({where})",
        hint="check that you may write there; what was done so far is safe to repeat",
    )


def _ensure_folder(folder: Path) -> None:
    if folder.is_dir():
        return
    if turned_off(folder):
        # The usual way to turn every hook off, not a file to move aside.
        raise AircherError(f"git runs no hooks here: core.hooksPath={folder} turns them off, so"
                           " the store is kept current only by `git aircher sync` and by queries",
                           hint=TURN_ON_HINT)
    if _exists(folder):
        raise AircherError(
            f"{folder} is not a directory", hint="git runs hooks from there: move it aside"
        )
    created: list[Path] = []
    probe = folder
    while not _exists(probe):
        created.append(probe)
        probe = probe.parent
    folder.mkdir(parents=True)
    # Relative to the hooks folder, outermost last, so uninstall can remove them in order.
    lines = [os.path.relpath(p, folder) for p in created]
    (folder / CREATED_MARKER).write_text("".join(line + "\n" for line in lines), "utf-8")


def _install_one(folder: Path, name: str, wanted: bytes, force: bool) -> HookState:
    path = folder / name
    orig = folder / (name + CHAIN_SUFFIX)
    legacy = folder / (name + FRAMEWORK_SUFFIX)
    if is_shim(path):
        if read_hook(path) == wanted:
            return _with(_state(folder, name, wanted), "unchanged")
        write_shim(path, wanted)
        return _with(_state(folder, name, wanted), "upgraded")
    if not _exists(path):
        write_shim(path, wanted)
        return _with(_state(folder, name, wanted), "created")
    if is_shim(legacy):
        # The pre-commit framework was installed over our shim and runs it as its legacy
        # hook: we are in the chain already. Keep that shim current, change nothing else.
        if read_hook(legacy) != wanted:
            write_shim(legacy, wanted)
            return _with(_state(folder, name, wanted), "upgraded")
        return _with(_state(folder, name, wanted), "unchanged")
    if path.is_dir():
        raise AircherError(
            f"{path} is a directory, not a hook", hint="move it aside, then install again"
        )
    action = "chained"
    if _exists(orig) and _identical(orig, path):
        # A tool rewrote its hooks over our shims (husky's `prepare` at every `npm install`, a
        # second `lefthook install`): the hook in place is the very one we kept, so chaining it
        # in the kept one's place loses nothing, and refusing would leave git without ours.
        action = f"chained (the same as the kept {orig.name}, which it replaces)"
    elif _exists(orig):
        if not force:
            raise AircherError(
                f"{path} is someone else's hook, and {orig.name} (a hook kept by an earlier"
                " install) is still beside it",
                hint="keep the one you want as the hook, or run `git aircher hooks install"
                " --force` to chain the current one and keep the other under a new name",
            )
        aside = _free_name(orig)
        os.rename(orig, aside)
        action = f"chained (kept the earlier {orig.name} as {aside.name})"
    # Staged first, so between the two renames the hook is missing for an instant only.
    tmp = _stage_shim(path, wanted)
    os.rename(path, orig)
    os.replace(tmp, path)
    return _with(_state(folder, name, wanted), action)


def _identical(a: Path, b: Path) -> bool:
    """Whether two hooks are the same: regular files of the same bytes, or links to the same
    target."""
    try:
        sa, sb = a.lstat(), b.lstat()
        if stat.S_ISLNK(sa.st_mode) and stat.S_ISLNK(sb.st_mode):
            return os.readlink(a) == os.readlink(b)
        if stat.S_ISREG(sa.st_mode) and stat.S_ISREG(sb.st_mode) and sa.st_size == sb.st_size:
            return a.read_bytes() == b.read_bytes()
    except OSError:
        pass
    return False


def _free_name(path: Path) -> Path:
    n = 1
    while _exists(path.with_name(f"{path.name}.{n}")):
        n += 1
    return path.with_name(f"{path.name}.{n}")


def _with(state: HookState, action: str) -> HookState:
    return HookState(state.name, state.path, state.state, state.chained, action)


def uninstall_hooks(repo_root: Path) -> list[HookState]:
    """Remove our shims and put every kept hook back under its own name."""
    folder = hooks_dir(repo_root).path
    try:
        if not folder.is_dir():
            return [_uninstall_one(folder, name) for name in HOOK_NAMES]
        with folder_lock(folder):
            states = [_uninstall_one(folder, name) for name in HOOK_NAMES]
        _remove_created(folder)
    except OSError as exc:
        raise _fs_error("uninstall", folder, exc) from exc
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
    if is_shim(path) or (not _exists(path) and _exists(orig)):
        path.unlink(missing_ok=True)
        action = "removed"
        if _exists(orig):
            os.rename(orig, path)
            action = "restored"
    elif _exists(path) and (is_shim(legacy) or is_shim(moved)):
        # Another manager set our shim aside when it installed: the pre-commit framework as
        # .legacy, which it runs, or lefthook as .old, which it puts back as the hook when it
        # is uninstalled. What we chained goes there instead, as if we had never been there.
        aside = legacy if is_shim(legacy) else moved
        aside.unlink()
        action = "removed"
        if _exists(orig):
            os.rename(orig, aside)
            action = "restored"
            put_back = aside
    if is_shim(moved):  # lefthook's uninstall would make it a live hook again
        moved.unlink()
        action = "removed" if action == "absent" else action
    settled = _settle_set_aside(orig, put_back)
    if settled:
        action = f"{action} ({settled})"
    chained = str(orig) if _exists(orig) else None
    return HookState(name, str(path), "foreign" if _exists(path) else "missing", chained, action)


def _settle_set_aside(orig: Path, put_back: Path) -> str | None:
    """The earlier hooks ``install --force`` kept as ``<hook>.aircher-orig.N``.

    One with the same content as the hook now put back is a copy of it (an earlier install
    forced over a tool's rewrite of the same hook): removed, nothing is lost. Of the others,
    the newest goes back to the name it had before that install, as uninstall puts back every
    kept hook; the folder is then as it was (docs/hooks.md). What was done, or None.
    """
    numbered = []
    for path in orig.parent.glob(f"{orig.name}.*"):
        n = path.name[len(orig.name) + 1:]
        if n.isdigit():
            numbered.append((int(n), path))
    removed: list[str] = []
    others: list[Path] = []
    for _, path in sorted(numbered):
        if _identical(path, put_back):
            path.unlink()
            removed.append(path.name)
        else:
            others.append(path)
    done = [f"removed {', '.join(removed)}, the same as {put_back.name}"] if removed else []
    if others and not _exists(orig):
        os.rename(others[-1], orig)
        done.append(f"put {others[-1].name} back as {orig.name}")
    return "; ".join(done) or None


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
