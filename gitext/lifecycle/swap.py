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
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from gitext import clock
from gitext.lifecycle.dbfiles import companions
from gitext.lifecycle.logs import close_loggers
from gitext.lifecycle.runstate import (
    RESTORE_NOTE,
    held_shared,
    read_json,
    run_exclusive,
    store_exclusive,
    write_json,
)
from gitext.lifecycle.runstate import (
    SWAP_PLAN as PLAN,
)
from gitext.lifecycle.runstate import (
    SWAP_POINTER as POINTER,
)
from gitext.project import Project

if TYPE_CHECKING:
    from gitext.layout import ProjectLayout



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


def swap_in(project: Project, pairs: list[tuple[Path, Path]], aside: Path,
            remove: Sequence[Path] = ()) -> list[str]:
    """Rename each staged file onto its live path; the replaced files go to `aside`, and so do
    the live files `remove` names (with nothing in their place: a restored backup that has no
    copy of one, QA round 20c: 04).

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
    pointer = project.global_layout.root / POINTER
    shared = any(not live.is_relative_to(project.layout.root) for _s, live in pairs)
    with store_exclusive(project.layout):
        _undo(plan)  # a swap killed before, if no opener has undone it yet
        _write_durably(plan, {"aside": str(aside),
                              "pairs": [[str(staged), str(live)] for staged, live in pairs],
                              "removed": [str(live) for live in remove]})
        if shared:
            _write_durably(pointer, {"plan": str(plan)})

        def move_aside(live: Path) -> None:
            for path in companions(live):
                if path.exists():
                    target = aside / path.parent.name / path.name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(path, target)
                    moved.append((path, target))

        try:
            for staged, live in pairs:
                move_aside(live)
                os.replace(staged, live)
                placed.append((live, staged))
            for live in remove:  # after the pairs: an undo takes them back first
                move_aside(live)
        except BaseException:
            for live, staged in reversed(placed):
                os.replace(live, staged)
            for original, target in reversed(moved):
                os.replace(target, original)
            plan.unlink(missing_ok=True)
            raise
        finally:
            if shared and not plan.exists():
                pointer.unlink(missing_ok=True)
        for folder in {live.parent for _s, live in pairs} | {live.parent for live in remove}:
            _fsync_dir(folder)
        plan.unlink()
        if shared:
            pointer.unlink(missing_ok=True)
    return [str(target.relative_to(aside)) for _o, target in moved]


def set_aside(project: Project, files: Sequence[Path], aside: Path) -> list[str]:
    """Move `files` (side files found not to be their database's) into `aside`, in this
    order, under the store's exclusive lock, after closing the project's connections: no
    process opens a database in the midst of it. Each move is one rename, so a process
    killed between two leaves the later files where they were (pass a -shm before its -wal:
    a -shm left alone would read as a -wal lost). Returns the names moved."""
    project.close()
    moved = []
    with store_exclusive(project.layout):
        for path in files:
            if path.exists():
                target = aside / path.parent.name / path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)
                moved.append(str(target.relative_to(aside)))
        for folder in {path.parent for path in files}:
            _fsync_dir(folder)
    return moved


def _write_durably(path: Path, data: dict[str, object]) -> None:
    write_json(path, data)
    fsync_file(path)
    _fsync_dir(path.parent)


def settle(layout: ProjectLayout, global_root: Path | None = None) -> bool:
    """Undo a swap whose process was killed between its renames; True when there was one.
    Cheap when there is none (a stat or two): every opening of the store calls it. With
    `global_root`, also a swap of global.db another project's restore left half done."""
    done = _settle_run(layout.run, held_shared(layout))
    pointer = global_root / POINTER if global_root is not None else None
    if pointer is not None and pointer.exists():
        other = read_json(pointer).get("plan")
        if isinstance(other, str) and Path(other).is_absolute() and Path(other).name == PLAN:
            done = _settle_run(Path(other).parent, False) or done
        if not (isinstance(other, str) and Path(other).exists()):
            pointer.unlink(missing_ok=True)  # its swap finished, or was undone
    return done


def _settle_run(run: Path, holding: bool) -> bool:
    plan = run / PLAN
    if not plan.exists() or holding:
        # Holding the shared lock ourselves, the exclusive one would wait for us: our own
        # taking of it settled any plan, and no swap can start while we hold it.
        return False
    with run_exclusive(run):  # a swap still running holds it: wait for it to finish
        return _undo(plan)


def _read_plan(plan: Path) -> tuple[Path, list[tuple[Path, Path]], list[Path]] | None:
    """The plan's folder of files set aside, its pairs and the files it removes, or None when
    it does not hold what swap_in writes (absolute paths; the folder one of content/backups/).
    A plan of a version that removed nothing has no "removed"."""
    data = read_json(plan)
    aside, pairs, removed = data.get("aside"), data.get("pairs"), data.get("removed", [])
    if not (isinstance(aside, str) and Path(aside).is_absolute()
            and Path(aside).parent.name == "backups" and isinstance(pairs, list)
            and isinstance(removed, list)):
        return None
    out: list[tuple[Path, Path]] = []
    for pair in pairs:
        if not (isinstance(pair, list) and len(pair) == 2
                and all(isinstance(p, str) and Path(p).is_absolute() for p in pair)):
            return None
        out.append((Path(pair[0]), Path(pair[1])))
    if not all(isinstance(p, str) and Path(p).is_absolute() for p in removed):
        return None
    return Path(aside), out, [Path(p) for p in removed]


def _undo(plan: Path) -> bool:
    """Put back what a killed swap moved (under the exclusive lock)."""
    if not plan.exists():
        return False
    read = _read_plan(plan)
    if read is None:
        # Garbled (by the disk: swap_in writes it whole, by a rename), so no path in it can be
        # trusted to move or remove anything by; read as "" its folder was the current
        # directory, whose empty folders the clean-up removed (QA round 16a: 01). Kept for a
        # person to read, and logged; doctor finds what it left.
        from gitext.sync.logbook import log

        os.replace(plan, plan.with_name(PLAN + ".unreadable"))
        log(plan.parent.parent / "logs", "storage", f"{plan} cannot be read: a restore or"
            " repair killed mid-swap was not undone (kept as swap.json.unreadable)",
            RuntimeError("unreadable swap plan"))
        return False
    aside, pairs, removed = read
    for live in reversed(removed):
        # Moved aside, nothing put in their place: a file at a live path whose original is
        # aside was made since (a process that opened the store after the kill), empty; one
        # never moved is the original.
        for path in companions(live):
            target = aside / path.parent.name / path.name
            if target.exists():
                if path.exists():
                    path.unlink()
                os.replace(target, path)
        _fsync_dir(live.parent)
    for staged, live in reversed(pairs):
        kept = [(path, aside / path.parent.name / path.name) for path in companions(live)]
        if not staged.exists():
            # Placed: every move aside comes before the staged file goes in, so what is at the
            # live paths now is the new file's, with whatever opened it since.
            for path, _target in kept:
                if path == live and path.exists():
                    os.replace(path, staged)
                elif path.exists():
                    path.unlink()
        else:
            # Not placed: a file still at its live path was never moved (the -wal of one
            # killed between the database's rename and its own holds committed rows: QA
            # round 16a: 03); one in the place of a file moved aside was made since, empty.
            for path, target in kept:
                if target.exists() and path.exists():
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
    # The restore this swap was part of never happened: nothing of it is left to finish.
    (plan.parent / RESTORE_NOTE).unlink(missing_ok=True)
    plan.unlink()
    _fsync_dir(plan.parent)
    return True
