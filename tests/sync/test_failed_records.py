"""A record whose application fails gets one more try before it is set aside.

The random walk (seed 323 with --serve) killed a `git worktree list` the worker had just
forked, between fork and exec, when the child still looked like the worker; the record of that
commit was set aside in `journal/failed/` and a failure logged, for a failure that had passed a
moment later. Here a real git on PATH kills itself instead (a wrapper in front of it that does
what the SIGKILL did), once or every time, under a worker pass run in the test's process (git
puts its own folder first on a hook's PATH, so a worker a hook starts would pass the wrapper
by).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from gitext.sync import worker
from gitext.sync.journal import Event, append, pending, requeue_failed
from tests.conftest import commit, git, head, open_project
from tests.sync.helpers import failures, query, store, wait_idle


def killing_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, once: bool) -> Path:
    """git in front of the real one, dying of SIGKILL at `git worktree list`; with ``once``,
    only the first time. Returns the file the first death leaves."""
    real = shutil.which("git")
    assert real is not None
    folder = tmp_path / "killing-git"
    folder.mkdir()
    mark = tmp_path / "killed-once"
    test = f'[ ! -e "{mark}" ] && ' if once else ""
    script = folder / "git"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = worktree ] && [ "$2" = list ] && {{ {test}true; }}; then\n'
        f'    : > "{mark}"\n'
        "    kill -9 $$\n"
        "fi\n"
        f'exec "{real}" "$@"\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return mark


def commit_then_apply(repo: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A commit with the hooks off, its record as the post-commit hook writes it, then one
    worker pass over the journal here."""
    monkeypatch.setenv("AIRCHER_SKIP", "1")
    sha = commit(repo, {"src/app.py": "print('again')\n"}, "again")
    monkeypatch.delenv("AIRCHER_SKIP")
    monkeypatch.setattr(worker, "idle_priority", lambda: None)
    with open_project(repo) as project:
        head_line = (project.repo.info.git_dir / "HEAD").read_text().strip()
        append(project.layout.journal, Event("post-commit", str(project.repo.root), head_line))
        worker.drain_all(project)
    return sha


def set_aside(repo: Path) -> list[str]:
    failed = store(repo) / "journal" / "failed"
    return sorted(p.name for p in failed.glob("*.ev")) if failed.is_dir() else []


def test_a_failure_that_passes_loses_nothing(live: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    wait_idle(live)
    mark = killing_git(tmp_path, monkeypatch, once=True)
    sha = commit_then_apply(live, monkeypatch)
    assert mark.exists()  # the worker's first try did die
    assert set_aside(live) == [] and failures(live) == ""
    assert query(live, "knowledge", "SELECT git_commit FROM worktrees") == [(sha,)]
    assert (sha,) in query(live, "file_index", "SELECT git_commit FROM file_changes")


def test_a_failure_that_stays_sets_the_record_aside(live: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    wait_idle(live)
    killing_git(tmp_path, monkeypatch, once=False)
    sha = commit_then_apply(live, monkeypatch)
    assert len(set_aside(live)) == 1 and "failed to apply post-commit" in failures(live)
    assert head(live) == sha


def one_set_aside(live: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A commit's record set aside after failing twice, and then whatever made it fail gone."""
    wait_idle(live)
    path = os.environ["PATH"]
    killing_git(tmp_path, monkeypatch, once=False)
    commit_then_apply(live, monkeypatch)
    assert len(set_aside(live)) == 1
    monkeypatch.setenv("PATH", path)


def test_doctor_reports_set_aside_records_and_sync_tries_them_again(
        live: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aircher: Any) -> None:
    one_set_aside(live, tmp_path, monkeypatch)

    r = aircher(live, "doctor")
    assert r.code == 1
    assert "warning: journal_failed: 1 journal record could not be applied" in r.out
    assert f"the oldest: post-commit in {live}" in r.out

    r = aircher(live, "sync")
    assert r.code == 0, r.err
    assert "1 records set aside after failing were tried again; all applied" in r.out
    assert set_aside(live) == []
    assert "journal_failed" not in aircher(live, "doctor").out


def test_set_aside_records_go_first_and_back_if_they_fail_again(
        live: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wait_idle(live)
    killing_git(tmp_path, monkeypatch, once=False)
    commit_then_apply(live, monkeypatch)
    first = set_aside(live)
    with open_project(live) as project:
        jdir = project.layout.journal
        later = append(jdir, Event("post-checkout", str(project.repo.root), "ref: refs/heads/x"))
        assert requeue_failed(jdir) == 1
        assert [ev.path.name for ev in pending(jdir) if ev.path] == [*first, later.name]
        worker.drain_all(project)
    assert set_aside(live) == sorted([*first, later.name])


def test_repair_tries_set_aside_records_again(
        live: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aircher: Any) -> None:
    one_set_aside(live, tmp_path, monkeypatch)
    r = aircher(live, "repair")
    assert "journal records set aside tried again — 1 tried, 0 failed again" in r.out
    assert set_aside(live) == []


def test_records_of_one_name_set_aside_and_put_back_are_all_kept(tmp_path: Path) -> None:
    """Shims name records by their shell's pid, so two records of one name can meet in
    `failed/` (or `deferred/`, or back in the journal): the rename replaced the one already
    there, an event lost (QA round 15c: 03). Each keeps its time, so their order holds."""
    from gitext.sync.journal import move_into

    journal = tmp_path / "journal"
    failed = journal / "failed"
    failed.mkdir(parents=True)
    for n, when in ((1, 1_000_000_000), (2, 2_000_000_000)):
        record = append(journal, Event(hook="post-checkout", cwd=f"/w{n}"))
        os.utime(record, ns=(when, when))
        record = record.rename(journal / "sh-3-post-checkout.ev")
        move_into(record, failed)
    assert len(list(failed.glob("*.ev"))) == 2
    assert requeue_failed(journal) == 2
    assert [ev.cwd for ev in pending(journal)] == ["/w1", "/w2"]
    assert len({ev.key for ev in pending(journal)}) == 2


def test_records_another_version_set_aside_are_tried_again_by_the_next_worker(
        live: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An old worker still running when git-aircher was upgraded fails every record once the
    new version has migrated the store (QA round 20a: 03): they stayed in `failed/` until a
    `sync` or `repair`, and the switches of the upgrade were lost. The next worker of other
    code tries them once more; its own failures it leaves set aside."""
    one_set_aside(live, tmp_path, monkeypatch)
    failed = store(live) / "journal" / "failed"
    [note] = failed.glob("*.code")  # set aside by this code: not tried at every pass
    with open_project(live) as project:
        worker.run_worker(project, with_follow_ups=False)
    assert len(set_aside(live)) == 1
    note.unlink()  # as a version that noted nothing set it aside
    with open_project(live) as project:
        worker.run_worker(project, with_follow_ups=False)
    assert set_aside(live) == [] and list(failed.iterdir()) == []
    assert query(live, "knowledge", "SELECT git_commit FROM worktrees") == [(head(live),)]


def checkout_recorded(repo: Path, monkeypatch: pytest.MonkeyPatch, branch: str, *,
                      at: int, new: bool = False) -> str:
    """`git checkout [-b] BRANCH` with the hooks off, and its record as the post-checkout shim
    writes it, dated `at` (ns: a shim's record has its file's time and no other)."""
    old = head(repo)
    monkeypatch.setenv("AIRCHER_SKIP", "1")
    git(repo, "checkout", "-q", *(["-b"] if new else []), branch)
    monkeypatch.delenv("AIRCHER_SKIP")
    with open_project(repo) as project:
        head_line = (project.repo.info.git_dir / "HEAD").read_text().strip()
        record = append(project.layout.journal, Event(
            "post-checkout", str(project.repo.root), head_line, [old, head(repo), "1"]))
    os.utime(record, ns=(at, at))
    return record.name


def switches(repo: Path) -> list[tuple[object, ...]]:
    return query(repo, "knowledge",
                 "SELECT f.name || '->' || t.name, s.switched_at FROM context_switches s"
                 " JOIN contexts f ON f.id = s.from_context_id"
                 " JOIN contexts t ON t.id = s.to_context_id ORDER BY s.switched_at, s.rowid")


def test_records_a_busy_database_holds_back_wait_in_the_journal_in_order(
        live: Path, monkeypatch: pytest.MonkeyPatch, aircher: Any) -> None:
    """Another process holding knowledge.db's write lock past busy_timeout (a sqlite3 shell, a
    backup tool) made the worker set the checkout's record aside in `failed/`, as a failure,
    and apply the later records without it: the switch main -> feat was lost until a `sync`,
    which then recorded it after feat -> main, dated when it applied it (QA round 22a: 01).
    Now the records stay in the journal, in order, until the lock is gone; `sync` meanwhile
    fails in one line; each switch is dated by its record."""
    wait_idle(live)
    assert aircher(live, "config", "set", "storage.sqlite.busy_timeout", "100ms").code == 0
    first = checkout_recorded(live, monkeypatch, "feat", new=True, at=1_700_000_000 * 10**9)
    second = checkout_recorded(live, monkeypatch, "main", at=1_700_000_060 * 10**9)
    journal_dir = store(live) / "journal"
    other = sqlite3.connect(store(live) / "db" / "core" / "knowledge.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with open_project(live) as project:
            worker.drain_all(project)
        assert sorted(p.name for p in journal_dir.glob("*.ev")) == sorted([first, second])
        # A worker out of patience leaves them for the next event, query or sync.
        monkeypatch.setattr(worker, "BUSY_PATIENCE", 0.0, raising=False)
        with open_project(live) as project:
            worker.run_worker(project, with_follow_ups=False)
        assert sorted(p.name for p in journal_dir.glob("*.ev")) == sorted([first, second])
        assert "left in the journal" in (store(live) / "logs" / "storage.log").read_text()
        r = aircher(live, "sync")
        assert r.code == 1 and r.err.startswith("error: knowledge.db is busy"), r.err
        assert sorted(p.name for p in journal_dir.glob("*.ev")) == sorted([first, second])
        assert set_aside(live) == [] and switches(live) == []
    finally:
        other.close()
    with open_project(live) as project:  # the next event's worker
        worker.run_worker(project, with_follow_ups=False)
    assert list(journal_dir.glob("*.ev")) == [] and set_aside(live) == []
    assert switches(live) == [("main->feat", "2023-11-14 22:13:20"),
                              ("feat->main", "2023-11-14 22:14:20")]
    assert query(live, "knowledge", "SELECT branch_name FROM worktrees") == [("main",)]


def test_a_worker_kept_from_the_journal_s_slot_waits_once_and_leaves(
        live: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker whose journal slot another process held (a stopped worker; a shell that ran
    `git commit` holding the lock on an inherited descriptor) went round and round: each pass
    found the record still there and ran the follow-ups again, for as long as the slot stayed
    taken (42 minutes, seen). Now it waits for the slot a while, without the follow-ups, and
    leaves the record to the slot's holder and the next event."""
    import fcntl

    wait_idle(live)
    monkeypatch.setenv("AIRCHER_SKIP", "1")
    commit(live, {"src/app.py": "print('held')\n"}, "held")
    monkeypatch.delenv("AIRCHER_SKIP")
    monkeypatch.setattr(worker, "idle_priority", lambda: None)
    monkeypatch.setattr(worker, "SLOT_PATIENCE", 0.5, raising=False)
    rounds: list[int] = []
    real_heavy = worker.heavy

    def counted(project: Any, follow_ups: Any) -> None:
        rounds.append(1)
        if len(rounds) > 3:
            raise AssertionError("the follow-ups ran again and again")
        real_heavy(project, follow_ups)

    monkeypatch.setattr(worker, "heavy", counted)
    lock = (store(live) / "run" / "worker.lock").open("a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open_project(live) as project:
            head_line = (project.repo.info.git_dir / "HEAD").read_text().strip()
            append(project.layout.journal, Event("post-commit", str(project.repo.root),
                                                 head_line))
            worker.run_worker(project)
        assert len(rounds) == 1
        assert len(list((store(live) / "journal").glob("*.ev"))) == 1  # the holder's to apply
    finally:
        lock.close()
    with open_project(live) as project:  # the slot free again: the next worker applies it
        worker.run_worker(project)
    assert list((store(live) / "journal").glob("*.ev")) == []


def test_records_cut_short_are_reported_and_repair_removes_them(
        live: Path, aircher: Any) -> None:
    """A record cut short (a crash, or a full disk: the shim leaves 0 bytes or a few lines) is
    set aside as `*.broken` after a minute, and stayed in the journal for good while doctor
    said "healthy", though the branch switch it carried was lost (QA round 22a: 04)."""
    wait_idle(live)
    jdir = live / ".agents" / "journal"
    (jdir / "sh-998-post-checkout.ev").write_bytes(b"")
    (jdir / "sh-999-post-commit.ev").write_text("aircher-event 1\nhook post-commit\n")
    long_ago = time.time() - 120  # past the minute a writer may still be at it
    for name in ("sh-998-post-checkout.ev", "sh-999-post-commit.ev"):
        os.utime(jdir / name, (long_ago, long_ago))
    assert aircher(live, "sync").code == 0
    assert sorted(p.name for p in jdir.glob("*.broken")) == [
        "sh-998-post-checkout.broken", "sh-999-post-commit.broken"]

    r = aircher(live, "maintain", "--all")
    assert r.code == 0, r.err
    assert len(list(jdir.glob("*.broken"))) == 2  # too young for maintenance: reported first
    r = aircher(live, "doctor")
    assert r.code == 1
    assert ("warning: journal_broken: 2 journal records were cut short (a crash, or a full"
            " disk) and cannot be applied") in r.out, r.out
    assert "the oldest: post-checkout" in r.out and "a branch switch" in r.out
    r = aircher(live, "repair")
    assert r.code == 0, r.out + r.err
    assert "journal records cut short removed — 2" in r.out, r.out
    assert list(jdir.glob("*.broken")) == []
    assert "journal_broken" not in aircher(live, "doctor").out


def test_maintenance_removes_records_cut_short_a_month_ago(live: Path, aircher: Any) -> None:
    """(QA round 22a: 04) A store nobody runs doctor on keeps them no longer than a month."""
    wait_idle(live)
    jdir = live / ".agents" / "journal"
    old, young = jdir / "sh-1-post-checkout.broken", jdir / "sh-2-post-checkout.broken"
    old.write_bytes(b"")
    young.write_bytes(b"")
    month_ago = time.time() - 31 * 86400
    os.utime(old, (month_ago, month_ago))
    assert aircher(live, "maintain", "--daily").code == 0
    assert not old.exists() and young.exists()


def test_doctor_names_a_stopped_worker(live: Path, aircher: Any) -> None:
    """A worker stopped in the background (SIGSTOP, a debugger, `kill -TSTP`) keeps the hooks'
    records waiting, and doctor said "healthy" without naming it."""
    import signal
    import subprocess

    from tests.sync.helpers import mark_active

    wait_idle(live)
    stopped = subprocess.Popen(["sleep", "300"])
    try:
        os.kill(stopped.pid, signal.SIGSTOP)
        mark_active(live, stopped.pid)
        r = aircher(live, "doctor")
        assert r.code == 1, r.out
        assert (f"warning: worker_stopped: the background worker (pid {stopped.pid}) is"
                " stopped") in r.out, r.out
        assert f"kill -CONT {stopped.pid}" in r.out
        os.kill(stopped.pid, signal.SIGCONT)
        assert "worker_stopped" not in aircher(live, "doctor").out
    finally:
        stopped.kill()
        stopped.wait()
        (live / ".agents" / "run" / "active").unlink(missing_ok=True)


def test_a_folder_named_like_a_record_is_passed_over_named_and_moved_out(
        live: Path, aircher: Any) -> None:
    """A folder in the journal named like a record (a tool's leftover, a half-done copy of the
    store): reading it crashed every drain ("unexpected IsADirectoryError", exit 3 from
    `sync`), so no record was applied again, while doctor said "healthy". Now the worker passes
    over it, doctor names it and repair moves it out. (QA round 24b: 07)"""
    wait_idle(live)
    jdir = live / ".agents" / "journal"
    stranger = jdir / "sh-3-post-commit.ev"
    stranger.mkdir()
    (stranger / "note").write_text("not a record\n")
    git(live, "checkout", "-q", "-b", "feat")
    git(live, "checkout", "-q", "-")
    r = aircher(live, "sync")
    assert r.code == 0, r.err
    assert [p.name for p in jdir.glob("*.ev")] == [stranger.name]  # the two switches applied

    r = aircher(live, "doctor")
    assert r.code == 1
    assert f"warning: journal_stranger: 1 entry of {jdir} named like a record but not a file" \
        in r.out, r.out
    r = aircher(live, "repair")
    assert r.code == 0, r.out + r.err
    assert "moved out of the journal what is not a record — 1" in r.out, r.out
    assert not stranger.exists()
    kept = list((store(live) / "content" / "backups").glob("damaged-*/journal/*/note"))
    assert [k.read_text() for k in kept] == ["not a record\n"]
    assert "journal_stranger" not in aircher(live, "doctor").out
