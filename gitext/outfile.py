"""Files a user names for output, written where `>` would write them.

Written whole or not at all where that can be had: into a temporary file beside the target,
then renamed over it. But a rename replaces the directory entry, not what it names: `-o
/dev/null` run as root put a regular file where the device was (every later `> /dev/null` on the
machine then wrote into it, and every read of it got that output back); a FIFO lost its reader's
data; a symlink (a dotfiles link) became a plain file. So anything but a regular file is written
in place, and a symlink is followed to its target, as the shell and git do.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TextIO, TypeVar

T = TypeVar("T")


def write_output(path: Path, write: Callable[[TextIO], T]) -> T:
    """Call `write` with a text stream that lands at `path`; return what it returned."""
    target = Path(os.path.realpath(path))
    try:
        regular_or_absent = stat.S_ISREG(os.stat(target).st_mode)
    except FileNotFoundError:
        regular_or_absent = True
    if not regular_or_absent:
        with open(target, "w", encoding="utf-8") as fh:
            return write(fh)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            result = write(fh)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return result
