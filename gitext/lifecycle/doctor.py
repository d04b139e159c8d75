"""`git aircher doctor`: what is damaged or inconsistent in the store, without changing it.

Databases are opened raw and read-only (no migrations, no pragmas), so a damaged file is looked
at, never touched: a -shm left without its -wal is read with immutable=1, because a normal open
would silently discard the evidence that committed WAL frames were lost.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gitext.lifecycle.dbfiles import (
    ARCHIVE_DB,
    Schema,
    expected_schema,
    has_magic,
    lost_wal_frames,
    raw_connect,
    read_schema,
    schema_drift,
    store_databases,
)
from gitext.lifecycle.exposure import exposure_findings
from gitext.lifecycle.findings import Finding
from gitext.lifecycle.refs import reference_findings
from gitext.lifecycle.restore import restore_findings
from gitext.lifecycle.sessionless import sessionless_findings
from gitext.lifecycle.sync_findings import (
    broken_records,
    failed_records,
    index_freshness,
    journal_strangers,
    search_coverage,
    stopped_worker_findings,
)
from gitext.lifecycle.unplaced import unplaced_findings
from gitext.project import Project
from gitext.store.identity import owner
from gitext.store.migrate import UPGRADE_HINT, latest_version, user_version
from gitext.store.space import why_no_room
from gitext.store.strays import connect_alone, has_wal_frames, stray_journal

SEVERITIES = ("error", "warning", "info")
# Findings of a file that is not (or is not read as) the database it is named for.
NOT_ITSELF = ("stray_wal", "stray_journal", "misplaced", "not_a_file")
_INDEX_ONLY = ("missing from index", "wrong # of entries in index", "non-unique entry in index")


@dataclass
class DbCheck:
    name: str
    path: str
    exists: bool
    size_bytes: int = 0
    readable: bool = False
    integrity: str | None = None
    schema_version: int | None = None
    schema_latest: int | None = None
    lost_wal_frames: int = 0


@dataclass
class DoctorReport:
    databases: list[DbCheck]
    findings: list[Finding] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not any(f.severity in ("error", "warning") for f in self.findings)

    def problems(self, database: str | None = None) -> list[Finding]:
        return [f for f in self.findings if f.severity != "info"
                and (database is None or f.database == database)]

    def db(self, name: str) -> DbCheck | None:
        return next((d for d in self.databases if d.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {"healthy": self.healthy, **asdict(self)}


def _integrity(conn: sqlite3.Connection, quick: bool) -> list[str]:
    pragma = "quick_check" if quick else "integrity_check"
    return [str(r[0]) for r in conn.execute(f"PRAGMA {pragma}(100)").fetchall()]


def check_database(name: str, path: Path, *, quick: bool = False) -> tuple[DbCheck, list[Finding]]:
    """One database file: present, a database, WAL intact, integrity, schema as migrated."""
    result = DbCheck(name, str(path), path.exists())
    findings: list[Finding] = []
    if not result.exists:
        findings.append(Finding("missing", "error", name, f"{path} does not exist",
                                "restored from the newest backup, else created empty and rebuilt"))
        return result, findings
    if not path.is_file():
        # A folder in its place (a tool's leftover, a half-done copy of the store): called
        # "not an SQLite database" and salvaged, it crashed repair (QA round 24b: 07).
        findings.append(Finding(
            "not_a_file", "error", name, f"{path} is not a file (a folder?)",
            "set aside (kept in content/backups/damaged-*) and the database restored from the"
            " newest backup holding a copy that verifies, else created empty"))
        return result, findings
    result.size_bytes = path.stat().st_size
    result.lost_wal_frames = lost_wal_frames(path)
    if result.lost_wal_frames:
        findings.append(Finding(
            "wal", "error", name,
            f"its -wal file is gone: {result.lost_wal_frames} committed WAL frame(s) were lost",
            "rows still in the file are kept and merged with the newest backup",
        ))
    if not has_magic(path):
        findings.append(Finding("unreadable", "error", name, f"{path} is not an SQLite database",
                                "salvaged (nothing readable) and merged with the newest backup"))
        return result, findings
    journal = stray_journal(path)
    if journal is not None:
        findings.append(Finding(
            "stray_journal", "error", name,
            f"{journal} is not its rollback journal (the database is in WAL mode, which writes"
            " none): a normal open would roll another database's pages into it",
            "the journal set aside (kept in content/backups/damaged-*); the file stays as it is"))
    lines: list[str] = []
    try:
        # Beside a journal not its own, the file alone: read-only, SQLite refuses to open it.
        lines, version, schema = _read(
            connect_alone(path) if journal is not None else raw_connect(path), quick)
        failure: sqlite3.DatabaseError | None = None
    except sqlite3.DatabaseError as exc:
        why = why_no_room(exc, [path])
        if why is not None:
            # Not damage: SQLite could not make room to read it (its WAL frames need a -shm).
            # `disk_findings` says so; the file is looked at again once there is room.
            result.integrity = f"not checked: {why}"
            return result, findings
        failure = exc
    if (failure is not None or lines != ["ok"]) and journal is None and has_wal_frames(path):
        alone = _stray_wal(name, path, quick, failure)
        if alone is not None:  # what follows is of the file alone
            finding, (lines, version, schema) = alone
            findings.append(finding)
            failure = None
    if failure is not None:
        result.integrity = f"unreadable: {failure}"
        findings.append(Finding("integrity", "error", name, f"cannot be read: {failure}",
                                "salvaged row by row and merged with the newest backup"))
        return result, findings
    result.readable = True
    result.schema_version = version
    result.integrity = "ok" if lines == ["ok"] else "; ".join(lines[:5])
    if result.integrity != "ok":
        index_only = all(any(m in line for m in _INDEX_ONLY) for line in lines)
        findings.append(Finding(
            "index" if index_only else "integrity", "error", name,
            f"{'quick_check' if quick else 'integrity_check'} failed: {result.integrity}",
            "indexes rebuilt (REINDEX)" if index_only
            else "salvaged row by row and merged with the newest backup",
        ))
    findings.extend(_schema_findings(name, result, schema))
    return result, findings


def _read(conn: sqlite3.Connection, quick: bool) -> tuple[list[str], int, Schema]:
    """Integrity lines, schema version and schema, read on `conn`, which is then closed."""
    try:
        return _integrity(conn, quick), user_version(conn), read_schema(conn)
    finally:
        conn.close()


def _stray_wal(
    name: str, path: Path, quick: bool, failure: sqlite3.DatabaseError | None,
) -> tuple[Finding, tuple[list[str], int, Schema]] | None:
    """Where the database read through its -wal is damaged but the file alone is intact, the
    -wal is not its own (`gitext.store.strays`): the finding, and what the file alone reads."""
    try:
        alone = _read(connect_alone(path), quick)
    except sqlite3.DatabaseError:
        return None
    if alone[0] != ["ok"]:
        return None
    how = f"cannot be read ({failure})" if failure is not None else "fails its integrity check"
    return Finding(
        "stray_wal", "error", name,
        f"its -wal is not its own: read through it the database {how}; the file alone is"
        " intact (a normal open would copy that -wal into it)",
        "the -wal set aside (kept in content/backups/damaged-*); the file alone is the"
        " database"), alone


def _schema_findings(name: str, result: DbCheck, schema: dict[Any, Any]) -> list[Finding]:
    schema_db = name
    result.schema_latest = latest_version(schema_db)
    out: list[Finding] = []
    other = owner([n for kind, n in schema if kind == "table"], name, result.schema_version or 0)
    if other != name:
        # Another of the store's databases under this one's name: its version is the other's,
        # so neither "newer" nor drift says anything; read for this one's tables, it crashed
        # the checks that follow (QA round 24b: 05).
        out.append(Finding(
            "misplaced", "error", name,
            f"{result.path} is not the {name} database: it holds the tables of {other}"
            " (a copy put in its place?)",
            "the file set aside (kept in content/backups/damaged-*) and the database restored"
            " from the newest backup holding a copy that verifies, else created empty"))
        return out
    if result.schema_version is not None and result.schema_version > result.schema_latest:
        # Written by a newer git-aircher: rebuilding it with this version's schema would drop
        # what it does not know, so repair leaves it alone; the cure is that newer version.
        out.append(Finding("schema_newer", "error", name,
                           f"schema version {result.schema_version} is newer than this"
                           f" git-aircher knows ({result.schema_latest})",
                           hint=UPGRADE_HINT))
        return out
    if result.schema_version is not None and result.schema_version < result.schema_latest:
        out.append(Finding("schema", "info", name,
                           f"schema version {result.schema_version} of {result.schema_latest}:"
                           " the next open migrates it"))
        return out
    drift = schema_drift(schema, expected_schema(schema_db), allow_extra=name == ARCHIVE_DB)
    if drift:
        out.append(Finding("schema", "warning", name,
                           "schema differs from its migrations: " + "; ".join(drift[:8]),
                           "salvaged into a database with the migrated schema"))
    return out


def hook_findings(project: Project) -> list[Finding]:
    """Our hooks missing from the folder git runs hooks from (a core.hooksPath set after init):
    the store then falls behind at every commit, and index_behind_git alone comes back after
    each repair without saying why. Turned off with core.hooksPath=/dev/null is a choice,
    reported as information."""
    from gitext.errors import AircherError
    from gitext.git.hookdir import HooksOff
    from gitext.hooks.presence import absent_elsewhere, absent_hooks
    from gitext.hooks.upgrade import outdated_shims

    try:
        absent = absent_hooks(project.repo.info.worktree_root)
        outdated = outdated_shims(project.repo.info.worktree_root)
    except HooksOff as off:
        return [Finding("hooks_off", "info", None, off.message, hint=off.hint)]
    except (AircherError, OSError):
        return []
    try:  # a relative core.hooksPath: each worktree runs hooks from a folder of its own
        elsewhere = absent_elsewhere(project.repo.info.worktree_root)
    except (AircherError, OSError):
        elsewhere = []
    found = []
    for each in ([absent] if absent is not None else []) + elsewhere:
        found.append(Finding("hooks_off" if each.turned_off else "hooks_missing",
                             "info" if each.turned_off else "warning", None,
                             each.message(), hint=each.hint()))
    if outdated:
        # Shims of ours that install would rewrite: another version's (the worker rewrites
        # those within minutes), another installation's, or another repository's, come with
        # a copy of it. Called healthy, a copy's shims went on writing into the original's
        # store (QA round 5).
        found.append(Finding(
            "hooks_outdated", "warning", None,
            f"hook shims not current: {', '.join(outdated)} (written by another git-aircher"
            " version or installation, or for another repository or store)",
            hint="`git aircher hooks install` rewrites them"))
    return found


def archived_and_live(project: Project, sound: set[str]) -> list[Finding]:
    """Conversations in the archive and in conversations.db at once (an import made before
    imports looked in the archive): `conversation restore` refuses them, and messages added to
    the live copy are not in the archived one."""
    if not {"conversations", ARCHIVE_DB} <= sound:
        return []
    ids: list[set[str]] = []
    for name in ("conversations", ARCHIVE_DB):
        conn = raw_connect(project.layout.db(name))
        try:
            ids.append({str(r[0]) for r in conn.execute("SELECT id FROM conversations")})
        finally:
            conn.close()
    both = sorted(ids[0] & ids[1])
    if not both:
        return []
    cut = _archiving_cut_short(project)
    both = [cid for cid in both if cid not in cut]
    found = [Finding(
        "archiving_cut_short", "warning", ARCHIVE_DB,
        f"{len(cut)} conversation(s) are both archived and live, the same in both: an"
        f" archiving run was stopped between its copy and its delete (e.g. {min(cut)})",
        "the live copies deleted, as that run would have (the next `git aircher maintain"
        " --quarterly` does the same)")] if cut else []
    if both:
        found.append(Finding(
            "archived_and_live", "warning", ARCHIVE_DB,
            f"{len(both)} conversation(s) are both archived and live (e.g. {both[0]})",
            hint=f"`git aircher conversation restore {both[0]} --replace` puts the archived"
            f" copy in place of the live one (`git aircher conversation export {both[0]} -o"
            " FILE` first keeps the live one)",
        ))
    return found


def _archiving_cut_short(project: Project) -> set[str]:
    """Conversations an archiving run copied and was stopped before deleting live (QA round
    25b: 04): `archived_and_live` sent each to `conversation restore ID --replace`, one id
    named of 50, and repair said "still wrong"; the run's own delete is what was left."""
    from gitext.lifecycle.archive import cut_short

    live = raw_connect(project.layout.db("conversations"))
    try:
        archive = raw_connect(project.layout.db(ARCHIVE_DB))
        try:
            return set(cut_short(live, archive))
        except sqlite3.DatabaseError:  # tables the archive lacks: only said as before
            return set()
        finally:
            archive.close()
    finally:
        live.close()


def writable(project: Project) -> list[Finding]:
    """A store this user may not write: not damage (its databases read fine), but the hooks
    drop their records and every command that reads it fails, as it writes first."""
    from gitext.store.access import HINT, unwritable

    layout = project.layout
    # global.db too: every command writes the context chain there as it answers.
    databases = list(store_databases(project, include_global=True).values())
    # SQLite makes a database's -wal and -shm with the database's mode: a database made
    # writable again after it was read-only leaves them read-only, and every write fails.
    sidecars = [db.with_name(db.name + s) for db in databases for s in ("-wal", "-shm")]
    denied = unwritable([layout.root, layout.core, layout.journal, layout.run,
                         project.global_layout.db.parent, *databases, *sidecars])
    if not denied:
        return []
    more = f" and {len(denied) - 1} more" if len(denied) > 1 else ""
    return [Finding("store_readonly", "error", None,
                    f"you may not write {denied[0]}{more}: git's events are not recorded and"
                    " commands that read the store fail", hint=HINT)]


def unused_settings(project: Project) -> list[Finding]:
    """Embedding settings that cannot take effect (an index kind not built, a dimension the
    model contradicts): information, as the rest works; the user may drop them."""
    from gitext.search.unused import unused_settings as found

    cfg = project.config
    out = []
    for unused in found(cfg):
        key = unused.keys[0]
        where = cfg.sources[key]
        drop = ("unset the environment variable" if where == "environment" else
                f"`git aircher config unset {key}"
                f"{' --global' if where == str(project.global_layout.config) else ''}`")
        out.append(Finding("setting_unused", "info", None, unused.message,
                           hint=f"set in {where}; {drop} to stop this note"))
    return out


def unusable_model(project: Project) -> list[Finding]:
    """An embedding model that cannot be made: every index and search fails on it."""
    from gitext.search.unused import unusable_model as found

    unusable = found(project)
    if unusable is None:
        return []
    return [Finding("embedding_model_unusable", "error", None, unusable[0], hint=unusable[1])]


def ignored_settings(project: Project) -> list[Finding]:
    """Values out of bounds in a config file or the environment (a retention of 0 days): not
    used, the layer below's value is; a warning, as the user asked for something not done."""
    from gitext.config import ignored_lines

    return [Finding("setting_ignored", "warning", None, message, hint=hint)
            for message, hint in ignored_lines(project.config)]


def disk_findings(project: Project, databases: list[DbCheck]) -> list[Finding]:
    """A full disk under the store or the global folder: every command that writes fails,
    and a database with WAL frames cannot even be read (no room for its -shm). Doctor said
    nothing of it and called such databases damaged, to be salvaged."""
    from gitext.store.space import FULL, LOW_SPACE, free_bytes

    unchecked = {d.name: (d.integrity or "").removeprefix("not checked: ")
                 for d in databases if (d.integrity or "").startswith("not checked: ")}
    which = f"; {', '.join(unchecked)} could not be checked" if unchecked else ""
    for place in (project.layout.root, project.global_layout.root):
        free = free_bytes(place)
        if free is not None and free < LOW_SPACE:
            return [Finding(
                "disk_full", "error", None,
                f"{FULL} where {place} is ({free // 1024} KiB free): commands cannot write"
                f" the store{which}",
                hint="free some space (`git aircher maintain --all` removes what retention"
                " allows), then run `git aircher doctor` again")]
    if unchecked:  # no full disk explains it: a file size limit did
        return [Finding(
            "disk_full", "error", None, f"{next(iter(unchecked.values()))}{which}",
            hint="raise the limit (`ulimit -f unlimited`), then run `git aircher doctor`"
            " again")]
    return []


def diagnose(project: Project, *, quick: bool = False) -> DoctorReport:
    """Every check; the store is only read, once a swap a killed restore or repair left half
    done is undone, as any command's first opening of the store undoes it: read as it lay,
    the database it had moved aside was "missing", and repair then put back the last backup
    over the rows the undo gives back (QA round 15c: 01, its script's case B)."""
    project.settle()
    report = DoctorReport([])
    for name, path in store_databases(project, include_global=True).items():
        result, findings = check_database(name, path, quick=quick)
        report.databases.append(result)
        report.findings.extend(findings)
    report.findings.extend(disk_findings(project, report.databases))
    # A database beside side files not its own is read through them by everything but doctor.
    # One not at this version's schema cannot answer the cross-checks' queries (an init killed
    # after its WAL switch left one with no tables, and doctor died of "no such table"): its
    # own finding says what comes next.
    sound = {d.name for d in report.databases if d.readable and d.integrity == "ok"} \
        - {f.database for f in report.findings
           if f.check in NOT_ITSELF or f.check in ("schema", "schema_newer")}
    report.findings.extend(reference_findings(project, sound))
    report.findings.extend(unplaced_findings(project, sound))
    report.findings.extend(archived_and_live(project, sound))
    report.findings.extend(sessionless_findings(project, sound))
    report.findings.extend(restore_findings(project))
    report.findings.extend(exposure_findings(project))
    report.findings.extend(writable(project))
    report.findings.extend(failed_records(project))
    report.findings.extend(broken_records(project))
    report.findings.extend(journal_strangers(project))
    report.findings.extend(stopped_worker_findings(project))
    report.findings.extend(hook_findings(project))
    report.findings.extend(unused_settings(project))
    report.findings.extend(ignored_settings(project))
    report.findings.extend(unusable_model(project))
    if "file_index" in sound:
        report.findings.extend(index_freshness(project))
        report.findings.extend(search_coverage(project))
    return report
