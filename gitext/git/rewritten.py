"""The list git gives a post-rewrite hook on standard input, rebuilt for runners that do not pass
it on: the pre-commit framework gives its post-rewrite hooks (and its `.legacy` one, our shim)
only the command, `amend` or `rebase`.

Rebuilt from what git keeps, and only when it leaves no doubt: anything that does not fit gives
no line at all, since a wrong `old new` pair would mark live history as rewritten. Light imports
only: this runs in the hook, on git's path.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import NamedTuple

from gitext.git.reflog import Entry, read
from gitext.git.run import git

# A rebase's steps that amend the commit just made (git runs post-rewrite `amend` for each).
# (`commit: <subject>` is a commit whose subject may hold anything.)
_AMENDING = re.compile(r"^(?:commit \(amend\)|(?!commit: ).+ \((?:reword|squash|fixup)\)): ")
_FINISH = re.compile(r"^(?!commit: )(?P<action>.+) \(finish\): ")
# Subjects `git rebase --autosquash` folds into their target's commit.
_FOLDED = re.compile(r"^(?:fixup|squash|amend)! ")


class Commit(NamedTuple):
    sha: str
    subject: str


def amended(cwd: Path) -> list[str]:
    """The `old new` line of the amend that just happened: the newest entry of HEAD's reflog,
    when it is an amend (`git commit --amend`, or a rebase's reword, squash or fixup step)."""
    entries = _reflog(cwd, "HEAD")
    if entries and _AMENDING.match(entries[-1].message) and entries[-1].old != entries[-1].new:
        return [f"{entries[-1].old} {entries[-1].new}"]
    return []


def rebased(cwd: Path) -> list[str]:
    """The `old new` lines of the rebase that just finished, paired as `git range-diff` pairs
    commits: the commits it left behind (reachable from ORIG_HEAD, not from HEAD) with those it
    made (reachable from HEAD, not from ORIG_HEAD nor from the commit it rebased onto), by
    `git patch-id --stable`, then by a subject both sides hold once, then a `fixup!`,
    `squash!` or `amend!` commit to its target's new commit. A commit left unpaired (dropped,
    squashed under another subject) is left out rather than guessed."""
    head, orig = _rev(cwd, "HEAD"), _rev(cwd, "ORIG_HEAD")
    if not head or not orig or head == orig:
        return []
    onto = _onto(cwd, head, orig)
    if onto is None:
        return []
    old = _commits(cwd, orig, f"^{head}")
    new = _commits(cwd, head, f"^{orig}", f"^{onto}")
    if old is None or new is None or not old or not new:
        return []
    pairs = _pair(cwd, old, new, orig, head, onto)
    if pairs is None:
        return []
    return [f"{c.sha} {pairs[c.sha]}" for c in old if c.sha in pairs]


def _onto(cwd: Path, head: str, orig: str) -> str | None:
    """The commit the rebase that moved HEAD from ORIG_HEAD started from, or None when HEAD's
    reflog does not show such a rebase just finished (ORIG_HEAD is stale: a reset or a merge
    set it since, or the rebase ran with the apply backend, whose hook runs before it ends)."""
    entries = _reflog(cwd, "HEAD")
    if not entries or entries[-1].new != head:
        return None
    finish = _FINISH.match(entries[-1].message)
    if finish is None:
        return None
    action = finish.group("action")
    for entry in reversed(entries[:-1]):
        if _FINISH.match(entry.message):
            return None  # another rebase's end before this one's start: the log is not whole
        if entry.message.startswith(f"{action} (start): "):
            break
    else:
        return None
    onto = entry.new
    if entry.old == orig:
        return onto
    # `git rebase main topic` from another branch: HEAD's log starts from that branch, and the
    # rebased branch's own log says where it was.
    ref = git(["symbolic-ref", "-q", "HEAD"], cwd, check=False).stdout.decode().strip()
    branch = _reflog(cwd, ref) if ref.startswith("refs/heads/") else []
    if branch and branch[-1][:3] == (orig, head, f"{action} (finish): {ref} onto {onto}"):
        return onto
    return None


def _pair(
    cwd: Path, old: list[Commit], new: list[Commit], orig: str, head: str, onto: str
) -> dict[str, str] | None:
    old_ids = _patch_ids(cwd, orig, f"^{head}")
    new_ids = _patch_ids(cwd, head, f"^{orig}", f"^{onto}")
    if old_ids is None or new_ids is None:
        return None
    pairs: dict[str, str] = {}
    # One to one only: two commits of a side with one patch (a change made, undone and made
    # again) or one subject ("wip") could be either.
    by_id = {v: k for k, v in new_ids.items()}
    id_counts, new_id_counts = Counter(old_ids.values()), Counter(new_ids.values())
    for c in old:
        pid = old_ids.get(c.sha)
        if pid is not None and id_counts[pid] == 1 and new_id_counts[pid] == 1:
            pairs[c.sha] = by_id[pid]
    old_subjects, new_subjects = Counter(c.subject for c in old), Counter(c.subject for c in new)
    by_subject = {c.subject: c.sha for c in new}
    for c in old:
        if c.sha not in pairs and old_subjects[c.subject] == 1 and new_subjects[c.subject] == 1:
            pairs[c.sha] = by_subject[c.subject]
    # As git's own list maps a squashed commit to the commit it became part of.
    targets = {c.subject: c.sha for c in old if old_subjects[c.subject] == 1}
    for c in old:
        if c.sha in pairs:
            continue
        subject = c.subject
        while _FOLDED.match(subject):
            subject = _FOLDED.sub("", subject, count=1)
        if subject == c.subject:
            continue
        target = targets.get(subject) or _by_prefix(old, subject)
        if target is not None and target in pairs:
            pairs[c.sha] = pairs[target]
    return pairs


def _by_prefix(commits: list[Commit], name: str) -> str | None:
    """`fixup! 1a2b3c4`: autosquash also takes an abbreviated id for the target."""
    if not re.fullmatch(r"[0-9a-f]{4,40}", name):
        return None
    found = [c.sha for c in commits if c.sha.startswith(name)]
    return found[0] if len(found) == 1 else None


def _rev(cwd: Path, name: str) -> str:
    proc = git(["rev-parse", "-q", "--verify", f"{name}^{{commit}}"], cwd, check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else ""


def _commits(cwd: Path, *revs: str) -> list[Commit] | None:
    proc = git(["log", "--format=%H%x00%s", *revs, "--"], cwd, check=False)
    if proc.returncode != 0:
        return None
    lines = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
    return [Commit(*line.split("\0", 1)) for line in lines if "\0" in line]


def _patch_ids(cwd: Path, *revs: str) -> dict[str, str] | None:
    """Commit -> patch id (merges and empty commits have none)."""
    log = git(["log", "-p", "--format=commit %H", "--no-color", "--no-ext-diff", "--no-textconv",
               *revs, "--"], cwd, check=False)
    if log.returncode != 0:
        return None
    proc = git(["patch-id", "--stable"], cwd, input=log.stdout, check=False)
    if proc.returncode != 0:
        return None
    ids: dict[str, str] = {}
    for line in proc.stdout.decode().splitlines():
        parts = line.split()
        if len(parts) == 2:
            ids[parts[1]] = parts[0]
    return ids


def _reflog(cwd: Path, ref: str) -> list[Entry]:
    """The newest entries of `ref`'s reflog, oldest first; none when it cannot be read."""
    proc = git(["rev-parse", "--git-path", f"logs/{ref}"], cwd, check=False)
    if proc.returncode != 0:
        return []
    path = Path(proc.stdout.decode().strip())
    return read(path if path.is_absolute() else cwd / path)
