"""Workflows a developer runs every day, through the real hooks, checked against git itself.

Each test reduces a bug found by using git-aircher on real histories (httpx, click,
sqlite-utils clones) to the few git commands that show it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import VENV_BIN, commit, git, head, run_git_aircher, write
from tests.sync.helpers import chain, failures, mark_active, query, store, wait_idle


def worktree_rows(repo: Path) -> dict[str, tuple[object, ...]]:
    return {str(r[0]): r[1:] for r in query(
        repo, "knowledge", "SELECT worktree_path, branch_name, git_commit, status FROM worktrees")}


def switches(repo: Path) -> list[tuple[object, ...]]:
    return query(
        repo, "knowledge",
        "SELECT f.name, t.name, s.switch_reason FROM context_switches s LEFT JOIN contexts f"
        " ON f.id = s.from_context_id JOIN contexts t ON t.id = s.to_context_id"
        " ORDER BY s.rowid")


def view(repo: Path, root: Path) -> dict[str, tuple[object, ...]]:
    """This worktree's files as the store sees them: path -> (blob id, git_status)."""
    return {str(r[0]): (r[1], r[2]) for r in query(
        repo, "file_index", "SELECT f.path, w.content_hash, w.git_status FROM worktree_files w"
        " JOIN files f ON f.id = w.file_id WHERE w.worktree_path = ?", str(root.resolve()))}


def tree(root: Path) -> dict[str, tuple[object, ...]]:
    """The same, from git: HEAD's tree, every file clean."""
    out = git(root, "ls-tree", "-r", "-z", "HEAD")
    entries = {}
    for rec in out.split("\0"):
        if rec:
            meta, _, path = rec.partition("\t")
            entries[path] = (meta.split()[2], "clean")
    return entries


def _editor(tmp_path: Path, script: str) -> str:
    editor = tmp_path / "sequence-editor.sh"
    editor.write_text(f"#!/bin/sh\n{script}\n")
    editor.chmod(0o755)
    return str(editor)


# --- rebase: HEAD is detached while commits are replayed ----------------------------------

def _feature_behind_main(live: Path) -> None:
    git(live, "checkout", "-q", "-b", "feature")
    commit(live, {"f1.txt": "1\n"}, "f1")
    commit(live, {"f2.txt": "2\n"}, "f2")
    git(live, "checkout", "-q", "main")
    commit(live, {"m.txt": "m\n"}, "main moves on")
    git(live, "checkout", "-q", "feature")
    wait_idle(live)


@pytest.mark.parametrize("backend", [[], ["--apply"]], ids=["merge", "apply"])
def test_rebase_is_not_a_switch_to_a_detached_head(live: Path, backend: list[str]) -> None:
    """The apply backend (`--apply`, every rebase before git 2.26) detaches HEAD before it
    writes its state, so only its reflog line tells its checkout from the user's: it was a
    switch to "(detached)" (QA round 16b: 02)."""
    _feature_behind_main(live)
    before = switches(live)
    git(live, "rebase", "-q", *backend, "main")
    wait_idle(live)
    # The developer never left `feature`: git detached HEAD only to replay the commits.
    assert switches(live) == before
    names = {r[0] for r in query(live, "knowledge", "SELECT name FROM contexts")}
    assert "(detached)" not in names
    assert worktree_rows(live)[str(live.resolve())][:2] == ("feature", head(live))
    assert failures(live) == ""


def test_rebase_records_deferred_mid_sequence_end_on_the_branch(live: Path,
                                                                  tmp_path: Path) -> None:
    """The journal is drained while the rebase is still going (an `exec` step does it), so the
    rebase's post-checkout and post-commit records are set aside until its post-rewrite;
    applying them after it must not leave the worktree on a detached HEAD."""
    _feature_behind_main(live)
    before = switches(live)
    drain = tmp_path / "drain.py"
    drain.write_text(
        "import os, sys\nfrom pathlib import Path\n"
        "from gitext.project import Project\n"
        "from gitext.sync.drain import drain\nfrom gitext.sync.slots import worker_lock\n"
        "with Project.locate(Path.cwd(), Path(os.environ['AIRCHER_HOME']), os.environ) as p:\n"
        "    with worker_lock(p, wait=True):  # as `git aircher sync` drains\n"
        "        drain(p)\n"
        "    deferred = list((p.layout.journal / 'deferred').glob('*.ev'))\n"
        "    Path(sys.argv[1]).write_text(str(len(deferred)))\n")
    seen = tmp_path / "deferred-count"
    editor = _editor(tmp_path, f"sed -i -e '1a exec {sys.executable} {drain} {seen}' \"$1\"")
    git(live, "-c", f"sequence.editor={editor}", "rebase", "-q", "-i", "main")
    assert int(seen.read_text()) >= 2  # the rebase's post-checkout and first post-commit
    wait_idle(live)
    assert worktree_rows(live)[str(live.resolve())][:2] == ("feature", head(live))
    assert switches(live) == before
    assert list((store(live) / "journal" / "deferred").glob("*.ev")) == []
    assert failures(live) == ""


@pytest.mark.parametrize("backend", [[], ["--apply"]], ids=["merge", "apply"])
def test_rebase_of_a_commit_ends_on_a_detached_head(live: Path, backend: list[str]) -> None:
    """`git rebase main feature~0` leaves HEAD detached: the apply backend writes no
    "returning to" line then, and its records were filed under main, the switch to the
    detached HEAD lost while work there went to "(detached)" (QA round 21b: 05)."""
    _feature_behind_main(live)
    git(live, "checkout", "-q", "main")
    wait_idle(live)
    before = switches(live)
    git(live, "rebase", "-q", *backend, "main", "feature~0")
    wait_idle(live)
    git(live, "switch", "-q", "main")
    wait_idle(live)
    assert switches(live)[len(before):] == [("main", "(detached)", "checkout"),
                                           ("(detached)", "main", "checkout")]
    assert failures(live) == ""


def test_pull_rebase_by_the_apply_backend_is_no_switch(live: Path, tmp_path: Path) -> None:
    """`git pull --rebase` names its reflog lines after itself, with its arguments ("pull
    --rebase origin main (start): …"): the apply backend's detached checkout is no switch."""
    upstream = tmp_path / "upstream.git"
    git(live, "clone", "-q", "--bare", str(live), str(upstream))
    git(live, "remote", "add", "origin", str(upstream))
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(upstream), str(other))
    commit(other, {"up.txt": "from upstream\n"}, "upstream moves on")
    git(other, "push", "-q", "origin", "HEAD:main")
    commit(live, {"mine.txt": "local\n"}, "local work")
    wait_idle(live)
    before = switches(live)
    git(live, "-c", "rebase.backend=apply", "pull", "-q", "--rebase", "origin", "main")
    wait_idle(live)
    assert switches(live) == before
    names = {r[0] for r in query(live, "knowledge", "SELECT name FROM contexts")}
    assert "(detached)" not in names
    assert worktree_rows(live)[str(live.resolve())][:2] == ("main", head(live))
    assert failures(live) == ""


@pytest.mark.parametrize("backend", [[], ["--apply"]], ids=["merge", "apply"])
def test_rebase_of_another_branch_records_the_switch_to_it(live: Path,
                                                           backend: list[str]) -> None:
    """`git rebase main feature` checks `feature` out first: that one is a real switch (the
    apply backend's was main -> (detached): QA round 16b: 02)."""
    _feature_behind_main(live)
    git(live, "checkout", "-q", "main")
    wait_idle(live)
    before = switches(live)
    git(live, "rebase", "-q", *backend, "main", "feature")
    wait_idle(live)
    assert worktree_rows(live)[str(live.resolve())][:2] == ("feature", head(live))
    assert switches(live)[len(before):] == [("main", "feature", "checkout")]


def _rebase_two_commits(live: Path, tmp_path: Path, action: str, *options: str) -> None:
    """Two new commits, then `rebase -i` over them with the second one's `pick` made `action`."""
    base = head(live)
    commit(live, {"a.txt": "a\n"}, "a")
    commit(live, {"b.txt": "b\n"}, "b")
    wait_idle(live)
    editor = _editor(tmp_path, f"sed -i -e '2s/^pick/{action}/' \"$1\"")
    git(live, "-c", f"sequence.editor={editor}", "-c", "core.editor=true",
        "rebase", "-q", "-i", *options, base)
    wait_idle(live)


def test_reword_that_changes_nothing_is_no_rewrite(live: Path, tmp_path: Path) -> None:
    """With the message kept, git's reword amends a commit into itself (same id) and reports
    it to post-rewrite as `X X`: X is live history, and must not be taken for rewritten."""
    _rebase_two_commits(live, tmp_path, "reword", "--force-rebase")
    live_history = set(git(live, "rev-list", "HEAD").split())
    rewritten = {r[0] for r in query(live, "file_index", "SELECT old_sha FROM commit_rewrites")}
    assert query(live, "file_index",
                 "SELECT count(*) FROM commit_rewrites WHERE old_sha = new_sha") == [(0,)]
    assert not (live_history & rewritten)
    # What relevance reads: the chain behind HEAD, every commit of it.
    assert chain(live, head(live)) == git(
        live, "rev-list", "--first-parent", "--reverse", "HEAD").split()


def test_undone_rebase_history_is_live_again(live: Path, tmp_path: Path) -> None:
    _rebase_two_commits(live, tmp_path, "squash")
    git(live, "reset", "-q", "--hard", "ORIG_HEAD")  # the rebase undone
    assert run_git_aircher(live, "sync").code == 0
    assert chain(live, head(live)) == git(
        live, "rev-list", "--first-parent", "--reverse", "HEAD").split()


# --- the work tree's own changes, undone --------------------------------------------------

def test_file_checkout_that_restores_a_file_makes_it_clean_again(live: Path) -> None:
    old = head(live)
    commit(live, {"src/app.py": "print('v2')\n"}, "v2")
    git(live, "checkout", "-q", old, "--", "src/app.py")  # an older version: modified
    wait_idle(live)
    assert view(live, live)["src/app.py"] == (
        git(live, "rev-parse", f"{old}:src/app.py").strip(), "modified")
    git(live, "checkout", "-q", "HEAD", "--", "src/app.py")  # and back
    wait_idle(live)
    assert view(live, live) == tree(live)


def test_index_after_local_edits_are_undone(live: Path) -> None:
    write(live, "src/app.py", "edited\n")
    (live / "README.md").unlink()
    write(live, "notes.txt", "untracked\n")
    assert run_git_aircher(live, "index").code == 0
    assert view(live, live)["src/app.py"][1] == "modified"
    assert "README.md" not in view(live, live)
    git(live, "checkout", "-q", "--", ".")  # every edit undone (a file checkout event too)
    (live / "notes.txt").unlink()
    wait_idle(live)
    assert run_git_aircher(live, "index").code == 0
    assert view(live, live) == tree(live)
    status = dict(query(live, "file_index", "SELECT path, git_status FROM files"))
    assert status["README.md"] == "clean" and status["notes.txt"] == "deleted"


# --- worktrees that go away ---------------------------------------------------------------

def test_removed_worktree_is_stale_at_the_next_commit(live: Path, tmp_path: Path) -> None:
    wt = tmp_path / "wt"
    git(live, "worktree", "add", "-q", "-b", "side", str(wt))
    wait_idle(live)
    assert worktree_rows(live)[str(wt.resolve())][2] == "active"
    git(live, "worktree", "remove", str(wt))  # git runs no hook for this
    commit(live, {"after.txt": "x\n"}, "after the remove")
    wait_idle(live)
    assert worktree_rows(live)[str(wt.resolve())][2] == "stale"


def test_files_only_a_removed_worktree_had_are_deleted(live: Path, tmp_path: Path) -> None:
    wt = tmp_path / "wt"
    git(live, "worktree", "add", "-q", "-b", "side", str(wt))
    commit(wt, {"side-only.txt": "s\n"}, "side work")
    wait_idle(live)
    git(live, "worktree", "remove", str(wt))
    assert run_git_aircher(live, "sync").code == 0
    wait_idle(live)
    assert query(live, "file_index", "SELECT git_status FROM files WHERE path ="
                 " 'side-only.txt'") == [("deleted",)]
    assert query(live, "file_index", "SELECT count(*) FROM worktree_files WHERE worktree_path"
                 " = ?", str(wt.resolve())) == [(0,)]
    # Its history stays.
    assert query(live, "file_index", "SELECT count(*) FROM file_changes WHERE new_path ="
                 " 'side-only.txt'") == [(1,)]


def test_pruned_worktree_folder_reused_by_a_new_worktree(live: Path, tmp_path: Path) -> None:
    wt = tmp_path / "wt"
    git(live, "worktree", "add", "-q", "-b", "one", str(wt))
    commit(wt, {"one.txt": "1\n"}, "one")
    wait_idle(live)
    shutil.rmtree(wt)
    git(live, "worktree", "prune")
    git(live, "worktree", "add", "-q", "-b", "two", str(wt), "main")
    wait_idle(live)
    assert view(live, wt) == tree(wt)
    assert worktree_rows(live)[str(wt.resolve())][:1] == ("two",)


def test_silence_and_exit_status(live: Path) -> None:
    """Hooks print nothing on success and leave git's exit status alone, even for a failed
    merge (git's own 1) or a rebase that stops on a conflict."""
    git(live, "checkout", "-q", "-b", "left")
    commit(live, {"src/app.py": "left\n"}, "left")
    git(live, "checkout", "-q", "main")
    commit(live, {"src/app.py": "right\n"}, "right")
    proc = subprocess.run(["git", "merge", "-q", "left"], cwd=live, capture_output=True,
                          text=True, env=os.environ)
    assert proc.returncode == 1
    assert "git-aircher" not in proc.stdout + proc.stderr
    git(live, "merge", "--abort")
    proc = subprocess.run(["git", "rebase", "-q", "left"], cwd=live, capture_output=True,
                          text=True)
    assert proc.returncode == 1
    assert "git-aircher" not in proc.stdout + proc.stderr
    git(live, "rebase", "--abort")
    wait_idle(live)
    assert worktree_rows(live)[str(live.resolve())][:2] == ("main", head(live))
    assert view(live, live) == tree(live)
    assert failures(live) == ""


# --- the worker is late: git has moved on before a record is applied ---------------------

class _WorkersHeldOff:
    """Both worker slots taken, as a worker busy elsewhere would: records wait in the journal
    while git goes on (on a loaded machine the worker starts a second or more after git)."""

    def __init__(self, repo: Path) -> None:
        self.run = store(repo) / "run"
        self.files: list[object] = []

    def __enter__(self) -> None:
        import fcntl

        self.run.mkdir(parents=True, exist_ok=True)
        for name in ("worker.lock", "heavy.lock"):
            fh = (self.run / name).open("a")
            fcntl.flock(fh, fcntl.LOCK_EX)
            self.files.append(fh)

    def __exit__(self, *exc: object) -> None:
        for fh in self.files:
            fh.close()  # type: ignore[attr-defined]


def test_fast_forward_merge_followed_at_once_by_a_commit(live: Path) -> None:
    git(live, "checkout", "-q", "-b", "ff")
    commit(live, {"ff.txt": "x\n"}, "ff")
    git(live, "checkout", "-q", "main")
    wait_idle(live)
    with _WorkersHeldOff(live):
        git(live, "merge", "-q", "ff")
        commit(live, {"next.txt": "n\n"}, "the next commit, before the worker came")
    assert run_git_aircher(live, "sync").code == 0
    wait_idle(live)
    rel = query(live, "knowledge",
                "SELECT s.name, t.name FROM context_relationships r JOIN contexts s"
                " ON s.id = r.source_context_id JOIN contexts t ON t.id = r.target_context_id"
                " WHERE r.relationship_type = 'knowledge_transfer'")
    assert rel == [("ff", "main")]


def test_checkout_records_applied_late_keep_their_order(live: Path) -> None:
    """Branch switches the worker applies only after git has moved on twice more."""
    git(live, "branch", "a")
    git(live, "branch", "b")
    wait_idle(live)
    with _WorkersHeldOff(live):
        git(live, "checkout", "-q", "a")
        commit(live, {"a.txt": "a\n"}, "on a")
        git(live, "checkout", "-q", "b")
        git(live, "checkout", "-q", "main")
    assert run_git_aircher(live, "sync").code == 0
    wait_idle(live)
    assert switches(live)[-3:] == [("main", "a", "checkout"), ("a", "b", "checkout"),
                                   ("b", "main", "checkout")]
    assert worktree_rows(live)[str(live.resolve())][:2] == ("main", head(live))


@pytest.mark.parametrize("command", [["status"], ["context", "show"], ["decision", "add", "d1"],
                                     ["session", "start", "feature", "x"]],
                         ids=["status", "context-show", "decision-add", "session-start"])
def test_a_command_right_after_checkout_b_leaves_the_switch_to_its_record(
        live: Path, sleeper: int, command: list[str]) -> None:
    """`git checkout -b new` and at once a command that works out the current context, while
    the worker is busy elsewhere: the command made the new branch's context and moved this
    worktree's row to it, so the checkout's record, applied next, found the row on `new`
    already, a switch to itself, and the switch main -> new was never recorded (QA round
    20b: 01)."""
    wait_idle(live)
    before = switches(live)
    marker = mark_active(live, sleeper)
    git(live, "checkout", "-q", "-b", "new")
    r = run_git_aircher(live, *command)
    assert r.code == 0, r.err
    marker.unlink()  # the busy worker's turn has come
    assert run_git_aircher(live, "hook", "run").code == 0
    wait_idle(live)
    assert switches(live)[len(before):] == [("main", "new", "checkout")]
    assert worktree_rows(live)[str(live.resolve())][:2] == ("new", head(live))
    assert failures(live) == ""


def test_worktree_switch_to_a_branch_just_made_there_leaves_that_switch_to_its_record(
        live: Path, sleeper: int, tmp_path: Path) -> None:
    """`git checkout -b feat` in a linked worktree, and at once `git aircher worktree switch
    feat` from the main one, while the worker is busy elsewhere: the switch moved the linked
    worktree's row to feat, so the checkout's record, applied next, found feat in the row
    already, a switch to itself, and wb -> feat was never recorded (QA round 21b: 01)."""
    wt = tmp_path / "wt"
    git(live, "worktree", "add", "-q", "-b", "wb", str(wt))
    wait_idle(live)
    before = switches(live)
    marker = mark_active(live, sleeper)
    git(wt, "checkout", "-q", "-b", "feat")
    r = run_git_aircher(live, "worktree", "switch", "feat")
    assert r.code == 0, r.err
    assert Path(r.out.strip()).resolve() == wt.resolve()
    marker.unlink()  # the busy worker's turn has come
    assert run_git_aircher(live, "hook", "run").code == 0
    wait_idle(live)
    assert switches(live)[len(before):] == [("main", "feat", "worktree switch"),
                                            ("wb", "feat", "checkout")]
    assert worktree_rows(live)[str(wt.resolve())][:2] == ("feat", head(wt))
    assert failures(live) == ""


def _contexts_at(repo: Path) -> dict[str, object]:
    return dict(query(repo, "knowledge", "SELECT name, git_commit FROM contexts WHERE"
                      " context_type = 'worktree'"))


def test_an_orphan_branch_left_at_once_keeps_no_commit(live: Path, sleeper: int) -> None:
    """`git switch --orphan orph && git switch main`, applied by a busy worker after both:
    the orph context was stamped with the commit HEAD was at when the record was applied,
    main's, so `compare main orph` compared instead of saying it has no commit (QA round
    20b: 03)."""
    wait_idle(live)
    before = switches(live)
    marker = mark_active(live, sleeper)
    git(live, "switch", "-q", "--orphan", "orph")
    git(live, "switch", "-q", "main")
    marker.unlink()
    assert run_git_aircher(live, "hook", "run").code == 0
    wait_idle(live)
    assert _contexts_at(live)["orph"] is None
    assert switches(live)[len(before):] == [("main", "orph", "checkout"),
                                            ("orph", "main", "checkout")]
    r = run_git_aircher(live, "compare", "main", "orph")
    assert (r.code, r.err.splitlines()[0]) == (
        1, "error: context 'orph' has no commit: its branch had none when the store last saw it")
    assert failures(live) == ""


def test_a_branch_renamed_before_its_records_are_applied_keeps_its_own_commit(
        live: Path, sleeper: int) -> None:
    """`git checkout feat && git commit && git branch -m feat feat2 && git commit`, applied by
    a busy worker after all of them: each record on feat stamped its context with the commit
    HEAD was at when applied, feat2's newest, and as no later record is on feat, `compare main
    feat` showed feat with a commit made after the rename (QA round 20b: 04)."""
    git(live, "branch", "feat")
    git(live, "branch", "side")
    wait_idle(live)
    marker = mark_active(live, sleeper)
    git(live, "checkout", "-q", "side")  # feat as QA found it: renamed before a commit
    git(live, "branch", "-m", "side", "side2")
    commit(live, {"s.txt": "s\n"}, "on side2 only")
    git(live, "checkout", "-q", "feat")  # and renamed after one
    mine = commit(live, {"f.txt": "f\n"}, "on feat")
    git(live, "branch", "-m", "feat", "feat2")
    commit(live, {"f.txt": "f2\n"}, "on feat2 only")
    marker.unlink()
    assert run_git_aircher(live, "hook", "run").code == 0
    wait_idle(live)
    at = _contexts_at(live)
    assert (at["side"], at["feat"]) == (git(live, "rev-parse", "main").strip(), mine)
    assert (at["side2"], at["feat2"]) == (git(live, "rev-parse", "side2").strip(), head(live))
    compared = json.loads(run_git_aircher(live, "compare", "main", "feat", "--json").out)["b"]
    assert (compared["commit"], [c["subject"] for c in compared["commits"]]) == (
        mine, ["on feat"])
    assert worktree_rows(live)[str(live.resolve())][:2] == ("feat2", head(live))
    assert failures(live) == ""


def test_a_checkout_orphan_branch_left_at_once_keeps_no_commit(live: Path, sleeper: int) -> None:
    """`git checkout --orphan o1 && git switch main`: git's post-checkout for `checkout
    --orphan` names the commit HEAD was on as the new one (`git switch --orphan` the null id),
    so o1 was stamped with main's commit, `compare main o1` compared, and leaving o1 was a
    `worktree-add` from nowhere (QA round 21b: 04). An orphan that got its first commit
    before the record was applied had no commit at the checkout either."""
    wait_idle(live)
    before = switches(live)
    marker = mark_active(live, sleeper)
    git(live, "checkout", "-q", "--orphan", "o1")
    git(live, "switch", "-q", "main")
    git(live, "checkout", "-q", "--orphan", "o2")
    git(live, "commit", "-qm", "o2 root")
    git(live, "switch", "-q", "main")
    marker.unlink()
    assert run_git_aircher(live, "hook", "run").code == 0
    wait_idle(live)
    assert _contexts_at(live)["o1"] is None
    assert switches(live)[len(before):] == [
        ("main", "o1", "checkout"), ("o1", "main", "checkout"),
        ("main", "o2", "checkout"), ("o2", "main", "checkout")]
    r = run_git_aircher(live, "compare", "main", "o1")
    assert (r.code, r.err.splitlines()[0]) == (
        1, "error: context 'o1' has no commit: its branch had none when the store last saw it")
    assert failures(live) == ""


def _rebase_feature_while_held_off(live: Path, sleeper: int, *commands: list[str]) -> list[
        tuple[object, ...]]:
    """`commands` run while a worker is busy elsewhere (`run/active` names a live process: the
    shims leave their records to it), which then gets to their records; the switches added."""
    _feature_behind_main(live)
    git(live, "checkout", "-q", "main")
    wait_idle(live)
    before = switches(live)
    marker = mark_active(live, sleeper)
    for args in commands:
        git(live, *args)
    marker.unlink()  # the busy worker's turn has come
    assert run_git_aircher(live, "hook", "run").code == 0
    wait_idle(live)
    assert worktree_rows(live)[str(live.resolve())][:2] == ("main", head(live))
    assert failures(live) == ""
    return switches(live)[len(before):]


@pytest.mark.parametrize("backend", [[], ["--apply"]], ids=["merge", "apply"])
def test_rebase_applied_by_a_busy_worker_is_no_switch(live: Path, sleeper: int,
                                                      backend: list[str]) -> None:
    """`git checkout feature; git rebase main; git checkout main`, applied by a busy worker once
    all three were done: the rebase's post-checkout (HEAD detached mid-rebase) was filed under
    the branch HEAD was on when the worker got to it, main, which added a switch feature ->
    main besides the real one: 3 switches for 2 (QA round 15c: 04)."""
    added = _rebase_feature_while_held_off(
        live, sleeper, ["checkout", "-q", "feature"], ["rebase", "-q", *backend, "main"],
        ["checkout", "-q", "main"])
    assert added == [("main", "feature", "checkout"), ("feature", "main", "checkout")]


@pytest.mark.parametrize("backend", [[], ["--apply"]], ids=["merge", "apply"])
def test_rebase_of_another_branch_applied_late_is_the_switch_to_it(
        live: Path, sleeper: int, backend: list[str]) -> None:
    """`git rebase main feature` run on main leaves the worktree on feature, with no
    post-checkout of its own: its detached checkout is the switch. Applied after the next
    `git checkout main`, it was filed under main, and the switch to feature was lost
    (QA round 15c: 04)."""
    added = _rebase_feature_while_held_off(
        live, sleeper, ["rebase", "-q", *backend, "main", "feature"],
        ["checkout", "-q", "main"])
    assert added == [("main", "feature", "checkout"), ("feature", "main", "checkout")]


def test_rebases_run_back_to_back_and_synced_at_the_end(live: Path) -> None:
    """Four rounds of `checkout feature; rebase main; checkout main; commit`, faster than any
    worker, applied by `git aircher sync` only at the end: each rebase's detached checkout was
    filed under the branch HEAD was on at the sync, a switch feature -> main the user never
    made (12 switches for 8; run as it comes, 11, one of them to `(detached)`: QA round
    15c: 04)."""
    _feature_behind_main(live)
    git(live, "checkout", "-q", "main")
    wait_idle(live)
    before = switches(live)
    with _WorkersHeldOff(live):
        for i in range(4):
            git(live, "checkout", "-q", "feature")
            git(live, "rebase", "-q", "main")
            git(live, "checkout", "-q", "main")
            commit(live, {"m.txt": f"round {i}\n"}, f"main, round {i}")
    assert run_git_aircher(live, "sync").code == 0
    wait_idle(live)
    assert switches(live)[len(before):] == [
        ("main", "feature", "checkout"), ("feature", "main", "checkout")] * 4
    names = {r[0] for r in query(live, "knowledge", "SELECT name FROM contexts")}
    assert "(detached)" not in names
    assert worktree_rows(live)[str(live.resolve())][:2] == ("main", head(live))
    assert failures(live) == ""


def test_records_written_from_python_mid_rebase_name_the_rebased_branch(
        live: Path, tmp_path: Path) -> None:
    """The hook's Python entry (a shim whose journal moved) records what the shims record:
    mid-rebase, the branch the rebase returns to (QA round 15c: 04)."""
    _feature_behind_main(live)
    hook = f"{VENV_BIN / 'git-aircher'} hook post-commit"
    editor = _editor(tmp_path, f"sed -i -e '1a exec {hook}' \"$1\"")
    journal = store(live) / "journal"
    with _WorkersHeldOff(live):
        git(live, "-c", f"sequence.editor={editor}", "rebase", "-q", "-i", "main")
        records = {p.name: p.read_text() for p in journal.glob("*.ev")}
    from_python = [text for name, text in records.items() if not name.startswith("sh-")]
    assert len(from_python) == 1 and "\nseq rebase\n" in from_python[0]
    assert "\nrebasing refs/heads/feature\n" in from_python[0]
    assert all("\nrebasing refs/heads/feature\n" in text for text in records.values()
               if "\nseq rebase\n" in text)


def test_records_written_from_python_at_an_apply_rebase_s_start_say_rebase(
        live: Path, tmp_path: Path) -> None:
    """The hook's Python entry tells the apply backend's detached checkout by its reflog
    line, as the shims do (QA round 16b: 02)."""
    _feature_behind_main(live)
    hooks = tmp_path / "python-hooks"
    hooks.mkdir()
    (hooks / "post-checkout").write_text(
        f"#!/bin/sh\nexec {VENV_BIN / 'git-aircher'} hook post-checkout \"$@\"\n")
    (hooks / "post-checkout").chmod(0o755)
    journal = store(live) / "journal"
    with _WorkersHeldOff(live):
        git(live, "-c", f"core.hooksPath={hooks}", "rebase", "-q", "--apply", "main")
        git(live, "-c", f"core.hooksPath={hooks}", "checkout", "-q", "--detach", "HEAD~1")
        records = sorted((p.stat().st_mtime_ns, p.read_text()) for p in journal.glob("*.ev"))
    assert [("\nseq rebase\n" in text) for _, text in records] == [True, False]


def test_a_switch_whose_record_has_an_earlier_one_s_name_is_kept(live: Path) -> None:
    """A shim names its record by its shell's pid (`sh-<pid>-post-checkout.ev`), and a
    switch's id was made of that name: a checkout whose hook got a pid an earlier one had (pid
    reuse; every time in a fresh pid namespace, as sandboxes run commands) was taken for that
    earlier switch and dropped (QA round 15c: 03). Each record here is given the same name, as
    such a hook would."""
    wait_idle(live)
    before = switches(live)
    journal = store(live) / "journal"
    for args in (["checkout", "-q", "-b", "x1"], ["checkout", "-q", "main"],
                 ["checkout", "-q", "x1"]):
        with _WorkersHeldOff(live):
            git(live, *args)
            (record,) = journal.glob("*.ev")
            record.rename(journal / "sh-3-post-checkout.ev")
        assert run_git_aircher(live, "sync").code == 0
        wait_idle(live)
    assert switches(live)[len(before):] == [
        ("main", "x1", "checkout"), ("x1", "main", "checkout"), ("main", "x1", "checkout")]
    assert failures(live) == ""


def test_a_command_run_at_a_rebase_s_conflict_leaves_the_switch_before_it(live: Path) -> None:
    """`git checkout feat; git rebase main` stops on a conflict and the agent runs a command
    (sync, a search) while resolving it: its catch-up set the worktree row to the rebase's
    detached HEAD, and the checkout's record, applied after the rebase, read "(detached)" as
    the branch it left (QA round 15c: 05)."""
    git(live, "checkout", "-q", "-b", "feat")
    commit(live, {"src/app.py": "feat\n"}, "feat side")
    git(live, "checkout", "-q", "main")
    commit(live, {"src/app.py": "main\n"}, "main side")
    assert run_git_aircher(live, "sync").code == 0
    wait_idle(live)
    before = switches(live)
    git(live, "checkout", "-q", "feat")
    git(live, "rebase", "main", check=False)  # stops at the conflict
    assert (live / ".git" / "rebase-merge").is_dir()
    # Every command that works out the current context, and a record made at the stop, which
    # is the rebased branch's (QA round 16b: 01, 03).
    for args in (["sync"], ["search", "--json", "--", "feat"], ["status"],
                 ["conversation", "list"], ["decision", "add", "keep both lines"]):
        r = run_git_aircher(live, *args)
        assert r.code == 0, (args, r.err)
    write(live, "src/app.py", "main\nfeat\n")
    git(live, "add", "src/app.py")
    git(live, "-c", "core.editor=true", "rebase", "--continue")
    assert run_git_aircher(live, "sync").code == 0
    wait_idle(live)
    assert switches(live)[len(before):] == [("main", "feat", "checkout")]
    names = {r[0] for r in query(live, "knowledge", "SELECT name FROM contexts")}
    assert "(detached)" not in names
    assert worktree_rows(live)[str(live.resolve())][:2] == ("feat", head(live))
    decided = json.loads(run_git_aircher(live, "decision", "list", "--json").out)
    assert [(d["title"], d["context_name"]) for d in decided] == [("keep both lines", "feat")]
    assert failures(live) == ""


def test_a_stopped_git_am_holds_back_no_record(live: Path, tmp_path: Path) -> None:
    """`git am` keeps its state in rebase-apply/, as the apply backend does: a stopped one was
    taken for a rebase, and every later record of the worktree was held back, `git checkout -b
    other` recorded no switch and made no context (QA round 16b: 06)."""
    git(live, "checkout", "-q", "-b", "feat")
    commit(live, {"src/app.py": "feat\n"}, "feat side")
    git(live, "format-patch", "-q", "-1", "-o", str(tmp_path / "patches"))
    git(live, "checkout", "-q", "main")
    commit(live, {"src/app.py": "main\n"}, "main side")
    wait_idle(live)
    before = switches(live)
    (patch,) = (tmp_path / "patches").glob("*.patch")
    git(live, "am", str(patch), check=False)  # stops: the patch does not apply
    assert (live / ".git" / "rebase-apply" / "applying").exists()
    git(live, "checkout", "-q", "-b", "other")
    assert run_git_aircher(live, "sync").code == 0
    wait_idle(live)
    assert switches(live)[len(before):] == [("main", "other", "checkout")]
    assert not list((store(live) / "journal" / "deferred").glob("*.ev"))
    assert failures(live) == ""


# --- the pre-commit quick look -------------------------------------------------------------

@pytest.mark.parametrize("rel, text, guard", [
    ("docs/caf\u00e9 men\u00fc.md", "nothing secret\n", False),  # an accent: no Python
    ("\u00fcber/settings.py", "KEY = 'AKIA" + "ABCDEFGHIJKLMNOP'\n", True),
    ("\u00fcber/.env", "X=1\n", True),
    (".agents/\u00e9t\u00e9.txt", "x\n", True),
    ("tab\there.txt", "x\n", True),  # still quoted by git: the guard decides
])
def test_quick_look_with_non_ascii_names(repo: Path, tmp_path: Path, rel: str, text: str,
                                         guard: bool) -> None:
    from gitext.hooks.install import install_hooks
    from tests.hooks import fake_tool, log_lines, run

    log = tmp_path / "tool.log"
    install_hooks(repo, executable=fake_tool(tmp_path / "bin", log))
    write(repo, rel, text)
    git(repo, "add", "-f", "--", rel)
    proc = run(repo, str(repo / ".git" / "hooks" / "pre-commit"))
    assert proc.returncode == 0, proc.stderr
    started = [line for line in log_lines(log) if "pre-commit" in line]
    assert started == (["ours pre-commit"] if guard else [])


def test_orphan_branch_starts_with_an_empty_view(live: Path) -> None:
    wait_idle(live)
    git(live, "switch", "-q", "--orphan", "fresh")  # HEAD unborn, work tree and index emptied
    wait_idle(live)
    assert view(live, live) == {}
    assert worktree_rows(live)[str(live.resolve())][:2] == ("fresh", None)
    status = dict(query(live, "file_index", "SELECT path, git_status FROM files"))
    assert set(status.values()) == {"deleted"}
    commit(live, {"new-root.txt": "r\n"}, "a second root")
    wait_idle(live)
    assert view(live, live) == tree(live)


def test_leaving_an_orphan_branch_before_its_first_commit_is_a_switch_from_it(
        live: Path, tmp_path: Path) -> None:
    """git's post-checkout names an unborn branch's commit with the null id, as it names a new
    worktree's previous HEAD: `git switch main` from an orphan branch without a commit was
    recorded as `None -> main (worktree-add)`, though the worktree's row said it was on the
    orphan (QA round 20b: 02). A new worktree is still one, even when an earlier record's look
    at `git worktree list` gave it its row first, as is a new worktree in a gone one's folder."""
    wait_idle(live)
    before = switches(live)
    git(live, "switch", "-q", "--orphan", "orph")
    wait_idle(live)
    git(live, "switch", "-q", "main")
    wait_idle(live)
    assert switches(live)[len(before):] == [("main", "orph", "checkout"),
                                            ("orph", "main", "checkout")]
    before = switches(live)
    with _WorkersHeldOff(live):  # the first record's look at git finds the second worktree
        git(live, "worktree", "add", "-q", "-b", "a", str(tmp_path / "wt-a"))
        git(live, "worktree", "add", "-q", "-b", "b", str(tmp_path / "wt-b"))
    assert run_git_aircher(live, "sync").code == 0
    wait_idle(live)
    shutil.rmtree(tmp_path / "wt-b")
    git(live, "worktree", "prune")
    git(live, "worktree", "add", "-q", "-b", "c", str(tmp_path / "wt-b"))  # its row: on b
    wait_idle(live)
    assert switches(live)[len(before):] == [
        (None, "a", "worktree-add"), (None, "b", "worktree-add"), (None, "c", "worktree-add")]
    assert failures(live) == ""


def test_records_set_aside_in_a_cherry_pick_apply_before_later_ones(live: Path) -> None:
    """A record deferred during a cherry-pick sequence is older than the branch switch that
    follows the sequence: applied after it, it put the worktree back on the old branch."""
    git(live, "checkout", "-q", "-b", "src")
    one = commit(live, {"one.txt": "1\n"}, "one")
    two = commit(live, {"src/app.py": "theirs\n"}, "two")
    git(live, "checkout", "-q", "main")
    commit(live, {"src/app.py": "ours\n"}, "ours")
    git(live, "branch", "other")
    wait_idle(live)
    with _WorkersHeldOff(live):
        proc = subprocess.run(["git", "cherry-pick", one, two], cwd=live, capture_output=True)
        assert proc.returncode == 1  # stopped on `two`: the sequence is still going
        from gitext.project import Project
        from gitext.sync.drain import drain

        # This test holds the worker's slot (_WorkersHeldOff): it drains as the slot's holder.
        with Project.locate(live, Path(os.environ["AIRCHER_HOME"]), os.environ) as project:
            drain(project)  # `one`'s post-commit is set aside
        assert list((store(live) / "journal" / "deferred").glob("*.ev"))
        git(live, "cherry-pick", "--skip")  # the sequence ends
        git(live, "checkout", "-q", "other")
    assert run_git_aircher(live, "hook", "run").code == 0  # the worker (`sync` ends on HEAD)
    wait_idle(live)
    assert worktree_rows(live)[str(live.resolve())][:2] == ("other", head(live))
    assert switches(live)[-1] == ("main", "other", "checkout")


def _transfers(repo: Path) -> list[tuple[object, ...]]:
    return query(
        repo, "knowledge",
        "SELECT s.name, t.name, json_extract(r.metadata, '$.via') FROM context_relationships r"
        " JOIN contexts s ON s.id = r.source_context_id JOIN contexts t"
        " ON t.id = r.target_context_id WHERE r.relationship_type = 'knowledge_transfer'")


def _insight_count(repo: Path, branch: str) -> int:
    out = run_git_aircher(repo, "context", "show", "--json", branch)
    assert out.code == 0, out.err
    return int(json.loads(out.out)["levels"][-1]["holds"]["insights"])


def test_renamed_branch_keeps_its_contexts_knowledge(live: Path) -> None:
    git(live, "checkout", "-q", "-b", "feature/login")
    commit(live, {"src/login.py": "def login():\n    pass\n"}, "login")
    added = run_git_aircher(live, "decision", "add", "Hash passwords with bcrypt")
    assert added.code == 0, added.err
    wait_idle(live)
    git(live, "branch", "-m", "feature/login", "feature/auth")  # git runs no hook for this
    commit(live, {"src/login.py": "def login():\n    return True\n"}, "login works")
    wait_idle(live)
    assert _transfers(live) == [("feature/login", "feature/auth", "rename")]
    assert _insight_count(live, "feature/auth") == 1  # the decision, as a best practice
    # Renaming a branch that is not checked out: the checkout that follows finds it.
    git(live, "checkout", "-q", "main")
    git(live, "branch", "-m", "feature/auth", "feature/sessions")
    git(live, "checkout", "-q", "feature/sessions")
    wait_idle(live)
    assert ("feature/auth", "feature/sessions", "rename") in _transfers(live)
    # A new branch that merely shares history is no rename.
    git(live, "checkout", "-q", "-b", "feature/other")
    commit(live, {"src/other.py": "x = 1\n"}, "other")
    wait_idle(live)
    assert not any(t[1] == "feature/other" for t in _transfers(live))
    assert failures(live) == ""


def test_forced_rename_onto_a_branch_with_a_context_transfers_too(live: Path) -> None:
    git(live, "switch", "-q", "-c", "y")
    assert run_git_aircher(live, "decision", "add", "decision on y").code == 0
    git(live, "switch", "-q", "-c", "x")
    assert run_git_aircher(live, "decision", "add", "decision on x").code == 0
    commit(live, {"x.txt": "x\n"}, "x")
    wait_idle(live)
    git(live, "branch", "-M", "x", "y")  # y's context was looked at when y was new
    commit(live, {"z.txt": "z\n"}, "z")
    wait_idle(live)
    assert _transfers(live) == [("x", "y", "rename")]
    assert _insight_count(live, "y") == 1  # x's decision, as a best practice
    # Renamed while another branch is checked out: the checkout that follows finds it.
    git(live, "switch", "-q", "-c", "w")
    assert run_git_aircher(live, "decision", "add", "decision on w").code == 0
    git(live, "switch", "-q", "main")
    wait_idle(live)
    git(live, "branch", "-M", "w", "y")
    git(live, "switch", "-q", "y")
    wait_idle(live)
    assert _transfers(live) == [("x", "y", "rename"), ("w", "y", "rename")]
    assert failures(live) == ""
