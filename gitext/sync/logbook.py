"""Appending to the store's logs from the hook and worker paths (stdlib only, size-rotated)."""

from __future__ import annotations

import os
import traceback
from pathlib import Path

from gitext import clock
from gitext.folders import store_folder

MAX_LOG = 2 * 1024 * 1024


def log(logs: Path, name: str, message: str, exc: BaseException | None = None) -> None:
    """One line (plus a traceback for failures); never raises: logging must not break a hook.
    The line is `<time> <LEVEL> [<pid>] <message>`, as every log line starts with a time and a
    level (docs/lifecycle.md): ERROR with a failure's exception, INFO without. Lines of older
    versions lack the level (`logs._parse` still reads them).

    The logs folder is made only while its store is there, never the store itself: a store
    that went away (its link taken by `git clean -fdx`, the repository `rm -rf`'d while a
    worker ran) must not be made again, empty, by a log line (`gitext.folders`).
    """
    try:
        store_folder(logs.parent, logs)
        path = logs / f"{name}.log"
        if path.exists() and path.stat().st_size > MAX_LOG:
            os.replace(path, path.with_suffix(".log.1"))
        level = "INFO" if exc is None else "ERROR"
        text = f"{clock.now()} {level} [{os.getpid()}] {message}\n"
        if exc is not None:
            text += "".join(traceback.format_exception(exc))
        with path.open("a", encoding="utf-8", errors="replace") as fh:
            fh.write(text)
    except OSError:
        pass
