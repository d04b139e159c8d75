"""Health: sizes and growth, disk, slow queries, cache rates, error rates, limits."""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from gitext import clock
from gitext.errors import AircherError
from gitext.lifecycle import logs
from gitext.lifecycle.health import check, warnings
from gitext.lifecycle.limits import guard_disk_full
from gitext.lifecycle.querylog import SlowQueryLog, TimedConnection
from gitext.project import Project
from tests.conftest import VENV_BIN, commit, git
from tests.lifecycle.util import add_conversations, counts, integrity

T0 = 1_800_000_000.0


def test_sizes_growth_and_history(project: Project) -> None:
    clock.set_now(T0)
    first = check(project)
    assert {d.name for d in first.databases} == {
        "conversations", "knowledge", "file_index", "sessions"}
    assert all(d.size_bytes > 0 and d.growth_bytes_per_day is None for d in first.databases)
    assert first.store_bytes >= sum(d.size_bytes for d in first.databases)
    add_conversations(project, 30, messages=10)
    clock.set_now(T0 + 86400)
    second = check(project)
    conv = next(d for d in second.databases if d.name == "conversations")
    assert conv.growth_bytes_per_day is not None and conv.growth_bytes_per_day > 0
    history = json.loads((project.layout.run / "health.json").read_text())["history"]
    assert [h["at"] for h in history] == [T0, T0 + 86400]


def test_a_check_made_while_the_clock_was_ahead_does_not_stop_the_size_history(
        project: Project) -> None:
    """A sample was added only when the last one was an hour old: after one check with the
    clock a year ahead (then put right) that was never, so no growth per day and no "reaches
    storage.max_db_size" warning until the clock passed that date (QA round 20c: 06)."""
    clock.set_now(T0 + 365 * 86400)
    check(project)
    clock.set_now(T0)
    check(project)
    add_conversations(project, 30, messages=10)
    clock.set_now(T0 + 2 * 3600)
    report = check(project)
    conv = next(d for d in report.databases if d.name == "conversations")
    assert conv.growth_bytes_per_day is not None and conv.growth_bytes_per_day > 0
    history = json.loads((project.layout.run / "health.json").read_text())["history"]
    assert [h["at"] for h in history] == [T0, T0 + 2 * 3600]


def test_the_archive_is_counted_once_there_is_one(project: Project) -> None:
    """QA round 3: health left conversations_archive.db out, though it grows as conversations
    age and storage.max_db_size applies to it too."""
    from gitext.lifecycle.archive import archive_conversations

    clock.set_now(T0)
    project.config.values["storage.lifecycle.conversation_max_per_project"] = 1
    add_conversations(project, 3, when=clock.to_ts(T0 - 3600))
    assert archive_conversations(project).candidates == 2
    report = check(project)
    archive = next(d for d in report.databases if d.name == "conversations_archive")
    assert archive.size_bytes > 0
    project.config.values["storage.max_db_size"] = str(archive.size_bytes - 1)
    assert "conversations_archive.db is past storage.max_db_size" in warnings(project)


def test_disk_threshold_warns_in_status_line(project: Project) -> None:
    project.config.values["storage.monitoring.disk_usage_alert_threshold"] = 0.0
    report = check(project)
    assert report.disk["alert"] and report.disk["total"] > 0
    assert any(w.startswith("disk ") for w in report.warnings)
    assert any(w.startswith("disk ") for w in warnings(project))
    project.config.values["storage.monitoring.disk_usage_alert_threshold"] = 1.0
    assert not any(w.startswith("disk ") for w in warnings(project))


def test_slow_queries_are_logged_and_counted(project: Project) -> None:
    path = project.layout.db("conversations")
    conn = sqlite3.connect(path, factory=TimedConnection)
    assert isinstance(conn, TimedConnection)
    conn.slow_log = SlowQueryLog(project.layout, 0.0, "conversations")  # everything is "slow"
    conn.execute("SELECT count(*) FROM messages WHERE content LIKE ?", ("%needle%",)).fetchall()
    conn.slow_log = SlowQueryLog(project.layout, 3600.0, "conversations")
    conn.execute("SELECT 1").fetchall()  # fast: not logged
    conn.close()
    text = logs.log_path(project.layout, "performance").read_text()
    assert "slow-query" in text and "db=conversations" in text and "LIKE ?" in text
    assert "SELECT 1" not in text
    report = check(project)
    assert report.slow_queries["count_24h"] == 1
    assert report.slow_queries["slowest"][0]["db"] == "conversations"


def test_the_worker_s_slow_statements_are_counted_apart_and_keys_stay_out(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a large repository the worker's own statements take seconds after each far checkout:
    `status` and `health` warned of them for good, and nothing the user did would help (QA
    round 10a). A value logged with a statement is redacted: message text can hold a key."""
    from gitext.lifecycle import querylog

    key = "AKIA" + "ZQXWCEVRBTNYMUJ7"
    conn = sqlite3.connect(project.layout.db("conversations"), factory=TimedConnection)
    assert isinstance(conn, TimedConnection)
    conn.slow_log = SlowQueryLog(project.layout, 0.0, "conversations")
    monkeypatch.setattr(querylog, "BACKGROUND", True)
    pem = ("-----BEGIN OPENSSH " + "PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAQmFuYW5h\n"
           "-----END OPENSSH " + "PRIVATE KEY-----\n")
    for value in (key, "word " * 38 + key, pem):  # whole, across the cut, on several lines
        for _ in range(4):
            conn.execute("SELECT count(*) FROM messages WHERE content = ?", (value,)).fetchall()
    conn.close()
    log = logs.log_path(project.layout, "performance").read_text()
    assert "AKIA" not in log and "b3BlbnNz" not in log, log
    slow = check(project).slow_queries
    assert slow["count_24h"] == slow["background_24h"] == 12
    assert not any("slow queries" in w for w in warnings(project))


def test_error_rates_read_both_log_formats(project: Project) -> None:
    clock.set_now(T0)
    logs.get_logger(project.layout, "storage").error("something broke")
    logs.get_logger(project.layout, "worktree").info("all fine")
    with logs.log_path(project.layout, "storage").open("a") as fh:
        fh.write(f"{clock.now()} [123] failed to apply post-commit in /x\nTraceback (...)\n")
        fh.write(f"{clock.to_ts(T0 - 3 * 86400)} [123] failed long ago\n")
    report = check(project)
    assert report.errors["by_log"]["storage"] == 2
    assert report.errors["by_log"]["worktree"] == 0
    assert "2 errors in the logs in 24h" in report.warnings


def test_errors_and_slow_queries_logged_while_the_clock_was_ahead_are_not_of_the_last_day(
        project: Project) -> None:
    """The 24-hour window had no upper end: lines logged with the clock 30 days ahead (then put
    right) counted as errors and slow queries "in 24h" in `health` and `status` for a month,
    and so did the warnings of a check made then (QA round 20c: 07)."""
    clock.set_now(T0 + 30 * 86400)
    for _ in range(4):
        logs.get_logger(project.layout, "storage").error("archive unreadable")
    for _ in range(12):
        logs.get_logger(project.layout, "performance").warning(
            "slow-query 2.000s db=conversations sql=SELECT 1 params=()")
    crash = project.layout.logs / "crash-20270101T000000-1.log"
    crash.write_text("Traceback (...)\n")
    os.utime(crash, (time.time() + 30 * 86400, time.time() + 30 * 86400))
    ahead = check(project)
    assert ahead.errors["total"] == 4 and ahead.slow_queries["count_24h"] == 12
    clock.set_now(T0 + 2 * 86400)
    assert not any("errors in the logs" in w or "slow queries" in w
                   for w in warnings(project))  # the check made while ahead is not trusted
    report = check(project)
    assert report.errors["total"] == 0 and report.errors["crash_logs"] == 0
    assert report.slow_queries["count_24h"] == 0
    assert not any("errors in the logs" in w for w in report.warnings)
    clock.set_now(T0 + 30 * 86400 + 3600)  # the clock has caught up: they are of the last day
    assert check(project).errors["total"] == 4


def test_embedding_reuse_counts_views_across_worktrees(
        project: Project, aircher: object) -> None:
    root = project.repo.root
    files = {f"src/mod_{n}.py": f"def handler_{n}(request):\n    return {n}\n" for n in range(3)}
    commit(root, files, "three modules")
    assert aircher(root, "index").code == 0  # type: ignore[operator]
    alone = check(project).cache["embedding_reuse"]
    assert alone["rate"] == 0.0 and alone["views"] == alone["embedded_blobs"] >= 3
    side = root.parent / "side"
    git(root, "worktree", "add", "-q", "-b", "side", str(side))
    commit(side, {"src/mod_0.py": "def handler_0(request):\n    return 'changed'\n"}, "one")
    assert aircher(side, "index").code == 0  # type: ignore[operator]
    cache = check(project).cache
    # The side worktree shows the same blobs but one: only that one was embedded again.
    assert cache["embedding_reuse"]["views"] == 2 * alone["views"]
    assert cache["embedding_reuse"]["embedded_blobs"] == alone["embedded_blobs"] + 1
    assert cache["embedding_reuse"]["rate"] == round(
        1 - (alone["views"] + 1) / (2 * alone["views"]), 4)
    assert cache["session_cache"]["entries"] == 0


def test_health_cli(project: Project, aircher: object) -> None:
    res = aircher(project.repo.root, "health", "--json")  # type: ignore[operator]
    assert res.code == 0, res.err
    data = json.loads(res.out)
    assert {"databases", "disk", "slow_queries", "cache", "errors", "warnings"} <= set(data)
    res = aircher(project.repo.root, "health")  # type: ignore[operator]
    assert res.code == 0 and "conversations" in res.out and "disk:" in res.out


def test_a_full_disk_gives_a_clear_error_and_no_damage(project: Project) -> None:
    add_conversations(project, 2)
    db = project.db("conversations")
    pages = db.writer.execute("PRAGMA page_count").fetchone()[0]
    db.writer.execute(f"PRAGMA max_page_count = {pages}")  # SQLite now reports a full disk
    with pytest.raises(AircherError, match="disk is full") as info, guard_disk_full(
        "conversations.db"
    ):
        add_conversations(project, 200, messages=20)
    assert info.value.hint and "free some space" in info.value.hint
    project.close()
    path = project.layout.db("conversations")
    assert integrity(path) == "ok"
    assert counts(path)["conversations"] == 2  # the failed transaction left nothing behind


def _without_statistics(core: Path) -> None:
    """Each database with no planner statistics and no free page: the weekly ANALYZE then
    makes sqlite_stat1 in new pages at the end of the file, a write past a limit just below
    its size (the store's migrations make the table, and init's ANALYZE fills it)."""
    for path in core.glob("*.db"):
        conn = sqlite3.connect(path)
        try:
            conn.execute("DROP TABLE IF EXISTS sqlite_stat1")
            conn.commit()
            conn.execute("VACUUM")
        finally:
            conn.close()


def _limited(cwd: Path, limit: int, *args: str) -> subprocess.CompletedProcess[str]:
    """`git-aircher ARGS…` with a file size limit (`ulimit -f`): a write past it fails with
    EFBIG, which SQLite mostly reports as "disk I/O error"."""
    return subprocess.run(
        [str(VENV_BIN / "git-aircher"), *args], cwd=cwd, capture_output=True, text=True,
        check=False,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))


def test_a_file_size_limit_is_one_clear_error_and_logs_stay_quiet(project: Project) -> None:
    """On a full disk `maintain --all` (the full-disk hint's own advice) printed ~800 lines of
    "--- Logging error ---" tracebacks, the logging module's handler failing, and `backup
    create`, `sync`, `index` and `search` ended in "unexpected OperationalError: disk I/O
    error" (exit 3, a crash log) when the store's files hit a file size limit or the -shm could
    not be made (QA round 15c: 03). Each is one error line and a hint now; a log that cannot
    be written stays unwritten, silently."""
    repo = project.repo.root
    commit(repo, {f"src/m{i}.py": f"def f{i}(x):\n    return {'x' * 400!r}\n"
                  for i in range(300)}, "many files")  # hooks are off: sync has all to do
    project.close()
    core = project.layout.core
    _without_statistics(core)
    # Below the largest database: its backup copy cannot be made, nor a sync of it all.
    limit = max(p.stat().st_size for p in core.iterdir() if p.is_file()) - 8192
    storage_log = logs.log_path(project.layout, "storage")
    storage_log.write_text("x" * limit)  # the log is at the limit too: every line fails
    before = {p.name: integrity(p) for p in core.glob("*.db")}
    maintain = _limited(repo, limit, "maintain", "--all")
    assert maintain.returncode == 1, maintain.stdout + maintain.stderr
    assert "Logging error" not in maintain.stderr and "Traceback" not in maintain.stderr, \
        maintain.stderr[:3000]
    assert "a file reached the file size limit" in maintain.stdout, maintain.stdout
    for args in (("sync",), ("backup", "create")):
        r = _limited(repo, limit, *args)
        lines = r.stderr.splitlines()
        assert r.returncode == 1, (args, r.stderr[-2000:])
        assert len(lines) == 2, (args, r.stderr[-2000:])
        assert "a file reached the file size limit" in lines[0], (args, r.stderr)
        assert lines[0].endswith("nothing was written (the store is intact)")
        assert lines[1].startswith("hint: raise the limit")
    assert not list(project.layout.backups.glob("2*")), "a partial backup was left behind"
    assert {p.name: integrity(p) for p in core.glob("*.db")} == before


def test_an_io_error_with_room_to_spare_stays_an_io_error(tmp_path: Path) -> None:
    """Only a disk I/O error the file system explains (no room, a file at the size limit) is
    called a full disk (QA round 15c: 03); a failing disk is not hidden behind that line."""
    from gitext.store.space import why_no_room

    assert why_no_room(sqlite3.OperationalError("disk I/O error"), [tmp_path]) is None
    assert why_no_room(sqlite3.OperationalError("database or disk is full")) == "the disk is full"


def test_maintain_out_of_room_does_not_send_the_user_back_to_itself(project: Project) -> None:
    """`maintain --all` failing for want of room said "free some space (`git aircher maintain
    --all` removes what retention allows)": the command that had just failed, with nothing to
    remove (QA round 22a: 05). Its report is shown, and its hint leads elsewhere."""
    repo = project.repo.root
    commit(repo, {f"src/m{i}.py": f"def f{i}(x):\n    return {'x' * 400!r}\n"
                  for i in range(300)}, "many files")
    project.close()
    core = project.layout.core
    _without_statistics(core)
    limit = max(p.stat().st_size for p in core.iterdir() if p.is_file()) - 8192
    r = _limited(repo, limit, "maintain", "--all")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "maintenance (daily, weekly, monthly, quarterly)" in r.stdout, r.stdout
    lines = r.stderr.splitlines()
    assert len(lines) == 2, r.stderr
    assert lines[0].startswith("error: ") and "file size limit" in lines[0], lines
    assert lines[1].startswith("hint: raise the limit"), lines
    assert "maintain" not in lines[1], lines
