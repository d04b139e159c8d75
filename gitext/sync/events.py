"""Applying one journaled git event: the hook-specific part on top of a worktree catch-up."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from gitext import clock
from gitext.contexts import Context, ensure_worktree_context, write_context_file
from gitext.git.repo import NULL_SHAS, Head, discover, read_head
from gitext.git.run import git
from gitext.ids import derived_id
from gitext.project import Project
from gitext.sync.engine import project_ctx, record_transfer, sync_worktree, touch_worktree
from gitext.sync.journal import Event
from gitext.worktrees import reconcile

SEQUENCE_MARKERS = ("rebase-merge", "rebase-apply", "sequencer", "CHERRY_PICK_HEAD")


def in_sequence(root: Path) -> bool:
    """A rebase or cherry-pick is under way: per-commit work waits for its end."""
    git_dir = discover(root).git_dir
    return any((git_dir / m).exists() for m in SEQUENCE_MARKERS)


def head_at(ev: Event, root: Path) -> Head:
    """The branch as the hook saw it (later events may have moved HEAD since), today's commit."""
    live = read_head(root)
    if not ev.head:
        return live
    if ev.head.startswith("ref: "):
        return Head(live.commit, ev.branch)
    return Head(live.commit, None)


def apply_event(project: Project, ev: Event) -> None:
    root = Path(ev.cwd).resolve()  # a shim records $PWD, which may name it through a symlink
    if not root.is_dir():
        return  # the worktree was removed before we got here; `sync` reconciles its rows
    if ev.hook == "post-checkout":
        _checkout(project, ev, root)
    elif ev.hook == "post-merge":
        sync_worktree(project, root)
        head = head_at(ev, root)
        touch_worktree(project, root, head)
        source = _merged_from_reflog(root)
        if source and head.branch:
            record_transfer(project, project_ctx(project), source, head.branch, head.commit,
                            "post-merge")
            _transfer_knowledge(project, source, head.branch)
    elif ev.hook == "post-rewrite":
        _rewrite(project, ev)
        sync_worktree(project, root)
        touch_worktree(project, root, head_at(ev, root))
    else:  # post-commit, sync and anything that only asks for a catch-up
        sync_worktree(project, root)
        touch_worktree(project, root, head_at(ev, root))


def _checkout(project: Project, ev: Event, root: Path) -> None:
    old, new, flag = (ev.args + ["", "", "1"])[:3]
    if flag != "1":
        sync_worktree(project, root, workdir=True)  # a file checkout: no context switch
        return
    proj = project_ctx(project)
    with project.db("knowledge").read() as conn:
        row = conn.execute(
            "SELECT branch_name FROM worktrees WHERE worktree_path = ?", (str(root),)
        ).fetchone()
    previous = row["branch_name"] if row else None
    sync_worktree(project, root)
    head = head_at(ev, root)
    branch = head.branch
    with project.db("knowledge").write() as conn:
        target = ensure_worktree_context(conn, proj, branch, new or head.commit, root)
        source: Context | None = None
        if previous is not None and old not in NULL_SHAS:
            from gitext.contexts import DETACHED

            source = ensure_worktree_context(
                conn, proj, None if previous == DETACHED else previous, old, root, touch=False
            )
        reason = "worktree-add" if old in NULL_SHAS else "checkout"
        key = ev.path.name if ev.path else f"{old}-{new}-{clock.now()}"
        conn.execute(
            "INSERT OR IGNORE INTO context_switches (id, from_context_id, to_context_id,"
            " switch_reason, switched_at, metadata) VALUES (?, ?, ?, ?, ?, ?)",
            (derived_id("switch", str(root), key), source.id if source else None, target.id,
             reason, clock.now(), json.dumps({"old": old, "new": new, "worktree": str(root)})),
        )
        reconcile(conn, proj.id, _worktrees(root), project.config.seconds(
            "storage.sync.inactive_after"))
    touch_worktree(project, root, Head(head.commit, branch))
    write_context_file(project.layout.worktree_dir(target.name), target, root)


def _worktrees(root: Path) -> list:  # type: ignore[type-arg]
    from gitext.git.repo import list_worktrees

    return list_worktrees(root)


def _rewrite(project: Project, ev: Event) -> None:
    command = ev.args[0] if ev.args else ""
    pairs = []
    for line in ev.stdin:
        parts = line.split()
        if len(parts) >= 2:
            pairs.append((parts[0], parts[1]))
    with project.db("file_index").write() as conn:
        conn.executemany(
            "INSERT OR REPLACE INTO commit_rewrites (old_sha, new_sha, command, rewritten_at)"
            " VALUES (?, ?, ?, ?)",
            [(o, n, command, clock.now()) for o, n in pairs],
        )


def _merged_from_reflog(root: Path) -> str | None:
    """`merge feature: Fast-forward` / `merge feature: Merge made by …` names the branch."""
    out = git(["reflog", "-1", "--format=%gs", "HEAD"], root, check=False).stdout.decode(
        "utf-8", "replace").strip()
    if not out.startswith("merge "):
        return None
    name = out[len("merge "):].split(":", 1)[0].strip()
    return name or None


def _transfer_knowledge(project: Project, source: str, target: str) -> None:
    """Patterns, decisions and insights of the merged branch become the target's too."""
    from gitext.errors import UsageError
    from gitext.insights.transfer import transfer

    with contextlib.suppress(UsageError):  # a branch never seen here has nothing to give
        transfer(project, source, target)
