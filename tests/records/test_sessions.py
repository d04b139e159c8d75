from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from gitext import clock
from gitext.errors import UsageError
from gitext.project import Project
from gitext.records import (
    add_message,
    cache_get,
    cache_set,
    current_context,
    end_session,
    get_session,
    list_sessions,
    purge_expired_cache,
    record_compaction,
    record_pattern,
    resolve,
    resolve_preference,
    set_preference,
    start_conversation,
    start_session,
)
from gitext.records.preferences import unset_preference
from gitext.records.session_cache import cache_delete, cache_items
from gitext.records.sessions import TOUCH_SQL, expire_sessions
from gitext.worktrees import worktree_id
from tests.conftest import commit, git
from tests.records.helpers import open_project, rows


def test_session_lifecycle(project: Project) -> None:
    branch = current_context(project)
    s = start_session(project, "feature", "add login")
    ctx = current_context(project)
    assert (ctx.context_type, ctx.parent_id, ctx.id) == ("session", branch.id, s.context_id)
    assert s.project_id == branch.parent_id
    assert s.worktree_id == worktree_id(branch.parent_id or "", project.repo.root)
    assert (s.status, s.task_type, s.task_description) == ("active", "feature", "add login")
    marker = project.layout.sessions / "active" / s.id
    assert json.loads(marker.read_text())["context_id"] == s.context_id
    assert (project.layout.sessions / s.id / "session.json").exists()
    ended = end_session(project)
    assert ended.status == "inactive" and not marker.exists()
    assert current_context(project).id == branch.id
    ctx_status = rows(project, "knowledge", "SELECT status FROM contexts WHERE id = ?",
                      (s.context_id,))
    assert ctx_status[0][0] == "inactive"
    with pytest.raises(UsageError, match="already inactive"):
        end_session(project, s.id)
    with pytest.raises(UsageError, match="no active session"):
        end_session(project)
    with pytest.raises(UsageError, match="task_type"):
        start_session(project, "party")


def test_sessions_belong_to_their_worktree(project: Project, repo: Path) -> None:
    commit(repo, {"b": "b\n"}, "b")
    linked = repo.parent / "linked"
    git(repo, "worktree", "add", "-q", "-b", "feature", str(linked))
    other = open_project(linked)
    try:
        s = start_session(other, "review")
        assert current_context(other).id == s.context_id
        assert current_context(project).context_type == "worktree"
        assert [x.id for x in list_sessions(project, status="active")] == [s.id]
    finally:
        other.close()


def test_two_agents_in_one_worktree_each_record_into_their_own_session(
        project: Project) -> None:
    # Before, B's later session was the current context of both: A's records landed in it.
    root = project.repo.root
    agent_a, agent_b, third = open_project(root), open_project(root), open_project(root)
    try:
        sa = start_session(agent_a, "debugging", "agent A")
        sb = start_session(agent_b, "feature", "agent B")
        assert start_conversation(agent_a, "p").session_id == sa.id
        assert start_conversation(agent_b, "p").session_id == sb.id
        # Any other process (a CLI command) gets the worktree's newest, as before.
        assert current_context(third).id == sb.context_id
        # Ending with no id ends one's own, and then the worktree's current one is used.
        assert end_session(agent_a).id == sa.id
        assert get_session(project, sb.id).status == "active"
        assert start_conversation(agent_a, "p").session_id == sb.id
        # Off its branch, the own session is not current; back on it, it is again.
        sa2 = start_session(agent_a, "review")
        git(root, "switch", "-q", "-c", "other")
        assert current_context(agent_a).context_type == "worktree"
        git(root, "switch", "-q", "-")
        assert current_context(agent_a).id == sa2.context_id
    finally:
        for p in (agent_a, agent_b, third):
            p.close()


def test_an_agent_off_its_own_session_s_branch_never_takes_another_agent_s_session(
        project: Project) -> None:
    """Agent A started its session on main; the branch was switched and agent B started one
    there. A's records were filed in B's session and A's `end_session()` ended B's, while A's
    own stayed active (QA round 25d: 01). Now A's records go to the branch's context, as
    records.md says, and its end_session() ends its own."""
    root = project.repo.root
    agent_a, agent_b = open_project(root), open_project(root)
    try:
        sa = start_session(agent_a, "feature", "agent A")
        git(root, "switch", "-q", "-c", "side")
        sb = start_session(agent_b, "review", "agent B")
        conv = start_conversation(agent_a, "p")
        assert conv.session_id is None
        assert conv.context_id == current_context(agent_a).id
        assert current_context(agent_a).context_type == "worktree"
        assert current_context(agent_b).id == sb.context_id
        assert end_session(agent_a).id == sa.id
        assert get_session(project, sb.id).status == "active"
    finally:
        for p in (agent_a, agent_b):
            p.close()


def test_a_session_ended_or_expired_since_it_was_read_is_not_ended_again(
        project: Project) -> None:
    """`end_session` read the status, then wrote "inactive" whatever it was by then: of several
    agents ending one session at once, two or more were told "ended" (each rewriting its times),
    and an end overwrote an `expired` that maintenance had just written (QA round 25d: 08).
    The write checks the status now; the race is replayed here by ending a Session read
    before another end, and before an expiry."""
    from gitext.records.sessions import _end

    other = open_project(project.repo.root)
    try:
        s = start_session(project, "review")
        read_before = get_session(project, s.id)
        assert end_session(other, s.id).status == "inactive"
        times = rows(project, "sessions", "SELECT last_activity FROM sessions WHERE id = ?",
                     (s.id,))
        clock.set_now(2_000_000_000)
        with pytest.raises(UsageError, match="already inactive"):
            _end(project, read_before)
        assert rows(project, "sessions", "SELECT last_activity FROM sessions WHERE id = ?",
                    (s.id,)) == times

        clock.set_now(None)
        t = start_session(project, "review")
        read_before = get_session(project, t.id)
        clock.set_now(2_000_000_000)
        assert expire_sessions(other, 60) == 1
        with pytest.raises(UsageError, match="already expired"):
            _end(project, read_before)
        assert get_session(project, t.id).status == "expired"
    finally:
        other.close()


def test_cache_expiry(project: Project) -> None:
    s = start_session(project, "debugging")
    clock.set_now(1_900_000_000)
    cache_set(project, s.id, "short", {"v": 1}, ttl_seconds=60)
    cache_set(project, s.id, "forever", [1, 2])
    # A time to live past the year 9999 is no expiry, not an overflow.
    cache_set(project, s.id, "ages", "x", ttl_seconds=1e20)
    assert rows(project, "sessions", "SELECT expires_at FROM session_cache"
                " WHERE cache_key = 'ages'")[0][0] is None
    cache_delete(project, s.id, "ages")
    assert cache_get(project, s.id, "short") == {"v": 1}
    clock.set_now(1_900_000_061)
    assert cache_get(project, s.id, "short", "gone") == "gone"  # expired, not yet purged
    assert cache_items(project, s.id) == {"forever": [1, 2]}
    assert purge_expired_cache(project) == 1
    assert rows(project, "sessions", "SELECT cache_key FROM session_cache")[0][0] == "forever"
    with pytest.raises(UsageError, match="no session"):
        cache_set(project, "nope", "k", 1)
    with pytest.raises(UsageError, match="^ttl_seconds must be at least 0, got -1$"):
        cache_set(project, s.id, "k", 1, ttl_seconds=-1)
    idle_since = get_session(project, s.id).last_activity  # the last cache_set
    clock.set_now(1_900_100_000)
    assert expire_sessions(project, idle_seconds=3600) == 1
    expired = list_sessions(project)[0]
    # Expiry is not activity: last_activity stays the last record; the time it expired is
    # where an end's time is, its context's last_active.
    assert (expired.status, expired.last_activity) == ("expired", idle_since)
    assert rows(project, "knowledge", "SELECT status, last_active FROM contexts WHERE id = ?",
                (s.context_id,))[0][:] == ("inactive", clock.to_ts(1_900_100_000))


def test_a_session_touched_while_expiry_runs_stays_active(project: Project) -> None:
    """Expiry read the idle sessions, then updated each: a session a message touched in
    between was expired though active (session 18: sync-2). Here the touch is another
    connection's write, held open until expiry is about to write and committed then: expiry
    must see it."""
    clock.set_now(1_900_000_000)
    s = start_session(project, "feature", "long task")
    clock.set_now(1_900_000_000 + 7200)  # two hours idle: past the cutoff of one
    db = project.db("sessions")
    writing = threading.Event()
    # Set when expiry's write transaction starts (it then waits for the other's lock).
    db.writer.set_trace_callback(lambda sql: writing.set() if "BEGIN" in sql else None)
    other = sqlite3.connect(project.layout.db("sessions"), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute(TOUCH_SQL, (clock.now(), s.id, clock.now()))
        expired: list[int] = []
        expiry = threading.Thread(target=lambda: expired.append(expire_sessions(project, 3600)))
        expiry.start()
        assert writing.wait(30)
        other.execute("COMMIT")
        expiry.join(30)
    finally:
        other.close()
        db.writer.set_trace_callback(None)
    assert expired == [0]
    assert get_session(project, s.id).status == "active"
    assert (project.layout.sessions / "active" / s.id).exists()


def test_recording_into_a_session_is_activity(project: Project, aircher: object) -> None:
    run = aircher  # type: ignore[assignment]
    day = 24 * 3600
    clock.set_now(1_900_000_000)
    s = start_session(project, "feature", "long task")
    clock.set_now(1_900_000_000 + day + 2 * 3600)  # past the 24 h since it started
    conv = start_conversation(project, "anthropic", title="work")
    assert conv.session_id == s.id
    add_message(project, conv.id, "user", "still working on it")
    assert expire_sessions(project, idle_seconds=day) == 0
    listed = json.loads(run(project.repo.root, "session", "list", "--json").out)
    assert [(x["status"], x["last_activity"]) for x in listed] == [
        ("active", "2030-03-18 19:46:40")]
    # Each other record written into the session counts too.
    for minutes, write in enumerate((
        lambda: cache_set(project, s.id, "k", 1),
        lambda: set_preference(project, "depth", 2, level="session"),
        lambda: record_pattern(project, "testing", "test it first"),
        lambda: record_compaction(project, conv.id, "manual"),
    ), start=1):
        clock.set_now(1_900_000_000 + day + 2 * 3600 + minutes * 60)
        write()
        assert get_session(project, s.id).last_activity == clock.now()
    # An ended session stays ended, whatever is recorded in its conversation later.
    end_session(project)
    ended = get_session(project, s.id).last_activity
    clock.set_now(1_900_000_000 + 3 * day)
    add_message(project, conv.id, "user", "after the end")
    assert get_session(project, s.id).last_activity == ended


def _daily_sessions_line(run: object, root: Path, *extra: str) -> list[object]:
    result = run(root, "maintain", "--daily", "--json", *extra)  # type: ignore[operator]
    assert result.code == 0, result.err
    tasks = json.loads(result.out)["tasks"]
    return [t["count"] for t in tasks if t["task"] == "sessions"]


def test_a_session_an_older_version_never_touched_is_judged_on_its_records(
        project: Project, aircher: object) -> None:
    """Versions before 5cdfc76 never moved sessions.last_activity when they recorded into a
    session, and the upgrade kept the value: the first daily tier expired a session that had
    a message a minute before, and `session list` showed it idle since it started (QA round
    20a: 01). Its records' times count, whatever wrote the row."""
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    day, t0 = 24 * 3600, 1_900_000_000
    clock.set_now(t0)
    s = start_session(project, "feature", "long task")
    clock.set_now(t0 + day + 6 * 3600)
    conv = start_conversation(project, "anthropic", title="still working")
    add_message(project, conv.id, "user", "recorded a minute ago")
    message_time = clock.now()
    clock.set_now(t0 + day + 6 * 3600 + 30)
    cache_set(project, s.id, "k", 1)
    cache_time = clock.now()
    # What the older version left in the real file: the row as it was started.
    raw = sqlite3.connect(project.layout.db("sessions"))
    with raw:
        raw.execute("UPDATE sessions SET last_activity = started_at WHERE id = ?", (s.id,))
    raw.close()
    assert get_session(project, s.id).last_activity == clock.to_ts(t0)

    clock.set_now(t0 + day + 6 * 3600 + 60)
    listed = json.loads(run(root, "session", "list", "--json").out)
    assert [(x["status"], x["last_activity"]) for x in listed] == [("active", cache_time)]
    assert _daily_sessions_line(run, root, "--dry-run") == [0]
    assert _daily_sessions_line(run, root) == [0]
    mended = get_session(project, s.id)
    assert (mended.status, mended.last_activity) == ("active", cache_time)
    assert (project.layout.sessions / "active" / s.id).exists()

    # Without the cache entry, the message is the newest record; idle a day after it, the
    # session goes, its last activity that message.
    raw = sqlite3.connect(project.layout.db("sessions"))
    with raw:
        raw.execute("DELETE FROM session_cache")
        raw.execute("UPDATE sessions SET last_activity = started_at WHERE id = ?", (s.id,))
    raw.close()
    clock.set_now(t0 + 2 * day + 7 * 3600)
    assert _daily_sessions_line(run, root, "--dry-run") == [1]
    assert _daily_sessions_line(run, root) == [1]
    expired = get_session(project, s.id)
    assert (expired.status, expired.last_activity) == ("expired", message_time)


def test_preferences_resolve_session_worktree_project_global(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve_preference(project, "editor") is None
    set_preference(project, "editor", "nano", level="global")
    assert resolve(project, "editor").level == "global"  # type: ignore[union-attr]
    set_preference(project, "editor", "vim", level="project")
    assert resolve_preference(project, "editor") == "vim"
    set_preference(project, "editor", {"name": "helix"}, level="worktree")
    assert resolve_preference(project, "editor") == {"name": "helix"}
    s = start_session(project, "feature")
    set_preference(project, "editor", "emacs", level="session")
    found = resolve(project, "editor")
    assert found is not None and (found.value, found.level) == ("emacs", "session")
    end_session(project, s.id)
    assert resolve_preference(project, "editor") == {"name": "helix"}
    assert resolve_preference(project, "editor", session_id=s.id) == "emacs"
    git(project.repo.root, "switch", "-q", "-c", "other")
    assert resolve_preference(project, "editor") == "vim"  # the worktree value was main's
    assert unset_preference(project, "editor", level="project")
    assert resolve_preference(project, "editor") == "nano"

    # config keys: project config.toml at the project level, global default last, env first
    key = "storage.embeddings.similarity_threshold"
    assert resolve(project, key).level == "global"  # type: ignore[union-attr]
    project.layout.config.write_text("[storage.embeddings]\nsimilarity_threshold = 0.5\n")
    reloaded = open_project(project.repo.root)
    try:
        assert (resolve(reloaded, key).value, resolve(reloaded, key).level) == (  # type: ignore[union-attr]
            0.5, "project")
        set_preference(reloaded, key, 0.9, level="worktree")
        assert resolve_preference(reloaded, key) == 0.9
    finally:
        reloaded.close()
    monkeypatch.setenv("AIRCHER_STORAGE_EMBEDDINGS_SIMILARITY_THRESHOLD", "0.1")
    from_env = open_project(project.repo.root)
    try:
        assert resolve(from_env, key).level == "environment"  # type: ignore[union-attr]
    finally:
        from_env.close()


def test_session_pref_that_is_not_json_is_text(project: Project, aircher: object) -> None:
    """`--pref KEY=VALUE`: "VALUE is JSON, or text". NaN, Infinity and 1e999 are no JSON
    (RFC 8259 has no such numbers), but Python's lenient parser made floats of them, which the
    store then refused ("preferences is not JSON-serialisable", exit 2): the session could not
    be started. They are text now, as any other non-JSON value (QA round 22d: 07)."""
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    given = {"a": "NaN", "b": "Infinity", "c": "-Infinity", "d": "1e999", "e": "-1e999",
             "f": "1.5", "g": '{"x": [1, null]}', "h": "NaX", "i": "[NaN]"}
    args = [arg for k, raw in given.items() for arg in ("--pref", f"{k}={raw}")]
    started = run(root, "session", "start", "feature", *args, "--json")
    assert started.code == 0, started.err
    assert json.loads(started.out)["preferences"] == {
        "a": "NaN", "b": "Infinity", "c": "-Infinity", "d": "1e999", "e": "-1e999", "f": 1.5,
        "g": {"x": [1, None]}, "h": "NaX", "i": "[NaN]"}


def test_a_session_without_preferences_has_an_empty_object(
        project: Project, aircher: object) -> None:
    """A session started without `--pref` printed `"preferences": null`, one whose preference
    was set and unset `{}`: two shapes for "none" (QA round 25d: 05). Both are `{}` now."""
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    started = run(root, "session", "start", "review", "none", "--json")
    assert json.loads(started.out)["preferences"] == {}
    first = json.loads(started.out)["id"]
    other = start_session(project, "review", "set and unset")
    set_preference(project, "depth", 3, level="session", session_id=other.id)
    unset_preference(project, "depth", level="session", session_id=other.id)
    listed = json.loads(run(root, "session", "list", "--json").out)
    assert [s["preferences"] for s in listed] == [{}, {}]
    assert json.loads(run(root, "session", "show", first, "--json").out)["preferences"] == {}
    assert json.loads(run(root, "session", "end", first, "--json").out)["preferences"] == {}
    assert get_session(project, first).preferences == {}


def test_session_show_table_aligns_its_labels_and_prints_preferences_as_json(
        project: Project, aircher: object) -> None:
    """`session show` glued `working_directory:` to its value (an 18-character label in an
    18-character column) and printed preferences as a Python repr, `{'flag': True, 'x': None}`
    (QA round 25d: 06). Every value starts in one column now, preferences as JSON."""
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    assert run(root, "session", "start", "review", "prefs", "--pref", "flag=true",
               "--pref", "x=null", "--pref", "name=bob").code == 0
    lines = run(root, "session", "show").out.splitlines()
    labelled = [line for line in lines[:11] if ":" in line]
    starts = {len(line) - len(line.split(":", 1)[1].lstrip()) for line in labelled}
    assert len(starts) == 1, lines
    assert f"working_directory: {root}" in " ".join(lines[8].split())
    assert lines[9].split(None, 1) == ["preferences:", '{"flag": true, "x": null, "name": "bob"}']


def test_session_cli(project: Project, aircher: object) -> None:
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    started = run(root, "session", "start", "refactor", "split module", "--pref", "depth=3")
    assert started.code == 0
    sid = started.out.strip()
    shown = json.loads(run(root, "session", "show", "--json").out)
    assert (shown["id"], shown["branch"], shown["preferences"]) == (sid, "main", {"depth": 3})
    listed = json.loads(run(root, "session", "list", "--json").out)
    assert [s["id"] for s in listed] == [sid]
    assert "split module" in run(root, "session", "list").out
    assert run(root, "session", "end", sid[:8]).code == 0
    assert json.loads(run(root, "session", "list", "--status", "active", "--json").out) == []
    bad = run(root, "session", "show", "zzzz")
    assert bad.code == 2 and "no session" in bad.err


def test_the_worktree_s_session_is_the_default_after_a_branch_switch(
        project: Project, repo: Path, aircher: object) -> None:
    """An agent that started a session and then made its branch (`git switch -c fix-login`)
    was told "no active session in this worktree" by `session end` and `session show` while
    the worktree had one (QA round 15b: 07): without an id they take the session records land
    in, else this worktree's newest active one, started on another branch. Records still go
    to the branch's context there (the current-context rule)."""
    run = aircher  # type: ignore[assignment]
    sid = run(repo, "session", "start", "feature", "fix the login").out.strip()
    git(repo, "switch", "-q", "-c", "fix-login")
    shown = run(repo, "session", "show", "--json")
    assert shown.code == 0, shown.err
    assert (json.loads(shown.out)["id"], json.loads(shown.out)["branch"]) == (sid, "main")
    assert json.loads(run(repo, "context", "show", "--json").out)["levels"][-1]["name"] == (
        "fix-login")
    ended = run(repo, "session", "end")
    assert (ended.code, ended.out) == (0, f"ended {sid}\n")
    # None left: the message is true now.
    for args in (("end",), ("show",)):
        none = run(repo, "session", *args)
        assert none.code == 2
        assert none.err.startswith("error: no active session in this worktree\n")
    # Another worktree's session is not this one's.
    linked = repo.parent / "linked"
    git(repo, "worktree", "add", "-q", "-b", "other", str(linked))
    assert run(linked, "session", "start", "review").code == 0
    assert run(repo, "session", "end").code == 2


def test_a_session_id_names_its_context(project: Project, aircher: object) -> None:
    """The id `session start` prints works where a context is asked for (QA round 3: 08)."""
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    sid = run(root, "session", "start", "feature", "token refresh").out.strip()
    conv = start_conversation(project, "anthropic", title="in the session")
    for name in (sid, sid[:8]):
        listed = run(root, "conversation", "list", "--context", name, "--json")
        assert listed.code == 0, listed.err
        assert [c["id"] for c in json.loads(listed.out)] == [conv.id]
        shown = run(root, "context", "show", name, "--json")
        assert shown.code == 0, shown.err
        assert json.loads(shown.out)["levels"][-1]["name"] == f"session-{sid[:8]}"
        assert run(root, "decision", "list", "--context", name).code == 0
    assert run(root, "context", "transfer", "main", sid, "--json").code == 0
    bad = run(root, "context", "show", "f" * 36)
    assert bad.code == 2
    assert "`git aircher session list`" in bad.err.splitlines()[-1]


def test_a_moved_worktree_keeps_its_active_session(project: Project, repo: Path) -> None:
    from tests.conftest import run_git_aircher

    commit(repo, {"b.py": "b\n"}, "second")
    linked, moved = repo.parent / "linked", repo.parent / "moved"
    git(repo, "worktree", "add", "-q", "-b", "feat", str(linked))
    assert run_git_aircher(linked, "session", "start", "debugging", "fix login").code == 0
    git(repo, "worktree", "move", str(linked), str(moved))
    r = run_git_aircher(moved, "session", "show", "--json")
    assert r.code == 0, r.err  # before: "no active session in this worktree"
    assert json.loads(r.out)["task_description"] == "fix login"
    there = open_project(moved)
    try:  # records made there go to the session, not to the branch
        assert start_conversation(there, "p").session_id == json.loads(r.out)["id"]
    finally:
        there.close()
    assert run_git_aircher(moved, "session", "end").code == 0
    active = json.loads(run_git_aircher(moved, "session", "list", "--json").out)
    assert [s["status"] for s in active] == ["inactive"]


def test_a_locked_worktree_away_keeps_its_session(project: Project, repo: Path) -> None:
    """Its folder is missing while its disk is away, but git still lists it: another worktree
    on the same context must not take its session as a moved one's."""
    from tests.conftest import run_git_aircher

    wt, away = repo.parent / "usb", repo.parent / "away"
    git(repo, "worktree", "add", "-q", "--detach", str(wt))
    assert run_git_aircher(wt, "session", "start", "feature").code == 0
    started = json.loads(run_git_aircher(wt, "session", "show", "--json").out)["id"]
    git(repo, "worktree", "lock", "--reason", "usb disk", str(wt))
    wt.rename(away)
    git(repo, "checkout", "-q", "--detach")
    assert run_git_aircher(repo, "session", "show").code == 2  # none here: it is the usb's
    git(repo, "checkout", "-q", "main")
    away.rename(wt)
    r = run_git_aircher(wt, "session", "show", "--json")
    assert r.code == 0 and json.loads(r.out)["id"] == started, r.err


def test_a_moved_worktree_keeps_a_session_started_before_a_branch_switch(
        project: Project, repo: Path, aircher: object) -> None:
    """A session started on main, then `git switch -c fix-login`, then the repository's folder
    renamed: `session show` and `session end` said "no active session in this worktree", since
    the move's take-over looked only at sessions started on the branch checked out now (QA
    round 16b: 05). The old folder's worktree last had fix-login, which git checks out in one
    worktree at a time: this one."""
    run = aircher  # type: ignore[assignment]
    sid = run(repo, "session", "start", "feature", "login work").out.strip()
    git(repo, "switch", "-q", "-c", "fix-login")
    assert run(repo, "sync").code == 0
    moved = repo.parent / "renamed"
    repo.rename(moved)
    shown = run(moved, "session", "show", "--json")
    assert shown.code == 0, shown.err
    assert json.loads(shown.out)["id"] == sid
    # Records still go to fix-login's context, not into main's session.
    there = open_project(moved)
    try:
        assert start_conversation(there, "p").session_id is None
    finally:
        there.close()
    assert run(moved, "session", "end").out == f"ended {sid}\n"


def test_a_removed_worktree_s_session_is_not_taken_by_a_detached_one(
        project: Project, repo: Path, aircher: object) -> None:
    """Detached HEADs are not one per worktree: the session of a removed worktree last
    detached is not taken over by another worktree detached too."""
    run = aircher  # type: ignore[assignment]
    wt = repo.parent / "gone"
    git(repo, "worktree", "add", "-q", "-b", "feat", str(wt))
    assert run(wt, "session", "start", "feature").code == 0
    git(wt, "checkout", "-q", "--detach")
    assert run(wt, "sync").code == 0
    git(repo, "worktree", "remove", "--force", str(wt))
    git(repo, "checkout", "-q", "--detach")
    assert run(repo, "sync").code == 0
    assert run(repo, "session", "show").code == 2


def test_a_session_used_while_the_clock_was_ahead_expires_once_it_is_put_right(
        project: Project, aircher: object) -> None:
    """A session started and recorded into with the clock a year ahead (a VM started with a
    wrong date) kept that future `last_activity`, so once the clock was put right it stayed
    active, and took every record of its worktree, until real time reached that date (QA round
    21a: 02). A last_activity more than clock.AHEAD_SLACK ahead is brought down to now by the
    first maintenance that sees it, and the session expires a session_expire_after later."""
    run = aircher  # type: ignore[assignment]
    root = project.repo.root
    day, year, t0 = 24 * 3600, 365 * 24 * 3600, 1_900_000_000
    clock.set_now(t0 + year)
    s = start_session(project, "feature", "clock a year ahead")
    conv = start_conversation(project, "anthropic", title="ahead")
    add_message(project, conv.id, "user", "written a year ahead")
    clock.set_now(t0 + 30 * 60)  # within the slack: a clock set back a little, left alone
    near = start_session(project, "feature", "clock half an hour ahead")
    clock.set_now(t0)  # put right
    assert _daily_sessions_line(run, root) == [0]
    mended = get_session(project, s.id)
    assert (mended.status, mended.last_activity) == ("active", clock.to_ts(t0))
    clock.set_now(t0 + day + 3600)
    assert _daily_sessions_line(run, root) == [2]
    expired = get_session(project, s.id)
    assert (expired.status, expired.last_activity) == ("expired", clock.to_ts(t0))
    assert get_session(project, near.id).last_activity == clock.to_ts(t0 + 30 * 60)


START_KILLED = """
import os, signal
from pathlib import Path
from gitext.cli.env import global_root
from gitext.project import Project
from gitext.records import start_session

project = Project.locate(Path.cwd(), global_root(), os.environ)
real = project.db

def db(name):
    if name == "sessions":
        os.kill(os.getpid(), signal.SIGKILL)  # its context committed, its session not yet
    return real(name)

project.db = db
start_session(project, "feature", "agent task")
"""


def _start_killed(project: Project) -> str:
    import os
    import subprocess
    import sys

    before = {r["id"] for r in rows(project, "knowledge", "SELECT id FROM contexts")}
    child = subprocess.run([sys.executable, "-c", START_KILLED], cwd=project.repo.root,
                           capture_output=True, text=True, env=os.environ.copy())
    assert child.returncode == -9, child.stderr
    made = [r for r in rows(project, "knowledge", "SELECT id, context_type, status FROM contexts")
            if r["id"] not in before]
    assert [(r["context_type"], r["status"]) for r in made] == [("session", "active")]
    return str(made[0]["id"])


def test_a_session_start_killed_between_its_writes_leaves_a_context_repair_removes(
        project: Project) -> None:
    """`session start` commits its context (knowledge.db), then writes its session
    (sessions.db); killed in between (`timeout` while another writer held sessions.db) it left
    the context active for good, counted by `context show`, while `session list` had none and
    doctor and repair found nothing (QA round 25b: 03). Doctor now names it (not while a start
    holds run/session-start.lock: its session is on the way); repair deletes it, or, where a
    record names it, sets it inactive."""
    from gitext.lifecycle.runstate import session_starting
    from tests.conftest import run_git_aircher

    root = project.repo.root
    bare = _start_killed(project)
    named = _start_killed(project)
    conversation = start_conversation(project, "p", title="in the lost session")
    with project.db("conversations").write() as conn:
        conn.execute("UPDATE conversations SET context_id = ? WHERE id = ?",
                     (named, conversation.id))
    assert list_sessions(project) == []
    project.close()
    with session_starting(project.layout):  # a start under way: its session may follow
        doctor = run_git_aircher(root, "doctor")
        assert "sessionless_context" not in doctor.out, doctor.out
    doctor = run_git_aircher(root, "doctor")
    assert "warning: sessionless_context: knowledge: 2 session context(s)" in doctor.out, \
        doctor.out + doctor.err
    r = run_git_aircher(root, "repair")  # exit 1: the hooks this store was made without
    assert "(d) knowledge: deleted — 1 session context(s) with no session" in r.out, r.out
    assert "sessionless_context" not in r.out, r.out
    left = {r["id"]: r["status"] for r in rows(
        project, "knowledge", "SELECT id, status FROM contexts WHERE context_type = 'session'")}
    assert left == {named: "inactive"}, (bare, left)
    assert "sessions=1" in run_git_aircher(root, "context", "show").out  # the named one
    assert run_git_aircher(root, "conversation", "show", conversation.id).code == 0
    assert "sessionless_context" not in run_git_aircher(root, "doctor").out


def test_a_session_goes_on_under_a_renamed_branch(project: Project) -> None:
    """`git branch -m old new` (no hook runs) left the active session under the old branch's
    context: the next record went to the branch, as if no session were open, and `session
    end` here found none (QA round 26c saw it). The session now follows the rename."""
    root = project.repo.root
    git(root, "switch", "-q", "-c", "old")
    session = start_session(project, "feature", "rename me")
    git(root, "branch", "-m", "old", "new")
    project.close()
    again = open_project(root)
    try:
        ctx = current_context(again)
        assert ctx.id == session.context_id, ctx
        conv = start_conversation(again, "p", title="after the rename")
        assert conv.session_id == session.id and conv.context_id == session.context_id
        parent = rows(again, "knowledge", "SELECT c.git_branch FROM contexts s JOIN contexts c"
                      " ON c.id = s.parent_context_id WHERE s.id = ?", (session.context_id,))
        assert [tuple(r) for r in parent] == [("new",)]
        assert end_session(again).id == session.id
    finally:
        again.close()
