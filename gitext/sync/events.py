"""Applying one journaled git event: the hook-specific part on top of a worktree catch-up."""

from __future__ import annotations

import json
import re
from pathlib import Path

from gitext import clock
from gitext.contexts import (
    DETACHED,
    Context,
    ensure_worktree_context,
    worktree_context_id,
    write_context_file,
)
from gitext.errors import AircherError
from gitext.git.history import object_exists
from gitext.git.repo import NULL_SHAS, Head, discover, read_head
from gitext.git.run import git
from gitext.ids import derived_id
from gitext.project import Project
from gitext.sync.commits import known
from gitext.sync.engine import (
    forget_gone_worktrees,
    project_ctx,
    read_left_behind,
    sync_worktree,
    touch_worktree,
    view_new_worktrees,
)
from gitext.sync.journal import Event, rebase_dir
from gitext.sync.transfers import transfer_knowledge
from gitext.worktrees import as_recorded, reconcile

SEQUENCE_MARKERS = ("sequencer", "CHERRY_PICK_HEAD")  # besides a rebase's (`rebase_dir`)


def sequence_under_way(root: Path) -> str | None:
    """"rebase" or "cherry-pick" while one is under way in the worktree (per-commit work waits
    for its end), else None."""
    try:
        git_dir = discover(root).git_dir
    except AircherError:
        return None  # no longer a worktree (being removed): applying its record says so
    if rebase_dir(git_dir) is not None:
        return "rebase"
    return "cherry-pick" if any((git_dir / m).exists() for m in SEQUENCE_MARKERS) else None


def head_at(project: Project, ev: Event, root: Path) -> Head:
    """The branch as the hook saw it (later events may have moved HEAD since), and its commit.

    Mid-rebase, git detaches HEAD only to replay commits: such a record, applied once the
    rebase has ended (the worker defers it until then), belongs to the branch the rebase
    returned to, which the record names. Not the branch HEAD is on now: a worker that gets to
    the record late finds HEAD wherever the next commands left it (another branch checked out,
    the next rebase's detached HEAD), and filed there the record was a switch the user never
    made (QA round 15c: 04). A record that does not name it (the apply backend writes no
    `head-name` until it stops, and older shims wrote none) is given it by HEAD's reflog, where
    the rebase wrote where it returned to; failing that, the branch the store had for the
    worktree before it, where a rebase usually returns. Before, such a record took HEAD as it
    was when applied (QA round 16b: 02).

    The commit is the record's too, so what a context is stamped with does not depend on when
    the worker gets to it: a detached HEAD's is in the record, a branch's is its tip
    (`_commit_of`). Before, every record took HEAD's commit of the moment, and a record on a
    branch renamed since (`git commit; git branch -m feat feat2; git commit`) left `feat` at
    feat2's newest commit (QA round 20b: 04).
    """
    live = read_head(root)
    if ev.sequence and not ev.head.startswith("ref: "):
        if ev.rebasing:
            branch, ref = ev.rebased_branch, ev.rebasing
        else:
            returned = _returned_to(ev, root)
            if returned is not None:
                branch, ref = returned or None, f"refs/heads/{returned}"
            else:
                before = _branch_before(project, root)
                if before is None:
                    return live
                branch, ref = before or None, f"refs/heads/{before}"
        if branch is None:
            return Head(live.commit, None)  # a detached HEAD rebased: where it ended is HEAD
        return Head(_commit_of(project, root, ref, branch, live), branch)
    if not ev.head:
        return live
    if ev.head.startswith("ref: "):
        ref = ev.head.removeprefix("ref: ").strip()
        return Head(_commit_of(project, root, ref, ev.branch, live, made_commit(ev)), ev.branch)
    detached = ev.head.strip()
    return Head(detached if _SHA.fullmatch(detached) else live.commit, None)


_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def made_commit(ev: Event) -> str | None:
    """The commit a post-commit, post-applypatch or post-merge record says git made (git may
    have lost it since: a rewrite, then `git gc`)."""
    return ev.commit if _SHA.fullmatch(ev.commit) else None


def _commit_of(project: Project, root: Path, ref: str, branch: str | None,
               live: Head, made: str | None = None) -> str | None:
    """Where the branch of `ref` is: HEAD's commit while HEAD is on it (None: unborn), else its
    tip; for a branch gone since (renamed, deleted), where HEAD's reflog says it was renamed
    from, else the commit the record made (`made`), else the commit the store last had for
    it."""
    if live.branch is not None and live.branch == branch:
        return live.commit
    proc = git(["rev-parse", "-q", "--verify", f"{ref}^{{commit}}"], root, check=False)
    tip = proc.stdout.decode().strip()
    if proc.returncode == 0 and tip:
        return tip
    from gitext.git.reflog import renamed_at

    try:
        git_dir = discover(root).git_dir
    except AircherError:
        git_dir = None
    at = renamed_at(git_dir, ref) if git_dir is not None else None
    if at is not None:
        return at
    if made is not None and object_exists(root, made):
        return made
    proj = project_ctx(project)
    with project.db("knowledge").read() as conn:
        row = conn.execute("SELECT git_commit FROM contexts WHERE id = ?",
                           (worktree_context_id(proj.id, branch),)).fetchone()
    return None if row is None else row[0]


def _returned_to(ev: Event, root: Path) -> str | None:
    """The branch the rebase of a record without `rebasing` returned to ("" for a detached
    HEAD), from HEAD's reflog; None when it does not say."""
    from gitext.git.names import readable
    from gitext.git.reflog import rebase_returned_to

    try:
        git_dir = discover(root).git_dir
    except AircherError:
        return None
    by = ev.stamp / 1e9 if ev.stamp else clock.epoch()
    # A post-checkout record names the very move (`old new`); others the commit HEAD was at.
    came_from = ev.args[0] if ev.hook == "post-checkout" and ev.args else None
    ref = rebase_returned_to(git_dir, ev.head.strip(), by, came_from,
                             over=rebase_dir(git_dir) is None)
    if ref is None:
        return None
    return readable(ref.removeprefix("refs/heads/")) if ref.startswith("refs/heads/") else ""


def _branch_before(project: Project, root: Path) -> str | None:
    """The branch the store has for the worktree ("" for a detached HEAD; None: no row)."""
    with project.db("knowledge").read() as conn:
        row = conn.execute("SELECT branch_name FROM worktrees WHERE worktree_path = ?",
                           (str(root),)).fetchone()
    if row is None:
        return None
    return "" if row["branch_name"] == DETACHED else str(row["branch_name"])


def apply_event(project: Project, ev: Event) -> None:
    root = Path(ev.cwd).resolve()  # a shim records $PWD, which may name it through a symlink
    if not root.is_dir():
        moved = moved_to(project, ev)
        if moved is not None:
            # Moved since (`git worktree move`, the repository's folder renamed): the checkout
            # is applied where the worktree is now. Before, it was taken for removed and
            # dropped: the switch was lost, and the gone row kept the branch it had left, so
            # the session started there was not taken over (QA round 21b: 02).
            _checkout(project, ev, moved, moved_from=root)
            return
        # The worktree was removed before we got here: its row turns stale now, not at the
        # next event. Its commits stay on its branch, for whichever worktree meets them next.
        reconcile_from_main(project)
        return
    if ev.hook == "post-checkout":
        _checkout(project, ev, root)
        return
    if ev.hook == "post-merge":
        sync_worktree(project, root)
        head = head_at(project, ev, root)
        touch_worktree(project, root, head)
        _read_left_behind(project, root, ev, head)
        named = _merged_branches(ev.action) if ev.action else _merged_from_reflog(root)
        for name in named if head.branch else []:  # an octopus merges several
            source = _branch_merged(project, root, name)
            if source and head.branch:
                transfer_knowledge(project, project_ctx(project), source, head.branch,
                                   head.commit, "post-merge")
    elif ev.hook == "post-rewrite":
        _rewrite(project, ev)
        sync_worktree(project, root)
        touch_worktree(project, root, head_at(project, ev, root))
    else:  # post-commit, post-applypatch, sync and anything that only asks for a catch-up
        sync_worktree(project, root)
        at = head_at(project, ev, root)
        touch_worktree(project, root, at)
        if ev.hook in ("post-commit", "post-applypatch"):  # `git am` runs no post-commit
            _read_left_behind(project, root, ev, at)
    # git runs no hook when a worktree is removed: every event looks (one `git worktree list`).
    reconcile_worktrees(project, root)


def _read_left_behind(project: Project, root: Path, ev: Event, head: Head) -> None:
    """The history of the record's branch and of the commit it made, where HEAD has left them.
    The branch's tip alone missed a commit its branch no longer has (`git branch -D fix`
    after a squash merge, a `git reset --hard HEAD~1`) when the worker got to the record after
    that: the commit was never recorded, while a quicker worker recorded it for good (QA round
    24d: 02)."""
    read_left_behind(project, root, head.commit, head.branch)
    made = made_commit(ev)
    if made is not None and made != head.commit:
        read_left_behind(project, root, made, head.branch)


def reconcile_worktrees(project: Project, root: Path) -> None:
    """`worktrees` rows for every worktree git lists (new ones added, gone ones 'stale', idle
    ones 'inactive'), and the file view of a gone one dropped (its history stays).

    A row already there keeps its branch and commit: it follows its worktree's own records,
    and git may be ahead of them (a checkout whose record is still waiting would otherwise find
    its new branch in the row already, and record a switch from it to itself).
    """
    proj = project_ctx(project)
    live = _worktrees(root)
    with project.db("knowledge").write() as conn:
        recorded = as_recorded(conn, proj.id, live)
        reconcile(conn, proj.id, recorded, project.config.seconds("storage.sync.inactive_after"))
    forget_gone_worktrees(project, live)
    view_new_worktrees(project, live)


def worktree_gone(project: Project, root: Path) -> bool:
    """Removed, or being removed: not on disk, or no longer a live worktree to git (`git
    worktree remove` deletes the folder's files, `.git` among them, before its own records)."""
    if not root.is_dir():
        return True
    main = project.repo.info.main_root
    if not main.is_dir():
        return False
    from gitext.git.repo import list_worktrees

    try:
        live = {w.path.resolve() for w in list_worktrees(main) if not w.prunable}
    except AircherError:
        return False
    return root.resolve() not in live


def moved_to(project: Project, ev: Event) -> Path | None:
    """Where the worktree of a branch checkout's record is now, when its folder is gone but git
    lists it under another path: the one worktree whose HEAD log has that very checkout (the
    same move between the same commits, to the same branch). A linked worktree keeps its git
    dir through `git worktree move`, and the main worktree's goes with the repository, whose
    store this is; its reflog with it. None for a removed worktree, another record, or no
    reflog to tell."""
    old, new, flag = (ev.args + ["", "", ""])[:3]
    if ev.hook != "post-checkout" or flag != "1" or not new or not ev.head:
        return None
    from gitext.git.reflog import read
    from gitext.git.repo import list_worktrees

    main = project.repo.info.main_root
    try:
        live = [w for w in list_worktrees(main) if not w.bare and not w.prunable]
    except AircherError:
        return None
    branch = ev.branch
    to = f" to {branch}" if branch is not None else ""
    by = ev.stamp / 1e9 if ev.stamp else clock.epoch()
    found = []
    for wt in live:
        path = wt.path.resolve()
        try:
            git_dir = discover(path).git_dir
        except AircherError:
            continue
        for entry in read(git_dir / "logs" / "HEAD"):
            if (entry.old == old and entry.new == new and entry.when <= by + 1
                    and entry.message.startswith("checkout: moving from ")
                    and entry.message.endswith(to)):
                found.append(path)
                break
    return found[0] if len(found) == 1 else None


def reconcile_from_main(project: Project) -> None:
    """`reconcile_worktrees` run from the main worktree, for when the event's one is gone."""
    main = project.repo.info.main_root
    if main.is_dir():
        reconcile_worktrees(project, main)


def _checkout(project: Project, ev: Event, root: Path, moved_from: Path | None = None) -> None:
    """A checkout's record applied to the worktree at `root`; `moved_from`: the folder the
    record names, which that worktree has since been moved away from."""
    old, new, flag = (ev.args + ["", "", "1"])[:3]
    if flag != "1":
        sync_worktree(project, root, workdir=True)  # a file checkout: no context switch
        return
    proj = project_ctx(project)
    with project.db("knowledge").read() as conn:
        # A moved worktree's records so far went to the row of its old folder (the new path's,
        # if any, was made from `git worktree list`, already on the new branch).
        row = conn.execute(
            "SELECT id, branch_name, git_commit, status FROM worktrees WHERE worktree_path = ?",
            (str(moved_from or root),)).fetchone()
    previous = row["branch_name"] if row else None
    # git names the HEAD it left with the null id both for a new worktree (clone, `git worktree
    # add`) and for a branch left before its first commit (`git switch --orphan x`, then
    # another). The row tells them apart: one on a branch without a commit was on that unborn
    # branch; before, leaving it was recorded as a new worktree (QA round 20b: 02). A row with
    # a commit was made from `git worktree list` ahead of this worktree's first record (an
    # earlier record's reconcile, a command run in it), or is a gone worktree's in the same
    # folder: that worktree is new.
    left_unborn = (row is not None and row["git_commit"] is None
                   and (row["status"] != "stale" or moved_from is not None)
                   and previous != DETACHED)
    new_worktree = old in NULL_SHAS and not left_unborn
    sync_worktree(project, root)
    head = head_at(project, ev, root)
    branch = head.branch
    if ev.sequence:
        # A rebase detaching HEAD (applied after it ended): a switch only if the rebase left
        # the worktree on another branch than before (`git rebase main feature`).
        new = head.commit or new
    # The commit git checked out, from the record: HEAD's of the moment the worker gets here
    # may be another branch's (`git switch --orphan x && git switch main` gave x main's
    # commit, and x's compare compared: QA round 20b: 03). The null id: an unborn branch.
    commit = None if new in NULL_SHAS else (new or head.commit)
    if commit is not None and old == new and not ev.sequence and _checked_out_unborn(
            ev, root, branch, commit):
        commit = None
    with project.db("knowledge").write() as conn:
        target = ensure_worktree_context(conn, proj, branch, commit, root)
        source: Context | None = None
        if previous is not None and not new_worktree:
            source = ensure_worktree_context(
                conn, proj, None if previous == DETACHED else previous,
                None if old in NULL_SHAS else old, root, touch=False)
        # Leaving a context for itself is no switch: each `git bisect` step moves a detached
        # HEAD to another detached HEAD, and `git checkout main` on main changes nothing.
        same = source is not None and source.id == target.id
        if not same and not (ev.sequence and previous == target.name):
            reason = "worktree-add" if new_worktree else "checkout"
            key = ev.key if ev.path else f"{old}-{new}-{clock.now()}"
            conn.execute(
                "INSERT OR IGNORE INTO context_switches (id, from_context_id, to_context_id,"
                " switch_reason, switched_at, metadata) VALUES (?, ?, ?, ?, ?, ?)",
                (derived_id("switch", str(root), key), source.id if source else None,
                 target.id, reason, _switched_at(ev),
                 json.dumps({"old": old, "new": new, "worktree": str(root)})),
            )
        if moved_from is not None and row is not None:
            # The gone row's last branch is how the moved worktree takes over its sessions
            # (`records.current._moved_here`): it must be the branch checked out there now.
            conn.execute("UPDATE worktrees SET branch_name = ?, git_commit = ? WHERE id = ?",
                         (branch or DETACHED, commit, row["id"]))
    touch_worktree(project, root, Head(commit, branch))
    write_context_file(project.layout.worktree_dir(target.name), target, root)
    if not new_worktree:
        _read_left_by_checkout(project, root, old, previous)
    reconcile_worktrees(project, root)


def _read_left_by_checkout(project: Project, root: Path, old: str, previous: str | None) -> None:
    """The history of the commit a branch checkout left (git's old HEAD), when the store lacks
    it: commits no record named (made by a command whose hook is not ours, or with hooks off)
    stayed unrecorded, once HEAD had left their branch, until it was checked out again (QA
    round 26b: 01). One indexed look when the store has it, the usual case. Their merges give
    knowledge to the branch the row names only while git has that branch at that commit: a
    row may name a branch left while hooks were off."""
    if not _SHA.fullmatch(old) or old in NULL_SHAS:
        return
    with project.db("file_index").read() as conn:
        if known(conn, [old]):
            return
    branch = previous if previous and previous != DETACHED else None
    if branch is not None:
        proc = git(["rev-parse", "-q", "--verify", f"refs/heads/{branch}^{{commit}}"], root,
                   check=False)
        if proc.returncode != 0 or proc.stdout.decode().strip() != old:
            branch = None
    read_left_behind(project, root, old, branch)


def _switched_at(ev: Event) -> str:
    """When git made the switch: the record's file time (a shim cannot afford a clock process,
    so that is the time a record carries, and what orders the journal). The time of applying
    it put a switch applied late (a record that waited for a busy database, or one set aside
    and tried again by `sync`) after the switches git made later (QA round 22a: 01). A pinned
    clock (AIRCHER_NOW) is the caller's now, and wins."""
    if not ev.stamp or clock.pinned():
        return clock.now()
    return clock.to_ts(ev.stamp / 1e9)


def _checked_out_unborn(ev: Event, root: Path, branch: str | None, commit: str) -> bool:
    """The record's branch had no commit when it was checked out: `git checkout --orphan x`
    names the commit HEAD was on as the new one (`git switch --orphan x` the null id), and
    before, x was stamped with it, `compare main x` compared, and leaving x before its first
    commit was a `worktree-add` from nowhere (QA round 21b: 04).

    A checkout of an existing branch is in HEAD's log; an orphan's is not. Without it (`git
    checkout` alone re-checks out HEAD, and writes none either; no reflog at all) the branch
    tells: an orphan's has no ref until its first commit, and that commit's history does not
    hold the one HEAD was on."""
    if branch is None or not ev.head.startswith("ref: refs/heads/"):
        return False
    from gitext.git.reflog import checkout_logged

    try:
        git_dir = discover(root).git_dir
    except AircherError:
        return False
    by = ev.stamp / 1e9 if ev.stamp else clock.epoch()
    if checkout_logged(git_dir, branch, commit, by):
        return False
    ref = ev.head.removeprefix("ref: ").strip()
    proc = git(["rev-parse", "-q", "--verify", f"{ref}^{{commit}}"], root, check=False)
    if proc.returncode != 0:
        return True
    return git(["merge-base", "--is-ancestor", commit, ref], root, check=False).returncode != 0


def _worktrees(root: Path) -> list:  # type: ignore[type-arg]
    from gitext.git.repo import list_worktrees

    return list_worktrees(root)


def _rewrite(project: Project, ev: Event) -> None:
    command = ev.args[0] if ev.args else ""
    pairs = []
    for line in ev.stdin:
        parts = line.split()
        # git's reword (and the amend inside a squash) can rewrite a commit into itself, and
        # still lists it: `X X` maps nothing, and would mark live history as rewritten.
        if len(parts) >= 2 and parts[0] != parts[1]:
            pairs.append((parts[0], parts[1]))
    with project.db("file_index").write() as conn:
        conn.executemany(
            "INSERT OR REPLACE INTO commit_rewrites (old_sha, new_sha, command, rewritten_at)"
            " VALUES (?, ?, ?, ?)",
            [(o, n, command, clock.now()) for o, n in pairs],
        )


def _branch_merged(project: Project, root: Path, name: str) -> str | None:
    """The branch context `git merge NAME` gives from (none for `origin/x`, an id, `x~0`
    unless a local branch stands for it: `gitext/sync/merges.py`)."""
    from gitext.sync.merges import branches, transfer_source

    proj = project_ctx(project)
    with project.db("knowledge").read() as conn:
        known = {r[0] for r in conn.execute(
            "SELECT id FROM contexts WHERE context_type = 'worktree'")}
    return transfer_source(name, proj.id, branches(root), known)


def _merged_from_reflog(root: Path) -> list[str]:
    """`merge feature: Fast-forward` / `merge feature: Merge made by …` names the branch (a
    record from an older shim, without git's action: the reflog's newest entry, which is the
    merge's only if git has done nothing since)."""
    out = git(["reflog", "-1", "--format=%gs", "HEAD"], root, check=False).stdout.decode(
        "utf-8", "replace").strip()
    return _merged_branches(out.split(":", 1)[0])


def _merged_branches(action: str) -> list[str]:
    """`merge feature` (GIT_REFLOG_ACTION of `git merge feature`) names the branch, `merge a b`
    (an octopus) each of them: before, an octopus named none (QA round 26b: 03). Anything
    else names none."""
    if not action.startswith("merge "):
        return []
    return list(dict.fromkeys(action[len("merge "):].split()))
