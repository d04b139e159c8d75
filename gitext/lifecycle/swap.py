"""Putting whole database files in place of live ones, all or none.

Every new file is staged (written, checked, fsynced) next to the live one before anything moves.
Then, under the store's exclusive lock, each live file and its -wal/-shm move aside (a rename,
same filesystem) and the staged file is renamed into place. A stale -wal left beside a new file
would be replayed into it, so companions always move with their database. If a rename fails
halfway, what moved is moved back: the live store is never left half replaced.

A process killed between the renames (kill -9, the OOM killer, a power cut) cannot move anything
back, so before the first rename the swap writes its plan to `run/swap.json`, and removes it
after the last. A plan still there with no swap holding the store is undone by the next process
that opens the store (`settle`): files moved aside go back, staged ones are removed, and the
store is as it was before the killed restore or repair, which can simply run again. Before, the
database was left missing and the next command made it anew, empty (QA round 15c: 05).
"""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from gitext import clock
from gitext.lifecycle.dbfiles import companions
from gitext.lifecycle.logs import close_loggers
from gitext.lifecycle.runstate import held_shared, read_json, store_exclusive, write_json
from gitext.project import Project

if TYPE_CHECKING:
    from gitext.layout import ProjectLayout

PLAN = "swap.json"


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
    plan = project.layout.run / PLAN
    with store_exclusive(project.layout):
        _undo_plan(plan)  # a swap killed before, if no opener has undone it yet
        write_json(plan, {"aside": str(aside),
                          "pairs": [[str(staged), str(live)] for staged, live in pairs]})
        fsync_file(plan)
        _fsync_dir(plan.parent)
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
            plan.unlink(missing_ok=True)
            raise
        for folder in {live.parent for _s, live in pairs}:
            _fsync_dir(folder)
        plan.unlink()
    return [str(target.relative_to(aside)) for _o, target in moved]


def settle(layout: ProjectLayout) -> bool:
    """Undo a swap whose process was killed between its renames; True when there was one.
    Cheap when there is none (one stat): every opening of the store calls it."""
    plan = layout.run / PLAN
    if not plan.exists() or held_shared(layout):
        # Holding the shared lock ourselves, the exclusive one would wait for us: our own
        # taking of it settled any plan, and no swap can start while we hold it.
        return False
    with store_exclusive(layout):  # a swap still running holds it: wait for it to finish
        return _undo_plan(plan)


def _undo_plan(plan: Path) -> bool:
    """Put back what a killed swap moved (under the exclusive lock)."""
    if not plan.exists():
        return False
    data = read_json(plan)
    aside = Path(str(data.get("aside", "")))
    pairs = data.get("pairs") if isinstance(data.get("pairs"), list) else []
    assert isinstance(pairs, list)
    for staged_text, live_text in reversed([p for p in pairs if len(p) == 2]):
        staged, live = Path(staged_text), Path(live_text)
        kept = [(path, aside / path.parent.name / path.name) for path in companions(live)]
        if kept[0][1].exists() or not staged.exists():
            # The live file went aside, or there was none: what is at the live path now (if
            # anything) is the staged file put in place, with whatever opened it since.
            for path, _target in kept:
                if path == live and path.exists():
                    os.replace(path, staged)
                elif path.exists():
                    path.unlink()
        for path, target in kept:
            if target.exists():
                os.replace(target, path)
        staged.unlink(missing_ok=True)
        _fsync_dir(live.parent)
    with contextlib.suppress(OSError):  # the replaced-* folder, empty again
        for folder in sorted({p for p in aside.rglob("*") if p.is_dir()}, reverse=True):
            folder.rmdir()
        aside.rmdir()
    plan.unlink()
    _fsync_dir(plan.parent)
    return True
