"""`git aircher status`: where the store is, what each database holds, which context is current."""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gitext.contexts import project_context
from gitext.layout import ALL_DATABASES
from gitext.project import Project
from gitext.store.migrate import latest_version, user_version
from gitext.worktrees import list_rows


@dataclass
class DatabaseStatus:
    name: str
    path: str
    size_bytes: int
    schema_version: int
    schema_latest: int
    journal_mode: str
    tables: dict[str, int]  # the store's own tables (the spec's and our extensions): rows
    # SQLite's machinery behind full-text search: the FTS5 tables and the shadow tables FTS5
    # keeps for them. Named, not counted: their rows are index pages and settings, not records.
    fts_tables: list[str] = field(default_factory=list)


@dataclass
class Status:
    data_dir: str
    global_dir: str
    databases: list[DatabaseStatus]
    worktrees: list[dict[str, Any]]
    current_context: dict[str, Any] | None
    warnings: list[str] = field(default_factory=list)  # the store's and the hooks'
    hook_warnings: list[str] = field(default_factory=list)  # the hooks' alone

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def file_size(path: Path) -> int:
    """The database with its WAL: what it really takes on disk."""
    total = 0
    for p in (path, path.with_name(path.name + "-wal")):
        with contextlib.suppress(FileNotFoundError):
            total += p.stat().st_size
    return total


# The tables FTS5 makes for each of its virtual tables (sqlite.org/fts5.html, "shadow tables").
_FTS5_SHADOWS = ("config", "content", "data", "docsize", "idx")


def database_status(project: Project, name: str) -> DatabaseStatus:
    path = project.db_path(name)
    with project.db(name).read() as conn:
        found = conn.execute(
            "SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite_%' ORDER BY name"
        ).fetchall()
        virtual = {str(n) for n, sql in found if str(sql).upper().startswith("CREATE VIRTUAL")}
        shadows = {f"{v}_{s}" for v in virtual for s in _FTS5_SHADOWS}
        internal = [str(n) for n, _ in found if n in virtual or n in shadows]
        # Counted before, an empty conversations.db showed 3 rows (messages_fts's settings and
        # index pages), and counting an fts5vocab table walks the whole index (QA round 15b: 06).
        counts = {str(n): int(conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0])
                  for n, _ in found if n not in virtual and n not in shadows}
        mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).upper()
        version = user_version(conn)
    return DatabaseStatus(
        name, str(path), file_size(path), version, latest_version(name), mode, counts, internal
    )


def collect(project: Project) -> Status:
    project.require_init()
    dbs = [database_status(project, name) for name in ALL_DATABASES]
    worktrees: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    with project.db("knowledge").read() as conn:
        proj = project_context(conn)
        if proj is not None:
            worktrees = [asdict(w) for w in list_rows(conn, proj.id)]
    if proj is not None:
        current = _current(project)
    from gitext.lifecycle.health import warnings

    hooks = _hook_warnings(project)
    return Status(
        data_dir=str(project.layout.root),
        global_dir=str(project.global_layout.root),
        databases=dbs,
        worktrees=worktrees,
        current_context=current,
        warnings=warnings(project) + hooks,
        hook_warnings=hooks,
    )


def _current(project: Project) -> dict[str, Any]:
    """The context records land in, by the one rule `context show` and every write follow
    (records/current.py): the active session here, else the branch. Before, status looked up
    the branch alone, so an agent reading `current_context` got the wrong id while a session
    was active (QA round 15b: 01)."""
    from gitext.records.current import current_ids

    ids = current_ids(project)
    ctx = ids.context
    return {"id": ctx.id, "name": ctx.name, "context_type": ctx.context_type,
            "git_branch": ids.branch_context.git_branch,
            "git_commit": ids.branch_context.git_commit, "session_id": ids.session_id}


def _hook_warnings(project: Project) -> list[str]:
    from gitext.errors import AircherError
    from gitext.git.hookdir import HooksOff
    from gitext.hooks.presence import absent_elsewhere, absent_hooks
    from gitext.hooks.upgrade import outdated_shims

    try:
        stale = outdated_shims(project.repo.info.worktree_root)
        absent = absent_hooks(project.repo.info.worktree_root)
    except HooksOff as off:
        return [f"{off.message}; {off.hint}"]
    except (AircherError, OSError):
        return []
    found = [f"{absent.message()}; {absent.hint()}"] if absent is not None else []
    with contextlib.suppress(AircherError, OSError):  # other worktrees' folders (husky's)
        found += [f"{a.message()}; {a.hint()}"
                  for a in absent_elsewhere(project.repo.info.worktree_root)]
    if stale:
        found.append(f"hooks written by another git-aircher version or install:"
                     f" {', '.join(stale)} (`git aircher hooks install` updates them)")
    return found
