"""Worktrees coming and going, concurrent commits, and a worker killed in the middle."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from gitext.project import Project
from gitext.sync.api import rebuild_from_git
from gitext.sync.engine import sync_worktree
from tests.conftest import commit, git, open_project, run_git_aircher
from tests.sync.helpers import changes, failures, mark_active, query, wait_idle


def worktree_rows(repo: Path) -> dict[str, tuple[object, ...]]:
    return {str(r[0]): r[1:] for r in query(
        repo, "knowledge", "SELECT worktree_path, branch_name, status FROM worktrees")}


def test_worktree_add_remove_prune(live: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "wt-a", tmp_path / "wt-b"
    git(live, "worktree", "add", "-q", "-b", "a", str(a))
    git(live, "worktree", "add", "-q", "-b", "b", str(b))
    wait_idle(live)
    rows = worktree_rows(live)
    assert rows[str(a.resolve())] == ("a", "active")
    assert rows[str(b.resolve())] == ("b", "active")
    switch = query(live, "knowledge", "SELECT count(*) FROM context_switches WHERE"
                   " switch_reason = 'worktree-add'")
    assert switch == [(2,)]
    for w in (a, b):
        assert run_git_aircher(w, "index").code == 0
    with open_project(live) as project:
        indexed = [project.layout.run_file("indexed", w.resolve()) for w in (a, b)]
    assert all(p.exists() for p in indexed)  # what each worktree's full index covered
    git(live, "worktree", "remove", str(a))
    import shutil

    shutil.rmtree(b)  # gone without git knowing: prunable
    assert run_git_aircher(live, "sync").code == 0
    rows = worktree_rows(live)
    assert rows[str(a.resolve())][1] == "stale"
    assert rows[str(b.resolve())][1] == "stale"
    assert not any(p.exists() for p in indexed)  # their state files in run/ go with them
    git(live, "worktree", "prune")
    assert run_git_aircher(live, "sync").code == 0
    assert worktree_rows(live)[str(b.resolve())][1] == "stale"


def test_a_locked_worktree_whose_folder_is_away_stays_as_it_was(live: Path,
                                                                tmp_path: Path) -> None:
    """`git worktree lock` keeps a worktree on a disk that is not mounted: git still lists it
    (not prunable), and so does the store, view and all; before, it was 'stale'."""
    wt, away = tmp_path / "usb", tmp_path / "elsewhere"
    git(live, "worktree", "add", "-q", "-b", "feat", str(wt))
    commit(wt, {"feat.txt": "only on feat\n"}, "feat")
    wait_idle(live)
    view = query(live, "file_index", "SELECT count(*) FROM worktree_files"
                 " WHERE worktree_path = ?", str(wt.resolve()))
    git(live, "worktree", "lock", "--reason", "on a usb disk", str(wt))
    wt.rename(away)
    commit(live, {"b.txt": "b\n"}, "b")  # any event reconciles the worktrees
    wait_idle(live)
    assert worktree_rows(live)[str(wt.resolve())] == ("feat", "active")
    listed = run_git_aircher(live, "worktree", "list", "--json")
    assert [w["status"] for w in json.loads(listed.out)["worktrees"]
            if w["path"] == str(wt.resolve())] == ["active"]
    assert query(live, "file_index", "SELECT count(*) FROM worktree_files"
                 " WHERE worktree_path = ?", str(wt.resolve())) == view != [(0,)]
    away.rename(wt)
    git(live, "worktree", "unlock", str(wt))


def test_commit_in_linked_worktree_is_recorded_in_main_store(live: Path, tmp_path: Path) -> None:
    wt = tmp_path / "wt"
    git(live, "worktree", "add", "-q", "-b", "side", str(wt))
    sha = commit(wt, {"side.txt": "s\n"}, "side work")
    wait_idle(live)
    assert ("created", "side.txt", sha) in {(r[0], r[2], r[4]) for r in changes(live)}
    view = query(live, "file_index", "SELECT count(*) FROM worktree_files w JOIN files f"
                 " ON f.id = w.file_id WHERE f.path = 'side.txt' AND w.worktree_path = ?",
                 str(wt.resolve()))
    assert view == [(1,)]
    assert not (wt / ".agents").exists()
    assert git(wt, "status", "--porcelain") == ""


def test_a_worker_whose_worktree_is_gone_still_applies_the_others(live: Path,
                                                                    tmp_path: Path) -> None:
    """A worker started by a hook in a linked worktree applies every worktree's records; that
    worktree may be removed meanwhile (the soak walk found a sync asking git in it)."""
    wt = tmp_path / "wt"
    git(live, "worktree", "add", "-q", "-b", "side", str(wt))
    wait_idle(live)
    worker = open_project(wt)  # the worker's project, bound to the linked worktree
    git(live, "worktree", "remove", str(wt))
    sha = commit(live, {"main.txt": "m\n"}, "main work")
    wait_idle(live)
    sync_worktree(worker, live.resolve())
    assert ("created", "main.txt", sha) in {(r[0], r[2], r[4]) for r in changes(live)}


def test_four_worktrees_committing_at_once(live: Path, tmp_path: Path) -> None:
    trees = []
    for i in range(4):
        wt = tmp_path / f"w{i}"
        git(live, "worktree", "add", "-q", "-b", f"w{i}", str(wt))
        trees.append(wt)
    wait_idle(live)
    made: list[str] = []
    lock = threading.Lock()

    def work(i: int, wt: Path) -> None:
        for k in range(5):
            sha = commit(wt, {f"w{i}/f{k}.txt": f"{i}-{k}\n"}, f"w{i} c{k}")
            with lock:
                made.append(sha)

    threads = [threading.Thread(target=work, args=(i, wt)) for i, wt in enumerate(trees)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_idle(live)
    rows = changes(live)
    recorded = [r[4] for r in rows if str(r[2]).startswith("w")]
    assert sorted(recorded) == sorted(made)  # none lost, none twice
    assert len(set(r for r in query(live, "file_index", "SELECT id FROM file_changes"))) == len(
        rows)
    assert failures(live) == ""


def _snapshot(repo: Path) -> dict[str, list[tuple[object, ...]]]:
    return {
        "files": query(repo, "file_index", "SELECT id, path, content_hash, line_count FROM files"
                       " ORDER BY path"),
        "changes": query(repo, "file_index", "SELECT id, change_type, old_path, new_path,"
                         " change_size, git_commit FROM file_changes ORDER BY id"),
        "view": query(repo, "file_index", "SELECT worktree_path, file_id, content_hash FROM"
                      " worktree_files ORDER BY file_id"),
        "rels": query(repo, "file_index", "SELECT id FROM file_relationships ORDER BY id"),
        "snippets": query(repo, "file_index", "SELECT id, line_start, line_end FROM"
                          " file_snippets ORDER BY id"),
    }


def test_worker_killed_mid_apply_then_sync_equals_rebuild(live: Path) -> None:
    wait_idle(live)
    env = {**os.environ, "AIRCHER_SKIP": "1"}
    for i in range(30):  # a backlog the worker needs a moment for
        (live / f"m{i}.py").write_text(f"import os\n\ndef f{i}():\n    return {i}\n")
        subprocess.run(["git", "add", f"m{i}.py"], cwd=live, env=env, check=True)
        subprocess.run(["git", "commit", "-qm", f"m{i}"], cwd=live, env=env, check=True)
    # Queue an event and start a worker ourselves, then kill it with SIGKILL wherever it is.
    assert run_git_aircher(live, "hook", "post-commit").code == 0
    worker = subprocess.Popen([sys.executable, "-m", "gitext.cli", "hook", "run"], cwd=live)
    try:
        worker.wait(timeout=0.3)
    except subprocess.TimeoutExpired:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    wait_idle(live)
    assert run_git_aircher(live, "sync").code == 0
    after_sync = _snapshot(live)
    with Project.locate(live, Path(os.environ["AIRCHER_HOME"]), os.environ) as project:
        rebuild_from_git(project)
    assert _snapshot(live) == after_sync
    assert len([r for r in after_sync["changes"] if str(r[3]).startswith("m")]) == 30


def test_hook_path_imports_nothing_heavy(live: Path) -> None:
    code = (
        "import sys, os\n"
        "from gitext.hooks.entry import run_hook\n"
        "os.environ['AIRCHER_SKIP'] = '0'\n"
        "run_hook(['post-commit'])\n"
        "heavy = [m for m in ('click', 'numpy', 'sklearn', 'scipy', 'sqlite_utils', 'dulwich')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=live, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_hook_environment_variables_do_not_mislead(live: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    commit(other, {"other.txt": "o\n"}, "other")
    sha = commit(live, {"mine.txt": "m\n"}, "mine")
    wait_idle(live)
    # As git would run it from `other`'s commit: GIT_DIR/GIT_INDEX_FILE point elsewhere.
    env = {**os.environ, "GIT_DIR": str(other / ".git"), "GIT_INDEX_FILE":
           str(other / ".git" / "index"), "GIT_WORK_TREE": str(other)}
    proc = subprocess.run([sys.executable, "-m", "gitext.cli", "sync"], cwd=live, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    paths = {r[0] for r in query(live, "file_index", "SELECT path FROM files")}
    assert "mine.txt" in paths and "other.txt" not in paths
    assert sha in {r[4] for r in changes(live)}


def test_a_removed_worktrees_own_docs_leave_the_docs_list(live: Path, tmp_path: Path) -> None:
    """A Markdown file only a removed worktree had stayed in `knowledge docs list` after
    `git worktree remove` and `git branch -D`: the stale-worktree path dropped its file view
    but not its documentation rows (QA round 20b: 07)."""
    wt = tmp_path / "w"
    git(live, "worktree", "add", "-q", "-b", "wb", str(wt))
    commit(wt, {"side.md": "# Side doc\n\nOnly on wb.\n", "both.md": "# Both\n\nShared.\n"},
           "docs on wb")
    commit(live, {"both.md": "# Both\n\nShared.\n"}, "both has it")
    assert run_git_aircher(wt, "sync").code == 0
    wait_idle(live)

    def listed() -> set[str]:
        out = run_git_aircher(live, "knowledge", "docs", "list", "--json")
        assert out.code == 0, out.err
        return {d["path"] for d in json.loads(out.out)}

    assert {"side.md", "both.md"} <= listed()
    git(live, "worktree", "remove", str(wt))
    git(live, "branch", "-D", "wb")
    assert run_git_aircher(live, "sync").code == 0
    wait_idle(live)
    docs = listed()
    assert "side.md" not in docs
    assert "both.md" in docs  # the main worktree still has it


def test_a_moved_worktree_gets_its_view_at_the_next_event(live: Path, tmp_path: Path) -> None:
    """After `git worktree move` (no hook runs) the store listed the new path as active but
    never built its view: doctor failed with index_behind_git and the worktree's own files
    were 'deleted' until a command ran inside it (QA round 20b: 08)."""
    w, w2, w3 = tmp_path / "w", tmp_path / "w2", tmp_path / "w3"
    git(live, "worktree", "add", "-q", "-b", "wb", str(w))
    commit(w, {"onlyw.py": "only_w = 1\n"}, "w")
    wait_idle(live)

    def held(path: Path) -> list[tuple[object, ...]]:
        return query(live, "file_index", "SELECT f.path, w.git_status FROM worktree_files w"
                     " JOIN files f ON f.id = w.file_id WHERE w.worktree_path = ?"
                     " AND f.path = 'onlyw.py'", str(path.resolve()))

    assert held(w) == [("onlyw.py", "clean")]
    git(live, "worktree", "move", str(w), str(w2))
    commit(live, {"b.txt": "b\n"}, "b")  # an event in another worktree finds the move
    wait_idle(live)
    assert held(w2) == [("onlyw.py", "clean")]
    assert query(live, "file_index", "SELECT git_status FROM files WHERE path = 'onlyw.py'") \
        == [("clean",)]
    git(live, "worktree", "move", str(w2), str(w3))
    assert run_git_aircher(live, "sync").code == 0  # and so does a catch-up
    assert held(w3) == [("onlyw.py", "clean")]
    doctor = run_git_aircher(live, "doctor")
    assert doctor.code == 0, doctor.out + doctor.err


def _switches(repo: Path) -> list[tuple[object, ...]]:
    return query(
        repo, "knowledge",
        "SELECT f.name, t.name, s.switch_reason FROM context_switches s LEFT JOIN contexts f"
        " ON f.id = s.from_context_id JOIN contexts t ON t.id = s.to_context_id"
        " ORDER BY s.rowid")


def test_a_checkout_elsewhere_during_a_sync_keeps_its_switch(live: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    """`git checkout -b feat` in a linked worktree while `git aircher sync` ran in the main
    one, after its drain: the sync's last step moved every worktree's row to git's branch, so
    the checkout's record, applied next, found feat in the row already, a switch to itself,
    and wb -> feat was never recorded (QA round 21b: 03). The checkout is made by a `git`
    stand-in, at the sync's first `git config --get-regexp` (its scan)."""
    w = tmp_path / "w"
    git(live, "worktree", "add", "-q", "-b", "wb", str(w))
    wait_idle(live)
    before = _switches(live)
    real = shutil.which("git")
    stand_in = tmp_path / "bin"
    stand_in.mkdir()
    (stand_in / "git").write_text(
        "#!/bin/sh\n"
        f'case " $* " in *" config --get-regexp "*)\n'
        f'  if mkdir "{tmp_path}/once" 2>/dev/null; then\n'
        f'    (cd "{w}" && "{real}" checkout -q -b feat) || exit 9; fi;; esac\n'
        f'exec "{real}" "$@"\n')
    (stand_in / "git").chmod(0o755)
    with monkeypatch.context() as m:
        m.setenv("PATH", f"{stand_in}{os.pathsep}{os.environ['PATH']}")
        r = run_git_aircher(live, "sync")
    assert r.code == 0, r.err
    assert (tmp_path / "once").is_dir()  # the checkout was made inside the sync
    assert run_git_aircher(live, "sync").code == 0
    wait_idle(live)
    assert _switches(live)[len(before):] == [("wb", "feat", "checkout")]
    assert worktree_rows(live)[str(w.resolve())][:1] == ("feat",)
    assert failures(live) == ""


def test_a_checkout_with_hooks_off_is_in_the_row_after_a_sync(live: Path,
                                                               tmp_path: Path) -> None:
    """Without hooks no record comes: `sync` brings the row to git's branch itself."""
    w = tmp_path / "w"
    git(live, "worktree", "add", "-q", "-b", "wb", str(w))
    wait_idle(live)
    subprocess.run(["git", "checkout", "-q", "-b", "feat"], cwd=w, check=True,
                   env={**os.environ, "AIRCHER_SKIP": "1"})
    assert run_git_aircher(live, "sync").code == 0
    assert worktree_rows(live)[str(w.resolve())][:1] == ("feat",)


def _switch_names(repo: Path) -> list[tuple[object, ...]]:
    return query(repo, "knowledge",
                 "SELECT f.name, t.name, s.switch_reason FROM context_switches s"
                 " LEFT JOIN contexts f ON f.id = s.from_context_id"
                 " JOIN contexts t ON t.id = s.to_context_id ORDER BY s.rowid")


def test_a_checkout_applied_after_its_worktree_moved_is_applied_at_the_new_path(
        live: Path, tmp_path: Path, sleeper: int) -> None:
    """`git switch -c wfix` then at once `git worktree move` (or the repository's folder
    renamed): the checkout's record names the old folder, and applied after the move it was
    taken for a removed worktree's and dropped: `wb -> wfix` was lost, and the session started
    on wb was not taken over by the moved worktree (QA round 21b: 02)."""
    w, w2 = tmp_path / "w", tmp_path / "w2"
    git(live, "worktree", "add", "-q", str(w), "-b", "wb")
    assert run_git_aircher(live, "sync").code == 0
    wait_idle(live)
    started = run_git_aircher(w, "session", "start", "feature", "w work")
    assert started.code == 0, started.err
    marker = mark_active(live, sleeper)
    git(w, "switch", "-q", "-c", "wfix")
    git(live, "worktree", "move", str(w), str(w2))
    marker.unlink()
    assert run_git_aircher(live, "hook", "run").code == 0
    wait_idle(live)
    assert ("wb", "wfix", "checkout") in _switch_names(live)
    shown = run_git_aircher(w2, "session", "show", "--json")
    assert shown.code == 0, shown.err
    assert json.loads(shown.out)["id"] == started.out.strip()
    assert failures(live) == ""
