"""Helpers shared by the hook tests: real git in subprocesses, a stand-in git-aircher script,
and a byte-and-mode snapshot of a hooks folder."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path


def run(
    cwd: Path, *args: str, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """A command whose failure is part of the test (git commit refused by a hook)."""
    full = dict(os.environ)
    if env:
        full.update(env)
    return subprocess.run(
        list(args), cwd=cwd, env=full, capture_output=True, text=True, input=input, check=False
    )


def script(path: Path, body: str, mode: int = 0o755) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(mode)
    return path


def fake_tool(folder: Path, log: Path) -> Path:
    """A real script standing in for git-aircher: logs each call (and post-rewrite's stdin),
    so a test can see whether and how the shims ran it."""
    return script(
        folder / "git-aircher",
        'shift\n'  # "hook"
        f'echo "ours $*" >> "{log}"\n'
        f'if [ "$1" = post-rewrite ]; then sed "s/^/ours-stdin /" >> "{log}"; fi\n'
        "exit 0\n",
    )


def log_lines(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


Entry = tuple[str, bytes, int]


def snapshot(folder: Path) -> dict[str, Entry]:
    """Every entry of ``folder``: kind, bytes (or link target) and permission bits."""
    if not folder.exists():
        return {}
    result: dict[str, Entry] = {}
    for path in sorted(folder.rglob("*")):
        st = path.lstat()
        rel = path.relative_to(folder).as_posix()
        if stat.S_ISLNK(st.st_mode):
            result[rel] = ("link", os.readlink(path).encode(), 0)
        elif stat.S_ISDIR(st.st_mode):
            result[rel] = ("dir", b"", stat.S_IMODE(st.st_mode))
        else:
            result[rel] = ("file", path.read_bytes(), stat.S_IMODE(st.st_mode))
    return result
