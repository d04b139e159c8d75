"""`python -m gitext.serve.server SOCKET`: one warm process answering one repository's queries.

Queries are answered one at a time, each exactly as `git aircher` would run it: the client's
arguments, directory, environment and umask, with stdout and stderr captured as bytes in the
client's encodings. Nothing is kept between queries but imported modules: every query opens
the store afresh, so commits, checkouts and edits made meanwhile are seen.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import importlib
import io
import os
import socket
import struct
import sys
import time
from pathlib import Path
from typing import Any

from gitext.resources import code_fingerprint as fingerprint
from gitext.serve.client import store_db
from gitext.serve.wire import receive, send

DEFAULT_IDLE = 900.0
MAX_SERVERS = 4
REQUEST_TIMEOUT = 30.0
TICK = 5.0
WARM = ("gitext.cli.app", "gitext.cli.search_cmd", "gitext.project", "gitext.search.hybrid",
        "gitext.search.knn", "gitext.search.embedders", "gitext.relevance",
        "gitext.relevance.scoring", "sklearn.neighbors", "sklearn.feature_extraction")


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print("usage: python -m gitext.serve.server SOCKET GIT_COMMON_DIR [KNOWLEDGE_DB]",
              file=sys.stderr)
        return 2
    path, common_dir = Path(argv[0]), Path(argv[1])
    store = Path(argv[2]) if len(argv) == 3 else None
    with open(f"{path}.lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return 0  # another server holds this repository
        _warm()
        serve(path, common_dir, _idle(), store)
    return 0


def serve(path: Path, common_dir: Path, idle: float, store: Path | None = None) -> None:
    """Answer queries on ``path`` until idle, stopped, stale, or the repository (its
    ``common_dir``) or its store (``store``, its knowledge.db, else the one the first query
    used) is gone."""
    mine = fingerprint()
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a dead server's socket: the lock says no live one owns it
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    os.chmod(path, 0o600)
    inode = os.stat(path).st_ino
    listener.listen(16)
    listener.settimeout(min(idle, TICK))
    _make_room(path)
    answered, last = 0, time.monotonic()
    try:
        while True:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                # Scratch clones (an evaluation run makes one per commit) vanish without
                # telling us: a server of a removed repository leaves at once. So does one
                # whose store was removed (README, "Removing it"): the repository stays, and
                # before, the server stayed too, until its idle timeout (QA round 15b: 05).
                if (time.monotonic() - last >= idle or not common_dir.is_dir()
                        or (store is not None and not store.exists())):
                    return
                continue
            with conn:
                message = _request(conn)
                if message is None:
                    continue
                op = message.get("op")
                if op == "ping":
                    _reply(conn, {"pid": os.getpid(), "answered": answered, "idle":
                                  time.monotonic() - last})
                    continue
                if op == "stop":
                    _reply(conn, {"stopping": True})
                    return
                if message.get("fingerprint") != mine:
                    # The code was upgraded or edited under us: the client runs the query
                    # itself and starts a server of the new code.
                    _reply(conn, {"stale": True})
                    return
                conn.settimeout(None)
                try:
                    reply, used = _answer(message, find_store=store is None)
                except Exception:  # noqa: BLE001 (the client runs it itself and reports)
                    reply, used = {"fallback": True}, None
                store = used or store
                _reply(conn, reply)
                answered, last = answered + 1, time.monotonic()
    finally:
        listener.close()
        with contextlib.suppress(OSError):
            if os.stat(path).st_ino == inode:
                path.unlink()


def _request(conn: socket.socket) -> dict[str, Any] | None:
    if not _same_user(conn):
        return None
    conn.settimeout(REQUEST_TIMEOUT)
    try:
        return receive(conn)
    except OSError:
        return None


def _make_room(path: Path) -> None:
    """At most MAX_SERVERS per user: each holds scikit-learn in memory (about 130 MB), so the
    ones idle longest are asked to leave."""
    from gitext.serve.client import ping, stop

    others = []
    for sock in path.parent.glob("*.sock"):
        if sock != path:
            info = ping(sock)
            if info is not None:
                others.append((float(info.get("idle", 0.0)), sock))
    others.sort(reverse=True)
    for _idle_for, sock in others[: max(0, len(others) + 1 - MAX_SERVERS)]:
        stop(sock)


def answer(message: dict[str, Any]) -> dict[str, Any]:
    return _answer(message)[0]


def _answer(message: dict[str, Any], *, find_store: bool = False
            ) -> tuple[dict[str, Any], Path | None]:
    """The reply, and (``find_store``: once per server, it costs a git call) the knowledge.db
    of the store the query used, found while the query's directory and environment are in
    force; None when it has none or it could not be told."""
    from gitext import clock
    from gitext.cli.app import run
    from gitext.lifecycle.logs import close_loggers

    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    saved_streams = sys.stdout, sys.stderr
    out, err = io.BytesIO(), io.BytesIO()
    try:
        os.chdir(message["cwd"])
    except (OSError, KeyError, TypeError):
        return {"fallback": True}, None  # run where it was asked, it reports the error itself
    saved_umask = os.umask(int(message.get("umask", 0o022)))
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in dict(message.get("env", {})).items()})
    clock.set_now(None)
    captured = _capture(out, message.get("stdout")), _capture(err, message.get("stderr"))
    sys.stdout, sys.stderr = captured
    argv = [str(a) for a in message.get("argv", [])]
    used = None
    try:
        try:
            code = run(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        if find_store:
            used = store_db(Path(str(message["cwd"])), argv)
    finally:
        sys.stdout, sys.stderr = saved_streams
        for stream in captured:
            # Detached, a wrapper's collection cannot close the buffer we still read.
            with contextlib.suppress(ValueError):
                stream.flush()
                stream.detach()
        os.environ.clear()
        os.environ.update(saved_env)
        os.umask(saved_umask)
        os.chdir(saved_cwd)
        # Log files are opened per store; a store removed between queries must not keep
        # receiving lines through an open handle.
        close_loggers()
    return {"code": code, "stdout": base64.b64encode(out.getvalue()).decode("ascii"),
            "stderr": base64.b64encode(err.getvalue()).decode("ascii")}, used


def _capture(buffer: io.BytesIO, spec: Any) -> io.TextIOWrapper:
    encoding, errors = (spec if isinstance(spec, list) and len(spec) == 2
                        else ["utf-8", "strict"])
    try:
        return io.TextIOWrapper(buffer, encoding=str(encoding), errors=str(errors),
                                write_through=True)
    except LookupError:
        return io.TextIOWrapper(buffer, encoding="utf-8", errors="backslashreplace",
                                write_through=True)


def _reply(conn: socket.socket, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):  # the client gave up or was interrupted
        send(conn, message)


def _same_user(conn: socket.socket) -> bool:
    if not hasattr(socket, "SO_PEERCRED"):
        return True  # the socket's folder is the user's alone (wire.runtime_dir)
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    uid: int = struct.unpack("3i", creds)[1]
    return uid == os.getuid()


def _idle() -> float:
    try:
        return max(0.1, float(os.environ.get("AIRCHER_SERVE_IDLE", DEFAULT_IDLE)))
    except ValueError:
        return DEFAULT_IDLE


def _warm() -> None:
    for name in WARM:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
