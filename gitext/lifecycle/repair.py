"""`git aircher repair`: act on what `doctor` finds.

(a) file index, git-derived knowledge and search indexes rebuilt from git (the sync engine's
    `rebuild_from_git`), when file_index or knowledge was damaged or asked for with `from_git`;
    a worktree whose index is only behind git (commits made with the hooks off) is caught up,
    as `git aircher sync` there does: seconds where a rebuild of a long history takes minutes;
    journal records set aside tried again, those cut short removed, entries of the journal
    that are not records (a folder) moved out;
(b) a -wal or rollback journal not the database's own moved aside first (`store.strays`), then
    a damaged or lost database salvaged: every readable row merged with the newest backup whose
    copy verifies (a missing one is restored from such a backup, else created empty; so is one
    in whose place another database's file lies, that file set aside first);
(c) indexes rebuilt: REINDEX when only SQL indexes are damaged; the search index through the
    search module when its files are missing;
(d) references across databases validated: dangling derived rows deleted, user rows unlinked
    only with `clean`; conversations in no context put in the project's (gitext/lifecycle/
    unplaced.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from gitext.lifecycle.doctor import DoctorReport, diagnose
from gitext.project import Project

_SALVAGE_CHECKS = ("wal", "unreadable", "integrity", "schema")
_GIT_DERIVED = ("file_index", "knowledge")


@dataclass
class RepairAction:
    step: str  # a, b, c or d, as in the issue
    database: str | None
    action: str
    detail: str = ""


@dataclass
class RepairReport:
    dry_run: bool
    before: DoctorReport
    actions: list[RepairAction] = field(default_factory=list)
    salvaged: list[dict[str, Any]] = field(default_factory=list)
    after: DoctorReport | None = None

    @property
    def healthy(self) -> bool:
        return (self.after or self.before).healthy

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "healthy": self.healthy,
            "actions": [asdict(a) for a in self.actions],
            "salvaged": self.salvaged,
            "before": self.before.to_json(),
            "after": self.after.to_json() if self.after else None,
        }


def _plan(before: DoctorReport, from_git: bool) -> tuple[dict[str, str], bool, bool]:
    """What to do per database ('restore', 'salvage', 'reindex'), whether to rebuild from git,
    whether to rebuild the search index."""
    per_db: dict[str, str] = {}
    for f in before.problems():
        if f.database is None:
            continue
        if f.check == "missing":
            per_db[f.database] = "restore"
        elif f.check in ("misplaced", "not_a_file"):
            per_db[f.database] = "replace"
        elif f.check in _SALVAGE_CHECKS:
            per_db[f.database] = "salvage"
        elif f.check == "index" and per_db.get(f.database) != "salvage":
            per_db[f.database] = "reindex"
    rebuild = from_git or any(db in per_db for db in _GIT_DERIVED)
    search = rebuild or any(f.check in ("embeddings", "search_incomplete")
                            for f in before.problems())
    return per_db, rebuild, search


def repair(
    project: Project, *, clean: bool = False, from_git: bool = False, dry_run: bool = False
) -> RepairReport:
    if not project.layout.core.is_dir():
        project.require_init()  # raises: there is no store here at all
    before = diagnose(project)
    report = RepairReport(dry_run, before)
    per_db, rebuild, search = _plan(before, from_git)
    # First: whatever else a database needs is done to the file alone.
    for f in before.problems():
        if f.check in ("stray_wal", "stray_journal") and f.database is not None:
            report.actions.append(_set_aside_stray(project, f.database, f.check, dry_run))
    for name, what in sorted(per_db.items()):
        if dry_run:
            report.actions.append(RepairAction("b" if what != "reindex" else "c", name, what))
            continue
        if what == "replace":
            # Nothing in the file is this database's: kept aside, then as if it were lost.
            _set_aside_file(project, name, report)
            _restore_missing(project, name, report, per_db)
        elif what == "restore":
            _restore_missing(project, name, report, per_db)
        elif what == "reindex":
            _reindex(project, name, report)
        else:
            _salvage(project, name, report)
    if any(n in per_db for n in _GIT_DERIVED) and not dry_run:
        from gitext.init import init_project

        # Contexts and worktrees come back from git at once; hooks are left as the user has them.
        init_project(project, hooks=False)
        report.actions.append(
            RepairAction("a", "knowledge", "contexts and worktrees re-registered")
        )
    if any(f.check == "journal_failed" for f in before.problems()):
        report.actions.append(_retry_failed(project, dry_run))
    if any(f.check == "journal_broken" for f in before.problems()):
        report.actions.append(_drop_broken(project, dry_run))
    if any(f.check == "journal_stranger" for f in before.problems()):
        report.actions.append(_move_strangers(project, dry_run))
    if rebuild:
        report.actions.append(_rebuild_from_git(project, dry_run))
    elif any(f.check == "index_behind_git" for f in before.problems()):
        report.actions.extend(_catch_up(project, dry_run))
    if search:
        report.actions.append(_rebuild_search(project, dry_run))
    if any(f.check.startswith("store_") and (f.severity != "info" or f.repair)
           for f in before.findings):
        report.actions.extend(_unexposed(project, dry_run))
    report.actions.extend(_references(project, clean, dry_run, before))
    report.actions.extend(_place(project, clean, dry_run, before))
    report.actions.extend(_sessionless(project, dry_run, before))
    report.actions.extend(_finish_archiving(project, dry_run, before))
    report.actions.extend(_finish_restore(project, dry_run, before))
    if not dry_run:
        project.close()
        report.after = diagnose(project)
    return report


def _restore_missing(
    project: Project, name: str, report: RepairReport, per_db: dict[str, str]
) -> None:
    from gitext.errors import AircherError
    from gitext.lifecycle.backup import list_backups
    from gitext.lifecycle.dbfiles import ARCHIVE_DB
    from gitext.lifecycle.restore import restore_backup, settle_restored_conversations

    passed: list[str] = []  # newer backups not used, and why: the report says so
    for backup in list_backups(project):
        if backup.db(name) is None:
            continue
        if not backup.usable:
            passed.append(f"{backup.id} ({backup.damage()})")
            continue
        # restore_backup verifies the copy before it takes its place; one that fails (changed
        # in place: the look of `backup list` cannot tell) is passed over for an older one.
        try:
            restore_backup(project, backup.id, include_global=name == "global", only=[name])
        except AircherError as exc:
            passed.append(f"{backup.id} ({exc.message.removeprefix(f'backup {backup.id}: ')})")
            continue
        unrecorded = "; its manifest.json cannot be read, the copy passed integrity_check" \
            if backup.manifest_damage is not None else ""
        report.actions.append(RepairAction(
            "b", name, "restored", f"from backup {backup.id}{unrecorded}"
            + (f"; passed over newer {', '.join(passed)}" if passed else "")))
        other = {"conversations": ARCHIVE_DB, ARCHIVE_DB: "conversations"}.get(name)
        if other is not None and other not in per_db:
            # The other one, not restored, holds the current copy of a conversation in both:
            # archived or brought back since the backup (QA round 21a: 03).
            settled = settle_restored_conversations(project, name)
            if settled:
                report.actions.append(RepairAction(
                    "b", name, "settled",
                    f"{settled} conversation(s) {_moved_since(name)} since the backup: the"
                    f" backup's copy dropped"))
        return
    from gitext.lifecycle.loss import make_empty

    make_empty(project, name)  # a plain open refuses a database the store had
    report.actions.append(RepairAction(
        "b", name, "created empty", f"no backup holds a copy that verifies: {', '.join(passed)}"
        if passed else "no backup holds it"))


def _set_aside_stray(project: Project, name: str, check: str, dry_run: bool) -> RepairAction:
    """A -wal or rollback journal that is not the database's, moved aside (kept, not
    deleted): what it holds is another database's, or no longer fits this one."""
    from gitext.lifecycle.dbfiles import store_databases
    from gitext.lifecycle.swap import aside_dir, set_aside
    from gitext.store.strays import journal_of, wal_of

    live = store_databases(project, include_global=True)[name]
    files = [journal_of(live)] if check == "stray_journal" else \
        [live.with_name(live.name + "-shm"), wal_of(live)]
    what = "rollback journal" if check == "stray_journal" else "-wal"
    if dry_run:
        return RepairAction("b", name, f"would set aside its {what} (not its own)")
    aside = aside_dir(project, "damaged")
    set_aside(project, files, aside)
    return RepairAction("b", name, f"{what} set aside",
                        f"not its own; kept in {aside}; the file alone is the database")


def _set_aside_file(project: Project, name: str, report: RepairReport) -> None:
    """What lies in a database's place but is not that database (another one's copy, a
    folder), moved aside with its -wal and -shm, as a swap moves files: a kill midway is
    undone."""
    from gitext.lifecycle.dbfiles import store_databases
    from gitext.lifecycle.swap import aside_dir, swap_in

    live = store_databases(project, include_global=True)[name]
    aside = aside_dir(project, "damaged")
    swap_in(project, [], aside, [live])
    folder = any(f.check == "not_a_file" for f in report.before.problems(name))
    report.actions.append(RepairAction(
        "b", name, "set aside", f"{'not a file' if folder else 'not this database'}; kept in"
        f" {aside}"))


def _moved_since(restored: str) -> str:
    return "archived" if restored == "conversations" else "brought back from the archive"


def _reindex(project: Project, name: str, report: RepairReport) -> None:
    from gitext.lifecycle.doctor import check_database
    from gitext.lifecycle.salvage import salvage_database

    if name == "conversations_archive":
        from gitext.lifecycle.archive import open_archive

        with open_archive(project) as db, db.write() as conn:
            conn.execute("REINDEX")
    else:
        with project.db(name).write() as conn:
            conn.execute("REINDEX")
    project.close()
    path = project.global_layout.db if name == "global" else project.layout.db(name)
    check, _findings = check_database(name, path)
    if check.integrity == "ok":
        report.actions.append(RepairAction("c", name, "indexes rebuilt (REINDEX)"))
        return
    result = salvage_database(project, name)
    report.salvaged.append(result.to_json())
    report.actions.append(RepairAction("b", name, "salvaged", _salvage_line(result.to_json())))


def _salvage(project: Project, name: str, report: RepairReport) -> None:
    from gitext.lifecycle.salvage import salvage_database

    result = salvage_database(project, name).to_json()
    report.salvaged.append(result)
    report.actions.append(RepairAction("b", name, "salvaged", _salvage_line(result)))


def _salvage_line(result: dict[str, Any]) -> str:
    backup = result["backup_id"] or "none"
    lost = f"{result['lost']} lost"
    if result["uncounted"]:
        # "0 lost" would claim what the damaged file cannot tell.
        since = f" after the backup of {result['backup_created_at']}" \
            if result["backup_created_at"] else ""
        lost = (f"{lost}, and " if result["lost"] else "") + (
            f"rows added to {', '.join(result['uncounted'])}{since} could not be read,"
            " how many is unknown")
    return (f"{result['recovered']} rows read from the damaged file, {result['from_backup']}"
            f" from backup {backup}, {lost}; damaged files kept in {result['damaged_kept']}")


def _rebuild_from_git(project: Project, dry_run: bool) -> RepairAction:
    from gitext.sync.api import rebuild_from_git

    if dry_run:
        return RepairAction("a", "file_index", "would rebuild from git")
    rebuild_from_git(project)
    return RepairAction("a", "file_index", "rebuilt from git")


def _catch_up(project: Project, dry_run: bool) -> list[RepairAction]:
    """Each worktree whose HEAD the file index has not reached, caught up from git; a worktree
    whose catch-up fails has the whole index rebuilt from git instead."""
    from pathlib import Path

    from gitext.errors import AircherError, StoreBusyError, WorkerBusyError
    from gitext.lifecycle.sync_findings import behind_worktrees
    from gitext.sync.api import catch_up

    actions = []
    for root in behind_worktrees(project):
        if dry_run:
            actions.append(RepairAction("a", "file_index", "would catch up from git", str(root)))
            continue
        here = project if root == Path(project.repo.root) else project.elsewhere(root)
        try:
            done = catch_up(here)
        except (StoreBusyError, WorkerBusyError):
            raise  # another process at the store is no damage a rebuild would mend
        except (AircherError, OSError):
            return [*actions, _rebuild_from_git(project, dry_run)]
        actions.append(RepairAction("a", "file_index", "caught up from git",
                                    f"{root}: {_commits(done.worktree.commits)}"))
    return actions


def _retry_failed(project: Project, dry_run: bool) -> RepairAction:
    """The records set aside after failing, tried again oldest first, with the catch-up of
    this worktree that `git aircher sync` does after them."""
    from gitext.sync.api import catch_up

    if dry_run:
        return RepairAction("a", None, "would try the journal records set aside again")
    extra = catch_up(project).extra
    again = extra.get("still_failed", 0)
    return RepairAction("a", None, "journal records set aside tried again",
                        f"{extra.get('retried', 0)} tried, {again} failed again"
                        + (" (logs/storage.log says why)" if again else ""))


def _drop_broken(project: Project, dry_run: bool) -> RepairAction:
    """The records cut short, which doctor has reported: nothing can apply them."""
    from gitext.sync.journal import broken

    paths = broken(project.layout.journal)
    if dry_run:
        return RepairAction("a", None, "would remove the journal records cut short",
                            str(len(paths)))
    for path in paths:
        path.unlink(missing_ok=True)
    return RepairAction("a", None, "journal records cut short removed", str(len(paths)))


def _move_strangers(project: Project, dry_run: bool) -> RepairAction:
    """Entries of the journal named like records that are not files: nothing of the store's,
    so kept aside rather than deleted."""
    import shutil

    from gitext.lifecycle.swap import aside_dir
    from gitext.sync.journal import strangers

    found = strangers(project.layout.journal)
    if dry_run:
        return RepairAction("a", None, "would move out of the journal what is not a record",
                            str(len(found)))
    aside = aside_dir(project, "damaged") / project.layout.journal.name
    aside.mkdir(parents=True, exist_ok=True)
    for path in found:
        shutil.move(path, aside / path.name)
    return RepairAction("a", None, "moved out of the journal what is not a record",
                        f"{len(found)}; kept in {aside.parent}")


def _unexposed(project: Project, dry_run: bool) -> list[RepairAction]:
    if dry_run:
        return [RepairAction("a", None, "would keep the store out of git's way")]
    from gitext.lifecycle.exposure import mend

    return [RepairAction("a", None, what)
            for what in mend(project).words(project.layout.root.name)]


def _commits(n: int) -> str:
    return "1 new commit" if n == 1 else f"{n} new commits"


def _rebuild_search(project: Project, dry_run: bool) -> RepairAction:
    from gitext.search.rebuild import rebuild
    from gitext.sync.slots import worker_lock

    if dry_run:
        return RepairAction("c", "knowledge", "would rebuild the search index")
    # In the worker's heavy slot: the rebuild rewrites vector segments, which an index running
    # beside it (a worker's, or a query's take-in) would be writing and naming.
    with worker_lock(project, wait=True, name="heavy"):
        done = rebuild(project)
    return RepairAction("c", "knowledge", "search index rebuilt", str(done))


def _references(
    project: Project, clean: bool, dry_run: bool, before: DoctorReport
) -> list[RepairAction]:
    from gitext.lifecycle.refs import clean_references

    if not any(f.check in ("orphans", "attachments") for f in before.problems()):
        return []
    verb = "would clean" if dry_run else "cleaned"
    counts = clean_references(project, clean=clean, dry_run=dry_run)
    actions = [RepairAction("d", None, f"{verb} {key}", f"{n} value(s)")
               for key, n in sorted(counts.items())]
    if not clean:
        actions.append(RepairAction("d", None, "references reported",
                                    "user rows kept; `repair --clean` unlinks them"))
    return actions


def _place(
    project: Project, clean: bool, dry_run: bool, before: DoctorReport
) -> list[RepairAction]:
    """Conversations in no context put in the project's; also after `clean` unlinked a
    conversation's project, which would have left it in no list."""
    from gitext.lifecycle.unplaced import place_in_project

    unlinked = clean and any(f.check == "orphans" and f.database == "conversations"
                             for f in before.problems())
    if not unlinked and not any(f.check in ("no_context", "unknown_context")
                                for f in before.problems()):
        return []
    # A dry run has unlinked nothing: it counts the conversations the real run's `clean`
    # leaves in no project too, or it said less than the real run does (known, session 22).
    unlinking = _projects_unlinked(project) if unlinked and dry_run else []
    verb = "would put" if dry_run else "put"
    return [RepairAction("d", db, f"{verb} in the project's context",
                         f"{n} conversation(s) in no context")
            for db, n in sorted(place_in_project(project, dry_run=dry_run,
                                                 unlinking=unlinking).items())]


def _projects_unlinked(project: Project) -> list[str]:
    """The conversations' project ids `clean_references` sets to NULL."""
    from gitext.lifecycle.refs import RULES, orphans

    rule = next(r for r in RULES if (r.table, r.column) == ("conversations", "project_id"))
    return orphans(project, {"conversations", "knowledge"}).get(rule, [])


def _sessionless(project: Project, dry_run: bool, before: DoctorReport) -> list[RepairAction]:
    """Session contexts a `session start` cut short left without their session."""
    from gitext.lifecycle.sessionless import mend_sessionless

    if not any(f.check == "sessionless_context" for f in before.problems()):
        return []
    deleted, ended = mend_sessionless(project, dry_run=dry_run)
    out = []
    if deleted:
        out.append(RepairAction("d", "knowledge", "would delete" if dry_run else "deleted",
                                f"{deleted} session context(s) with no session"))
    if ended:
        out.append(RepairAction("d", "knowledge", "would set inactive" if dry_run
                                else "set inactive", f"{ended} session context(s) with no"
                                " session, named by records"))
    return out


def _finish_archiving(project: Project, dry_run: bool,
                      before: DoctorReport) -> list[RepairAction]:
    """The delete an archiving run stopped before (doctor's `archiving_cut_short`)."""
    from gitext.lifecycle.archive import finish_cut_short

    if not any(f.check == "archiving_cut_short" for f in before.problems()):
        return []
    n = finish_cut_short(project, dry_run=dry_run)
    return [RepairAction("d", "conversations", "would delete" if dry_run else "deleted",
                         f"the live copy of {n} conversation(s) an archiving run had archived")]


def _finish_restore(project: Project, dry_run: bool, before: DoctorReport) -> list[RepairAction]:
    """What a restore stopped after its swap left (doctor's `restore_unfinished`)."""
    from gitext.lifecycle.restore import finish_restore

    if not any(f.check == "restore_unfinished" for f in before.problems()):
        return []
    backup = finish_restore(project, dry_run=dry_run)
    if backup is None:
        return []
    return [RepairAction("b", None, "would finish" if dry_run else "finished",
                         f"the restore of backup {backup}: attachment files, vector rows,"
                         " search stamps")]
