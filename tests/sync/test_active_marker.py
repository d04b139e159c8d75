"""`run/active`, the marker by which hook shims leave their record to a running worker: a marker
whose process is not that worker any more (a zombie, a reused pid) must not hold records back."""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import VENV_BIN, commit, run_git_aircher
from tests.sync.helpers import changes, mark_active, start_time, store, wait_idle

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


@pytest.fixture
def zombie() -> Iterator[int]:
    """A process that has exited and that nobody has reaped: what a SIGKILLed worker is until
    its parent (init, or a container's bare PID 1) gets round to it."""
    proc = subprocess.Popen(["true"])
    deadline = time.monotonic() + 10
    while Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    yield proc.pid
    proc.wait()


def test_a_killed_workers_zombie_holds_no_record_back(live: Path, zombie: int) -> None:
    wait_idle(live)
    mark_active(live, zombie)
    sha = commit(live, {"after_crash.py": "x = 1\n"}, "after a crash")
    wait_idle(live)  # a worker was started for the record: nothing is left in the journal
    assert sha in {r[4] for r in changes(live)}


def test_a_reused_pid_holds_no_record_back(live: Path, sleeper: int) -> None:
    wait_idle(live)
    mark_active(live, sleeper, str(int(start_time(sleeper)) - 1))  # the dead worker's start time
    sha = commit(live, {"reused.py": "x = 1\n"}, "pid reused")
    wait_idle(live)
    assert sha in {r[4] for r in changes(live)}


def test_a_running_worker_is_left_the_record(live: Path, sleeper: int) -> None:
    """The marker of a live worker (here stood in for by a process whose pid and start time it
    names) makes the shim write its record and start nothing: that worker takes it."""
    wait_idle(live)
    mark_active(live, sleeper)
    commit(live, {"later.py": "x = 1\n"}, "while a worker runs")
    journal = store(live) / "journal"
    time.sleep(2)  # time enough for a wrongly started worker to have taken the record
    assert [p.name for p in journal.glob("*.ev")], "a second worker was started"
    (store(live) / "run" / "active").unlink()
    commit(live, {"next.py": "x = 2\n"}, "the next event starts a worker")
    wait_idle(live)
    assert not list(journal.glob("*.ev"))


def _workers(journal: Path) -> set[int]:
    """Live `git-aircher hook run JOURNAL` processes (a shim's worker) of this store."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if b"run" in args and str(journal).encode() in args and state != "Z":
            found.add(int(entry.name))
    return found


def test_a_burst_of_commits_starts_one_worker(live: Path) -> None:
    """The worker wrote `run/active` only once Python was up (hundreds of ms under load), so
    every commit of a burst before that started a worker of its own, up to 20 alive at once,
    and each newcomer wrote its marker over the first's and deleted it when it left (QA round
    24d: 01). The shim that starts a worker now writes its marker at once. The journal's slot
    is held here, so the first worker stays (it waits for the slot) while the burst runs."""
    wait_idle(live)
    run = store(live) / "run"
    pids = []
    with (run / "worker.lock").open("a") as slot:
        fcntl.flock(slot, fcntl.LOCK_EX)
        for i in range(5):
            commit(live, {f"burst{i}.py": f"x = {i}\n"}, f"burst {i}")
            pids.append(int((run / "active").read_text().split("\n", 1)[0]))
        assert set(pids) == _workers(store(live) / "journal") == {pids[0]}, pids
        assert (run / "active").read_text() == f"{pids[0]}\n{start_time(pids[0])}\n"
    wait_idle(live)
    assert {f"burst{i}.py" for i in range(5)} <= {r[2] for r in changes(live)}


def test_a_worker_leaves_a_live_workers_marker_alone(live: Path, sleeper: int) -> None:
    """A worker that found another named in `run/active` wrote its own marker over it and
    deleted it on leaving, while the other was still at work: the next commits found no
    marker and each started a worker (QA round 24d: 01)."""
    wait_idle(live)
    marker = mark_active(live, sleeper)
    commit(live, {"left.py": "x = 1\n"}, "left to the running worker")
    r = run_git_aircher(live, "hook", "run", str(store(live) / "journal"))
    assert r.code == 0, r.err
    assert marker.read_text() == f"{sleeper}\n{start_time(sleeper)}\n"
    assert "left.py" in {r[2] for r in changes(live)}  # it still applied what it found
    marker.unlink()


LEAVING = r"""
import os, subprocess, sys
from pathlib import Path
from gitext.project import Project
from gitext.sync import slots, worker

root, home, hold = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "hold"
project = Project.locate(root, home, os.environ)
run = project.layout.run
held = [(run / name).open("a") for name in ("worker.lock", "heavy.lock")] if hold else []
for fh in held:
    slots.fcntl.flock(fh, slots.fcntl.LOCK_EX)  # another worker holding both slots
passes = worker._passes

def commit(name):
    # The marker names this worker: the shim leaves it the record and starts nothing.
    assert slots.worker_alive(run) and (run / "active").read_text() == slots.marker()
    (root / name).write_text("x = 1\n")
    subprocess.run(["git", "add", name], cwd=root, check=True)
    subprocess.run(["git", "commit", "-qm", name], cwd=root, check=True)

def leaving(*args):
    result = passes(*args)
    if held:  # that other worker lets go, and makes its last look before the commit below
        assert result[1], result  # it gave way
        while held:
            held.pop().close()
    if not (root / "late.py").exists():
        commit("late.py")
    return result

(run / "active").write_text(slots.marker())  # as the shim that started this worker did
commit("early.py")

worker._passes = leaving
print(worker.run_worker(project, with_follow_ups=False))
"""


@pytest.mark.parametrize("hold", ["alone", "hold"])
def test_a_record_written_while_the_worker_leaves_is_applied(live: Path, hold: str) -> None:
    """The marker goes before the worker's last look at the journal, so a record a shim left
    to it while it was leaving is still applied (QA round 24d: 01: shims now write the marker
    of the worker they start, and workers leave a live one's alone). "hold": the worker gave
    way to another holding both slots, which let go and looked before the record came; the
    worker that gave way left without a look, and the record waited for the next event."""
    wait_idle(live)
    r = subprocess.run([str(VENV_BIN / "python"), "-c", LEAVING, str(live),
                        os.environ["AIRCHER_HOME"], hold], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) == 2
    assert not list((store(live) / "journal").glob("*.ev"))
    assert {"early.py", "late.py"} <= {r[2] for r in changes(live)}
    assert not (store(live) / "run" / "active").exists()


def test_a_worker_started_from_python_is_named_at_once(live: Path) -> None:
    """Workers that commands start (init, a query's catch-up, scheduled work) wrote their
    marker only once Python was up: meanwhile a hook started another, and a look for a worker
    at work found none while this one was about to index (a doctor test failed so in session
    23's newcomer check). Now the starter names it, as the shell shims do (QA round 24d: 01).
    The journal's slot is held, so the worker stays while the test looks."""
    from gitext.hooks.entry import spawn_worker

    wait_idle(live)
    run = store(live) / "run"
    assert not (run / "active").exists()
    with (run / "worker.lock").open("a") as slot:
        fcntl.flock(slot, fcntl.LOCK_EX)
        spawn_worker(live, run)
        pid = int((run / "active").read_text().split("\n", 1)[0])
        assert (run / "active").read_text() == f"{pid}\n{start_time(pid)}\n"
        # The child just started (it may be done already, a zombie until reaped, with nothing
        # to apply: its cmdline is then empty, its parent still this process).
        assert Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1] == \
            str(os.getpid())
    wait_idle(live)
    assert not (run / "active").exists()
