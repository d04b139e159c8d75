"""Lost vector files: doctor finds them, `repair` computes only those vectors again, and search
finds what they held; retention's dropped rows take their vectors with them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gitext.lifecycle.retention import remove_unused_embeddings
from gitext.search.rebuild import rebuild
from tests.conftest import commit, git, open_project

OTTER = "def otter_den_locator(river):\n    return river.banks\n"
HERON = "def heron_nest_survey(marsh):\n    return marsh.reeds\n"


@pytest.fixture(autouse=True)
def no_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRCHER_SKIP", "1")  # the in-process index is what these tests count


def _vector_paths(aircher: Any, repo: Path, words: str) -> list[str]:
    r = aircher(repo, "search", "--json", "--mode", "vector", "--", words)
    assert r.code == 0, r.err
    return [h["path"] for h in json.loads(r.out)]


def _segment_of(repo: Path, path: str) -> Path:
    blob = git(repo, "rev-parse", f"HEAD:{path}").strip()
    project = open_project(repo)
    try:
        with project.db("knowledge").read() as conn:
            (segment,) = {r[0] for r in conn.execute(
                "SELECT vector_file FROM embedding_metadata WHERE content_hash = ?", (blob,))}
    finally:
        project.close()
    (found,) = (repo / ".agents" / "content" / "embeddings").glob(f"*/{segment}")
    return found


def test_a_lost_segment_is_found_repaired_and_searched_again(
        empty_repo: Path, aircher: Any) -> None:
    commit(empty_repo, {"src/otter.py": OTTER}, "otter")
    assert aircher(empty_repo, "index").code == 0
    commit(empty_repo, {"src/heron.py": HERON}, "heron")
    assert aircher(empty_repo, "index").code == 0  # a second segment, the heron's alone
    lost = _segment_of(empty_repo, "src/heron.py")
    assert lost != _segment_of(empty_repo, "src/otter.py")
    lost.unlink()
    assert "src/heron.py" not in _vector_paths(aircher, empty_repo, "heron nest survey")
    doctor = aircher(empty_repo, "doctor")
    assert doctor.code == 1 and "embeddings" in doctor.out

    project = open_project(empty_repo)
    try:
        done = rebuild(project)
    finally:
        project.close()
    assert (done.dropped, done.embedded, done.worktrees) == (1, 1, 1)  # the otter was kept
    assert aircher(empty_repo, "doctor").code == 0
    assert _vector_paths(aircher, empty_repo, "heron nest survey")[:1] == ["src/heron.py"]
    assert _vector_paths(aircher, empty_repo, "otter den locator")[:1] == ["src/otter.py"]


def test_compaction_drops_the_vectors_of_a_lost_segment_and_they_come_back(
        empty_repo: Path, aircher: Any) -> None:
    """A segment named by rows but gone (a restored backup names segments a compaction removed
    since) failed every compaction with FileNotFoundError, and with it the first search after
    a restore that had a redaction scrub to do (QA round 6: 04, 05)."""
    from gitext.search.embedders import embedder_for
    from gitext.search.maintenance import compact

    commit(empty_repo, {"src/otter.py": OTTER}, "otter")
    assert aircher(empty_repo, "index").code == 0
    commit(empty_repo, {"src/heron.py": HERON}, "heron")
    assert aircher(empty_repo, "index").code == 0
    _segment_of(empty_repo, "src/heron.py").unlink()
    project = open_project(empty_repo)
    try:
        done = compact(project, embedder_for(project))
    finally:
        project.close()
    assert (done["kept"], done["unreadable_dropped"]) == (1, 1)
    assert aircher(empty_repo, "doctor").code == 0
    # Not embedded any more, and the stamp no longer says otherwise: the next query embeds it.
    assert _vector_paths(aircher, empty_repo, "heron nest survey")[:1] == ["src/heron.py"]


def test_repair_rebuilds_a_vector_folder_that_is_gone(empty_repo: Path, aircher: Any) -> None:
    commit(empty_repo, {"src/otter.py": OTTER, "src/heron.py": HERON}, "both")
    assert aircher(empty_repo, "index").code == 0
    for model in (empty_repo / ".agents" / "content" / "embeddings").iterdir():
        for f in model.iterdir():
            f.unlink()
        model.rmdir()
    assert aircher(empty_repo, "doctor").code == 1
    r = aircher(empty_repo, "repair")
    assert r.code == 0, r.out + r.err
    assert "search index rebuilt" in r.out and "2 blobs embedded" in r.out
    assert aircher(empty_repo, "doctor").code == 0
    assert _vector_paths(aircher, empty_repo, "otter den locator")[:1] == ["src/otter.py"]


def test_vectors_of_blobs_retention_drops_leave_the_files(empty_repo: Path, aircher: Any) -> None:
    commit(empty_repo, {"src/otter.py": OTTER}, "otter")
    assert aircher(empty_repo, "index").code == 0
    commit(empty_repo, {"src/otter.py": OTTER + "\n\ndef otter_pup():\n    return 1\n"}, "pup")
    assert aircher(empty_repo, "index").code == 0
    project = open_project(empty_repo)
    try:
        assert remove_unused_embeddings(project) >= 1  # the first otter.py is on no branch
        with project.db("knowledge").read() as conn:
            rows = conn.execute("SELECT count(*) FROM embedding_metadata").fetchone()[0]
    finally:
        project.close()
    stored = sum(np.load(f, mmap_mode="r").shape[0]
                 for f in (empty_repo / ".agents" / "content" / "embeddings").glob("*/seg-*.npy"))
    assert stored == rows


def _waits_on(lock: Path) -> bool:
    """Some process is blocked asking for a lock on this file (Linux /proc/locks: "->")."""
    inode = f":{lock.stat().st_ino} "
    text = Path("/proc/locks").read_text()
    return any("->" in line and inode in line for line in text.splitlines())


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux /proc/locks")
def test_repair_rebuilds_vectors_only_in_the_heavy_slot(empty_repo: Path) -> None:
    import subprocess
    import sys
    import time

    commit(empty_repo, {"src/otter.py": OTTER}, "otter")
    aircher = [str(Path(sys.executable).parent / "git-aircher")]
    assert subprocess.run([*aircher, "index"], cwd=empty_repo, check=False).returncode == 0
    for f in (empty_repo / ".agents" / "content" / "embeddings").glob("*/*"):
        f.unlink()
    lock = empty_repo / ".agents" / "run" / "heavy.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys\nf = open(sys.argv[1], 'a')\n"
         "fcntl.flock(f, fcntl.LOCK_EX)\nprint('held', flush=True)\nsys.stdin.read()",
         str(lock)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    repair = subprocess.Popen([*aircher, "repair"], cwd=empty_repo, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not _waits_on(lock):
            assert repair.poll() is None, "repair rebuilt vectors while a worker held the slot"
            assert time.monotonic() < deadline, "repair neither waited nor finished"
            time.sleep(0.05)
    finally:
        holder.communicate("")  # releases the slot
    out, err = repair.communicate(timeout=120)
    assert repair.returncode == 0, out + err
    assert "search index rebuilt" in out and "1 blobs embedded" in out


def test_text_missing_behind_a_current_stamp_is_found_and_repaired(
        empty_repo: Path, aircher: Any) -> None:
    """The stamp says the worktree's files are all in the index, so queries index nothing
    more: a file's text missing behind it would stay unsearchable with no error anywhere."""
    import sqlite3

    commit(empty_repo, {"src/otter.py": OTTER, "src/heron.py": HERON}, "both")
    assert aircher(empty_repo, "index").code == 0
    assert aircher(empty_repo, "doctor").code == 0
    with sqlite3.connect(empty_repo / ".agents" / "db" / "core" / "file_index.db") as conn:
        conn.execute("DELETE FROM search_docs WHERE path = 'src/heron.py'")
    r = aircher(empty_repo, "search", "--json", "--mode", "text", "--", "heron nest survey")
    assert "src/heron.py" not in [h["path"] for h in json.loads(r.out)]
    doctor = aircher(empty_repo, "doctor")
    assert doctor.code == 1
    assert "search_incomplete" in doctor.out and "src/heron.py" in doctor.out
    assert aircher(empty_repo, "repair").code == 0
    assert aircher(empty_repo, "doctor").code == 0
    r = aircher(empty_repo, "search", "--json", "--mode", "text", "--", "heron nest survey")
    assert [h["path"] for h in json.loads(r.out)][:1] == ["src/heron.py"]
