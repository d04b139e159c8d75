"""Reading git's reflogs (`logs/HEAD` and the branches'): the one place git writes down what a
command was doing (`rebase (start): checkout main`), which hooks are not told. Only the tail
is read: a reflog grows for as long as the clone lives. Light imports: hooks use this."""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

TAIL = 1 << 20  # of a reflog: a rebase of thousands of commits is given up, not read whole

# How a rebase ends in HEAD's log, by either backend and before git 2.26 too ("rebase finished:
# returning to refs/heads/x"): the ref (or commit, for a detached HEAD) it leaves HEAD on.
_RETURNED = re.compile(r"^(?!commit: )\S.* returning to (?P<to>\S+)$")
# What starts another operation: the rebase looked for ended without saying so.
_OTHER = re.compile(r"^(?:checkout: moving from |(?!commit: )\S.* \(start\): )")


class Entry(NamedTuple):
    old: str
    new: str
    message: str
    when: int = 0  # seconds since the epoch, as git wrote it


def read(path: Path) -> list[Entry]:
    """The newest entries of the reflog at `path`, oldest first; none when it cannot be read."""
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, 2)
            fh.seek(max(0, size - TAIL))
            data = fh.read()
    except OSError:
        return []
    lines = data.decode("utf-8", "surrogateescape").split("\n")
    if size > TAIL:
        lines = lines[1:]  # cut in the middle
    entries = []
    for line in lines:
        head, _, message = line.partition("\t")
        parts = head.split(" ", 2)
        if len(parts) == 3:
            who = parts[2].rsplit(" ", 2)
            when = int(who[1]) if len(who) == 3 and who[1].isdigit() else 0
            entries.append(Entry(parts[0], parts[1], message, when))
    return entries


def rebase_returned_to(git_dir: Path, detached: str, by: float,
                       came_from: str | None = None, *, over: bool = False) -> str | None:
    """Where the rebase that moved HEAD to commit `detached` (by the time `by`, from
    `came_from` when given) left it: a ref ("refs/heads/x") or a commit; None while it is
    under way, or when the log does not say. The apply backend names the branch it rebases
    nowhere else until it stops. With `over` (no rebase is under way now), a rebase whose
    lines end without a "returning to" (another command's line next, or none) left HEAD
    detached where it ended: the apply backend writes none for a detached HEAD (`git rebase
    --apply main <commit>`), nor does `git rebase --quit`."""
    entries = read(git_dir / "logs" / "HEAD")
    start = None
    for i in range(len(entries) - 1, -1, -1):
        e = entries[i]
        # Not the rebase's end: its "returning to" line has the last pick's commit too.
        if (e.new == detached and e.when <= by + 1 and _rebasing(e.message)
                and not _RETURNED.match(e.message) and came_from in (None, e.old)):
            start = i
            break
    if start is None:
        return None
    last = entries[start]
    for entry in entries[start + 1:]:
        m = _RETURNED.match(entry.message)
        if m is not None and _rebasing(entry.message):
            return m.group("to")
        if _OTHER.match(entry.message):
            break
        last = entry
    return last.new if over else None


def renamed_at(git_dir: Path, ref: str) -> str | None:
    """The commit `ref` was at when it was last renamed away with HEAD on it (`git branch -m`
    writes "Branch: renamed refs/heads/a to refs/heads/b" into HEAD's log), or None."""
    prefix = f"Branch: renamed {ref} to "
    for entry in reversed(read(git_dir / "logs" / "HEAD")):
        if entry.message.startswith(prefix) and entry.new.strip("0"):
            return entry.new
    return None


def checkout_logged(git_dir: Path, branch: str, commit: str, by: float) -> bool:
    """HEAD's log has a checkout of `branch` that stayed at `commit`, written by the time
    `by`: every checkout of an existing branch writes one; `git checkout --orphan`, whose
    branch has no commit yet, writes none. (No lower bound: git stamps entries with
    GIT_COMMITTER_DATE when it is set.)"""
    for entry in reversed(read(git_dir / "logs" / "HEAD")):
        if (entry.when <= by + 1 and entry.old == commit and entry.new == commit
                and entry.message.startswith("checkout: moving from ")
                and entry.message.endswith(f" to {branch}")):
            return True
    return False


def _rebasing(message: str) -> bool:
    # `pull --rebase` names its steps after itself, with its arguments: "pull -q --rebase
    # origin main (pick): …".
    return message.startswith(("rebase", "pull "))
