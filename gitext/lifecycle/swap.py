"""Putting whole database files in place of live ones, all or none.

Every new file is staged (written, checked, fsynced) next to the live one before anything moves.
Then, under the store's exclusive lock, each live file and its -wal/-shm move aside (a rename,
same filesystem) and the staged file is renamed into place. A stale -wal left beside a new file
would be replayed into it, so companions always move with their database. If a rename fails
halfway, what moved is moved back: the live store is never left half replaced.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from gitext import clock
from gitext.lifecycle.dbfiles import companions
from gitext.lifecycle.logs import close_loggers
from gitext.lifecycle.runstate import store_exclusive
from gitext.project import Project


def aside_dir(project: Project, kind: str) -> Path:
    """`content/backups/<kind>-<UTC time>/`, unique."""
    stamp = datetime.fromtimestamp(clock.epoch(), UTC).strftime("%Y%m%dT%H%M%SZ")
    base = project.layout.backups / f"{kind}-{stamp}"
    folder, n = base, 1
    while folder.exists():
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    return folder


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def swap_in(project: Project, pairs: list[tuple[Path, Path]], aside: Path) -> list[str]:
    """Rename each staged file onto its live path; the replaced files go to `aside`.

    `pairs` is [(staged, live)]. Returns the names of files moved aside. Closes the project's own
    connections first: a connection kept across the rename would write into the old file.
    """
    for staged, _live in pairs:
        fsync_file(staged)
    project.close()
    close_loggers()
    moved: list[tuple[Path, Path]] = []  # (original place, where it went)
    placed: list[tuple[Path, Path]] = []  # (live, staged it came from)
    with store_exclusive(project.layout):
        try:
            for staged, live in pairs:
                for path in companions(live):
                    if path.exists():
                        target = aside / path.parent.name / path.name
                        target.parent.mkdir(parents=True, exist_ok=True)
                        os.replace(path, target)
                        moved.append((path, target))
                os.replace(staged, live)
                placed.append((live, staged))
        except BaseException:
            for live, staged in reversed(placed):
                os.replace(live, staged)
            for original, target in reversed(moved):
                os.replace(target, original)
            raise
        for folder in {live.parent for _s, live in pairs}:
            _fsync_dir(folder)
    return [str(target.relative_to(aside)) for _o, target in moved]
