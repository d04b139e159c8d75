"""A first index reads each file once: from the work tree when objects are loose and the file
there is exactly the blob, from git otherwise; a root commit's line counts come from that read."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from gitext.git.objects import blob_id, mostly_loose, read_files
from tests.conftest import VENV_BIN, commit, git, run_git_aircher
from tests.sync.helpers import query

TEXT = "one\ntwo\nthree\n"


def _blob(repo: Path, rev_path: str) -> str:
    return git(repo, "rev-parse", rev_path).strip()


def test_blob_id_is_gits(repo: Path) -> None:
    (repo / "x.txt").write_bytes(b"a\x00b\n")
    assert blob_id(b"a\x00b\n", "0" * 40) == git(repo, "hash-object", "x.txt").strip()


def test_read_files_returns_the_blob_never_the_edited_file(repo: Path) -> None:
    commit(repo, {"a.txt": TEXT, "b.txt": "bee\n", "c.txt": "sea\n"})
    pairs = [(p, _blob(repo, f"HEAD:{p}")) for p in ("a.txt", "b.txt", "c.txt")]
    (repo / "b.txt").write_text("edited, not committed\n")
    (repo / "c.txt").unlink()
    for packed in (False, True):
        if packed:
            git(repo, "gc", "-q")
        assert mostly_loose(repo) is not packed
        got = dict(read_files(repo, pairs))
        assert got == {pairs[0][1]: TEXT.encode(), pairs[1][1]: b"bee\n",
                       pairs[2][1]: b"sea\n"}
        assert dict(read_files(repo, pairs, max_size=4)) == {
            pairs[0][1]: None, pairs[1][1]: b"bee\n", pairs[2][1]: b"sea\n"}


def test_read_files_never_waits_on_a_fifo_or_reads_a_directory(repo: Path) -> None:
    commit(repo, {"pipe.txt": "was a file\n", "dir.txt": "also\n"})
    pairs = [(p, _blob(repo, f"HEAD:{p}")) for p in ("pipe.txt", "dir.txt")]
    (repo / "pipe.txt").unlink()
    os.mkfifo(repo / "pipe.txt")
    (repo / "dir.txt").unlink()
    (repo / "dir.txt").mkdir()
    assert mostly_loose(repo)
    got: dict[str, bytes | None] = {}
    reader = threading.Thread(target=lambda: got.update(read_files(repo, pairs)), daemon=True)
    reader.start()
    reader.join(30)
    assert not reader.is_alive(), "read_files blocked on a FIFO"
    assert got == {pairs[0][1]: b"was a file\n", pairs[1][1]: b"also\n"}


def test_root_commit_line_counts_match_numstat(empty_repo: Path) -> None:
    repo = empty_repo
    root = commit(repo, {"a.txt": TEXT, "no-newline.txt": "x\ny", "empty.txt": "",
                         "bin.dat": b"\x00\x01\x02\n\n", "sub/d.py": "import os\n"})
    second = commit(repo, {"a.txt": TEXT + "four\n", "new.txt": "n\n"})
    assert run_git_aircher(repo, "index", "--background").code == 0
    assert git(repo, "rev-list", "--max-parents=0", "HEAD").strip() == root
    numstat = git(repo, "diff-tree", "--root", "--numstat", "-r", root)
    expected = {}
    for line in numstat.splitlines()[1:]:
        added, removed, path = line.split("\t")
        expected[path] = 0 if added == "-" else int(added) + int(removed)
    rows = query(repo, "file_index", "SELECT new_path, change_size FROM file_changes"
                 " WHERE git_commit = ?", root)
    assert dict(rows) == expected
    assert expected["a.txt"] == 3 and expected["bin.dat"] == 0
    later = query(repo, "file_index", "SELECT new_path, change_size FROM file_changes"
                  " WHERE git_commit = ?", second)
    assert dict(later) == {"a.txt": 1, "new.txt": 1}


def test_single_commit_history_is_the_listing(empty_repo: Path) -> None:
    repo = empty_repo
    root = commit(repo, {"a.txt": TEXT, "b/c.py": "x = 1\n", "bin.dat": b"\x00\n"})
    assert run_git_aircher(repo, "index", "--background").code == 0
    rows = query(repo, "file_index", "SELECT change_type, old_path, new_path, old_hash, new_hash,"
                 " change_size FROM file_changes WHERE git_commit = ? ORDER BY new_path", root)
    assert rows == [
        ("created", "a.txt", "a.txt", None, _blob(repo, "HEAD:a.txt"), 3),
        ("created", "b/c.py", "b/c.py", None, _blob(repo, "HEAD:b/c.py"), 1),
        ("created", "bin.dat", "bin.dat", None, _blob(repo, "HEAD:bin.dat"), 0),
    ]


def test_index_in_a_fresh_clone_reports_what_it_did(repo: Path, tmp_path: Path) -> None:
    commit(repo, {f"pkg/m{i}.py": f"x = {i}\n" for i in range(30)}, "thirty modules")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    r = run_git_aircher(clone, "index", "--background")
    assert r.code == 0, r.err
    files = len(git(clone, "ls-files").split())
    assert r.out == f"indexed {clone}: {files} files updated, 2 new commits\n"
    # No terminal: no progress; only what was made first, as `init` would (QA round 25c: 04).
    assert r.err == (f"Initialized git-aircher store in {clone / '.agents'} and installed its"
                     " hooks, as `git aircher init` does\n")


def test_index_without_a_store_says_it_made_one_and_the_hooks(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`index` in a repository without a store (never initialised, or after README's
    "Removing it") made the store, registered the project and installed the five hook shims,
    printing only "indexed …": git-aircher was on again without a word (QA round 25c: 04)."""
    # No worker after init: one still writing the store raced its removal below (seen once).
    monkeypatch.setenv("AIRCHER_SKIP", "1")
    assert run_git_aircher(repo, "init").code == 0
    assert run_git_aircher(repo, "hooks", "uninstall").code == 0
    monkeypatch.delenv("AIRCHER_SKIP")
    shutil.rmtree(repo / ".agents")
    r = run_git_aircher(repo, "index", "--json")
    assert r.code == 0, r.err
    json.loads(r.out)  # still one document
    assert r.err.startswith(f"Initialized git-aircher store in {repo / '.agents'} and installed"
                            " its hooks"), r.err
    assert (repo / ".git" / "hooks" / "post-commit").is_file()
    r = run_git_aircher(repo, "index")
    assert r.code == 0 and r.err == "", r.err  # once


def test_index_shows_progress_of_both_phases_on_a_terminal(repo: Path) -> None:
    commit(repo, {f"pkg/m{i}.py": f"def f{i}():\n    return {i}\n" for i in range(30)}, "more")
    # A real pseudo-terminal as stderr (stdout stays a pipe, as when a script reads the result).
    leader, follower = os.openpty()
    try:
        proc = subprocess.run([str(VENV_BIN / "git-aircher"), "index"], cwd=repo, stderr=follower,
                              stdout=subprocess.PIPE, text=True, check=False)
        os.close(follower)
        shown = _drain(leader)
    finally:
        os.close(leader)
    assert proc.returncode == 0
    files = len(git(repo, "ls-files").split())
    assert f"indexing files: {files}/{files}" in shown
    assert "indexing search: " in shown


def _drain(fd: int) -> str:
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        out += chunk
    return out.decode()


def test_modification_times_come_from_the_read(repo: Path) -> None:
    # Times far apart, so a time taken from the wrong file or the wrong moment would show.
    os.utime(repo / "README.md", (1_000_000_000, 1_000_000_000))
    os.utime(repo / "src" / "app.py", (1_600_000_000, 1_600_000_000))
    assert mostly_loose(repo)
    assert run_git_aircher(repo, "index", "--background").code == 0
    stored = dict(query(repo, "file_index", "SELECT path, modified_at FROM files"))
    assert stored["README.md"].startswith("2001-09-09 01:46:40")
    assert stored["src/app.py"].startswith("2020-09-13 12:26:40")


def test_index_writes_search_vectors_inside_the_heavy_slot(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`git aircher index` writes vector segments; a worker's compaction in between would drop
    one it is writing. So the index holds the worker's heavy slot while it writes them."""
    from gitext.project import Project
    from gitext.sync.api import index

    monkeypatch.setenv("AIRCHER_SKIP", "1")  # no worker: the slot is held by us or nobody
    assert run_git_aircher(repo, "init").code == 0
    project = Project.locate(repo, Path(os.environ["AIRCHER_HOME"]), os.environ)
    probe = ("import fcntl, sys\nf = open(sys.argv[1], 'a')\n"
             "try:\n    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
             "except BlockingIOError:\n    sys.exit(3)\n")
    seen: list[int] = []

    def progress(phase: str, done: int, total: int) -> None:
        if phase == "search":
            lock = project.layout.run / "heavy.lock"
            seen.append(subprocess.run([str(VENV_BIN / "python"), "-c", probe, str(lock)],
                                       check=False).returncode)

    index(project, progress=progress)
    assert seen and set(seen) == {3}, seen
