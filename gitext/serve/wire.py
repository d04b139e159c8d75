"""Where a repository's server listens, which code it runs, and how messages are framed.

Imported by every `git aircher search` before anything heavy: standard library only.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import stat
import struct
from pathlib import Path
from typing import Any

MAX_PATH = 100  # sun_path holds 104 to 108 bytes, by platform
MAX_MESSAGE = 256 * 1024 * 1024
_HEADER = struct.Struct("!I")


def enabled() -> bool:
    return hasattr(socket, "AF_UNIX") and os.environ.get("AIRCHER_SERVE", "") != "0"


def runtime_dir() -> Path | None:
    """A folder only this user can enter, or None when the one we find is not safe.

    Sockets go here rather than in `.agents/run`: a socket path is limited to about 100 bytes,
    and a repository can sit deeper than that.
    """
    base = os.environ.get("XDG_RUNTIME_DIR")
    uid = os.getuid()
    folder = Path(base) / "git-aircher" if base else Path("/tmp") / f"git-aircher-{uid}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = os.lstat(folder)
    except OSError:
        return None
    # Another user's folder, a symlink or a folder others may write would let them answer our
    # queries or read them.
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid or info.st_mode & 0o077:
        return None
    return folder


def socket_path(common_dir: str) -> Path | None:
    folder = runtime_dir()
    if folder is None:
        return None
    key = hashlib.sha1(os.path.realpath(common_dir).encode("utf-8", "surrogateescape"))
    path = folder / f"{key.hexdigest()[:24]}.sock"
    return path if len(os.fsencode(path)) <= MAX_PATH else None


def send(sock: socket.socket, message: dict[str, Any]) -> None:
    data = json.dumps(message).encode("utf-8", "surrogatepass")
    sock.sendall(_HEADER.pack(len(data)) + data)


def receive(sock: socket.socket) -> dict[str, Any] | None:
    """One message, or None when the peer closed or sent something we cannot read."""
    header = _read(sock, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > MAX_MESSAGE:
        return None
    data = _read(sock, size)
    if data is None:
        return None
    try:
        message = json.loads(data.decode("utf-8", "surrogatepass"))
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def _read(sock: socket.socket, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
