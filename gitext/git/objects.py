"""Reading many blobs at once through one `git cat-file --batch` process.

One process for a whole batch: spawning git per blob costs ~10 ms each, and dulwich's pack reader
is slower than git's for thousands of objects (DESIGN.md, measured).
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from gitext.errors import GitError
from gitext.git.run import clean_env


def read_blobs(
    root: Path, shas: Iterable[str], *, max_size: int | None = None
) -> Iterator[tuple[str, bytes | None]]:
    """(sha, content) in the order asked; content None when missing, not a blob, or too big."""
    wanted = list(dict.fromkeys(shas))
    if not wanted:
        return
    proc = subprocess.Popen(
        ["git", "cat-file", "--batch"],
        cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env=clean_env(),
    )
    assert proc.stdin is not None and proc.stdout is not None
    stdin = proc.stdin

    def feed() -> None:
        # Requests go in from a thread while this one reads: writing them all first could fill
        # both pipes and deadlock, and a flush per request costs a round trip per blob.
        try:
            stdin.write("".join(s + "\n" for s in wanted).encode())
        except BrokenPipeError:
            pass
        finally:
            with contextlib.suppress(BrokenPipeError):
                stdin.close()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    out = proc.stdout
    try:
        for sha in wanted:
            header = out.readline()
            if not header:
                raise GitError("git cat-file stopped unexpectedly")
            parts = header.split()
            if len(parts) == 2 and parts[1] == b"missing":
                yield sha, None
                continue
            kind, size = parts[1], int(parts[2])
            data = out.read(size)
            out.read(1)  # the newline after each object
            if kind != b"blob" or (max_size is not None and size > max_size):
                yield sha, None
            else:
                yield sha, data
    finally:
        out.close()
        proc.kill()
        proc.wait()
        feeder.join()


def read_blob(root: Path, sha: str) -> bytes | None:
    for _, data in read_blobs(root, [sha]):
        return data
    return None
