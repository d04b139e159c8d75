"""The durable event journal: one small file per git event in `.agents/journal/`.

Hook shims write these with shell builtins (no Python on git's critical path); the Python entry
point writes the same format when it is the one called. A record is complete only when its last
line is `end`: a file caught half-written is left for the next drain, never half-applied.
Applying is idempotent, so a record applied and then replayed after a crash changes nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from gitext.folders import make_folder, store_folder
from gitext.git.names import readable

MAGIC = "aircher-event 1"
_STALE_PARTIAL = 60.0  # seconds after which an unfinished record is a crashed writer's


@dataclass
class Event:
    hook: str
    cwd: str
    head: str = ""  # the worktree's HEAD file at hook time: "ref: refs/heads/x" or a sha
    args: list[str] = field(default_factory=list)
    stdin: list[str] = field(default_factory=list)
    # "rebase" when git ran the hook in the middle of a rebase, which detaches HEAD to replay
    # commits: not a branch the developer chose (see `sequence_of`).
    sequence: str = ""
    action: str = ""  # GIT_REFLOG_ACTION in the hook's environment, e.g. "merge topic"
    # Mid-rebase, the branch it rebases ("refs/heads/x", or "detached HEAD"): where HEAD is
    # once the rebase is over, finished or aborted. Shims older than this leave it out.
    rebasing: str = ""
    # The commit a post-commit, post-applypatch or post-merge made (HEAD at hook time): the
    # branch may be gone or moved back by the time the record is applied. Shims older than
    # this leave it out.
    commit: str = ""
    path: Path | None = None  # the journal file, when read from one
    # The file's modification time (ns) when read: renames keep it, so with the file's name it
    # tells this record from a later one a shell of the same pid wrote under that name.
    stamp: int = 0

    @property
    def key(self) -> str:
        """What names this event for idempotent rows (a switch): the same record applied twice
        gives the same key, a later record of the same file name another. The name alone was
        the key, and a shim names its record by its shell's pid: a switch whose hook's pid an
        earlier checkout's had was taken for that one and dropped (QA round 15c: 03)."""
        name = self.path.name if self.path is not None else ""
        return f"{name}@{self.stamp}" if self.stamp else name

    @property
    def branch(self) -> str | None:
        if self.head.startswith("ref: refs/heads/"):
            return readable(self.head.removeprefix("ref: refs/heads/"))
        return None

    @property
    def rebased_branch(self) -> str | None:
        """The branch a rebase under way returns to (None: a detached HEAD, or not known)."""
        if self.rebasing.startswith("refs/heads/"):
            return readable(self.rebasing.removeprefix("refs/heads/"))
        return None

    def encode(self) -> str:
        lines = [MAGIC, f"hook {self.hook}", f"cwd {self.cwd}", f"head {self.head}"]
        lines += [f"arg {a}" for a in self.args]
        lines += [f"stdin {s}" for s in self.stdin]
        if self.sequence:
            lines.append(f"seq {self.sequence}")
        if self.action:
            lines.append(f"action {self.action}")
        if self.rebasing:
            lines.append(f"rebasing {self.rebasing}")
        if self.commit:
            lines.append(f"commit {self.commit}")
        lines.append("end")
        return "\n".join(lines) + "\n"


def parse(text: str) -> Event | None:
    lines = text.split("\n")
    if not lines or lines[0] != MAGIC or "end" not in lines:
        return None
    ev = Event(hook="", cwd="")
    for line in lines[1 : lines.index("end")]:
        key, _, value = line.partition(" ")
        if key == "hook":
            ev.hook = value
        elif key == "cwd":
            ev.cwd = value
        elif key == "head":
            ev.head = value
        elif key == "arg":
            ev.args.append(value)
        elif key == "stdin" and value.strip():
            ev.stdin.append(value)
        elif key == "seq":
            ev.sequence = value
        elif key == "action":
            ev.action = value
        elif key == "rebasing":
            ev.rebasing = value
        elif key == "commit":
            ev.commit = value.strip()
    return ev if ev.hook and ev.cwd else None


def rebase_dir(git_dir: Path) -> Path | None:
    """The state folder of a rebase under way in the worktree whose git dir this is, or None.
    `git am` keeps its state in rebase-apply/ too, marked by an `applying` file: no rebase,
    HEAD stays on its branch. Taken for one, a stopped `git am` held back every later record
    of the worktree, a checkout's switch among them (QA round 16b: 06)."""
    for state in ("rebase-merge", "rebase-apply"):
        folder = git_dir / state
        if folder.is_dir() and not (folder / "applying").exists():
            return folder
    return None


def sequence_of(git_dir: Path) -> str:
    """What the shims record as `seq`: "rebase" while a worktree is in a rebase."""
    return "rebase" if rebase_dir(git_dir) is not None else ""


def rebase_starting(git_dir: Path) -> bool:
    """HEAD was just detached by a rebase that has not written its state yet: the apply
    backend's (`git rebase --apply`, and every rebase before git 2.26) first checkout, which
    its reflog line alone names. Taken for a checkout of the user's, it was a switch to
    "(detached)" (QA round 16b: 02)."""
    try:
        with open(git_dir / "logs" / "HEAD", "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            lines = f.read().splitlines()
    except OSError:
        return False  # no reflog (core.logAllRefUpdates=false): a detached checkout, then
    message = lines[-1].partition(b"\t")[2] if lines else b""
    # "rebase (start): checkout main"; "pull --rebase origin main (start): …"; before git
    # 2.26, "rebase: checkout main".
    return b" (start): " in message or message.startswith(b"rebase: checkout ")


def rebasing_of(git_dir: Path) -> str:
    """What the shims record as `rebasing`: the branch a rebase under way rebases (its state's
    `head-name`: "refs/heads/x", or "detached HEAD"), where it leaves HEAD once over."""
    folder = rebase_dir(git_dir)
    if folder is None:
        return ""
    try:
        lines = (folder / "head-name").read_text("utf-8", "surrogateescape").splitlines()
    except OSError:
        return ""  # the apply backend's state, before it names the branch
    return lines[0] if lines else ""


def append(journal: Path, ev: Event) -> Path:
    """Write one record: temp name, then rename, so a reader never sees half of it."""
    store_folder(journal.parent, journal)  # never the store itself (`gitext.folders`)
    name = f"{time.time_ns()}-{os.getpid()}-{ev.hook}"
    tmp = journal / f".{name}.tmp"
    tmp.write_text(ev.encode(), "utf-8", errors="surrogateescape")
    final = journal / f"{name}.ev"
    os.replace(tmp, final)
    return final


def _order(path: Path) -> tuple[int, str]:
    # Shims cannot afford a clock process, so their names carry no time: the file's own
    # modification time (nanoseconds) orders records, the name breaks ties.
    try:
        return (path.stat().st_mtime_ns, path.name)
    except FileNotFoundError:
        return (0, path.name)


def pending(journal: Path) -> list[Event]:
    """Complete records, oldest first."""
    try:
        names = [p for p in journal.iterdir() if p.suffix == ".ev"]
    except FileNotFoundError:
        return []
    events = []
    for path in sorted(names, key=_order):
        if not path.is_file():
            # A folder named like a record (a tool's leftover, a half-done copy of the store):
            # read, it stopped every drain for good (QA round 24b: 07). Doctor names it
            # (`strangers`), repair moves it out.
            continue
        try:
            # Bytes, not text mode: its universal newlines turn a "\r" in a path into "\n"
            # (QA round 8: 04).
            text = path.read_bytes().decode("utf-8", errors="surrogateescape")
        except FileNotFoundError:
            continue  # another worker took it
        ev = parse(text)
        if ev is None:
            _drop_if_abandoned(path)
            continue
        ev.path = path
        with contextlib.suppress(FileNotFoundError):
            ev.stamp = path.stat().st_mtime_ns
        events.append(ev)
    return events


def waiting_worktrees(journal: Path) -> set[Path]:
    """The worktrees (resolved) that records in the journal or set aside mid-sequence
    (`deferred/`) still have to be applied for."""
    return {Path(ev.cwd).resolve() for folder in (journal, journal / "deferred")
            for ev in pending(folder)}


def move_into(path: Path, folder: Path) -> Path:
    """Rename a record into `folder` (deferred/, failed/, back to the journal) under a name no
    record there has: shims name records by pid, and a later record of the same name would
    have replaced the one already there, an event lost. The move keeps its time, its order
    (shutil.move copies it with its times when `folder` is on another file system: another
    repository's store, for a record handed on)."""
    target = folder / path.name
    n = 0
    while target.exists():
        n += 1
        target = folder / f"{path.stem}-m{n}{path.suffix}"
    shutil.move(path, target)
    return target


def _drop_if_abandoned(path: Path) -> None:
    # A shim writes its record in one redirect; one still without `end` a minute later was cut
    # off mid-write. git itself still has what happened, and `sync` reads it from there.
    try:
        if time.time() - path.stat().st_mtime > _STALE_PARTIAL:
            path.rename(path.with_suffix(".broken"))
    except FileNotFoundError:
        pass


def strangers(journal: Path) -> list[Path]:
    """Entries named like records that are not files (a folder), which nothing applies."""
    try:
        return sorted(p for p in journal.iterdir() if p.suffix == ".ev" and not p.is_file())
    except (FileNotFoundError, NotADirectoryError):
        return []


def broken(journal: Path) -> list[Path]:
    """Records set aside as cut short (`*.broken`), oldest first: nothing can apply them, and
    what only they carried (a branch switch) is lost; doctor reports them, repair and, a month
    on, the daily maintenance remove them."""
    try:
        found = [p for p in journal.iterdir() if p.suffix == ".broken"]
    except (FileNotFoundError, NotADirectoryError):
        return []
    stamped = []
    for path in found:
        with contextlib.suppress(FileNotFoundError):
            stamped.append((path.stat().st_mtime, path))
    return [p for _, p in sorted(stamped)]


def hook_of(path: Path) -> str:
    """The hook a record was written for, from its name (`sh-<pid>-<hook>`), or its name."""
    parts = path.stem.split("-", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return path.name
    hook, _, n = parts[2].rpartition("-m")  # `move_into`'s "-m<n>" for a name taken
    return hook if hook and n.isdigit() else parts[2]


def failed(journal: Path) -> list[Path]:
    """Records set aside after failing twice (`journal/failed/`), oldest first."""
    try:
        return sorted((p for p in (journal / "failed").iterdir() if p.suffix == ".ev"),
                      key=_order)
    except (FileNotFoundError, NotADirectoryError):
        return []


def requeue_failed(journal: Path) -> int:
    """Put the records set aside back in the journal, for a drain to try again; how many.

    A rename keeps each file's modification time, which is what orders the journal: they go
    before every record written since, oldest first. One that fails again is set aside again by
    the drain. Applying a record twice is safe, so one applied before it failed costs nothing.
    """
    moved = 0
    for path in failed(journal):
        with contextlib.suppress(FileNotFoundError):  # another sync took it
            move_into(path, journal)
            moved += 1
        path.with_name(path.name + ".code").unlink(missing_ok=True)
    return moved


def set_aside(path: Path, code: str) -> None:
    """Move a record that failed twice to `failed/`, noting which code failed it (`code`, the
    installed code's fingerprint) in a `.code` file beside it: `retry_others` gives another
    version's failures one more try."""
    folder = path.parent / "failed"
    make_folder(folder, path.parent)
    target = move_into(path, folder)
    with contextlib.suppress(OSError):
        target.with_name(target.name + ".code").write_text(code, "utf-8")


def retry_others(journal: Path, code: str) -> int:
    """Put back in the journal the records set aside by other code than `code`; how many.

    An old worker still running when git-aircher was upgraded fails every record once the new
    version has migrated the store ("schema version 4; this git-aircher knows up to 3"), and
    an old version's failures may be its bugs: the new code tries each once more. Its own
    failures stay set aside, for `sync` or `repair` to retry (a record failing for good would
    otherwise be tried at every pass). Records set aside before failures were noted are
    another version's too."""
    moved = 0
    for path in failed(journal):
        note = path.with_name(path.name + ".code")
        try:
            if note.read_text("utf-8") == code:
                continue
        except OSError:
            pass
        with contextlib.suppress(FileNotFoundError):  # another worker took it
            move_into(path, journal)
            moved += 1
        note.unlink(missing_ok=True)
    return moved


def done(ev: Event) -> None:
    if ev.path is not None:
        with contextlib.suppress(FileNotFoundError):
            ev.path.unlink()
