"""Queries see the work tree as it is: uncommitted edits, new files and local deletions count
without `git aircher index`, and the files being edited lead `relevant`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from gitext.project import Project
from gitext.sync import local
from tests.conftest import commit, git, open_project, run_git_aircher, write
from tests.sync.helpers import query, wait_idle

BASE = {
    "src/core.py": "def run_engine():\n    return 1\n",
    "src/helpers.py": "def format_value(v):\n    return str(v)\n",
    "src/legacy.py": "def marsupial_inventory():\n    return []\n",
    "docs/guide.md": "# Guide\n\nHow to run the engine.\n",
}


@pytest.fixture
def repo_with_store(empty_repo: Path, aircher: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Hooks off: the test drives every step itself, and no worker races the counts.
    monkeypatch.setenv("AIRCHER_SKIP", "1")
    commit(empty_repo, BASE, "base")
    for i in range(3):
        commit(empty_repo, {"src/core.py": f"def run_engine():\n    return {i + 2}\n"}, f"c{i}")
    assert aircher(empty_repo, "index").code == 0
    return empty_repo


def paths(aircher: Any, repo: Path, command: str, *args: str) -> list[str]:
    r = aircher(repo, command, "--json", *args)
    assert r.code == 0, r.err
    return [h["path"] for h in json.loads(r.out)]


@pytest.mark.parametrize("mode", ["hybrid", "text", "vector"])
def test_search_sees_edits_new_files_and_deletions(repo_with_store: Path, aircher: Any,
                                                   mode: str) -> None:
    repo = repo_with_store
    write(repo, "src/helpers.py", "def format_value(v):\n    return str(v)\n\n\n"
                                  "def quokka_tracking_beacon():\n    return 'quokka'\n")
    write(repo, "src/zebra.py", "def zebra_striping_pattern():\n    return 'stripes'\n")
    (repo / "src" / "legacy.py").unlink()

    assert paths(aircher, repo, "search", "--mode", mode, "--top", "1", "--",
                 "quokka tracking beacon") == ["src/helpers.py"]
    assert paths(aircher, repo, "search", "--mode", mode, "--top", "1", "--",
                 "zebra striping pattern") == ["src/zebra.py"]
    assert "src/legacy.py" not in paths(aircher, repo, "search", "--mode", mode, "--",
                                        "marsupial inventory")

    # Undone: the committed content is what is searched again.
    git(repo, "checkout", "--", ".")
    (repo / "src" / "zebra.py").unlink()
    assert "src/helpers.py" not in paths(aircher, repo, "search", "--mode", mode, "--",
                                         "quokka tracking beacon")
    assert "src/zebra.py" not in paths(aircher, repo, "search", "--mode", mode, "--",
                                       "zebra striping pattern")
    assert paths(aircher, repo, "search", "--mode", mode, "--top", "1", "--",
                 "marsupial inventory") == ["src/legacy.py"]


def test_relevant_puts_the_files_being_edited_first(repo_with_store: Path, aircher: Any) -> None:
    repo = repo_with_store
    assert paths(aircher, repo, "relevant")[0] == "src/core.py"  # the busiest file
    write(repo, "docs/guide.md", "# Guide\n\nHow to run the engine, and stop it.\n")
    write(repo, "src/stop.py", "from src.core import run_engine\n")
    assert set(paths(aircher, repo, "relevant", "--top", "2")) == {"docs/guide.md",
                                                                    "src/stop.py"}
    with_task = paths(aircher, repo, "relevant", "--task", "stop the engine", "--top", "3")
    assert "src/stop.py" in with_task
    git(repo, "checkout", "--", ".")
    (repo / "src" / "stop.py").unlink()
    assert paths(aircher, repo, "relevant")[0] == "src/core.py"


def test_a_query_takes_in_only_what_changed(repo_with_store: Path) -> None:
    repo = repo_with_store
    home = Path(os.environ["AIRCHER_HOME"])
    with Project.locate(repo, home, os.environ) as project:
        assert local.take_in_local_changes(project).changed == set()  # clean: one `git status`
        write(repo, "src/helpers.py", "def format_value(v):\n    return repr(v)\n")
        assert local.take_in_local_changes(project).changed == {"src/helpers.py"}
        assert local.take_in_local_changes(project).changed == set()  # already in the view
        (repo / "src" / "legacy.py").unlink()
        assert local.take_in_local_changes(project).changed == {"src/legacy.py"}


def test_a_flood_of_untracked_files_is_left_to_index(repo_with_store: Path, aircher: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    repo = repo_with_store
    monkeypatch.setattr(local, "MAX_LOCAL_FILES", 5)
    for i in range(6):
        write(repo, f"build/out{i}.py", f"def generated_numbat_{i}():\n    pass\n")
    assert "build/out0.py" not in paths(aircher, repo, "search", "--mode", "text", "--",
                                        "generated numbat")
    assert aircher(repo, "index").code == 0
    assert "build/out0.py" in paths(aircher, repo, "search", "--mode", "text", "--",
                                    "generated numbat")


def test_a_flood_of_untracked_files_does_not_hide_a_commit(
        repo_with_store: Path, aircher: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Too many local files to take in on every query, but HEAD still counts: a commit no
    hook saw (hooks are off here) is searched and ranked."""
    repo = repo_with_store
    monkeypatch.setattr(local, "MAX_LOCAL_FILES", 5)
    for i in range(6):
        write(repo, f"build/out{i}.py", f"def generated_numbat_{i}():\n    pass\n")
    commit(repo, {"src/platypus.py": "def platypus_bill_sensor():\n    return 1\n"}, "platypus")
    assert paths(aircher, repo, "search", "--mode", "text", "--", "platypus bill")[:1] == \
        ["src/platypus.py"]
    assert "src/platypus.py" in paths(aircher, repo, "relevant", "--top", "3")
    assert "build/out0.py" not in paths(aircher, repo, "search", "--mode", "text", "--",
                                        "generated numbat")


def test_right_after_init_with_hooks_on(live: Path) -> None:
    # `init` leaves its worker running; the query waits for it briefly instead of answering
    # without the file the user just wrote.
    write(live, "src/wombat.py", "def wombat_feeder():\n    return 'grass'\n")
    r = run_git_aircher(live, "search", "--json", "--", "wombat feeder")
    assert r.code == 0, r.err
    assert [h["path"] for h in json.loads(r.out)][:1] == ["src/wombat.py"]


def test_local_files_are_parsed_in_the_background(live: Path) -> None:
    wait_idle(live)
    write(live, "src/uses_app.py", "from src import app\n\n\ndef main():\n    return app\n")
    r = run_git_aircher(live, "relevant", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)[0]["path"] == "src/uses_app.py"
    wait_idle(live)  # the worker the query started
    rels = query(live, "file_index",
                 "SELECT s.path, t.path, r.relationship_type FROM file_relationships r"
                 " JOIN files s ON s.id = r.source_file_id JOIN files t"
                 " ON t.id = r.target_file_id")
    assert ("src/uses_app.py", "src/app.py", "imports") in rels


def test_a_git_that_cannot_answer_does_not_fail_the_query(repo_with_store: Path,
                                                          aircher: Any) -> None:
    repo = repo_with_store
    (repo / ".git" / "index").write_bytes(b"garbage")  # `git status` now fails
    assert paths(aircher, repo, "search", "--mode", "text", "--top", "1", "--",
                 "marsupial inventory") == ["src/legacy.py"]
    assert paths(aircher, repo, "relevant")[0] == "src/core.py"
    log = (repo / ".agents" / "logs" / "storage.log").read_text()
    assert "failed to take in the work tree's changes" in log


def test_undoing_an_edit_of_a_file_named_like_a_pattern(repo_with_store: Path,
                                                        aircher: Any) -> None:
    repo = repo_with_store
    name = "notes/a*b[1].md"
    commit(repo, {name: "Platypus habitat survey.\n", "notes/ab1.md": "Other notes.\n"}, "notes")
    assert aircher(repo, "index").code == 0
    write(repo, name, "Echidna burrow count.\n")
    assert paths(aircher, repo, "search", "--mode", "text", "--top", "1", "--",
                 "echidna burrow") == [name]
    git(repo, "checkout", "--", name)
    assert paths(aircher, repo, "search", "--mode", "text", "--top", "1", "--",
                 "platypus habitat") == [name]
    assert name not in paths(aircher, repo, "search", "--mode", "text", "--", "echidna burrow")


def test_undone_edits_are_searchable_after_a_full_update_dropped_them(
        repo_with_store: Path, aircher: Any) -> None:
    """A full update while the tree is edited (the worker's pass after the query) drops the
    committed versions no view holds any more; once the edits are undone, HEAD has not moved,
    so the query must index what its own look put back. Found by the random walk (seed 132)."""
    repo = repo_with_store
    write(repo, "src/helpers.py", "def format_value(v):\n    return repr(v)\n")
    (repo / "src" / "legacy.py").unlink()
    assert aircher(repo, "index").code == 0  # what the worker's pass does
    assert "src/legacy.py" not in paths(aircher, repo, "search", "--mode", "text", "--",
                                        "marsupial inventory")
    git(repo, "checkout", "--", ".")
    assert paths(aircher, repo, "search", "--mode", "text", "--top", "1", "--",
                 "marsupial inventory") == ["src/legacy.py"]
    docs = set(query(repo, "file_index", "SELECT path, blob FROM search_docs"))
    for name in ("src/helpers.py", "src/legacy.py"):
        assert (name, git(repo, "rev-parse", f"HEAD:{name}").strip()) in docs


def test_an_update_the_view_moved_under_leaves_the_next_query_to_look(
        repo_with_store: Path, aircher: Any) -> None:
    """A full update reads the view, drops the versions it no longer holds, and stamps the
    HEAD it covered. An edit undone while it runs (a query's look, HEAD unchanged) puts back a
    version it dropped: the stamp must not claim that view, or no query indexes it again."""
    from gitext.search import indexer, stamps

    repo = repo_with_store
    write(repo, "src/legacy.py", "def wombat_census():\n    return []\n")
    with Project.locate(repo, Path(os.environ["AIRCHER_HOME"]), os.environ) as project:
        local.take_in_local_changes(project)
        undone = []

        def undo_on_last_step(done: int, total: int) -> None:
            if done == total and not undone:  # after its writes, before its stamp
                git(repo, "checkout", "--", "src/legacy.py")
                local.take_in_local_changes(project)
                undone.append(True)

        indexer.update(project, progress=undo_on_last_step)
        assert undone
        head = git(repo, "rev-parse", "HEAD").strip()
        assert stamps.indexed_head(project, repo.resolve()) != head
    assert paths(aircher, repo, "search", "--mode", "text", "--top", "1", "--",
                 "marsupial inventory") == ["src/legacy.py"]


def test_a_version_another_worktrees_update_swept_meanwhile(repo_with_store: Path,
                                                            aircher: Any) -> None:
    """Between a commit and a checkout back to where the search stamp is, a full update in
    another worktree (a worker's pass there) sweeps the versions no view holds at that moment.
    The stamp still matches HEAD, so the version must still be there. Found by the random walk
    (seed 132: a commit, `git stash --all`, a checkout of HEAD~1)."""
    from gitext.search import indexer
    from gitext.sync.api import catch_up

    repo = repo_with_store
    base = git(repo, "rev-parse", "HEAD").strip()
    other = repo.parent / "other"
    git(repo, "worktree", "add", "-q", "-b", "side", str(other))
    commit(other, {"src/legacy.py": "def numbat_survey():\n    return []\n"}, "side")
    with open_project(other) as project:
        catch_up(project, analyse=False)
    commit(repo, {"src/legacy.py": "def bilby_count():\n    return 0\n"}, "main moves on")
    with open_project(repo) as project:
        catch_up(project, analyse=False)  # what the commit's record does; indexed later
    with open_project(other) as project:
        indexer.update(project)
    git(repo, "checkout", "-q", "--detach", base)
    assert paths(aircher, repo, "search", "--mode", "text", "--top", "1", "--",
                 "marsupial inventory") == ["src/legacy.py"]


def test_an_edit_undone_while_it_is_analysed_is_analysed_again(repo_with_store: Path) -> None:
    """The worker reads a queued file, parses it, then writes what it found and clears the
    queue. An edit undone meanwhile queues the file again, with HEAD's content: that must stay
    queued, or the file's imports stay those of the edit that is gone."""
    from gitext.sync import derived
    from gitext.sync.engine import project_ctx

    repo = repo_with_store
    write(repo, "src/core.py", "from src import helpers\n\n\ndef run_engine():\n    return 5\n")
    with open_project(repo) as project:
        local.take_in_local_changes(project)
        undone: list[bool] = []

        def undo_while_parsing(changed: object, removed: object) -> None:
            if not undone:
                git(repo, "checkout", "--", "src/core.py")
                local.take_in_local_changes(project)
                undone.append(True)

        derived.process_pending(project.db("file_index"), project_ctx(project).id,
                                project.repo.root, docs=undo_while_parsing)
        assert undone
    rels = query(repo, "file_index",
                 "SELECT s.path, t.path FROM file_relationships r JOIN files s"
                 " ON s.id = r.source_file_id JOIN files t ON t.id = r.target_file_id")
    assert ("src/core.py", "src/helpers.py") not in rels
    assert query(repo, "file_index", "SELECT count(*) FROM analysis_pending") == [(0,)]


def test_a_look_git_overtook_is_not_taken_in(repo_with_store: Path) -> None:
    """The work tree read while git moved it (a checkout, a rebase aborted half way) is no
    picture of anything: the view keeps what git says, and the next look tries again."""
    from gitext.sync.api import catch_up

    repo = repo_with_store
    (repo / "src" / "legacy.py").unlink()
    with Project.locate(repo, Path(os.environ["AIRCHER_HOME"]), os.environ) as project:
        stamp = local.tree_stamp(project.repo.info.git_dir)
        listed, removed = local.workdir_status(repo)
        assert removed == ["src/legacy.py"]
        look = local.LocalScan(local.hashed_states(repo, listed), removed, set(), stamp)
        git(repo, "checkout", "--", "src/legacy.py")  # git, between the look and its taking in
        catch_up(project, analyse=False, local=look)
        assert "src/legacy.py" in view(repo)
        # A look that nothing overtook is taken in.
        (repo / "src" / "legacy.py").unlink()
        stamp = local.tree_stamp(project.repo.info.git_dir)
        listed, removed = local.workdir_status(repo)
        catch_up(project, analyse=False,
                 local=local.LocalScan(local.hashed_states(repo, listed), removed, set(), stamp))
        assert "src/legacy.py" not in view(repo)



def test_local_changes_taken_in_go_when_git_moves_the_worktree(repo_with_store: Path) -> None:
    """What a query took in describes the work tree of that moment. Once git commits it and
    checks the old HEAD out again (HEAD back where it was, so no diff names those files), a
    sync must not keep it: found by the random walk (tests/e2e/soak.py)."""
    from gitext.sync.api import catch_up

    repo = repo_with_store
    write(repo, "src/fresh.py", "def fresh():\n    return 1\n")
    (repo / "src" / "legacy.py").unlink()
    start = git(repo, "rev-parse", "HEAD").strip()
    with Project.locate(repo, Path(os.environ["AIRCHER_HOME"]), os.environ) as project:
        local.take_in_local_changes(project)
        assert "src/fresh.py" in view(repo) and "src/legacy.py" not in view(repo)
        catch_up(project, analyse=False)  # git has not moved: the local changes stay
        assert "src/fresh.py" in view(repo) and "src/legacy.py" not in view(repo)
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "the local work")
        git(repo, "checkout", "-q", "--detach", start)
        catch_up(project, analyse=False)  # what the hooks' events do (here, hooks are off)
    tree = set(git(repo, "ls-tree", "-r", "--name-only", "HEAD").split())
    assert view(repo) == tree


def view(repo: Path) -> set[str]:
    return {str(r[0]) for r in query(
        repo, "file_index", "SELECT f.path FROM worktree_files w JOIN files f ON f.id = w.file_id"
        " WHERE w.worktree_path = ?", str(repo.resolve()))}


def test_untracked_symlinks_are_hashed_as_git_stores_them(repo_with_store: Path,
                                                         aircher: Any) -> None:
    """A symlink's blob is its own text. Hashing it through `git hash-object` followed it: a
    dangling link or one to a folder failed `index` and made queries drop every local change,
    and a link to a file got its target's id (QA round 3: 09)."""
    repo = repo_with_store
    # The last: a target the file system cannot even look up (a component over 255 bytes),
    # which raised ENAMETOOLONG out of every query (QA round 5: 01).
    links = {"dangling": "/nonexistent/target", "folder": "src", "file": "src/core.py",
             "toolong": "x" * 300}
    for name, target in links.items():
        (repo / name).symlink_to(target)
    write(repo, "src/fresh.py", "def wombat_burrow_depth():\n    return 3\n")
    assert paths(aircher, repo, "search", "--top", "1", "--",
                 "wombat burrow depth") == ["src/fresh.py"]
    r = aircher(repo, "index")
    assert r.code == 0, r.err
    stored = dict(query(
        repo, "file_index", "SELECT f.path, w.content_hash FROM worktree_files w"
        " JOIN files f ON f.id = w.file_id"
        " WHERE f.path IN ('dangling', 'folder', 'file', 'toolong')"))
    assert stored == {name: git(repo, "hash-object", "--stdin", input=target).strip()
                      for name, target in links.items()}


def test_symlinks_hash_in_the_repository_object_format(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "--object-format=sha256")
    (tmp_path / "link").symlink_to("nowhere")
    write(tmp_path, "plain.txt", "text\n")
    states = {s.path: (s.mode, s.blob) for s in local.hashed_states(
        tmp_path, [("link", "untracked", ""), ("plain.txt", "untracked", "")])}
    assert states == {
        "link": ("120000", git(tmp_path, "hash-object", "--stdin", input="nowhere").strip()),
        "plain.txt": ("100644", git(tmp_path, "hash-object", "plain.txt").strip())}


def test_tracked_files_take_the_mode_git_would_stage(tmp_path: Path, aircher: Any) -> None:
    """With core.symlinks=false a tracked symlink is checked out as a plain file holding its
    target; edited, `git add` stages it as 120000, not as an ordinary file (QA round 5: 04).
    With core.fileMode=false git keeps the index's executable bit likewise. An untracked file,
    and every file where git trusts the disk, keeps the mode the disk gives."""
    source = tmp_path / "source"
    source.mkdir()
    git(source, "init", "-q")
    (source / "link").symlink_to("a.txt")
    git(source, "add", "link")
    commit(source, {"a.txt": "hi\n", "tool.sh": "echo\n"}, "init")
    repo = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "-c", "core.symlinks=false", "-c", "core.fileMode=false",
        str(source), str(repo))
    assert not (repo / "link").is_symlink() and (repo / "link").read_text() == "a.txt"
    write(repo, "link", "b.txt")  # the link retargeted, as one edits it without symlinks
    write(repo, "tool.sh", "echo changed\n")
    (repo / "tool.sh").chmod(0o755)  # git, trusting no executable bit, keeps 100644
    write(repo, "run.sh", "echo\n")
    (repo / "run.sh").chmod(0o755)  # untracked: the disk's mode, as before
    assert aircher(repo, "init").code == 0
    r = aircher(repo, "index")
    assert r.code == 0, r.err
    stored = {str(p): (m, h) for p, m, h in query(
        repo, "file_index", "SELECT f.path, f.permissions, w.content_hash FROM worktree_files w"
        " JOIN files f ON f.id = w.file_id WHERE f.path IN ('link', 'tool.sh', 'run.sh')")}
    assert stored.pop("run.sh")[0] == "100755"
    git(repo, "add", "link", "tool.sh")
    staged = {line.split("\t")[1]: tuple(line.split("\t")[0].split()[:2])
              for line in git(repo, "ls-files", "-s", "link", "tool.sh").splitlines()}
    assert stored == staged
    assert stored["link"][0] == "120000"


def test_untracked_files_whose_names_are_not_lines_are_hashed(repo: Path, aircher: Any) -> None:
    """`hash-object --stdin-paths` reads lines and unquotes a line that starts with a double
    quote: one untracked file named with a newline, a final carriage return or a leading quote
    failed every query's look at the work tree (only storage.log said so), so edits went
    unsearched (QA round 8, not scripted)."""
    assert aircher(repo, "init").code == 0
    names = ["odd\nname.txt", "ends\r", '"quoted".txt']
    for i, name in enumerate(names):
        (repo / name).write_text(f"zebrafinch {i}\n")
    r = aircher(repo, "search", "--json", "zebrafinch")
    assert r.code == 0 and sorted(h["path"] for h in json.loads(r.out)) == sorted(names), r.err
    stored = dict(query(repo, "file_index", "SELECT f.path, w.content_hash FROM worktree_files w"
                        " JOIN files f ON f.id = w.file_id"))
    for name in names:
        assert stored[name] == git(repo, "hash-object", "--", name).strip(), name
    assert not (store_log := repo / ".agents" / "logs" / "storage.log").exists() or (
        "hash-object" not in store_log.read_text())
