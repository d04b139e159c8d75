"""The `git aircher` side: hand a query to the repository's server, or start one for next time.

Runs before click is imported; it must cost a query that no server answers almost nothing: one
`git rev-parse` and a failed `stat` of the socket.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from gitext.resources import code_fingerprint as fingerprint
from gitext.serve import SERVED
from gitext.serve.wire import enabled, receive, send, socket_path

CONNECT_TIMEOUT = 1.0
# A query may wait for the worker's index lock and parse a thousand local files; past this the
# server is taken to be stuck and the query runs here instead.
REPLY_TIMEOUT = 600.0


def served(args: list[str]) -> int | None:
    """The exit status of a query the server answered, after printing its output; None when
    no server did and the caller must run the command itself."""
    found = _locate(args)
    if found is None or not found[0].exists():
        return None
    path = found[0]
    try:
        reply = ask(path, _request(args))
    except KeyboardInterrupt:
        return 130
    code = reply.get("code") if reply else None
    try:
        out, err = (base64.b64decode(reply.get(k, "") if reply else "", validate=True)
                    for k in ("stdout", "stderr"))
    except (ValueError, TypeError):
        return None  # not an answer we can print: run it here
    if not isinstance(code, int):
        return None
    try:
        _write(sys.stdout, out)
        _write(sys.stderr, err)
    except BrokenPipeError:
        return 0
    return code


def warm_later(args: list[str], code: int) -> None:
    """After a successful query run here, start a server so the next one is answered warm."""
    found = _locate(args) if code == 0 else None
    if found is None or ping(found[0]) is not None:
        return
    path, common = found
    store = store_db(Path.cwd(), args)  # for the server to leave when it is removed
    # The query is done whatever happens here: a server is only an optimisation.
    with contextlib.suppress(OSError):
        subprocess.Popen(
            # UTF-8 mode whatever the locale (gitext/cli/__init__.py `_in_utf8_mode`).
            [sys.executable, "-X", "utf8", "-m", "gitext.serve.server", str(path), str(common),
             *([str(store)] if store else [])],
            cwd=path.parent, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True,
        )


def store_db(cwd: Path, args: list[str]) -> Path | None:
    """The knowledge.db of the store a query run in ``cwd`` (or its `-C` directory) uses,
    found as `Project.locate` finds it but creating nothing (no link mended); None when there
    is none. What the server watches: README's "Removing it" takes the store away and leaves
    the repository, and a server that watched only the repository stayed (QA round 15b: 05).
    """
    from gitext.cli.env import global_root
    from gitext.config import Config
    from gitext.git.repo import GitRepo
    from gitext.layout import GlobalLayout, ProjectLayout
    from gitext.store_place import project_store

    target = query_target(args)
    start = cwd / target[0] if target is not None and target[0] else cwd
    try:
        info = GitRepo.find(start).info
        base = Config.load(GlobalLayout(global_root()).config, None, os.environ)
        knowledge = ProjectLayout(project_store(base.text("storage.data_dir"), info)).db(
            "knowledge")
    except Exception:  # noqa: BLE001 (only a watch: it must never spoil the query's answer)
        return None
    return knowledge if knowledge.exists() else None


def ask(path: Path, message: dict[str, Any], timeout: float = REPLY_TIMEOUT
        ) -> dict[str, Any] | None:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(CONNECT_TIMEOUT)
            sock.connect(str(path))
            sock.settimeout(timeout)
            send(sock, message)
            return receive(sock)
    except OSError:
        return None


def ping(path: Path) -> dict[str, Any] | None:
    return ask(path, {"op": "ping"}, timeout=CONNECT_TIMEOUT)


def stop(path: Path) -> bool:
    return ask(path, {"op": "stop"}, timeout=CONNECT_TIMEOUT) is not None


def query_target(args: list[str]) -> tuple[str | None, str] | None:
    """(the `-C` directory or None, the command) when `args` is a query the server may answer."""
    directory = None
    if len(args) >= 2 and args[0] == "-C":
        directory, args = args[1], args[2:]
    if not args or args[0] not in SERVED:
        return None
    return directory, args[0]


def _locate(args: list[str]) -> tuple[Path, str] | None:
    """The server's socket and the repository's git common dir, for a query it may answer."""
    target = query_target(args) if enabled() else None
    common = _common_dir(target[0]) if target else None
    path = socket_path(common) if common else None
    return (path, common) if path and common else None


def _common_dir(directory: str | None) -> str | None:
    from gitext.errors import GitError
    from gitext.git.run import answer_lines, git

    try:
        # Through the shared runner, without GIT_DIR and friends, as the query itself will find
        # its repository: a hook's leftovers would name another repository's server.
        done = git(["rev-parse", "--path-format=absolute", "--git-common-dir"],
                   Path(directory) if directory else Path.cwd(), check=False)
    except (GitError, OSError):
        return None
    line = "\n".join(answer_lines(done.stdout))
    return line if done.returncode == 0 and line else None


def _request(args: list[str]) -> dict[str, Any]:
    env = dict(os.environ)
    # Help text wraps at the terminal's width, which the server cannot see.
    env.setdefault("COLUMNS", str(shutil.get_terminal_size().columns))
    umask = os.umask(0o077)
    os.umask(umask)
    return {
        "fingerprint": fingerprint(), "argv": args, "cwd": os.getcwd(), "env": env,
        "umask": umask,
        "stdout": [sys.stdout.encoding or "utf-8", sys.stdout.errors or "strict"],
        "stderr": [sys.stderr.encoding or "utf-8", sys.stderr.errors or "backslashreplace"],
    }


def _write(stream: Any, data: bytes) -> None:
    if not data:
        return
    stream.flush()
    stream.buffer.write(data)
    stream.buffer.flush()
