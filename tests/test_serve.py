"""The warm query server: answers exactly what `git aircher` would print, sees every change made
between queries, and steps aside (the query then runs in-process) whenever anything is off."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitext.serve import client, wire
from tests.conftest import VENV_BIN, Result, commit, git, run_git_aircher, write

FILES = {
    "src/engine.py": "def run_engine(speed):\n    return speed * 2\n",
    "src/report.py": "def render_report(rows):\n    return '\\n'.join(rows)\n",
    "docs/guide.md": "# Guide\n\nRun the engine, then render the report.\n",
}


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    # A short folder of our own: pytest's tmp paths are too long for a socket's name.
    folder = Path(tempfile.mkdtemp(prefix="ga-"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    monkeypatch.setenv("AIRCHER_SERVE", "1")
    monkeypatch.setenv("AIRCHER_SKIP", "1")  # no background worker racing the comparisons
    yield folder
    for sock in (folder / "git-aircher").glob("*.sock"):
        _stop(sock)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def indexed(empty_repo: Path, runtime: Path) -> Path:
    commit(empty_repo, FILES, "base")
    commit(empty_repo, {"src/engine.py": "def run_engine(speed):\n    return speed * 3\n"}, "tune")
    r = _in_process(empty_repo, "index")
    assert r.code == 0, r.err
    return empty_repo


def _socket(repo: Path) -> Path:
    path = wire.socket_path(git(repo, "rev-parse", "--path-format=absolute",
                                "--git-common-dir").strip())
    assert path is not None
    return path


def _in_process(repo: Path, *args: str) -> Result:
    env = {**os.environ, "AIRCHER_SERVE": "0"}
    proc = subprocess.run([str(VENV_BIN / "git-aircher"), *args], cwd=repo, env=env,
                          capture_output=True, text=True, check=False)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def _wait_server(sock: Path, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = client.ping(sock)
        if info is not None:
            return info
        time.sleep(0.1)
    raise AssertionError(f"no server on {sock} after {timeout}s")


def _wait_gone(pid: int, sock: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid) and not sock.exists():
            return
        time.sleep(0.1)
    raise AssertionError(f"server {pid} still there after {timeout}s")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A detached server that exited stays a zombie of nobody we wait for: ask /proc.
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "zombie" not in status.read_text()


def _stop(sock: Path) -> None:
    info = client.ping(sock)
    if info is not None:
        client.stop(sock)
        _wait_gone(int(info["pid"]), sock)


def _warm(repo: Path) -> dict[str, Any]:
    r = run_git_aircher(repo, "search", "--", "engine")
    assert r.code == 0, r.err
    return _wait_server(_socket(repo))


QUERIES = [
    ("search", "--json", "--", "run engine speed"),
    ("search", "--top", "2", "--mode", "text", "--", "render report"),
    ("relevant", "--json"),
    ("relevant", "--task", "render the report faster"),
    ("search", "--mode", "nonsense", "--", "x"),  # a usage error: stderr and status 2
    ("relevant", "--context", "no-such-context"),  # a library error
    ("search", "--", "\udcff\udcfe engine"),  # not UTF-8 on the command line
]


def test_served_queries_print_exactly_what_in_process_ones_do(indexed: Path) -> None:
    expected = [_in_process(indexed, *q) for q in QUERIES]
    assert not _socket(indexed).exists()  # AIRCHER_SERVE=0 starts no server
    before = _warm(indexed)["answered"]

    got = [run_git_aircher(indexed, *q) for q in QUERIES]

    assert [(r.code, r.out, r.err) for r in got] == [(r.code, r.out, r.err) for r in expected]
    assert [r.code for r in got][:4] == [0, 0, 0, 0] and got[4].code == 2
    assert got[4].err.startswith("error: ") and got[5].err.startswith("error: ")
    assert json.loads(got[0].out)[0]["path"] == "src/engine.py"
    info = client.ping(_socket(indexed))
    assert info is not None and info["answered"] == before + len(QUERIES)
    assert oct(_socket(indexed).stat().st_mode & 0o777) == "0o600"


def test_served_queries_see_commits_and_edits_made_meanwhile(indexed: Path) -> None:
    _warm(indexed)
    commit(indexed, {"src/ledger.py": "def reconcile_wombat_ledger():\n    return 0\n"}, "ledger")
    write(indexed, "src/report.py", "def render_report(rows):\n    return 'quokka'\n")
    assert _in_process(indexed, "index").code == 0
    write(indexed, "src/new_idea.py", "def platypus_sketch():\n    return None\n")

    for query, path in [("reconcile wombat ledger", "src/ledger.py"),
                        ("quokka", "src/report.py"), ("platypus sketch", "src/new_idea.py")]:
        r = run_git_aircher(indexed, "search", "--json", "--top", "1", "--", query)
        assert r.code == 0, r.err
        assert [h["path"] for h in json.loads(r.out)] == [path]
    relevant = run_git_aircher(indexed, "relevant", "--json")
    # The two files being edited lead, as they do in-process.
    assert {h["path"] for h in json.loads(relevant.out)[:2]} == {"src/new_idea.py",
                                                                  "src/report.py"}
    assert relevant.out == _in_process(indexed, "relevant", "--json").out
    info = client.ping(_socket(indexed))
    assert info is not None and info["answered"] >= 4


def test_a_server_of_other_code_steps_aside_and_the_query_still_runs(indexed: Path) -> None:
    sock = _socket(indexed)
    pid = int(_warm(indexed)["pid"])
    assert client.ask(sock, {"fingerprint": "older code", "argv": ["search", "x"]}) == {
        "stale": True}
    _wait_gone(pid, sock)

    r = run_git_aircher(indexed, "search", "--json", "--", "render report")
    assert r.code == 0 and json.loads(r.out)[0]["path"] == "src/report.py"
    assert int(_wait_server(sock)["pid"]) != pid  # the query started a server of this code


def test_a_dead_servers_socket_is_passed_over_and_replaced(indexed: Path) -> None:
    sock = _socket(indexed)
    pid = int(_warm(indexed)["pid"])
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sock.exists()  # left behind: nobody answers on it

    r = run_git_aircher(indexed, "relevant", "--json")
    assert r.code == 0 and json.loads(r.out)
    assert int(_wait_server(sock)["pid"]) != pid


def test_an_answer_that_is_not_one_runs_the_query_in_process(indexed: Path) -> None:
    sock = _socket(indexed)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(sock))
    listener.listen(4)
    listener.settimeout(30)

    def impostor() -> None:
        for _ in range(2):  # the query, then the ping before starting a server
            with contextlib.suppress(OSError), listener.accept()[0] as conn:
                wire.receive(conn)
                wire.send(conn, {"code": "zero", "stdout": "not base64 !"})

    thread = threading.Thread(target=impostor)
    thread.start()
    try:
        r = run_git_aircher(indexed, "search", "--json", "--", "render report")
    finally:
        thread.join()
        listener.close()
    assert r.code == 0 and json.loads(r.out)[0]["path"] == "src/report.py"
    assert r.out == _in_process(indexed, "search", "--json", "--", "render report").out


def test_an_idle_server_exits_and_removes_its_socket(indexed: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRCHER_SERVE_IDLE", "1")
    sock = _socket(indexed)
    pid = int(_warm(indexed)["pid"])
    _wait_gone(pid, sock)


def test_a_server_of_a_removed_repository_leaves(indexed: Path) -> None:
    sock = _socket(indexed)
    pid = int(_warm(indexed)["pid"])
    shutil.rmtree(indexed)
    _wait_gone(pid, sock)


def test_a_server_whose_store_was_removed_leaves(indexed: Path) -> None:
    """README, "Removing it": the store taken away as it says, the repository left, a server
    stayed until its idle timeout (15 minutes, 130 MB), as it watched only the git common dir
    (QA round 15b: 05)."""
    sock = _socket(indexed)
    pid = int(_warm(indexed)["pid"])
    assert run_git_aircher(indexed, "search", "--", "engine").code == 0
    for name in ("content", "db", "indexes", "journal", "logs", "run", "sessions", "worktrees",
                 "config.toml"):
        target = indexed / ".agents" / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    _wait_gone(pid, sock)
    assert indexed.is_dir()


def test_a_server_started_without_its_store_learns_it_from_a_query(indexed: Path) -> None:
    """A server started with the repository alone (as before the store was passed) watches
    the store the first query it answers uses (QA round 15b: 05)."""
    sock = _socket(indexed)
    common = git(indexed, "rev-parse", "--path-format=absolute", "--git-common-dir").strip()
    subprocess.Popen([str(VENV_BIN / "python"), "-m", "gitext.serve.server", str(sock), common],
                     cwd=sock.parent, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)
    pid = int(_wait_server(sock)["pid"])
    assert run_git_aircher(indexed, "search", "--", "engine").code == 0
    assert (client.ping(sock) or {}).get("answered") == 1
    shutil.rmtree(indexed / ".agents" / "db")
    _wait_gone(pid, sock)


def test_at_most_four_servers_and_the_longest_idle_leaves(tmp_path: Path, runtime: Path) -> None:
    # Servers started directly (a query starts one the same way, see warm_later): what is
    # tested is the limit, and a server needs no more than the repository's git folder.
    repos = []
    for i in range(5):
        repo = tmp_path / f"r{i}"
        repo.mkdir()
        git(repo, "init", "-q")
        repos.append(repo)

    def start(repo: Path) -> subprocess.Popen[bytes]:
        sock = _socket(repo)
        common = git(repo, "rev-parse", "--path-format=absolute", "--git-common-dir").strip()
        return subprocess.Popen([str(VENV_BIN / "python"), "-m", "gitext.serve.server",
                                 str(sock), common], cwd=sock.parent,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    procs = [start(repos[0])]
    first = int(_wait_server(_socket(repos[0]))["pid"])
    # The next three side by side: the first is then the longest idle by seconds.
    procs += [start(repo) for repo in repos[1:4]]
    for repo in repos[1:4]:
        _wait_server(_socket(repo))
    procs.append(start(repos[4]))
    _wait_server(_socket(repos[4]))
    assert procs[0].wait(timeout=30) == 0
    _wait_gone(first, _socket(repos[0]))
    live = [client.ping(_socket(r)) for r in repos]
    assert live[0] is None and all(info is not None for info in live[1:])


def test_a_folder_others_may_enter_is_not_used(indexed: Path, runtime: Path) -> None:
    folder = runtime / "git-aircher"
    folder.mkdir(mode=0o700, exist_ok=True)
    folder.chmod(0o755)
    assert wire.runtime_dir() is None

    r = run_git_aircher(indexed, "search", "--json", "--", "run engine speed")
    assert r.code == 0 and json.loads(r.out)[0]["path"] == "src/engine.py"
    time.sleep(1.0)
    assert list(folder.iterdir()) == []


def test_only_queries_are_handed_over() -> None:
    assert client.query_target(["search", "--", "x"]) == (None, "search")
    assert client.query_target(["-C", "/some/where", "relevant", "--json"]) == (
        "/some/where", "relevant")
    for args in (["index"], ["init"], ["feedback", "a.py", "--useful", "1"], ["--version"], []):
        assert client.query_target(args) is None
