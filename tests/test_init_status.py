from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import VENV_BIN, commit, git, run_git_aircher
from tests.sync.helpers import wait_idle

SPEC_TABLES = {
    "conversations": {"conversations", "messages", "message_attachments", "compaction_history"},
    "knowledge": {"contexts", "context_relationships", "project_components",
                  "documentation_files", "project_decisions", "success_patterns",
                  "cross_context_insights", "conversation_effectiveness",
                  "context_relevance_feedback", "embedding_metadata", "search_indexes",
                  "worktrees", "context_switches"},
    "file_index": {"files", "file_relationships", "file_changes", "file_access_patterns",
                   "file_relevance_scores", "file_snippets"},
    "sessions": {"sessions", "session_cache", "user_preferences"},
}


def test_init_then_status_json_shows_every_table(repo: Path, aircher) -> None:  # type: ignore[no-untyped-def]
    r = aircher(repo, "init")
    assert r.code == 0, r.err
    assert "Initialized git-aircher store" in r.out
    st = json.loads(aircher(repo, "status", "--json").out)
    dbs = {d["name"]: d for d in st["databases"]}
    for name, tables in SPEC_TABLES.items():
        assert tables <= set(dbs[name]["tables"]), name
        assert dbs[name]["journal_mode"] == "WAL"
        assert dbs[name]["schema_version"] == dbs[name]["schema_latest"]
        assert dbs[name]["size_bytes"] > 0
    assert st["data_dir"] == str(repo / ".agents")
    assert st["current_context"]["name"] == "main"
    assert [w["branch_name"] for w in st["worktrees"]] == ["main"]
    assert git(repo, "status", "--porcelain") == ""
    assert "/.agents/db/" in (repo / ".git" / "info" / "exclude").read_text().splitlines()


def test_init_is_idempotent(repo: Path, aircher) -> None:  # type: ignore[no-untyped-def]
    aircher(repo, "init")
    wait_idle(repo)  # the worker's parsing adds rows; compare settled stores
    first = json.loads(aircher(repo, "status", "--json").out)
    r = aircher(repo, "init")
    assert r.code == 0 and "Reinitialized" in r.out
    wait_idle(repo)
    second = json.loads(aircher(repo, "status", "--json").out)
    for a, b in zip(first["databases"], second["databases"], strict=True):
        assert a["tables"] == b["tables"]
    exclude = (repo / ".git" / "info" / "exclude").read_text().splitlines()
    assert exclude.count("/.agents/db/") == 1
    assert exclude.count("# git-aircher's private store (never committed)") == 1


def test_init_takes_over_a_path_a_deleted_repository_left_in_the_registry(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A repository deleted, another one renamed into its folder (the old clone replaced by a
    new one): `init` there crashed with `IntegrityError: UNIQUE constraint failed:
    projects.root_path`, exit 3, every time, as global.db still named the dead repository at
    that path; `repair` did not help, and the hooks step never ran. Now the path is this
    repository's and the stale row goes (QA round 22c: 01)."""
    monkeypatch.setenv("AIRCHER_SKIP", "1")  # no worker: nothing runs while a folder goes
    old, new = tmp_path / "proj", tmp_path / "proj-new"
    for root in (old, new):
        root.mkdir()
        git(root, "init", "-q")
        commit(root, {"a.txt": f"{root.name}\n"}, "one")
        assert run_git_aircher(root, "init").code == 0
    registry = Path(os.environ["AIRCHER_HOME"]) / "global.db"

    def rows() -> dict[str, str]:
        with sqlite3.connect(registry) as conn:
            return dict(conn.execute("SELECT id, root_path FROM projects").fetchall())

    old_id = next(i for i, p in rows().items() if p == str(old))
    subprocess.run(["rm", "-rf", str(old)], check=True)
    new.rename(old)
    r = run_git_aircher(old, "init")
    assert r.code == 0, r.err
    assert "Reinitialized" in r.out and r.err == ""
    assert list(rows().values()) == [str(old)]
    assert old_id not in rows()
    assert run_git_aircher(old, "init").code == 0  # and it stays idempotent there


def test_context_chain_global_project_worktree(repo: Path, aircher) -> None:  # type: ignore[no-untyped-def]
    aircher(repo, "init")
    conn = sqlite3.connect(repo / ".agents" / "db" / "core" / "knowledge.db")
    rows = {r[0]: r for r in conn.execute(
        "SELECT context_type, id, parent_context_id, git_branch FROM contexts")}
    assert rows["global"][2] is None
    assert rows["project"][2] == rows["global"][1]
    assert rows["worktree"][2] == rows["project"][1]
    assert rows["worktree"][3] == "main"
    g = sqlite3.connect(Path(os.environ["AIRCHER_HOME"]) / "global.db")
    assert g.execute("SELECT id FROM contexts").fetchone()[0] == rows["global"][1]
    assert (repo / ".agents" / "worktrees" / "main" / "context.json").exists()


def test_empty_repository(empty_repo: Path, aircher) -> None:  # type: ignore[no-untyped-def]
    r = aircher(empty_repo, "init")
    assert r.code == 0, r.err
    st = json.loads(aircher(empty_repo, "status", "--json").out)
    assert st["worktrees"][0]["git_commit"] is None
    assert st["current_context"]["git_branch"] == "main"


def test_from_a_subdirectory(repo: Path, aircher) -> None:  # type: ignore[no-untyped-def]
    sub = repo / "src"
    assert aircher(sub, "init").code == 0
    assert (repo / ".agents" / "db" / "core" / "knowledge.db").exists()
    assert not (sub / ".agents").exists()


def test_from_a_linked_worktree_uses_the_main_store(repo: Path, tmp_path: Path, aircher) -> None:  # type: ignore[no-untyped-def]
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "-b", "feature", str(wt))
    r = aircher(wt, "init")
    assert r.code == 0, r.err
    assert (repo / ".agents" / "db" / "core" / "knowledge.db").exists()
    assert not (wt / ".agents").exists()
    st = json.loads(aircher(wt, "status", "--json").out)
    assert {w["branch_name"] for w in st["worktrees"]} == {"main", "feature"}
    assert st["current_context"]["name"] == "feature"
    assert git(wt, "status", "--porcelain") == ""


def _submodule(repo: Path, tmp_path: Path) -> Path:
    inner = tmp_path / "inner"
    inner.mkdir()
    git(inner, "init", "-q")
    commit(inner, {"lib.py": "def helper():\n    return 1\n"}, "inner")
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner),
        "vendor/lib")
    git(repo, "commit", "-qm", "add submodule")
    return repo / "vendor" / "lib"


def test_in_a_submodule_the_store_is_at_its_work_tree(repo: Path, tmp_path: Path) -> None:
    sub = _submodule(repo, tmp_path)
    r = run_git_aircher(sub, "init")
    assert r.code == 0, r.err
    # git lists the submodule's git dir (.git/modules/…) as its worktree; core.worktree says
    # where the files are, and that is where the store belongs.
    assert (sub / ".agents" / "db" / "core" / "knowledge.db").exists()
    assert not (repo / ".git" / "modules" / "vendor" / "lib" / ".agents").exists()
    assert git(sub, "status", "--porcelain") == ""
    assert git(repo, "status", "--porcelain") == ""  # not even "untracked content"
    commit(sub, {"more.py": "x = 1\n"}, "more")
    wait_idle(sub)
    listed = json.loads(run_git_aircher(sub, "relevant", "--json").out)
    assert "more.py" in [f["path"] for f in listed]
    # One worktree, the work tree, active: not the git dir git names, with the work tree stale.
    rows = json.loads(run_git_aircher(sub, "worktree", "list", "--json").out)["worktrees"]
    assert [(Path(r["path"]), r["status"]) for r in rows] == [(sub, "active")]
    r = run_git_aircher(sub, "doctor")
    assert r.code == 0, r.out


def test_a_store_already_in_a_submodules_git_dir_stays_in_use(repo: Path, tmp_path: Path) -> None:
    sub = _submodule(repo, tmp_path)
    old = repo / ".git" / "modules" / "vendor" / "lib" / ".agents"
    old.mkdir()
    r = run_git_aircher(sub, "init")
    assert r.code == 0, r.err
    assert (old / "db" / "core" / "knowledge.db").exists()
    assert not (sub / ".agents").exists()


def test_separate_git_dir_keeps_one_store_for_every_worktree(tmp_path: Path) -> None:
    main, gitdir, linked = tmp_path / "main", tmp_path / "main.git", tmp_path / "linked"
    git(tmp_path, "init", "-q", f"--separate-git-dir={gitdir}", str(main))
    commit(main, {"a.py": "a = 1\n"}, "first")
    git(main, "worktree", "add", "-q", "-b", "feature", str(linked))
    assert run_git_aircher(main, "init").code == 0
    assert run_git_aircher(linked, "init").code == 0
    # git records nowhere where this main work tree is, so neither worktree could find a store
    # in it from the other: both use the one under the git dir.
    stores = [p for p in (main / ".agents", linked / ".agents", gitdir / ".agents") if p.exists()]
    assert stores == [gitdir / ".agents"]
    assert git(main, "status", "--porcelain") == "" and git(linked, "status", "--porcelain") == ""


@pytest.mark.parametrize("gitdir_name", ["main.git", "elsewhere/.git"])
def test_separate_git_dir_lists_its_work_tree(tmp_path: Path, gitdir_name: str) -> None:
    """`--separate-git-dir`: git lists the git dir as the main worktree, so the store listed the
    git dir as the active worktree and the real work tree, which every event names, as stale;
    `doctor` found the git dir's view behind git and the `repair` it named refused ("not inside
    a work tree"). With the git dir named `.git` elsewhere, git lists the folder holding it and
    the store was made in that folder, neither the git dir nor a work tree. The work tree is now
    listed in the git dir's place, as a submodule's is, and the store sits in the git dir
    (QA round 22b: 01)."""
    main, gitdir, linked = tmp_path / "main", tmp_path / gitdir_name, tmp_path / "linked"
    gitdir.parent.mkdir(exist_ok=True)
    git(tmp_path, "init", "-q", f"--separate-git-dir={gitdir}", str(main))
    commit(main, {"a.py": "a = 1\n"}, "first")
    assert run_git_aircher(main, "init").code == 0
    assert [p for p in (main / ".agents", gitdir.parent / ".agents", gitdir / ".agents")
            if p.exists()] == [gitdir / ".agents"]
    commit(main, {"b.py": "b = 1\n"}, "second")
    wait_idle(main)
    assert run_git_aircher(main, "sync").code == 0
    wait_idle(main)
    rows = json.loads(run_git_aircher(main, "worktree", "list", "--json").out)["worktrees"]
    assert [(Path(r["path"]), r["status"]) for r in rows] == [(main, "active")]
    r = run_git_aircher(main, "doctor")
    assert r.code == 0, r.out + r.err
    # A linked worktree finds the same store, and lists the main work tree as git cannot.
    git(main, "worktree", "add", "-q", "-b", "feature", str(linked))
    wait_idle(main)
    rows = json.loads(run_git_aircher(linked, "worktree", "list", "--json").out)["worktrees"]
    assert sorted(Path(r["path"]) for r in rows) == [linked, main]
    assert not (linked / ".agents").exists()


def test_outside_a_repository(tmp_path: Path, aircher) -> None:  # type: ignore[no-untyped-def]
    plain = tmp_path / "plain"
    plain.mkdir()
    r = aircher(plain, "init")
    assert r.code == 2
    assert r.err.splitlines()[0].startswith("error: not a git repository")
    assert r.err.splitlines()[1].startswith("hint: ")


def test_discovery_stops_at_git_ceiling_directories(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """GIT_CEILING_DIRECTORIES was dropped from every git call: in a folder below the ceiling,
    where git says "not a git repository", `init` set up a store and hooks in the repository
    above it, and every command answered about that one (QA round 24c: 01). Discovery stops
    where git's does; a repository below the ceiling works as ever, its hooks and worker too."""
    outer = tmp_path / "outer"
    outer.mkdir()
    git(outer, "init", "-q")
    commit(outer, {"dotfile": "x\n"}, "dotfiles")
    scratch = outer / "scratch"
    plain = scratch / "newproj"
    plain.mkdir(parents=True)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(scratch))
    for args in (("init",), ("status",), ("search", "x")):
        r = run_git_aircher(plain, *args)
        assert r.code == 2, (args, r.out, r.err)
        assert r.err.splitlines()[0] == f"error: not a git repository: {plain}"
    assert not (outer / ".agents").exists()
    assert [p.name for p in (outer / ".git" / "hooks").iterdir()
            if not p.name.endswith(".sample")] == []

    # Below the ceiling, a repository of its own: found from its subfolders as git finds it.
    git(plain, "init", "-q")
    commit(plain, {"src/app.py": "print('hi')\n"}, "initial")
    r = run_git_aircher(plain / "src", "init")
    assert r.code == 0, r.err
    assert (plain / ".agents").is_dir() and not (outer / ".agents").exists()
    commit(plain, {"src/more.py": "zebrafish = 1\n"}, "more")
    wait_idle(plain)
    r = run_git_aircher(plain / "src", "status", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["data_dir"] == str(plain / ".agents")
    r = run_git_aircher(plain, "search", "--json", "--", "zebrafish")
    assert r.code == 0, r.err
    assert "src/more.py" in {h["path"] for h in json.loads(r.out)}


def test_dash_c_chains_as_git_s(live: Path) -> None:
    """`git aircher -C r -C src` took src from the starting directory ("not a directory"):
    only the last -C counted. git's -C chains, each relative one taken from the one before
    (QA round 24c: 06); an empty one changes nothing, an absolute one starts over."""
    (live / "src" / "deep").mkdir()
    here = live.parent
    for chain, prefix in ((["-C", live.name, "-C", "src"], "src"),
                          (["-C", live.name, "-C", "src", "-C", "deep"], "src/deep"),
                          (["-C", live.name, "-C", str(live / "src")], "src"),
                          (["-C", live.name, "-C", ""], "")):
        assert git(here, *chain, "rev-parse", "--show-prefix").strip("/\n") == prefix
        r = run_git_aircher(here, *chain, "status", "--json")
        assert r.code == 0, (chain, r.err)
        assert json.loads(r.out)["data_dir"] == str(live / ".agents")
    r = run_git_aircher(here, "-C", live.name, "-C", "nosuch", "status")
    assert (r.code, r.err.splitlines()[0]) == (2, f"error: not a directory: {live / 'nosuch'}")


def test_a_dash_c_that_cannot_be_entered_fails_even_before_an_absolute_one(live: Path) -> None:
    """`git aircher -C nowhere -C /abs status` ran in /abs: the absolute -C started over and
    the one that could not be entered was never looked at, while git fails there ("fatal:
    cannot change to 'nowhere'") (known, session 22). Each -C is entered in turn, as git's."""
    here = live.parent
    (here / "a-file").write_text("")
    for first in ("nosuch", "a-file"):
        assert git(here, "-C", first, "-C", str(live), "status", check=False) == ""
        r = run_git_aircher(here, "-C", first, "-C", str(live), "status")
        assert (r.code, r.err.splitlines()[0]) == (
            2, f"error: not a directory: {here / first}"), (first, r.err)
    r = run_git_aircher(here, "-C", live.name, "-C", "nosuch", "-C", "..", "status")
    assert (r.code, r.err.splitlines()[0]) == (2, f"error: not a directory: {live / 'nosuch'}")


def test_bare_repository(tmp_path: Path, aircher) -> None:  # type: ignore[no-untyped-def]
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    r = aircher(bare, "init")
    assert r.code == 2
    assert "bare repository" in r.err.splitlines()[0]
    assert not (bare / ".agents").exists()


def test_status_before_init(repo: Path, aircher) -> None:  # type: ignore[no-untyped-def]
    r = aircher(repo, "status")
    assert r.code == 2 and r.err.startswith("error: no git-aircher store")


@pytest.mark.parametrize("args", [
    ("session", "list"), ("session", "show", "abcd"), ("decision", "list"),
    ("decision", "revert", "abcd"), ("knowledge", "components", "list"),
    ("knowledge", "docs", "list"), ("knowledge", "docs", "refresh"),
    ("knowledge", "patterns", "list"), ("knowledge", "effectiveness", "list"),
    ("knowledge", "feedback", "list"), ("conversation", "search", "hi"),
    ("conversation", "show", "abcd"), ("backup", "list")])
def test_every_command_before_init_says_there_is_no_store(  # type: ignore[no-untyped-def]
        repo: Path, aircher, args: tuple[str, ...]) -> None:
    """Without a store these said "cannot open …/sessions.db: unable to open database file"
    (exit 1, no hint), which reads like a damaged database, and `backup list` "no backups yet",
    inviting a `backup create` that failed (QA round 25c: 07)."""
    r = aircher(repo, *args)
    assert (r.code, r.out) == (2, ""), r
    assert r.err.splitlines() == [f"error: no git-aircher store in {repo}",
                                  "hint: run `git aircher init` first"], r.err
    assert not (repo / ".agents").exists()


def test_a_store_that_lost_knowledge_db_points_to_repair_and_init_keeps_it_lost(
    repo: Path, aircher, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    """knowledge.db lost: every command said "no git-aircher store … run `git aircher init`
    first", and that init said "Initialized" and made it anew, empty, so repair found nothing
    and the backup's decisions never came back (QA round 24b: 02). The store is there: commands
    and init say the database is missing and point to repair, which restores it."""
    monkeypatch.setenv("AIRCHER_SKIP", "1")  # no worker meanwhile
    assert aircher(repo, "init").code == 0
    assert aircher(repo, "decision", "add", "use sqlite").code == 0
    assert aircher(repo, "backup", "create").code == 0
    core = repo / ".agents" / "db" / "core"
    for path in core.glob("knowledge.db*"):
        path.unlink()
    for command in ("status", "init"):
        r = aircher(repo, command)
        assert r.code == 1, (command, r.out)
        assert r.err.splitlines() == [
            f"error: the store's knowledge database is missing: {core / 'knowledge.db'}",
            "hint: `git aircher repair` restores it from the newest backup that holds it (or,"
            " with none, says so and makes it anew)"], command
    assert not (core / "knowledge.db").exists()
    r = aircher(repo, "repair")
    assert r.code == 0 and "(b) knowledge: restored" in r.out, r.out + r.err
    assert "use sqlite" in aircher(repo, "decision", "list").out


def test_a_new_store_in_a_repository_with_a_store_of_old_is_still_made(
    repo: Path, aircher, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    """The other side of the rule above: a store removed whole, as README says how (backups
    included), is no store at all: init makes a new one."""
    monkeypatch.setenv("AIRCHER_SKIP", "1")
    assert aircher(repo, "init").code == 0
    assert aircher(repo, "backup", "create").code == 0
    import shutil

    for name in ("content", "db", "indexes", "journal", "logs", "run", "sessions", "worktrees"):
        shutil.rmtree(repo / ".agents" / name)
    assert aircher(repo, "status").code == 2
    r = aircher(repo, "init")
    assert r.code == 0 and "Initialized" in r.out, r.err
    assert aircher(repo, "status").code == 0


def test_status_table_for_people(repo: Path, aircher) -> None:  # type: ignore[no-untyped-def]
    aircher(repo, "init")
    out = aircher(repo, "status").out
    for name in ("conversations", "knowledge", "file_index", "sessions", "global"):
        assert name in out
    assert "WAL" in out and "main" in out


def test_unexpected_error_is_logged_not_shown(repo: Path) -> None:
    commit(repo, {"x.txt": "x"})
    assert run_git_aircher(repo, "init").code == 0
    # A store whose database file is a directory: not a user mistake we know how to name.
    db = repo / ".agents" / "db" / "core" / "sessions.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.mkdir()
    r = run_git_aircher(repo, "status")
    assert r.code in (1, 3)
    assert "Traceback" not in r.err
    assert len(r.err.strip().splitlines()) <= 2
    if r.code == 3:
        log = Path(r.err.split("details in ")[1].strip())
        assert "Traceback" in log.read_text()


def test_a_failed_write_to_standard_output_is_named_so(live: Path, tmp_path: Path) -> None:
    """Output to a full disk (here a device like /dev/full, which fails every write with
    ENOSPC) was reported as "the git-aircher store: the disk is full" with a hint to prune the
    store, even by `help` (QA round 24c: 02). It is one line naming standard output, as git's
    "write failure on standard output", exit 1; nothing of the store is blamed."""
    full = tmp_path / "full"
    try:
        os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    except OSError:
        pytest.skip("making a device needs root")
    commit(live, {"src/zebra.py": "zebrafish = 1\n"}, "zebra")
    wait_idle(live)
    for args in (("help",), ("status",), ("config", "list"), ("search", "zebrafish"),
                 ("conversation", "export")):
        with full.open("w") as out:
            proc = subprocess.run([str(VENV_BIN / "git-aircher"), *args], cwd=live, stdout=out,
                                  stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        assert (proc.returncode, proc.stderr) == (
            1, "error: write failure on standard output: No space left on device\n"), args


def test_console_script_through_git(repo: Path) -> None:
    """`git aircher` finds the git-aircher console script on PATH (conftest puts it there)."""
    r = git(repo, "aircher", "init")
    assert "git-aircher store" in r


def test_bug_exit_3_with_log_file(repo: Path) -> None:
    # A file where the store needs a folder is nothing the library anticipates: exit 3 + log.
    (repo / ".agents").mkdir()
    (repo / ".agents" / "worktrees").write_text("in the way")
    r = run_git_aircher(repo, "init")
    assert r.code == 3
    assert r.err.startswith("error: unexpected ")
    assert "Traceback" not in r.err
    log = Path(r.err.split("details in ")[1].strip())
    assert "Traceback" in log.read_text() and "worktrees" in log.read_text()


def test_git_dir_and_work_tree_options_name_the_repository(repo: Path, tmp_path: Path) -> None:
    """`git --git-dir=D --work-tree=W aircher …` from outside any repository (a script, a cron
    job): git passes the repository in GIT_DIR and GIT_WORK_TREE, and we work there."""
    outside = tmp_path / "outside"
    outside.mkdir()
    where = [f"--git-dir={repo / '.git'}", f"--work-tree={repo}"]
    assert "git-aircher store" in git(outside, *where, "aircher", "init")
    assert (repo / ".agents" / "db" / "core" / "knowledge.db").exists()
    status = json.loads(git(outside, *where, "aircher", "status", "--json"))
    assert status["data_dir"] == str(repo / ".agents")
    assert not (outside / ".agents").exists()


def test_a_git_dir_kept_away_from_its_work_tree_is_refused_in_one_line(tmp_path: Path) -> None:
    """The dotfiles set-up (`git init --bare ~/.cfg`, work tree $HOME): the store would sit in
    the work tree and take in every untracked file of it (QA round 4: 09), so it is refused
    plainly, not with "not a git repository" (QA round 3: 07)."""
    home = tmp_path / "dotfiles-home"
    cfg = home / ".cfg"
    home.mkdir()
    git(tmp_path, "init", "-q", "--bare", str(cfg))
    (home / "diary.txt").write_text("private\n")
    where = [f"--git-dir={cfg}", f"--work-tree={home}"]
    r = subprocess.run(["git", *where, "aircher", "init"], cwd=tmp_path, capture_output=True,
                       text=True)
    assert r.returncode == 2, r.stderr
    assert r.stderr.splitlines() == [
        f"error: {home} is a work tree whose git dir is kept elsewhere ({cfg}); git-aircher"
        " does not work in such a repository",
        "hint: git-aircher needs a work tree that holds its .git (a folder or a file)"]
    assert not (cfg / ".agents").exists() and not (home / ".agents").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_a_repository_git_refuses_as_someone_else_s_says_so(repo: Path) -> None:
    os.chown(repo, 65534, -1)  # nobody's now: git's safe.directory check refuses it
    r = run_git_aircher(repo, "status")
    assert r.code == 2
    assert r.err.splitlines() == [
        f"error: git refuses {repo}: it belongs to another user (dubious ownership)",
        f"hint: if you trust it: git config --global --add safe.directory {repo}",
    ]


def test_status_current_context_is_the_active_session(live: Path) -> None:
    """While a session is active, status (and `status --json` current_context) named the
    branch's context, though `context show` and every write use the session's: an agent that
    read its current context from status got the wrong id (QA round 15b: 01)."""
    started = run_git_aircher(live, "session", "start", "feature", "work")
    assert started.code == 0, started.err
    session_id = started.out.split()[0] if started.out.split() else ""
    shown = json.loads(run_git_aircher(live, "context", "show", "--json").out)
    st = json.loads(run_git_aircher(live, "status", "--json").out)
    current = st["current_context"]
    assert current["id"] == shown["current"]
    assert current["context_type"] == "session"
    assert current["git_branch"] == "main"
    assert session_id.startswith(current["session_id"][:8])
    text = run_git_aircher(live, "status").out
    assert f"context: {current['name']} (session on main, {current['id']})" in text
    assert run_git_aircher(live, "session", "end").code == 0
    after = json.loads(run_git_aircher(live, "status", "--json").out)["current_context"]
    assert (after["name"], after["context_type"], after["session_id"]) == ("main", "worktree",
                                                                            None)


def test_status_rows_leave_out_the_full_text_index_internals(live: Path) -> None:
    """status counted every table in sqlite_master, FTS5's virtual and shadow tables too: an
    empty conversations.db showed 3 rows (messages_fts_config, messages_fts_data) and `--json`
    listed those as the store's tables. They are named apart now, not counted
    (QA round 15b: 06)."""
    wait_idle(live)
    st = json.loads(run_git_aircher(live, "status", "--json").out)
    dbs = {d["name"]: d for d in st["databases"]}
    convs = dbs["conversations"]
    assert sum(convs["tables"].values()) == 0, convs["tables"]
    assert {"messages_fts", "messages_fts_config", "messages_fts_data"} <= set(
        convs["fts_tables"])
    files = dbs["file_index"]
    assert {"search_fts", "search_vocab", "search_fts_idx"} <= set(files["fts_tables"])
    for db in dbs.values():
        assert not any("_fts" in t or t == "search_vocab" for t in db["tables"]), db["tables"]
    rows = {line.split()[0]: line.split()[-1]
            for line in run_git_aircher(live, "status").out.splitlines()
            if line.startswith("conversations ")}
    assert rows == {"conversations": "0"}



def _killed_switching_into_wal(path: Path) -> None:
    """`path` as a process killed inside `PRAGMA journal_mode = WAL` leaves it (seen with
    `strace -e inject=unlink:signal=KILL`): page 1 written saying "WAL", the journal of that
    switch (page 1 as it was) not yet deleted, so hot. A new database when there is none at
    `path`, as `init` makes one; else the database, first put in rollback mode."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")  # as open_database makes one
    assert conn.execute("PRAGMA journal_mode = DELETE").fetchone() == ("delete",)
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    conn.execute(f"PRAGMA user_version = {version}")  # page 1 written, in rollback mode
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    page = int(conn.execute("PRAGMA page_size").fetchone()[0])
    before = path.read_bytes()[:page]
    assert conn.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)
    conn.close()
    nonce = 0x5EED1E55
    checksum = (nonce + sum(before[i] for i in range(page - 200, 0, -200))) & 0xFFFFFFFF
    header = (bytes.fromhex("d9d505f920a163d7") + (1).to_bytes(4, "big")  # one record
              + nonce.to_bytes(4, "big") + pages.to_bytes(4, "big")  # the database's size
              + (512).to_bytes(4, "big") + page.to_bytes(4, "big"))  # sector, page size
    path.with_name(path.name + "-journal").write_bytes(
        header.ljust(512, b"\0") + (1).to_bytes(4, "big") + before + checksum.to_bytes(4, "big"))
    assert path.read_bytes()[18:20] == b"\x02\x02" and before[18:20] == b"\x01\x01"


@pytest.mark.parametrize("which", ["conversations", "global"])
def test_init_killed_as_it_made_a_database_runs_again(
    repo: Path, aircher, monkeypatch: pytest.MonkeyPatch, which: str,  # type: ignore[no-untyped-def]
) -> None:
    """`init` killed inside a new database's switch into WAL mode left that switch's own hot
    journal beside it; every later command, `init` included, refused it as "not its own …
    would roll another database's pages into it", and repair set it aside and made other
    databases anew, empty (QA round 25b: 02). It is told from another database's journal (it
    holds page 1 alone, as the file has it but for the header the switch writes): the next
    read-write open rolls it back, and `init` simply works again."""
    monkeypatch.setenv("AIRCHER_SKIP", "1")  # no worker meanwhile
    if which == "global":
        path = Path(os.environ["AIRCHER_HOME"]) / "global.db"
        path.parent.mkdir(parents=True, exist_ok=True)
    else:
        assert aircher(repo, "init").code == 0
        path = repo / ".agents" / "db" / "core" / "conversations.db"
        for old in path.parent.glob("conversations.db*"):
            old.unlink()  # killed as init made it
    _killed_switching_into_wal(path)
    r = aircher(repo, "init")
    assert r.code == 0, r.err
    assert not path.with_name(path.name + "-journal").exists()
    r = aircher(repo, "doctor")
    assert r.code == 0 and "error" not in r.out, r.out + r.err
    assert aircher(repo, "conversation", "list").code == 0


def test_doctor_reads_a_database_beside_its_own_wal_switch_journal(
    repo: Path, aircher, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    """The same journal beside a database with its tables (one put back into WAL mode, as
    `storage.sqlite.journal_mode` returning to WAL does): doctor, which only reads, called it
    another database's (QA round 25b: 02); a read-only connection cannot roll it back, so it
    reads the file alone, as it is, and finds nothing wrong. The next command rolls it back."""
    monkeypatch.setenv("AIRCHER_SKIP", "1")
    assert aircher(repo, "init").code == 0
    assert aircher(repo, "decision", "add", "use sqlite").code == 0
    path = repo / ".agents" / "db" / "core" / "knowledge.db"
    _killed_switching_into_wal(path)
    journal = path.with_name("knowledge.db-journal")
    r = aircher(repo, "doctor")
    assert r.code == 0 and "error" not in r.out, r.out + r.err
    assert journal.exists()  # doctor changes nothing
    assert "use sqlite" in aircher(repo, "decision", "list").out
    assert not journal.exists()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
