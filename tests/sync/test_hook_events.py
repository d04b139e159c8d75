"""Every git event, through the real hooks git runs, lands in the tables with no command run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import commit, git, head, run_git_aircher, write
from tests.sync.helpers import changes, failures, query, store, wait_idle


def test_init_reads_existing_history(live: Path) -> None:
    rows = changes(live)
    assert {(r[0], r[2]) for r in rows} == {("created", "README.md"), ("created", "src/app.py")}
    blob = git(live, "rev-parse", "HEAD:src/app.py").strip()
    assert query(live, "file_index", "SELECT content_hash, language, line_count FROM files"
                 " WHERE path = 'src/app.py'") == [(blob, "python", 1)]


def test_post_commit_records_every_kind_of_change(live: Path) -> None:
    write(live, "src/app.py", "print('hi')\nprint('more')\n")
    write(live, "docs/new.md", "# new\n")
    git(live, "mv", "README.md", "README.rst")
    git(live, "add", "-A")
    git(live, "commit", "-qm", "several")
    sha = head(live)
    git(live, "rm", "-q", "docs/new.md")
    git(live, "commit", "-qm", "delete")
    sha2 = head(live)
    wait_idle(live)
    rows = {(r[0], r[1], r[2], r[3], r[4]) for r in changes(live)}
    assert ("modified", "src/app.py", "src/app.py", 1, sha) in rows
    assert ("created", "docs/new.md", "docs/new.md", 1, sha) in rows
    assert ("renamed", "README.md", "README.rst", 0, sha) in rows
    assert ("deleted", "docs/new.md", "docs/new.md", 1, sha2) in rows
    status = dict(query(live, "file_index", "SELECT path, git_status FROM files"))
    assert status["docs/new.md"] == "deleted" and status["src/app.py"] == "clean"
    assert failures(live) == ""


def test_replay_never_duplicates(live: Path) -> None:
    commit(live, {"a.txt": "a\n"}, "a")
    wait_idle(live)
    before = changes(live)
    # The same event again (a crash after applying, before deleting the record): no new rows.
    r = run_git_aircher(live, "hook", "post-commit")
    assert r.code == 0 and r.out == "" and r.err == ""
    wait_idle(live)
    assert run_git_aircher(live, "sync").code == 0
    assert changes(live) == before


def test_branch_switch_context_and_files(live: Path) -> None:
    git(live, "checkout", "-q", "-b", "feature")
    commit(live, {"src/app.py": "print('feature')\n", "feature.txt": "f\n"}, "feature work")
    git(live, "checkout", "-q", "main")
    wait_idle(live)
    ctx = dict(query(live, "knowledge",
                     "SELECT name, git_branch FROM contexts WHERE context_type = 'worktree'"))
    assert ctx == {"main": "main", "feature": "feature"}
    switches = query(
        live, "knowledge",
        "SELECT f.name, t.name, s.switch_reason FROM context_switches s LEFT JOIN contexts f"
        " ON f.id = s.from_context_id JOIN contexts t ON t.id = s.to_context_id"
        " ORDER BY s.rowid")
    assert switches[-2:] == [("main", "feature", "checkout"), ("feature", "main", "checkout")]
    row = query(live, "knowledge", "SELECT branch_name, git_commit FROM worktrees")
    assert row == [("main", head(live))]
    # Back on main: feature.txt is not in this worktree's view; app.py has main's blob.
    view = dict(query(live, "file_index",
                      "SELECT f.path, w.content_hash FROM worktree_files w JOIN files f"
                      " ON f.id = w.file_id"))
    assert "feature.txt" not in view
    assert view["src/app.py"] == git(live, "rev-parse", "main:src/app.py").strip()
    data = json.loads((store(live) / "worktrees" / "feature" / "context.json").read_text())
    assert data["branch"] == "feature"


def test_commits_of_a_branch_left_before_their_records_applied(live: Path) -> None:
    """`git commit` on feature, then at once `git checkout main`: a worker that got to the
    commits' records after the checkout caught up from main's HEAD, and feature's commits
    stayed unrecorded (`relevant --context feature` and `compare` ranked feature without
    them). A record's commit that HEAD has left is now read from the record's branch."""
    from gitext.project import Project
    from gitext.sync.slots import worker_lock

    with Project.locate(live, Path(os.environ["AIRCHER_HOME"]), os.environ) as project, \
            worker_lock(project, wait=True):  # the records wait until HEAD has moved on
        git(live, "checkout", "-q", "-b", "feature")
        commit(live, {"feature.txt": "one\n"}, "feature one")
        first = head(live)
        commit(live, {"feature.txt": "two\n"}, "feature two")
        second = head(live)
        git(live, "checkout", "-q", "main")
    wait_idle(live)
    assert run_git_aircher(live, "sync").code == 0
    rows = {(r[0], r[2], r[4]) for r in changes(live)}
    assert ("created", "feature.txt", first) in rows, rows
    assert ("modified", "feature.txt", second) in rows, rows
    assert failures(live) == ""


@pytest.mark.parametrize("gone", ["branch -D", "reset --hard"])
def test_a_commit_whose_branch_is_gone_before_its_record_is_applied(live: Path,
                                                                    gone: str) -> None:
    """`git checkout -b fix; git commit; git checkout main; git merge --squash fix; git commit;
    git branch -D fix` in a row (or a commit undone at once by `git reset --hard HEAD~1`): a
    worker that got to the commit's record after that read the commit from the branch's tip,
    which was gone or no longer had it, and the commit was never recorded, while a quicker
    worker recorded it for good (QA round 24d: 02). The record names the commit it made, which
    is read while git still has it."""
    from gitext.project import Project
    from gitext.sync.slots import worker_lock

    with Project.locate(live, Path(os.environ["AIRCHER_HOME"]), os.environ) as project, \
            worker_lock(project, wait=True):  # the records wait until the branch is gone
        if gone == "branch -D":
            git(live, "checkout", "-q", "-b", "fix")
            probe = commit(live, {"probe.py": "def probe(): pass\n"}, "fix: add probe")
            git(live, "checkout", "-q", "main")
            git(live, "merge", "-q", "--squash", "fix")
            git(live, "commit", "-q", "-m", "squashed fix")
            git(live, "branch", "-q", "-D", "fix")
        else:
            probe = commit(live, {"probe.py": "def probe(): pass\n"}, "undone at once")
            git(live, "reset", "-q", "--hard", "HEAD~1")
    wait_idle(live)
    assert run_git_aircher(live, "sync").code == 0
    assert query(live, "file_index", "SELECT count(*) FROM commits WHERE sha = ?",
                 probe) == [(1,)]
    assert ("created", "probe.py", probe) in {(r[0], r[2], r[4]) for r in changes(live)}
    assert failures(live) == ""


@pytest.mark.parametrize("path", ["python shim", "packed ref"])
def test_every_commit_record_names_its_commit(live: Path, tmp_path: Path, path: str) -> None:
    """A commit undone at once (`git reset --hard HEAD~1`) before the worker gets to its
    record: the record names the commit it made only when the shell shim found its branch's
    ref file. The Python path (a shim run from another hooks folder: a copied repository, the
    pre-commit framework) wrote no `commit` line, nor did the shim when `git gc --auto` had
    packed the refs just before the hook ran, and the commit was never recorded (known,
    session 22). Every post-commit record now names its commit."""
    import shutil

    from gitext.project import Project
    from gitext.sync.slots import worker_lock

    if path == "python shim":
        elsewhere = tmp_path / "hooks-copy"
        shutil.copytree(live / ".git" / "hooks", elsewhere)
        options = ["-c", f"core.hooksPath={elsewhere}"]
    else:
        # `git commit` runs `git gc --auto` before its post-commit hook: with two packs and a
        # limit of one, in the foreground, it packs the refs first. (Its pack-objects reads
        # revisions from stdin: an empty pipe, never whatever the null device holds.)
        git(live, "repack", "-q", input="")
        commit(live, {"pack.txt": "two\n"}, "a second pack")
        git(live, "repack", "-q", input="")
        options = ["-c", "gc.auto=1", "-c", "gc.autoPackLimit=1", "-c", "gc.autoDetach=false"]
    wait_idle(live)
    with Project.locate(live, Path(os.environ["AIRCHER_HOME"]), os.environ) as project, \
            worker_lock(project, wait=True):  # the record waits until the commit is undone
        write(live, "probe.py", "def probe(): pass\n")
        git(live, "add", "probe.py")
        git(live, *options, "commit", "-q", "-m", "undone at once", input="")
        probe = head(live)
        if path == "packed ref":
            assert not (live / ".git" / "refs" / "heads" / "main").exists()
        records = [p.read_text() for p in (store(live) / "journal").glob("*.ev")]
        assert [r for r in records if "hook post-commit" in r], records
        git(live, "reset", "-q", "--hard", "HEAD~1")
    wait_idle(live)
    assert run_git_aircher(live, "sync").code == 0
    assert query(live, "file_index", "SELECT count(*) FROM commits WHERE sha = ?",
                 probe) == [(1,)]
    assert any(f"commit {probe}\n" in r for r in records), records
    assert failures(live) == ""


@pytest.mark.parametrize("sequence", ["cherry-pick", "rebase"])
def test_a_checkout_just_before_a_stopped_sequence_is_not_held_back(live: Path,
                                                                     sequence: str) -> None:
    """`git checkout -b work; git cherry-pick A B` (stopped on a conflict), or `git checkout -b
    work; git rebase -i` stopped at an `edit`, run in a row: a worker that got to the checkout's
    record after the sequence began deferred it with the sequence's own records, and until the
    sequence ended (minutes, hours) the store had the worktree on the branch it had left, while
    a quicker worker recorded the switch at once (QA round 24d: 03). A record written before
    the sequence began is none of its records."""
    from gitext.project import Project
    from gitext.sync.slots import worker_lock

    git(live, "checkout", "-q", "-b", "side")
    one = commit(live, {"src/app.py": "side\n"}, "side one")
    two = commit(live, {"two.txt": "2\n"}, "side two")
    git(live, "checkout", "-q", "main")
    commit(live, {"src/app.py": "main\n"}, "main one")
    commit(live, {"three.txt": "3\n"}, "main two")
    wait_idle(live)
    with Project.locate(live, Path(os.environ["AIRCHER_HOME"]), os.environ) as project, \
            worker_lock(project, wait=True):  # the records wait until the sequence has begun
        git(live, "checkout", "-q", "-b", "work")
        if sequence == "cherry-pick":
            git(live, "cherry-pick", one, two, check=False)  # stops: src/app.py conflicts
            assert (live / ".git" / "sequencer").is_dir()
        else:
            git(live, "-c", "sequence.editor=sed -i -e 1s/^pick/edit/", "rebase", "-q", "-i",
                "HEAD~2")
            assert (live / ".git" / "rebase-merge").is_dir()
    wait_idle(live)
    row = query(live, "knowledge", "SELECT branch_name FROM worktrees WHERE worktree_path = ?",
                str(live.resolve()))
    assert row == [("work",)]
    last = query(live, "knowledge",
                 "SELECT f.name, t.name FROM context_switches s JOIN contexts f"
                 " ON f.id = s.from_context_id JOIN contexts t ON t.id = s.to_context_id"
                 " ORDER BY s.rowid DESC LIMIT 1")
    assert last == [("main", "work")]
    assert failures(live) == ""


def test_file_checkout_is_not_a_context_switch(live: Path) -> None:
    wait_idle(live)
    before = query(live, "knowledge", "SELECT count(*) FROM context_switches")
    write(live, "src/app.py", "changed\n")
    git(live, "checkout", "--", "src/app.py")
    wait_idle(live)
    assert query(live, "knowledge", "SELECT count(*) FROM context_switches") == before
    assert failures(live) == ""


def test_detached_head(live: Path) -> None:
    first = head(live)
    commit(live, {"b.txt": "b\n"}, "b")
    git(live, "checkout", "-q", first)
    wait_idle(live)
    names = {r[0] for r in query(live, "knowledge", "SELECT name FROM contexts")}
    assert "(detached)" in names
    assert query(live, "knowledge", "SELECT branch_name FROM worktrees") == [("(detached)",)]


def test_bisect_steps_are_not_switches(live: Path) -> None:
    first = head(live)
    for i in range(8):
        commit(live, {f"n{i}.txt": f"{i}\n"}, f"n{i}")
    git(live, "bisect", "start", "HEAD", first)
    for verdict in ("good", "bad", "good"):  # each step moves a detached HEAD to another
        wait_idle(live)
        # The worktree row still follows HEAD from step to step.
        assert query(live, "knowledge", "SELECT branch_name, git_commit FROM worktrees") == [
            ("(detached)", head(live))]
        git(live, "bisect", verdict)
    git(live, "bisect", "reset")
    wait_idle(live)
    rows = query(live, "knowledge",
                 "SELECT f.name, t.name FROM context_switches s JOIN contexts f"
                 " ON f.id = s.from_context_id JOIN contexts t ON t.id = s.to_context_id")
    assert sorted(rows) == [("(detached)", "main"), ("main", "(detached)")]
    assert failures(live) == ""


def test_merge_records_transfer_and_first_parent_diff(live: Path) -> None:
    git(live, "checkout", "-q", "-b", "topic")
    commit(live, {"topic.txt": "t\n"}, "topic")
    git(live, "checkout", "-q", "main")
    commit(live, {"main.txt": "m\n"}, "main side")
    git(live, "merge", "-q", "--no-edit", "topic")
    merge = head(live)
    wait_idle(live)
    rows = [r for r in changes(live) if r[4] == merge]
    assert [(r[0], r[2]) for r in rows] == [("created", "topic.txt")]
    rel = query(live, "knowledge",
                "SELECT s.name, t.name FROM context_relationships r JOIN contexts s"
                " ON s.id = r.source_context_id JOIN contexts t ON t.id = r.target_context_id"
                " WHERE r.relationship_type = 'knowledge_transfer'")
    assert rel == [("topic", "main")]
    # The merge that made it and what the transfer carried, side by side.
    meta = json.loads(query(live, "knowledge", "SELECT metadata FROM context_relationships")[0][0])
    assert meta["via"] == "post-merge" and meta["commit"] == merge
    assert {"patterns", "decisions", "insights"} <= set(meta)


def test_a_merged_decision_reverted_on_its_branch_is_no_longer_advice(live: Path) -> None:
    """The merge's transfer gave main "decision made on feat: …" as a 'best_practice'
    insight; reverted on feat and merged again, main still listed it (QA round 26c: 01)."""
    def advice() -> list[str]:
        r = run_git_aircher(live, "context", "insights", "--context", "main", "--json")
        assert r.code == 0, r.err
        return [i["description"] for i in json.loads(r.out)]

    git(live, "checkout", "-q", "-b", "feat")
    made = run_git_aircher(live, "decision", "add", "sync login")
    assert made.code == 0, made.err
    commit(live, {"login.py": "sync\n"}, "login")
    git(live, "checkout", "-q", "main")
    git(live, "merge", "-q", "--no-ff", "--no-edit", "feat")
    wait_idle(live)
    assert advice() == ["decision made on feat: sync login"]

    git(live, "checkout", "-q", "feat")
    assert run_git_aircher(live, "decision", "revert", made.out.strip()).code == 0
    commit(live, {"login.py": "async\n"}, "login, async")
    git(live, "checkout", "-q", "main")
    git(live, "merge", "-q", "--no-ff", "--no-edit", "feat")
    wait_idle(live)
    assert advice() == []
    assert failures(live) == ""


def test_fast_forward_merge_is_a_transfer_too(live: Path) -> None:
    git(live, "checkout", "-q", "-b", "ff")
    commit(live, {"ff.txt": "x\n"}, "ff")
    git(live, "checkout", "-q", "main")
    git(live, "merge", "-q", "ff")
    wait_idle(live)
    assert query(live, "knowledge",
                 "SELECT count(*) FROM context_relationships WHERE relationship_type ="
                 " 'knowledge_transfer'") == [(1,)]


def _worktree_contexts(repo: Path) -> set[object]:
    return {r[0] for r in query(repo, "knowledge",
                                "SELECT name FROM contexts WHERE context_type = 'worktree'")}


def _merge_transfers(repo: Path) -> list[tuple[object, ...]]:
    return query(repo, "knowledge",
                 "SELECT s.name, t.name FROM context_relationships r JOIN contexts s"
                 " ON s.id = r.source_context_id JOIN contexts t ON t.id = r.target_context_id"
                 " ORDER BY r.rowid")


def test_merges_of_names_that_are_not_local_branches(repo: Path, tmp_path: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, {"f.txt": "f\n"}, "f")
    git(repo, "checkout", "-q", "main")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    assert run_git_aircher(clone, "init").code == 0
    git(clone, "merge", "-q", "--no-edit", "origin/feature")  # a fast-forward, as after fetch
    git(clone, "checkout", "-q", "-b", "side")
    side = commit(clone, {"s.txt": "s\n"}, "s")
    commit(clone, {"t.txt": "t\n"}, "t")
    git(clone, "checkout", "-q", "main")
    git(clone, "merge", "-q", "--no-edit", side)
    git(clone, "merge", "-q", "--no-edit", "side~0")
    wait_idle(clone)
    assert _worktree_contexts(clone) == {"main", "side"}
    assert _merge_transfers(clone) == []
    git(clone, "checkout", "-q", "side")
    commit(clone, {"u.txt": "u\n"}, "u")
    git(clone, "checkout", "-q", "main")
    git(clone, "merge", "-q", "--no-edit", "side")
    wait_idle(clone)
    assert _merge_transfers(clone) == [("side", "main")]
    # A remote-tracking branch stands for the local branch that follows it, once that branch
    # has a context here; merged as a commit, its message names it too (the catch-up's way).
    git(clone, "checkout", "-q", "feature")
    git(clone, "checkout", "-q", "main")
    git(repo, "checkout", "-q", "feature")
    commit(repo, {"f2.txt": "f2\n"}, "f2")
    git(clone, "fetch", "-q")
    git(clone, "merge", "-q", "--no-ff", "--no-edit", "origin/feature")
    wait_idle(clone)
    assert _worktree_contexts(clone) == {"main", "side", "feature"}
    assert _merge_transfers(clone) == [("side", "main"), ("feature", "main")]
    assert failures(clone) == ""


def test_conflicted_merge_is_caught_up_at_commit(live: Path) -> None:
    git(live, "checkout", "-q", "-b", "left")
    commit(live, {"src/app.py": "left\n"}, "left")
    assert run_git_aircher(live, "decision", "add", "use left-handed scissors").code == 0
    git(live, "checkout", "-q", "main")
    commit(live, {"src/app.py": "right\n"}, "right")
    assert git(live, "merge", "left", check=False) == "" or True
    write(live, "src/app.py", "both\n")
    git(live, "add", "src/app.py")
    git(live, "commit", "-q", "--no-edit")
    merge = head(live)
    wait_idle(live)
    assert [r[0] for r in changes(live) if r[4] == merge] == ["modified"]
    # No post-merge ran, but the merge commit's message names the branch.
    assert query(live, "knowledge",
                 "SELECT count(*) FROM context_relationships WHERE relationship_type ="
                 " 'knowledge_transfer'") == [(1,)]
    # And what the branch learned came along, as a post-merge brings it: the relationship
    # alone was recorded (QA round 15b: 01).
    r = run_git_aircher(live, "context", "insights", "--min-confidence", "0", "--json")
    assert r.code == 0, r.err
    assert [i for i in json.loads(r.out) if "left-handed scissors" in json.dumps(i)], r.out


def test_amend_maps_old_to_new_and_drops_nothing(live: Path) -> None:
    commit(live, {"a.txt": "one\n"}, "a")
    old = head(live)
    wait_idle(live)
    write(live, "a.txt", "one\ntwo\n")
    git(live, "commit", "-q", "-a", "--amend", "--no-edit")
    new = head(live)
    wait_idle(live)
    assert query(live, "file_index", "SELECT old_sha, new_sha, command FROM commit_rewrites") == [
        (old, new, "amend")]
    commits = {r[4] for r in changes(live)}
    assert {old, new} <= commits


def test_interactive_rebase_with_squash_and_fixup(live: Path, tmp_path: Path) -> None:
    base = head(live)
    for i in range(4):
        commit(live, {f"r{i}.txt": f"{i}\n"}, f"r{i}")
    wait_idle(live)
    editor = tmp_path / "seq.sh"
    editor.write_text(
        "#!/bin/sh\nsed -i -e '2s/^pick/squash/' -e '4s/^pick/fixup/' \"$1\"\n")
    editor.chmod(0o755)
    proc = git(live, "-c", f"sequence.editor={editor}", "-c", "core.editor=true",
               "rebase", "-q", "-i", base)
    assert proc is not None
    wait_idle(live)
    rewrites = query(live, "file_index", "SELECT command, count(*) FROM commit_rewrites"
                     " GROUP BY command")
    # git's squash step amends internally (post-rewrite "amend" too); the rebase maps all four.
    assert ("rebase", 4) in rewrites
    new_commits = git(live, "rev-list", f"{base}..HEAD").split()
    assert len(new_commits) == 2
    known = {r[0] for r in query(live, "file_index", "SELECT sha FROM commits")}
    assert set(new_commits) <= known
    assert failures(live) == ""


def test_cherry_pick(live: Path) -> None:
    git(live, "checkout", "-q", "-b", "pick-from")
    sha = commit(live, {"picked.txt": "p\n"}, "to pick")
    git(live, "checkout", "-q", "main")
    git(live, "cherry-pick", sha)
    picked = head(live)
    wait_idle(live)
    assert ("created", "picked.txt", picked) in {(r[0], r[2], r[4]) for r in changes(live)}


def test_empty_repository_then_first_commit(empty_repo: Path) -> None:
    assert run_git_aircher(empty_repo, "init").code == 0
    commit(empty_repo, {"first.txt": "1\n"}, "first")
    wait_idle(empty_repo)
    assert [(r[0], r[2]) for r in changes(empty_repo)] == [("created", "first.txt")]


def test_odd_paths(live: Path) -> None:
    names = ["with space.txt", "ünïcødé.md", "new\nline.txt", "-leading-dash.txt"]
    commit(live, {n: "x\n" for n in names}, "odd names")
    wait_idle(live)
    paths = {r[0] for r in query(live, "file_index", "SELECT path FROM files")}
    assert set(names) <= paths
    assert failures(live) == ""


def test_binary_large_and_symlink(live: Path) -> None:
    write(live, "blob.bin", b"\x00\x01\x02" * 100)
    write(live, "big.txt", "x" * (11 * 1024 * 1024))
    write(live, "big.bin", b"\x7fELF\x00\x01" + b"\x02" * (11 * 1024 * 1024))
    (live / "link").symlink_to("src/app.py")
    git(live, "add", "blob.bin", "big.txt", "big.bin", "link")
    git(live, "commit", "-qm", "binary, big, link")
    wait_idle(live)
    rows = {r[0]: r[1:] for r in query(
        live, "file_index", "SELECT path, is_binary, line_count, permissions, size_bytes"
        " FROM files")}
    assert rows["blob.bin"][0] == 1
    # Metadata only above 10 MB, the size and git's binary test included.
    assert rows["big.txt"] == (0, None, "100644", 11 * 1024 * 1024)
    assert rows["big.bin"] == (1, None, "100644", 6 + 11 * 1024 * 1024)
    assert rows["link"][2] == "120000"
    assert query(live, "file_index", "SELECT count(*) FROM file_snippets s JOIN files f"
                 " ON f.id = s.file_id WHERE f.path IN ('big.txt', 'blob.bin')") == [(0,)]


def test_secret_files_keep_metadata_only(live: Path) -> None:
    files = {".env": "API_KEY=supersecretvalue\n", "config/credentials.json": '{"k": 1}\n',
             "keys/server.pem": "-----BEGIN PRIVATE KEY-----\nabc\n"}
    for rel, content in files.items():
        write(live, rel, content)
    git(live, "add", *files)
    git(live, "commit", "-q", "--no-verify", "-m", "secrets")  # past the guard, on purpose
    wait_idle(live)
    rows = dict(query(live, "file_index", "SELECT path, line_count FROM files"))
    assert {".env", "config/credentials.json", "keys/server.pem"} <= set(rows)
    assert rows[".env"] is None
    for db in ("file_index", "knowledge", "conversations", "sessions"):
        data = (store(live) / "db" / "core" / f"{db}.db").read_bytes()
        wal = store(live) / "db" / "core" / f"{db}.db-wal"
        data += wal.read_bytes() if wal.exists() else b""
        assert b"supersecretvalue" not in data and b"BEGIN PRIVATE KEY" not in data


def test_submodules_are_skipped(live: Path, tmp_path: Path) -> None:
    sub = tmp_path / "subrepo"
    sub.mkdir()
    git(sub, "init", "-q")
    commit(sub, {"inner.txt": "i\n"}, "inner")
    git(live, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "vendor/sub")
    git(live, "commit", "-qm", "submodule")
    wait_idle(live)
    paths = {r[0] for r in query(live, "file_index", "SELECT path FROM files")}
    assert "vendor/sub" not in paths and ".gitmodules" in paths
    assert not any(p.startswith("vendor/sub/") for p in paths)


def test_relationships_and_snippets_for_changed_files(live: Path) -> None:
    commit(live, {"pkg/__init__.py": "", "pkg/util.py": "def helper():\n    return 1\n",
                  "pkg/main.py": "from pkg.util import helper\n\n\nclass App:\n"
                                 "    def run(self):\n        return helper()\n",
                  "tests/test_util.py": "from pkg.util import helper\n\n\ndef test_h():\n"
                                        "    assert helper() == 1\n",
                  "docs/guide.md": "See [util](../pkg/util.py).\n"}, "code")
    wait_idle(live)
    rels = set(query(
        live, "file_index",
        "SELECT s.path, t.path, r.relationship_type FROM file_relationships r JOIN files s"
        " ON s.id = r.source_file_id JOIN files t ON t.id = r.target_file_id"))
    assert ("pkg/main.py", "pkg/util.py", "imports") in rels
    assert ("tests/test_util.py", "pkg/util.py", "tests") in rels
    assert ("docs/guide.md", "pkg/util.py", "documents") in rels
    snippets = set(query(
        live, "file_index",
        "SELECT f.path, s.snippet_type, s.line_start, s.line_end FROM file_snippets s"
        " JOIN files f ON f.id = s.file_id WHERE f.path = 'pkg/main.py'"))
    assert ("pkg/main.py", "class", 4, 6) in snippets
    assert ("pkg/main.py", "function", 5, 6) in snippets


def test_hooks_stay_silent_and_succeed(live: Path) -> None:
    write(live, "q.txt", "q\n")
    git(live, "add", "q.txt")
    import subprocess

    proc = subprocess.run(["git", "commit", "-qm", "quiet"], cwd=live, capture_output=True,
                          text=True)
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == ""


def test_aircher_skip_turns_hooks_off(live: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wait_idle(live)
    monkeypatch.setenv("AIRCHER_SKIP", "1")
    sha = commit(live, {"skipped.txt": "s\n"}, "skipped")
    wait_idle(live)
    assert sha not in {r[4] for r in changes(live)}
    monkeypatch.delenv("AIRCHER_SKIP")
    assert run_git_aircher(live, "sync").code == 0  # sync catches up from git itself
    assert sha in {r[4] for r in changes(live)}


def test_old_merges_of_branches_never_seen_make_no_contexts(repo: Path) -> None:
    # History with merges of branches that are gone (as in any project with pull requests).
    for name in ("pr/1", "pr/2"):
        git(repo, "checkout", "-q", "-b", name)
        commit(repo, {f"{name.replace('/', '-')}.txt": "x\n"}, name)
        git(repo, "checkout", "-q", "main")
        git(repo, "merge", "-q", "--no-ff", "--no-edit", name)
        git(repo, "branch", "-q", "-D", name)
    assert run_git_aircher(repo, "init").code == 0
    wait_idle(repo)
    names = [r[0] for r in query(repo, "knowledge",
                                 "SELECT name FROM contexts WHERE context_type = 'worktree'")]
    assert names == ["main"]
    assert query(repo, "knowledge", "SELECT count(*) FROM context_relationships") == [(0,)]
