"""A sparse checkout widened since the last full update left blobs out.

In a partial clone a file outside the sparse cone has no blob here, so the search update leaves
it out without a marker (`indexer.update`). `git sparse-checkout add` brings those blobs and
runs no hook, and HEAD does not move, so the search stamp (`run/indexed-*`) would still claim
the view. The update that left blobs out notes the sparse-checkout file as it was; a query that
finds it changed runs the full update again.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from gitext.folders import store_folder
from gitext.git.objects import is_partial, local_blobs
from gitext.git.skipped import not_checked_out
from gitext.project import Project


def left_out(root: Path, git_dir: Path, files: Iterable[tuple[str, str | None]]) -> set[str]:
    """The paths of `files` ((path, blob) of a view) that no update can read: in a partial
    clone, those outside the sparse checkout whose blob the clone lacks. They are not indexed
    until a wider checkout brings them, so they are no work left to do either: counted as
    such, a first index of a clone with over 1,000 files outside its cone never looked done,
    and every search after `init` said the index was still being built (session 18: cli-4).
    Two git calls in a partial clone with files outside its cone, none elsewhere."""
    if not is_partial(root):
        return set()
    hidden = not_checked_out(root, git_dir)
    outside = [(path, blob) for path, blob in files if path in hidden] if hidden else []
    if not outside:
        return set()
    here = local_blobs(root)
    return {path for path, blob in outside if blob not in here}


def _note_path(project: Project, root: Path) -> Path:
    return project.layout.run_file("absent", root)


def _signature(git_dir: Path) -> str:
    try:
        st = os.stat(git_dir / "info" / "sparse-checkout")
    except OSError:
        return "none"
    return f"{st.st_mtime_ns}:{st.st_size}:{st.st_ino}"


def note_absent(project: Project, root: Path, absent: bool) -> None:
    """After a full update: whether it left blobs out, and the cone it saw then."""
    path = _note_path(project, root)
    if not absent:
        path.unlink(missing_ok=True)
        return
    store_folder(project.layout.root, path.parent)  # run/, never the store itself
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(_signature(project.repo.info.git_dir) + "\n")
    os.replace(tmp, path)


def widened(project: Project, root: Path) -> bool:
    """Blobs were left out and the sparse checkout changed since (one failed open otherwise)."""
    try:
        seen = _note_path(project, root).read_text().strip()
    except OSError:
        return False
    return seen != _signature(project.repo.info.git_dir)
