"""Backups: consistent online copies of every database, a manifest written last, pruning.

`<store>/content/backups/<id>/` holds one file per database, made with SQLite's backup API in a
single step: one read transaction, so the copy is one consistent snapshot, and in WAL mode it
does not block the hooks that write meanwhile. A copy above `compression_threshold` is gzipped.
Attachments (content-addressed, never modified in place) are hard-linked, or copied across
filesystems. `manifest.json` is written last, atomically: a folder without one is an unfinished
backup, ignored by `list` and cleaned by pruning; one whose manifest cannot be read is a finished
backup read from its folder (`_from_folder`). The search index is left out of the copies
(`derived`): it is most of their size, and git gives it back.

Which backup is the newest is what the store recorded, not the clock: each manifest holds
`seq`, one more than the highest of the backups there when it began. A backup taken while the
clock was ahead (a VM started with a wrong date, then put right) was "newest" for good by its
date: repair restored it over the real latest one, and pruning kept it and let that one go.

global.db is copied too (it holds the global context and cross-project patterns) but restored
only on request: other projects share it.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import os
import shutil
import sqlite3
import time
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gitext import clock
from gitext.errors import AircherError, UsageError
from gitext.folders import make_folder, store_folder, store_there
from gitext.lifecycle.dbfiles import raw_connect, row_counts, store_databases
from gitext.lifecycle.derived import empty_derived
from gitext.lifecycle.runstate import read_json, write_json
from gitext.project import Project
from gitext.store.connection import not_openable
from gitext.store.migrate import user_version
from gitext.store.space import no_room_error
from gitext.store.strays import refuse_strays

MANIFEST = "manifest.json"
FORMAT = 1
_CHUNK = 1 << 20


@dataclass
class DbCopy:
    name: str
    file: str
    size: int  # bytes of the stored file
    raw_size: int  # bytes of the database itself
    sha256: str
    compressed: bool
    schema_version: int
    rows: dict[str, int]
    quick_check: str
    left_out: list[str] = field(default_factory=list)  # derived tables emptied in the copy


@dataclass
class BackupInfo:
    id: str
    created_at: str
    created_epoch: float
    path: str
    databases: list[DbCopy]
    attachments: list[tuple[str, int]] = field(default_factory=list)
    seq: int = 0  # the order backups were made in; 0 in those made before it was recorded
    # Why manifest.json cannot be read, when it cannot: what is known then comes from the
    # folder (its copies, its name), and the copies can be checked by integrity_check alone.
    manifest_damage: str | None = None

    def damage(self) -> str | None:
        """What is wrong with this backup as far as a look without reading its copies tells (a
        manifest that cannot be read, a quick_check that failed when it was made, a copy
        missing or of another size), or None. `verify` re-hashes each copy; that reads every
        byte, too much for a listing."""
        if self.manifest_damage is not None:
            return f"manifest.json {self.manifest_damage}; its copies are unchecked"
        for d in self.databases:
            if d.quick_check != "ok":
                return f"{d.name}: quick_check failed when made"
            try:
                size = (Path(self.path) / d.file).stat().st_size
            except OSError:
                return f"{d.name}: file missing"
            if size != d.size:
                return f"{d.name}: size differs from the manifest"
        return None

    @property
    def ok_when_made(self) -> bool:
        """No damage a look without reading the copies finds: not a claim the copies are good
        (one changed in place keeps its size); `verify` and `check_copy` read them."""
        return self.damage() is None

    @property
    def usable(self) -> bool:
        """Worth reading a copy of for a restore: ok when made, or damaged only in its
        manifest (each copy is checked by integrity_check before it is used)."""
        return self.ok_when_made or (self.manifest_damage is not None and all(
            (Path(self.path) / d.file).is_file() for d in self.databases))

    @property
    def size(self) -> int:
        return sum(d.size for d in self.databases)

    def db(self, name: str) -> DbCopy | None:
        return next((d for d in self.databases if d.name == name), None)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["damage"] = self.damage()
        # Not "good": that said yes next to a failing `verify` (QA round 5: 05).
        data["ok_when_made"] = data["damage"] is None
        data["size"] = self.size
        return data

    def manifest(self) -> dict[str, Any]:
        """What manifest.json records: the facts of the copies, nothing judged from a look at
        them later (a manifest once carried "good": true whatever became of its copies)."""
        data: dict[str, Any] = {"format": FORMAT, **asdict(self)}
        data.pop("path")
        return data


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _new_folder(root: Path, epoch: float) -> Path:
    """`<root>/<UTC time>[-n]/`, created here: mkdir is the claim, so two processes backing up
    in the same second get two folders."""
    base = datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%dT%H%M%SZ")
    candidate, n = base, 1
    while True:
        try:
            (root / candidate).mkdir()
            return root / candidate
        except FileExistsError:
            n += 1
            candidate = f"{base}-{n}"


def copy_database(source: Path, dest: Path) -> None:
    """An online, consistent copy (one backup step = one read transaction)."""
    refuse_strays(source)  # its read-write connection would take in a stray -wal or journal
    try:
        src = raw_connect(source, readonly=False)
    except sqlite3.Error as exc:  # a folder in its place, say
        raise not_openable(source, exc) from exc
    try:
        dst = sqlite3.connect(dest, isolation_level=None)
        try:
            src.backup(dst)
            # A standalone file: no -wal to carry around, nothing to replay when restored.
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
    finally:
        src.close()


def _describe(name: str, path: Path) -> tuple[int, dict[str, int], str]:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        check = str(conn.execute("PRAGMA quick_check").fetchone()[0])
        return user_version(conn), row_counts(conn), check
    finally:
        conn.close()


def gzip_file(path: Path, *, keep: bool = False) -> Path:
    out = path.with_name(path.name + ".gz")
    with path.open("rb") as src, gzip.open(out, "wb", compresslevel=6) as dst:
        shutil.copyfileobj(src, dst, _CHUNK)
    if not keep:
        path.unlink()
    return out


def create_backup(project: Project) -> BackupInfo:
    """Copy every database (and attachments) into a new backup folder; the manifest last."""
    project.require_init()
    from gitext.lifecycle.loss import gone_error, lost_databases, refuse_lost_frames

    # A backup without a database the store lost (or with an empty one in its place) would be
    # the newest one, and pruning keeps only that one past backup_retain_days (QA round 24b:
    # 01): repair comes first.
    if lost := lost_databases(project):
        raise gone_error(project, lost[0])
    for name in store_databases(project, include_global=True):
        refuse_lost_frames(project, name)  # its copy's open would reset the -shm that tells
    root = store_folder(project.layout.root, project.layout.backups)  # `gitext.folders`
    seq = max((b.seq for b in list_backups(project)), default=0) + 1
    epoch = clock.epoch()
    folder = _new_folder(root, epoch)
    backup_id = folder.name
    cfg = project.config
    compress = cfg.flag("storage.backup.compression_enabled")
    threshold = cfg.size("storage.backup.compression_threshold")
    copies: list[DbCopy] = []
    try:
        for name, source in store_databases(project, include_global=True).items():
            if not source.exists():
                continue
            if not store_there(project.layout.root):
                # The repository is being deleted (`gitext.folders`): the partial copy goes
                # below, rather than more files landing in a folder `rm -rf` is emptying.
                raise FileNotFoundError(errno.ENOENT, "the store is gone", str(project.layout.root))
            target = folder / f"{name}.db"
            copy_database(source, target)
            left_out = empty_derived(target, name)
            version, rows, check = _describe(name, target)
            raw_size = target.stat().st_size
            is_compressed = compress and raw_size > threshold
            if is_compressed:
                target = gzip_file(target)
            copies.append(DbCopy(
                name, target.name, target.stat().st_size, raw_size, sha256_file(target),
                is_compressed, version, rows, check, left_out,
            ))
        attachments = _copy_attachments(project.layout.attachments, folder / "attachments")
        info = BackupInfo(backup_id, clock.to_ts(epoch), epoch, str(folder), copies, attachments,
                          seq)
        write_json(folder / MANIFEST, info.manifest())
    except BaseException as exc:
        # Told before the partial copies go, as removing them frees the room they took.
        full = no_room_error(exc, f"backup {backup_id}", [folder, project.layout.core])
        shutil.rmtree(folder, ignore_errors=True)
        if full is not None:
            raise full from exc
        raise
    return info


def _copy_attachments(source: Path, dest: Path) -> list[tuple[str, int]]:
    listed: list[tuple[str, int]] = []
    if not source.is_dir():
        return listed
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        rel = path.relative_to(source)
        target = dest / rel
        make_folder(target.parent, dest.parent)
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)
        listed.append((rel.as_posix(), target.stat().st_size))
    return listed


def _load(folder: Path) -> BackupInfo | None:
    """The backup in `folder` as its manifest records it; one whose manifest is there but
    cannot be read as it from the folder itself (`_from_folder`); None when the manifest is
    another format's."""
    data = read_json(folder / MANIFEST)
    if "format" in data and data["format"] != FORMAT:
        return None
    try:
        dbs = [
            DbCopy(d["name"], d["file"], int(d["size"]), int(d["raw_size"]), d["sha256"],
                   bool(d["compressed"]), int(d["schema_version"]),
                   {str(k): int(v) for k, v in d["rows"].items()}, str(d["quick_check"]),
                   [str(t) for t in d.get("left_out", [])])
            for d in data["databases"]
        ]
        attachments = [(str(a), int(s)) for a, s in data.get("attachments", [])]
        return BackupInfo(
            str(data["id"]), str(data["created_at"]), float(data["created_epoch"]),
            str(folder), dbs, attachments, int(data.get("seq", 0)),
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return _from_folder(folder)


_STAMP = "%Y%m%dT%H%M%SZ"


def _from_folder(folder: Path) -> BackupInfo | None:
    """A finished backup whose manifest.json, written last, is there but cannot be read (cut
    short by a crash or a full disk, bit rot): its copies are most likely whole. Taken for an
    interrupted backup, it was left out of `backup list`, repair restored an older backup
    over the rows only it held, and the daily tier deleted it (QA round 24b: 04). Its copies
    are the `<database>.db[.gz]` files there, its time the folder's name; checksums, row
    counts and its place in the order backups were made are lost with the manifest."""
    from gitext.store.migrate import DATABASES

    try:
        epoch = datetime.strptime(folder.name[:16], _STAMP).replace(tzinfo=UTC).timestamp()
        size = (folder / MANIFEST).stat().st_size
        files = sorted(p for p in folder.iterdir() if p.is_file())
    except (ValueError, OSError):
        return None
    copies = []
    for path in files:
        name = path.name.removesuffix(".gz").removesuffix(".db")
        if name in DATABASES and path.name in (f"{name}.db", f"{name}.db.gz"):
            copies.append(DbCopy(name, path.name, path.stat().st_size, 0, "",
                                 path.name.endswith(".gz"), 0, {}, "unknown"))
    attachments = folder / "attachments"
    found = [(p.relative_to(attachments).as_posix(), p.stat().st_size)
             for p in sorted(attachments.rglob("*")) if p.is_file()] \
        if attachments.is_dir() else []
    return BackupInfo(folder.name, clock.to_ts(epoch), epoch, str(folder), copies, found,
                      manifest_damage="is empty" if size == 0 else "cannot be read (cut short?)")


def _place(found: list[BackupInfo]) -> None:
    """Give each backup read from its folder the place in the order that its name says: one
    more than the backups named before it (a tie goes by date), as its lost manifest would
    have recorded had the clock been right."""
    for info in found:
        if info.manifest_damage is not None:
            info.seq = 1 + max((b.seq for b in found if b.manifest_damage is None
                                and _by_name(b) < _by_name(info)), default=0)


def _by_name(info: BackupInfo) -> tuple[str, int, str]:
    """Folders by their names, `<UTC second>[-n]`: a date to the second, then the order two
    of the same second were made in."""
    return info.id[:16], len(info.id), info.id


def _newest_first(info: BackupInfo) -> tuple[int, bool, float, str]:
    """Sort key (reversed): the order recorded, then, among backups made before it was (or at
    the same time), one dated more than an hour later than now after the others: the clock was
    ahead when it was made, as the scheduler judges a last run (docs/lifecycle.md)."""
    return info.seq, not clock.ahead(info.created_epoch), info.created_epoch, info.id


def list_backups(project: Project) -> list[BackupInfo]:
    """Complete backups (with a readable manifest), newest first: in the order they were
    made, whatever the clock said then."""
    root = project.layout.backups
    if not root.is_dir():
        return []
    found = []
    for folder in root.iterdir():
        if folder.is_dir() and (folder / MANIFEST).exists():
            info = _load(folder)
            if info is not None:
                found.append(info)
    _place(found)
    return sorted(found, key=_newest_first, reverse=True)


def made_by(backups: list[BackupInfo]) -> dict[str, float]:
    """When each backup (of `backups`, newest first) was made, for its age: its date, but for
    one dated more than an hour later than now that of a backup made after it, when earlier.
    Dated a year ahead, it would stay young (never pruned) for that year. Only those: a date
    from a clock that was behind would otherwise age every backup made before it."""
    after = float("inf")
    made: dict[str, float] = {}
    for info in backups:
        made[info.id] = info.created_epoch
        if clock.ahead(info.created_epoch):
            made[info.id] = min(info.created_epoch, after)
        after = min(after, made[info.id])
    return made


def get_backup(project: Project, backup_id: str) -> BackupInfo:
    folder = project.layout.backups / backup_id
    if "/" in backup_id or backup_id.startswith(".") or not folder.is_dir():
        # Bad input (exit 2), as every other unknown id: exit 1 is verify's "the backup is
        # damaged", which scripts read (QA round 24c: 07).
        raise UsageError(f"no backup {backup_id!r}", hint="`git aircher backup list` shows them")
    if not (folder / MANIFEST).exists():  # written last: the backup was interrupted
        raise AircherError(
            f"backup {backup_id} is incomplete (no manifest)",
            hint="it was interrupted; `git aircher maintain --daily` cleans it up",
        )
    info = _load(folder)
    if info is None:
        raise AircherError(f"backup {backup_id} has a manifest of another format",
                           hint="it was made by another version of git-aircher")
    return info


def ok_when_made(project: Project, db: str | None = None) -> list[BackupInfo]:
    """The backups (holding `db`, when named) no look without reading finds damaged, newest
    first. Whoever restores from one reads it first: `restore_backup` verifies each copy."""
    return [info for info in list_backups(project)
            if info.ok_when_made and (db is None or info.db(db) is not None)]


def _is_backup_folder(folder: Path) -> bool:
    return folder.is_dir() and folder.name[:8].isdigit() and "T" in folder.name[:10]


_SET_ASIDE = ("replaced-", "damaged-")


def _set_aside_epoch(name: str) -> float | None:
    """When restore or repair set files aside in `replaced-<time>`/`damaged-<time>`."""
    for prefix in _SET_ASIDE:
        if name.startswith(prefix):
            stamp = name[len(prefix):len(prefix) + 16]
            try:
                return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
            except ValueError:
                return None
    return None


def prune_backups(project: Project, *, dry_run: bool = False) -> list[str]:
    """Backups older than backup_retain_days go (their age from `made_by`; the newest one ok
    when made always stays), unfinished ones older than a day, and files restore or repair set
    aside once they are older than backup_retain_days too; none while a database the store had
    is lost. Returns the folder names removed (or that would be)."""
    root = project.layout.backups
    if not root.is_dir():
        return []
    from gitext.lifecycle.loss import lost_databases

    if lost_databases(project):
        return []  # the backups may be all that holds a lost database: nothing goes till repair
    now = clock.epoch()
    cutoff = now - project.config.integer("storage.backup.backup_retain_days") * 86400
    # By the look only: pruning daily must not read every byte of every backup.
    keep = next(iter(ok_when_made(project)), None)
    complete = {b.id: b for b in list_backups(project)}
    made = made_by(list(complete.values()))
    removed: list[str] = []
    for folder in sorted(root.iterdir()):
        aside = _set_aside_epoch(folder.name)
        if aside is not None and folder.is_dir() and aside < cutoff:
            removed.append(folder.name)
        if not _is_backup_folder(folder):
            continue
        info = complete.get(folder.name)
        if info is None:
            with contextlib.suppress(OSError):
                if folder.stat().st_mtime < time.time() - 86400:
                    removed.append(folder.name)
            continue
        if made[info.id] < cutoff and (keep is None or info.id != keep.id):
            removed.append(info.id)
    if not dry_run:
        for name in removed:
            shutil.rmtree(root / name, ignore_errors=True)
    return removed


def compress_old_backups(
    project: Project, older_than: float, *, dry_run: bool = False, skip: Collection[str] = (),
) -> int:
    """Gzip the uncompressed copies of backups older than `older_than` seconds, but those
    named in `skip` (a dry run's pruned ones, still on disk); the manifest is rewritten with the
    new checksums. Returns how many files were (or would be) compressed."""
    if not project.config.flag("storage.backup.compression_enabled"):
        return 0
    count = 0
    cutoff = clock.epoch() - older_than
    backups = list_backups(project)
    made = made_by(backups)
    for info in backups:
        if made[info.id] >= cutoff or info.manifest_damage is not None or info.id in skip:
            continue  # the manifest is the only record of its copies: never rewritten
        folder = Path(info.path)
        originals: list[Path] = []
        for copy in info.databases:
            if copy.compressed:
                continue
            count += 1
            if dry_run:
                continue
            # The original stays until the manifest names the .gz: never a manifest pointing
            # at a file that is not there.
            out = gzip_file(folder / copy.file, keep=True)
            originals.append(folder / copy.file)
            copy.file, copy.compressed = out.name, True
            copy.size, copy.sha256 = out.stat().st_size, sha256_file(out)
        if originals:
            write_json(folder / MANIFEST, info.manifest())
            for path in originals:
                path.unlink(missing_ok=True)
    return count
