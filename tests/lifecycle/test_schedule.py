"""Scheduling with a pinned clock: what is due runs once per interval, last runs recorded."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from gitext import clock
from gitext.lifecycle.backup import list_backups
from gitext.lifecycle.health import warnings
from gitext.lifecycle.limits import check_size
from gitext.lifecycle.runstate import try_lock
from gitext.lifecycle.schedule import due, load_state, run_due
from gitext.project import Project
from tests.conftest import commit, open_project, run_git_aircher
from tests.sync.helpers import wait_idle

T0 = 1_800_000_000.0
DAY = 86400.0


def test_each_job_runs_once_per_interval(project: Project) -> None:
    clock.set_now(T0)
    assert run_due(project) == ["health", "daily", "weekly", "backup"]
    assert run_due(project) == []  # same instant: nothing twice
    assert len(list_backups(project)) == 1
    state = json.loads((project.layout.run / "lifecycle.json").read_text())
    assert state["last_run"]["daily"] == T0
    assert state["last_run"]["monthly"] == T0  # dated from first sight, not run

    assert run_due(project, now=T0 + 600) == ["health"]  # 5 minutes
    assert run_due(project, now=T0 + DAY) == ["health", "daily", "backup"]
    assert run_due(project, now=T0 + DAY + 60) == []
    assert run_due(project, now=T0 + 7 * DAY) == ["health", "daily", "weekly", "backup"]
    assert run_due(project, now=T0 + 30 * DAY) == [
        "health", "daily", "weekly", "monthly", "backup"]
    assert run_due(project, now=T0 + 90 * DAY) == [
        "health", "daily", "weekly", "monthly", "quarterly", "backup"]
    assert len(list_backups(project)) >= 1


def test_a_last_run_in_the_future_is_not_trusted(project: Project) -> None:
    """(QA round 6: 08)"""
    assert run_due(project, now=T0 + 365 * DAY) == ["health", "daily", "weekly", "backup"]
    # The clock was a year ahead; put right, two days on from before that.
    assert run_due(project, now=T0 + 2 * DAY) == ["health", "daily", "weekly", "backup"]
    state = json.loads((project.layout.run / "lifecycle.json").read_text())
    assert state["last_run"] == {name: T0 + 2 * DAY for name in (
        "health", "daily", "weekly", "monthly", "quarterly", "backup")}
    assert len(list_backups(project)) == 2
    # Back to normal, and a clock set back a little does not run anything twice.
    assert run_due(project, now=T0 + 2 * DAY - 60) == []
    assert run_due(project, now=T0 + 3 * DAY) == ["health", "daily", "backup"]


def test_after_a_clock_that_was_ahead_the_worker_backs_up_again(live: Path) -> None:
    """What a clock a year ahead left behind (last runs and the worker's follow-up stamp in
    the future) holds no job back once the clock is right: the next commit backs up.
    (QA round 6: 08)"""
    wait_idle(live)
    p = open_project(live)
    try:
        ahead = time.time() + 365 * DAY
        path = p.layout.run / "lifecycle.json"
        state = json.loads(path.read_text())
        state["last_run"]["backup"] = ahead
        path.write_text(json.dumps(state))
        stamp = p.layout.follow_up_stamp("lifecycle")
        stamp.touch()
        os.utime(stamp, (ahead, ahead))
        before = {b.id for b in list_backups(p)}
        commit(live, {"b.txt": "b\n"}, "b")
        wait_idle(live)
        state = json.loads(path.read_text())
        assert state["last_run"]["backup"] <= time.time()
        assert {b.id for b in list_backups(p)} - before
    finally:
        p.close()


def test_disabled_backups_are_not_scheduled(project: Project) -> None:
    project.config.values["storage.backup.enabled"] = False
    assert "backup" not in run_due(project, now=T0)
    assert list_backups(project) == []


def test_a_second_scheduler_skips_while_one_runs(project: Project) -> None:
    with try_lock(project.layout.run / "lifecycle.lock") as got:
        assert got
        assert run_due(project, now=T0) == []
    assert "daily" in run_due(project, now=T0)


def test_a_failing_job_is_recorded_and_shown(project: Project) -> None:
    backups = project.layout.backups
    backups.rmdir()
    backups.write_text("a file where the backups folder should be")
    clock.set_now(T0)
    ran = run_due(project)
    assert "backup" in ran and "daily" in ran
    state = json.loads((project.layout.run / "lifecycle.json").read_text())
    assert "backup" in state["errors"] and "daily" not in state["errors"]
    assert any(w.startswith("scheduled backup failed") for w in warnings(project))
    assert "backup" not in run_due(project, now=T0 + 60)  # retried next interval, not at once


def test_past_max_db_size_requests_maintenance(project: Project) -> None:
    clock.set_now(T0)
    run_due(project)
    assert check_size(project) is None
    assert due(project, T0 + 7200) == ["health"]
    project.config.values["storage.max_db_size"] = "10KB"
    message = check_size(project)
    assert message is not None and "max_db_size" in message
    # Asked for: run now (at most hourly) whatever their interval says.
    assert due(project, T0 + 7200) == ["health", "daily", "weekly", "quarterly"]
    assert due(project, T0 + 60) == []  # not within the hour of their last run
    assert run_due(project, now=T0 + 7200) == ["health", "daily", "weekly", "quarterly"]
    state = json.loads((project.layout.run / "lifecycle.json").read_text())
    assert state.get("requested") == []
    assert any("past storage.max_db_size" in w for w in warnings(project))


def test_maintain_records_the_tiers_it_ran(project: Project, aircher,  # type: ignore[no-untyped-def]
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """QA round 13b: 10. `maintain` ran the due tiers without recording them: a minute later
    it ran them again, and so did the scheduler after it."""
    root = project.repo.root
    run_due(project, now=T0)
    at = T0 + 8 * DAY
    monkeypatch.setenv("AIRCHER_NOW", str(int(at)))
    r = aircher(root, "maintain")
    assert r.code == 0 and r.out.startswith("maintenance (daily, weekly): done"), r
    monkeypatch.setenv("AIRCHER_NOW", str(int(at + 60)))
    assert aircher(root, "maintain").out == "nothing is due\n"
    assert due(project, at + 120) == ["health", "backup"]  # neither was maintain's to run
    # A dry run changes nothing, its record included; a tier named runs and is recorded.
    assert aircher(root, "maintain", "--monthly", "--dry-run").code == 0
    assert load_state(project)["last_run"]["monthly"] == T0
    assert aircher(root, "maintain", "--monthly").code == 0
    assert load_state(project)["last_run"]["monthly"] == int(at + 60)


def test_the_worker_checks_max_db_size_after_its_writes(live: Path) -> None:
    """QA round 13b: 01. Nothing called check_size: a store past storage.max_db_size never
    warned nor asked for maintenance."""
    wait_idle(live)
    assert run_git_aircher(live, "config", "set", "storage.max_db_size", "10KB").code == 0
    commit(live, {"b.txt": "b\n"}, "b")
    wait_idle(live)
    p = open_project(live)
    try:
        log = (p.layout.logs / "storage.log").read_text()
        assert "past storage.max_db_size (10KB)" in log and "maintenance requested" in log
        # Asked for; not yet run: init ran the weekly tier within the hour.
        assert load_state(p)["requested"] == ["daily", "quarterly", "weekly"]
    finally:
        p.close()


def test_a_record_waits_for_another_change_of_the_state(project: Project, tmp_path: Path) -> None:
    """`maintain` recorded its tiers by reading and rewriting lifecycle.json with no lock, so
    a scheduler (or a worker asking for a job) changing it at the same moment lost its change,
    or `maintain` lost its own (seen in session 18). Here another process holds the state for a
    moment while it asks for maintenance; both changes must be kept."""
    import subprocess
    import sys

    from gitext.lifecycle.schedule import record

    ready = tmp_path / "ready"
    holder = subprocess.Popen([sys.executable, "-c", f"""
import pathlib, time
from gitext.lifecycle.runstate import updating
with updating(pathlib.Path({str(project.layout.run / "lifecycle.json")!r})) as state:
    pathlib.Path({str(ready)!r}).touch()
    time.sleep(1.0)
    state["requested"] = ["daily"]
"""])
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() and holder.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ready.exists(), "the holder did not start"
        record(project, ["weekly"], now=T0)
    finally:
        assert holder.wait(30) == 0
    state = load_state(project)
    assert state["requested"] == ["daily"] and state["last_run"]["weekly"] == T0  # type: ignore[index]


def test_a_command_starts_the_worker_when_a_backup_is_due(
        live: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """QA round 20c: 05. Only the worker a git event starts ran the schedule: days of work
    recorded through commands (sessions, conversations, queries) with no commit got no backup
    and no session expiry. A command now starts the worker when a job is due, and the worker
    keeps the command's pinned clock (AIRCHER_NOW), as the command does."""
    wait_idle(live)
    r = run_git_aircher(live, "session", "start", "feature", "day one", "--json")
    assert r.code == 0, r.err
    session = json.loads(r.out)["id"]
    p = open_project(live)
    try:
        later = int(time.time() + 3 * DAY)
        monkeypatch.setenv("AIRCHER_NOW", str(later))
        # The worker looks at the schedule once a minute, by the real clock: an hour ago, say.
        hour_ago = time.time() - 3600
        os.utime(p.layout.follow_up_stamp("lifecycle"), (hour_ago, hour_ago))
        assert run_git_aircher(live, "conversation", "list").code == 0
        deadline = time.monotonic() + 60
        while later not in {b.created_epoch for b in list_backups(p)}:
            assert time.monotonic() < deadline, "no backup at the pinned time"
            time.sleep(0.1)
        wait_idle(live)
        assert load_state(p)["last_run"]["daily"] == later  # type: ignore[index]
        shown = json.loads(run_git_aircher(live, "session", "show", session, "--json").out)
        assert shown["status"] == "expired"
    finally:
        p.close()


def test_status_and_health_say_when_the_last_backup_is_overdue(
        project: Project, aircher, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """QA round 20c: 05. Neither named the age of the last backup: three days of work with no
    backup went without a word."""
    from gitext.lifecycle.backup import create_backup

    root = project.repo.root
    clock.set_now(T0)
    create_backup(project)

    def said(when: float) -> list[str]:
        monkeypatch.setenv("AIRCHER_NOW", str(int(when)))
        status, health = aircher(root, "status"), aircher(root, "health")
        assert status.code == 0 and health.code == 0, (status, health)
        return [line for line in (status.out + health.out).splitlines() if "backup" in line]

    assert said(T0 + 2 * DAY) == []  # once missed may be a machine that was off
    lines = said(T0 + 3 * DAY)
    overdue = ("the last backup is 3 days old (backups are due every 24 hours;"
               " `git aircher backup create` makes one now)")
    assert len(lines) == 2 and all(overdue in line for line in lines), lines
    assert lines[0].startswith("warning: ")
    # A backup dated ahead of the clock (made while it was ahead) says nothing of now.
    clock.set_now(T0 + 300 * DAY)
    create_backup(project)
    assert len(said(T0 + 3 * DAY)) == 2
    monkeypatch.setenv("AIRCHER_STORAGE_BACKUP_ENABLED", "false")
    assert said(T0 + 3 * DAY) == []
    monkeypatch.delenv("AIRCHER_STORAGE_BACKUP_ENABLED")
    # No backup at all: late from when the scheduler first saw the store.
    for folder in project.layout.backups.iterdir():
        shutil.rmtree(folder)
    (project.layout.run / "lifecycle.json").write_text(json.dumps({"first_seen": T0}))
    assert said(T0 + DAY) == []
    lines = said(T0 + 5 * DAY)
    assert len(lines) == 2 and all("no backup has been made in 5 days" in x for x in lines)


@pytest.mark.parametrize(("glob", "own", "env", "expected"), [
    # The user's weekly interval, this project's hourly one: the project's.
    ("[storage.backup]\nbackup_interval = '7d'\n", "[storage]\nbackup_interval = '1h'\n", {},
     (True, 3600.0)),
    ("[storage]\nbackup_interval = '1h'\n", "[storage.backup]\nbackup_interval = '3d'\n", {},
     (True, 3 * DAY)),
    # Backups off for the user, back on for this project, by either key.
    ("[storage]\nbackup_enabled = false\n", "[storage.backup]\nenabled = true\n", {},
     (True, DAY)),
    ("[storage.backup]\nenabled = false\n", "[storage]\nbackup_enabled = true\n", {},
     (True, DAY)),
    # The environment over both files.
    ("", "[storage.backup]\nbackup_interval = '3d'\nenabled = false\n",
     {"AIRCHER_STORAGE_BACKUP_INTERVAL": "2h", "AIRCHER_STORAGE_BACKUP_ENABLED": "true"},
     (True, 7200.0)),
    # One layer giving both: [storage.backup]'s interval, and on only when both are.
    ("", "[storage]\nbackup_interval = '1h'\nbackup_enabled = false\n"
         "[storage.backup]\nbackup_interval = '2h'\nenabled = true\n", {},
     (False, 7200.0)),
])
def test_the_later_layer_s_backup_key_wins_whichever_of_the_two_it_is(
        project: Project, monkeypatch: pytest.MonkeyPatch, glob: str, own: str,
        env: dict[str, str], expected: tuple[bool, float]) -> None:
    """The spec names each backup setting twice ([storage] backup_interval/backup_enabled and
    [storage.backup] backup_interval/enabled). The scheduler used [storage.backup]'s interval
    whenever any layer set it, so a user-wide weekly one beat the project's hourly
    `storage.backup_interval`, which `config get` showed; and both enabled keys had to be true
    whatever the layer (QA round 25c: 05). The later layer's key is used now."""
    from gitext.lifecycle.schedule import backup_settings

    project.global_layout.config.write_text(glob)
    project.layout.config.write_text(own)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reopened = open_project(project.repo.root)
    try:
        assert backup_settings(reopened) == expected
    finally:
        reopened.close()
    # `config get` and `list` showed each key's own value: `storage.backup.enabled = true`
    # while the other key had turned backups off. Both names now show the one in force.
    listed = run_git_aircher(project.repo.root, "config", "list", "--json")
    assert listed.code == 0, listed.err
    rows = {r["key"]: r for r in json.loads(listed.out)}
    on = (rows["storage.backup.enabled"], rows["storage.backup_enabled"])
    every = (rows["storage.backup.backup_interval"], rows["storage.backup_interval"])
    assert [r["value"] for r in on] == [expected[0]] * 2, on
    assert every[0]["value"] == every[1]["value"] and every[0]["via"] == every[1]["via"], every
    got = run_git_aircher(project.repo.root, "config", "get", "storage.backup.enabled")
    assert got.out.strip() == str(expected[0]).lower()
