"""`files` and `worktree_files` rows: one worktree's view of its tree, brought to a new state.

Only the paths that changed are touched (a branch switch of 1,000 files in a 50,000-file repo
reads 1,000 blobs), content_hash is the git blob id, and secret-looking files keep their metadata
but their content is never read into the store.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from pathlib import Path, PurePosixPath

from gitext import clock
from gitext.git.history import Change
from gitext.git.objects import mostly_loose, read_files
from gitext.ids import derived_id
from gitext.index.languages import count_lines, is_binary, language_for, text_encoding
from gitext.index.secrets import is_secret_path
from gitext.store.pool import Database

Progress = Callable[[int, int], None]  # (done, total)
MAX_TEXT = 10 * 1024 * 1024  # larger files are indexed as metadata only
GITLINK = "160000"
SYMLINK = "120000"


@lru_cache(maxsize=262144)
def file_id(project_id: str, path: str) -> str:
    return derived_id("file", project_id, path)


@dataclass
class FileState:
    path: str
    mode: str
    blob: str
    status: str  # clean, modified, added, untracked, deleted
    # Text we may analyse further (None for secrets), as it is: whatever stores something made
    # from it redacts it first (`secrets.redact`), which the index path here need not pay for.
    content: bytes | None = None
    from_disk: bool = False  # a work-tree version git has no object for: read the file


@lru_cache(maxsize=4096)
def _stamp(second: int) -> str:
    # A checkout writes thousands of files within a few seconds: format each second once.
    return clock.to_ts(second)


def _meta(state: FileState, data: bytes | None, root: str, mtime: float | None
          ) -> tuple[object, ...]:
    """The `files` columns that come from the path and the content (plain string work: this
    runs once per file of a whole repository on a first index). `root` ends with a separator;
    `mtime` is the file's, when its read already knows it."""
    name = state.path.rpartition("/")[2]
    dot = name.rfind(".")
    extension = name[dot + 1 :].lower() if dot > 0 else None
    if mtime is None:
        try:
            mtime = os.lstat(root + state.path).st_mtime
        except OSError:
            mtime = None
    modified = None if mtime is None else _stamp(int(mtime))
    size = binary = encoding = lines = None
    if data is not None:
        size = len(data)
        binary = is_binary(data)
        if not binary and state.mode != SYMLINK:
            encoding = text_encoding(data)  # the binary test done once, here
            lines = count_lines(data)
    return (state.path, name, extension, size, state.mode, modified, state.blob, state.status,
            bool(binary), language_for(state.path), encoding, lines)


_UPSERT = (
    "INSERT INTO files (path, name, extension, size_bytes, permissions, modified_at,"
    " content_hash, git_status, is_binary, language, encoding, line_count, id, created_at,"
    " project_id, discovered_in_worktree) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT(path) DO UPDATE SET size_bytes = excluded.size_bytes,"
    " permissions = excluded.permissions, modified_at = coalesce(excluded.modified_at,"
    " files.modified_at), content_hash = excluded.content_hash, git_status = excluded.git_status,"
    " is_binary = excluded.is_binary, language = excluded.language,"
    " encoding = excluded.encoding, line_count = excluded.line_count"
)


def ensure_paths(db: Database, conn: sqlite3.Connection, project_id: str, paths: Iterable[str],
                 worktree: str) -> None:
    """A bare `files` row for every path history mentions, so file_changes can reference it."""
    now = clock.now()
    db.executemany(
        conn,
        "INSERT OR IGNORE INTO files (id, path, name, extension, created_at, git_status,"
        " project_id, discovered_in_worktree) VALUES (?, ?, ?, ?, ?, 'deleted', ?, ?)",
        (
            (file_id(project_id, p), p, PurePosixPath(p).name,
             PurePosixPath(p).suffix.lstrip(".").lower() or None, now, project_id, worktree)
            for p in set(paths)
        ),
    )


def read_chunks(
    root: Path, states: list[FileState], size: int = 2000
) -> Iterator[tuple[list[FileState], dict[str, bytes | None], set[str], dict[str, float]]]:
    """`states` in chunks, each with its contents (blob id -> bytes), its secret-looking paths
    (never read) and the mtimes its work-tree reads saw (path -> mtime), so a first index of a
    large repository holds one chunk of file contents at a time.

    (Reading on a thread while the rows are written was measured: both sides hold the GIL for
    most of their work, and the index took 60% longer.)
    """
    loose = mostly_loose(root) if states else False
    for i in range(0, len(states), size):
        chunk = states[i : i + size]
        secrets = {s.path for s in chunk if is_secret_path(s.path)}
        wanted = [(s.path, s.blob) for s in chunk
                  if s.mode != GITLINK and not s.from_disk and s.path not in secrets]
        mtimes: dict[str, float] = {}
        contents = dict(read_files(root, wanted, max_size=MAX_TEXT, loose=loose, mtimes=mtimes))
        for s in chunk:
            if s.from_disk and s.path not in secrets:
                contents[s.blob] = _read_disk(root / s.path)
        yield chunk, contents, secrets, mtimes


def apply_view(
    db: Database,
    conn: sqlite3.Connection,
    project_id: str,
    root: Path,
    states: list[FileState],
    removed: Iterable[str],
) -> None:
    """This worktree's view: `states` present now (their `files` rows written), `removed`
    gone."""
    worktree = str(root)
    # In key order: the table is its primary-key b-tree (WITHOUT ROWID), and ids in the random
    # order of their hashes cost a first index of 50,000 files twice the time (0.15 s). (A
    # stable sort: of two states of one path, the later still wins.)
    rows = sorted(((worktree, file_id(project_id, s.path), s.blob, s.status) for s in states),
                  key=itemgetter(1))
    db.executemany(
        conn,
        "INSERT INTO worktree_files (worktree_path, file_id, content_hash, git_status)"
        " VALUES (?, ?, ?, ?) ON CONFLICT(worktree_path, file_id) DO UPDATE SET"
        " content_hash = excluded.content_hash, git_status = excluded.git_status",
        rows,
    )
    gone = [file_id(project_id, p) for p in removed]
    db.executemany(
        conn, "DELETE FROM worktree_files WHERE worktree_path = ? AND file_id = ?",
        ((worktree, f) for f in gone),
    )
    # A path no worktree has any more is 'deleted'; its row stays, so its history does.
    db.executemany(
        conn,
        "UPDATE files SET git_status = 'deleted' WHERE id = ? AND NOT EXISTS"
        " (SELECT 1 FROM worktree_files w WHERE w.file_id = files.id)",
        ((f,) for f in gone),
    )


def apply_files(
    db: Database,
    conn: sqlite3.Connection,
    project_id: str,
    root: Path,
    states: list[FileState],
    progress: Progress | None = None,
) -> dict[str, int]:
    """`files` rows for `states`; sets `content` on the text files that may be analysed.
    Returns the line count of every text blob read."""
    worktree = str(root)
    now = clock.now()
    base = worktree + os.sep
    lines: dict[str, int] = {}
    done = 0
    for chunk, contents, secrets, mtimes in read_chunks(root, states):
        rows: list[tuple[object, ...]] = []
        for s in chunk:
            # A secret may share its blob with a harmless file that was read: not its content.
            secret = s.path in secrets
            data = None if secret else contents.get(s.blob)
            meta = _meta(s, data, base, mtimes.get(s.path))
            if secret:
                meta = (*meta[:3], _secret_size(s, root), *meta[4:])
            elif data is None and s.mode not in (GITLINK, SYMLINK):
                meta = _too_large(meta, root / s.path)
            rows.append((*meta, file_id(project_id, s.path), now, project_id, worktree))
            if data is not None and not meta[8] and s.mode != SYMLINK:
                s.content = data
                if isinstance(count := meta[11], int):
                    lines[s.blob] = count
        db.executemany(conn, _UPSERT, rows)
        done += len(chunk)
        if progress is not None:
            progress(done, len(states))
    return lines


def _read_disk(path: Path) -> bytes | None:
    try:
        if path.is_symlink():
            return os.readlink(path).encode("utf-8", "surrogateescape")
        if not path.is_file() or path.stat().st_size > MAX_TEXT:
            return None  # (a FIFO where a file was would block the read)
        return path.read_bytes()
    except OSError:
        return None


def _too_large(meta: tuple[object, ...], path: Path) -> tuple[object, ...]:
    """The `files` columns of a file not read whole (over MAX_TEXT): its size, and git's binary
    test on its first 8,000 bytes, from the work tree. Before, both were missing, so a large
    file passed for a text file of unknown size and search tried to read it at every update."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO there must not block a hook
    except OSError:
        return meta
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return meta
        head = os.read(fd, 8000)
    except OSError:
        return meta
    finally:
        os.close(fd)
    return (*meta[:3], info.st_size, *meta[4:8], is_binary(head), *meta[9:])


def _secret_size(s: FileState, root: Path) -> int | None:
    try:
        return os.lstat(root / s.path).st_size
    except OSError:
        return None


def states_from_changes(changes: list[Change]) -> tuple[list[FileState], list[str]]:
    """Present and removed paths from a tree diff (old HEAD -> new HEAD)."""
    present: list[FileState] = []
    removed: list[str] = []
    for ch in changes:
        if ch.status == "D" or ch.new_blob is None:
            removed.append(ch.path)
            continue
        if ch.status == "R" and ch.old_path:
            removed.append(ch.old_path)
        if ch.new_mode == GITLINK:
            continue  # submodules are other repositories
        present.append(FileState(ch.path, ch.new_mode, ch.new_blob, "clean"))
    return present, removed


def worktree_paths(conn: sqlite3.Connection, root: Path) -> set[str]:
    rows = conn.execute(
        "SELECT f.path FROM worktree_files w JOIN files f ON f.id = w.file_id"
        " WHERE w.worktree_path = ?",
        (str(root),),
    )
    return {r[0] for r in rows}
