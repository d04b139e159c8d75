"""`run/active`, the marker by which hook shims leave their record to a running worker: a marker
whose process is not that worker any more (a zombie, a reused pid) must not hold records back."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import commit
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
