"""Files that ship with the package (the SQL schemas and the hook shims), and which code it is."""

from __future__ import annotations

import os
import sys
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """schemas/ or hooks/: inside an installed wheel, else at the top of the source checkout."""
    shipped = _PKG / "_data" / name
    if shipped.is_dir():
        return shipped
    source = _PKG.parent / name
    if source.is_dir():
        return source
    raise FileNotFoundError(f"git-aircher is installed without its {name}/ folder")


def code_fingerprint() -> str:
    """The interpreter and the installed code: a query server answers only clients running the
    same, and a worker retries only the records other code failed.

    The newest modification time over the package's modules changes with every upgrade and
    every edit of a development checkout; stat-ing them takes about a millisecond.
    """
    package = _PKG
    newest, count = 0, 0
    for folder, _dirs, files in os.walk(package):
        for name in files:
            if name.endswith(".py"):
                newest = max(newest, os.stat(os.path.join(folder, name)).st_mtime_ns)
                count += 1
    return f"{sys.executable}|{package}|{count}|{newest}"
