"""Standard output whose write failures say so.

A command's output redirected to a full disk (`> /mnt/full/out.txt`), a file past its quota or
a device in error fails in click's `echo` with the same OSError a write of the store would
raise, and the error boundary took it for the store's: "the git-aircher store: the disk is
full", with a hint to prune the store, even after `help` (QA round 24c: 02). Writes through
this stream raise `OutputError` instead, which the boundary names as git does: "write failure
on standard output". Light: set up before click is imported.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys


class OutputError(OSError):
    """Standard output could not be written (not the store, whatever the errno)."""


class _Raw(io.FileIO):
    def write(self, data: object) -> int:
        try:
            return super().write(data)  # type: ignore[arg-type]
        except BrokenPipeError:
            raise  # a reader that left (`| head -1`): the boundary exits quietly
        except OSError as exc:
            raise OutputError(exc.errno, exc.strerror) from None


def guard_stdout() -> None:
    """sys.stdout as it was (encoding, error handler, buffering), its writes through `_Raw`.
    Left as it is when it is no file (tests' captures, a server's buffers)."""
    out = sys.stdout
    if not isinstance(out, io.TextIOWrapper):
        return
    try:
        fd = out.fileno()
        out.flush()
    except (OSError, ValueError):
        return
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(_Raw(fd, "w", closefd=False)), encoding=out.encoding,
        errors=out.errors, line_buffering=out.line_buffering, write_through=out.write_through)


def output_failed(exc: OutputError) -> str:
    """The error line's text, as git words it. What stays buffered is sent nowhere: the flush
    at exit would fail again, with a traceback."""
    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    return f"write failure on standard output: {exc.strerror or exc}"
