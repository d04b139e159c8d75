"""Verifying a backup and restoring one, atomically."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitext.errors import AircherError
from gitext.lifecycle.backup import BackupInfo, DbCopy, get_backup, sha256_file
from gitext.lifecycle.dbfiles import ARCHIVE_DB, row_counts, store_databases
from gitext.lifecycle.runstate import RESTORE_NOTE, read_json, state_path
from gitext.lifecycle.swap import aside_dir, swap_in
from gitext.project import Project
from gitext.store.made import forget

if TYPE_CHECKING:
    from gitext.lifecycle.findings import Finding


@dataclass
class DbVerify:
    name: str
    file: str
    checksum_ok: bool | None  # None: no checksum to compare (the manifest cannot be read)
    integrity: str
    rows_ok: bool | None  # None: no row counts to compare, likewise


@dataclass
class VerifyResult:
    id: str
    ok: bool
    databases: list[DbVerify]
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RestoreResult:
    id: str
    restored: list[str]
    replaced_dir: str
    replaced_files: list[str]
    attachments_restored: int
    # Live databases the backup has no copy of, moved aside with nothing in their place.
    set_aside: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def extract(info: BackupInfo, copy: DbCopy, dest: Path) -> None:
    """The database file of one copy at `dest` (decompressed when stored gzipped)."""
    source = Path(info.path) / copy.file
    if copy.compressed:
        with gzip.open(source, "rb") as src, dest.open("wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
    else:
        shutil.copyfile(source, dest)


def check_copy(info: BackupInfo, copy: DbCopy, scratch: Path) -> DbVerify:
    """One copy checked: its checksum, and integrity and row counts of it extracted at
    ``scratch`` (left there for the caller)."""
    stored = Path(info.path) / copy.file
    if not stored.exists():
        return DbVerify(copy.name, copy.file, False, "file missing", False)
    recorded = info.manifest_damage is None
    checksum_ok = sha256_file(stored) == copy.sha256 if recorded else None
    try:
        extract(info, copy, scratch)
        conn = sqlite3.connect(scratch, isolation_level=None)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
            integrity = "ok" if [r[0] for r in rows] == ["ok"] else "; ".join(
                str(r[0]) for r in rows[:5]
            )
            rows_ok = integrity == "ok" and row_counts(conn) == copy.rows if recorded else None
        finally:
            conn.close()
    except (OSError, EOFError, sqlite3.DatabaseError) as exc:
        return DbVerify(copy.name, copy.file, checksum_ok, f"unreadable: {exc}",
                        False if recorded else None)
    return DbVerify(copy.name, copy.file, checksum_ok, integrity, rows_ok)


def copy_problems(result: DbVerify) -> list[str]:
    """What is wrong with one copy, in words (none: nothing)."""
    if result.integrity == "file missing":
        return ["file missing"]
    out = ["checksum mismatch"] if result.checksum_ok is False else []
    if result.integrity != "ok":
        out.append(f"integrity: {result.integrity}")
    elif result.rows_ok is False:
        out.append("row counts differ from the manifest")
    return out


def verify_backup(project: Project, backup_id: str) -> VerifyResult:
    """Checksums recomputed, and integrity_check plus row counts on a decompressed copy."""
    info = get_backup(project, backup_id)
    results: list[DbVerify] = []
    problems: list[str] = []
    if info.manifest_damage is not None:
        problems.append(f"manifest.json {info.manifest_damage}: no checksums or row counts to"
                        " compare its copies with; each was checked by integrity_check")
    with tempfile.TemporaryDirectory(dir=project.layout.backups, prefix=".verify-") as tmp:
        for copy in info.databases:
            result = check_copy(info, copy, Path(tmp) / f"{copy.name}.db")
            results.append(result)
            problems += [f"{copy.name}: {p}" for p in copy_problems(result)]
            (Path(tmp) / f"{copy.name}.db").unlink(missing_ok=True)
    folder = Path(info.path) / "attachments"
    missing = [rel for rel, size in info.attachments
               if not (folder / rel).is_file() or (folder / rel).stat().st_size != size]
    if missing:
        problems.append(f"{len(missing)} attachment file(s) missing or changed")
    return VerifyResult(info.id, not problems, results, problems)


def restore_backup(
    project: Project,
    backup_id: str,
    *,
    include_global: bool = False,
    only: list[str] | None = None,
) -> RestoreResult:
    """Put a backup's databases in place of the live ones: all of them, or none.

    Every copy is staged beside its live file and checked (checksum, integrity) first; any
    failure there leaves the live store untouched. The replaced files go to
    `content/backups/replaced-<time>/`. A whole restore (no `only`) of a backup made before
    there was a conversations archive moves the live archive there too: kept, the conversations
    archived since were both archived and live again (QA round 20c: 04).
    """
    info = get_backup(project, backup_id)
    live_paths = store_databases(project, include_global=True)
    live_paths.setdefault(ARCHIVE_DB, project.layout.db(ARCHIVE_DB))
    wanted = [
        c for c in info.databases
        if (include_global or c.name != "global") and (only is None or c.name in only)
    ]
    if only is not None:
        unknown = set(only) - {c.name for c in wanted}
        if unknown:
            raise AircherError(f"backup {backup_id} has no copy of {', '.join(sorted(unknown))}")
    staged: list[tuple[Path, Path]] = []
    try:
        for copy in wanted:
            live = live_paths[copy.name]
            if copy.name == "global":
                project.global_layout.ensure()  # a removed home comes back owner-only, as init
            else:
                live.parent.mkdir(parents=True, exist_ok=True)
            stage = live.with_name(f".{live.name}.restore-{os.getpid()}")
            staged.append((stage, live))
            check = check_copy(info, copy, stage)
            if check.checksum_ok is False or check.integrity != "ok":
                raise AircherError(
                    f"backup {backup_id}: {copy.name} failed verification"
                    f" ({'; '.join(copy_problems(check))})",
                    hint="nothing was restored; try an older backup (`git aircher backup list`)",
                )
        archive = project.layout.db(ARCHIVE_DB)
        before_archive = only is None and all(c.name != ARCHIVE_DB for c in info.databases)
        dropped = [archive] if before_archive and archive.exists() else []
        if before_archive:
            # The store as it was then had no archive: none now is no loss to refuse. Before
            # the swap: one killed and undone brings the archive back unrecorded, and its next
            # open records it again.
            forget(archive)
        searched = any(c.name in ("file_index", "knowledge") for c in wanted)
        if searched:
            from gitext.search.stamps import forget_all_indexed

            # The stamps name HEADs whose files the live index held; the restored one may
            # predate them (its text in file_index, its vectors in knowledge). They go before
            # the swap: a restore killed after it (SIGKILL, `timeout`'s SIGTERM) left them
            # vouching for a restored text index that backups leave empty, and every search
            # said "no match" (QA round 25b: 01). A swap that fails costs only a re-index.
            forget_all_indexed(project)
        aside = aside_dir(project, "replaced")
        # What follows the swap (vector rows, stamps, attachment files) is undone by nothing
        # if the process dies there: the note lets doctor see it and repair finish it.
        # Written in place: a torn note reads as none, all that a kill inside its write costs.
        _unfinished(project).write_text(json.dumps({"backup": info.id, "pid": os.getpid()}))
        replaced = swap_in(project, staged, aside, dropped)
    except BaseException:
        for stage, _live in staged:
            stage.unlink(missing_ok=True)
        _unfinished(project).unlink(missing_ok=True)
        raise
    restored_files = _after_swap(project, info, any(c.name == "knowledge" for c in wanted),
                                 searched)
    return RestoreResult(info.id, [c.name for c in wanted], str(aside), replaced, restored_files,
                         [ARCHIVE_DB] if dropped else [])


def _after_swap(project: Project, info: BackupInfo | None, knowledge: bool,
                searched: bool) -> int:
    """The vector rows, search stamps and attachment files of what was swapped in; how many
    attachment files came back. Harmless to do again, or after a swap that was undone."""
    if knowledge:
        from gitext.search.rebuild import drop_unreadable

        # A backup holds the databases, not the vector segments: the copy may name segments a
        # compaction has removed since. Rows promising vectors nobody can read are dropped, so
        # their blobs count as not embedded (before the stamps go: a pass between the two
        # would vouch for them again).
        drop_unreadable(project)
    if searched:
        from gitext.search.stamps import forget_all_indexed

        # Again: a query or worker pass between the first drop and the swap stamped the old
        # index, and one since may have vouched for the rows just dropped.
        forget_all_indexed(project)
    restored_files = 0 if info is None else _restore_attachments(info,
                                                                 project.layout.attachments)
    _unfinished(project).unlink(missing_ok=True)
    return restored_files


def _unfinished(project: Project) -> Path:
    return state_path(project.layout, RESTORE_NOTE)


def unfinished_restore(project: Project) -> str | None:
    """The backup a restore was putting in place when it stopped after its swap (killed, or
    the machine went down), before its attachment files and vector rows were settled."""
    note = read_json(_unfinished(project))
    backup, pid = note.get("backup"), note.get("pid")
    if not isinstance(backup, str):
        return None
    if isinstance(pid, int) and pid != os.getpid():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return backup
        except OSError:
            pass
        return None  # still at work: not cut short
    return backup


def finish_restore(project: Project, *, dry_run: bool = False) -> str | None:
    """Finish what a restore cut short after its swap left (doctor's `restore_unfinished`);
    the backup's id, or None when nothing was left."""
    backup = unfinished_restore(project)
    if backup is None or dry_run:
        return backup
    try:
        info: BackupInfo | None = get_backup(project, backup)
    except AircherError:
        info = None  # pruned since: the attachment files went with it
    _after_swap(project, info, True, True)
    return backup


def settle_restored_conversations(project: Project, restored: str) -> int:
    """After one of conversations.db / the archive alone came back from a backup: each
    conversation the other one (not restored) also holds is deleted from the restored one, in
    one transaction; how many. The database not restored is the current one: the backup
    predates the archiving run that moved a conversation, or the `conversation restore` that
    brought one back, and kept, both copies were there, archived and live (QA round 21a: 03).
    """
    from gitext.lifecycle.archive import delete_rows, open_archive

    other = "conversations" if restored == ARCHIVE_DB else ARCHIVE_DB
    if not (project.layout.db(restored).exists() and project.layout.db(other).exists()):
        return 0

    @contextlib.contextmanager
    def connection(name: str, write: bool) -> Iterator[sqlite3.Connection]:
        with contextlib.ExitStack() as stack:
            db = stack.enter_context(open_archive(project)) if name == ARCHIVE_DB \
                else project.db(name)
            yield stack.enter_context(db.write() if write else db.read())

    with connection(other, False) as conn:
        current = {str(r[0]) for r in conn.execute("SELECT id FROM conversations")}
    if not current:
        return 0
    with connection(restored, True) as conn:
        both = sorted(str(r[0]) for r in conn.execute("SELECT id FROM conversations")
                      if str(r[0]) in current)
        for start in range(0, len(both), 500):  # within SQLite's parameter limit
            delete_rows(conn, both[start:start + 500])
    return len(both)


def _restore_attachments(info: BackupInfo, dest: Path) -> int:
    """Attachments the store no longer has come back; none is overwritten or deleted."""
    source = Path(info.path) / "attachments"
    count = 0
    for rel, _size in info.attachments:
        target = dest / rel
        if target.exists() or not (source / rel).is_file():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / rel, target)
        count += 1
    return count


def restore_findings(project: Project) -> list[Finding]:
    from gitext.lifecycle.findings import Finding

    backup = unfinished_restore(project)
    if backup is None:
        return []
    return [Finding(
        "restore_unfinished", "warning", None,
        f"the restore of backup {backup} stopped after its databases were put in place:"
        " attachment files it holds may be missing, and vector rows may name files the"
        " backup did not have",
        "the backup's attachment files the store lacks copied back, unreadable vector rows"
        " dropped, the search stamps cleared",
    )]
