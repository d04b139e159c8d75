"""What a store lost, found before an open would hide it.

A database the store had that is gone (deleted, or 0 bytes after a crash or a full disk): our
open made it anew, empty, at the next command or scheduled job, and from then on doctor called
the store healthy, repair had nothing to restore, the next backup copied the empty file and
pruning let the backups that held the rows go (QA round 24b: 01). A lost knowledge.db made
every command say "no store here, run init", and init made it anew, empty (QA round 24b: 02).
So the store tells a database it never had (a new store; one a newer version adds: those are
created) from one it had: the store's record names it (`gitext.store.made`), a finished backup
holds a copy of it, or, in a store made before the record, another of the four databases init
has always made together is there. global.db counts only its own folder's record: a global
folder made anew (a fresh HOME) is a new one, whatever the projects' backups hold. So does the
conversations archive, which a store makes only once it archives: lost, every listing and
search of archived conversations read it as none, the next archiving run made it anew, empty,
and attachments only it referred to looked unreferenced (known, session 22). A restore of a
backup made before it existed drops it from the record (`gitext.store.made.forget`).

Committed WAL frames gone with their -wal: a normal open rebuilds the -shm that says so, and
doctor then found nothing, though repair had said nothing was lost (QA round 24b: 06).

Either way the open is refused with one `error:` line whose hint is `git aircher repair`; the
worker's jobs fail the same way (logged); while a database is lost, backups are neither made
nor pruned.
"""

from __future__ import annotations

from gitext.errors import AircherError
from gitext.layout import CORE_DATABASES
from gitext.lifecycle.dbfiles import ARCHIVE_DB
from gitext.project import Project
from gitext.store.made import absent, note, recorded

# What `init` has made together since the first version: in a store without a record, one of
# them there says the others were too.
FIRST_SET = ("conversations", "knowledge", "file_index", "sessions")


def had(project: Project, name: str) -> bool:
    """Whether the store had database `name` (asked when it is absent or 0 bytes)."""
    path = project.db_path(name)
    names = recorded(path.parent)
    if names is not None and path.name in names:
        return True
    if name in ("global", ARCHIVE_DB):
        return False
    if names is None and name in FIRST_SET and any(
            not absent(project.layout.db(other)) for other in FIRST_SET if other != name):
        return True
    return _in_a_backup(project, name)


def _in_a_backup(project: Project, name: str) -> bool:
    if not project.layout.backups.is_dir():
        return False  # most repositories without a store: no import on a hook's path
    from gitext.lifecycle.backup import list_backups

    return any(info.db(name) is not None for info in list_backups(project))


def lost_databases(project: Project) -> list[str]:
    """The store's databases (global.db too) that are gone though the store had them."""
    return [name for name in (*CORE_DATABASES, ARCHIVE_DB, "global")
            if absent(project.db_path(name)) and had(project, name)]


def archive_lost(project: Project) -> bool:
    """Whether the store had a conversations archive that is now gone or 0 bytes."""
    return absent(project.db_path(ARCHIVE_DB)) and had(project, ARCHIVE_DB)


def has_archive(project: Project) -> bool:
    """Whether the store has a conversations archive to read (False: it never made one); one
    it had and lost is refused (`gone_error`), never read as none."""
    if archive_lost(project):
        raise gone_error(project, ARCHIVE_DB)
    return project.db_path(ARCHIVE_DB).exists()


def gone_error(project: Project, name: str) -> AircherError:
    path = project.db_path(name)
    state = "missing" if not path.exists() else "empty (0 bytes)"
    whose = "the global" if name == "global" else f"the store's {name}"
    return AircherError(
        f"{whose} database is {state}: {path}",
        hint="`git aircher repair` restores it from the newest backup that holds it (or, with"
        " none, says so and makes it anew)")


def refuse_lost(project: Project, name: str) -> None:
    """Raise `gone_error` when database `name`, absent, is one the store had."""
    if had(project, name):
        raise gone_error(project, name)


def refuse_lost_frames(project: Project, name: str) -> None:
    """Raise when committed WAL frames of database `name` were lost with its -wal: opened, the
    -shm that tells it would be reset (a -shm without its -wal and nothing lost opens)."""
    from gitext.lifecycle.dbfiles import lost_wal_frames

    path = project.db_path(name)
    frames = lost_wal_frames(path)
    if frames:
        raise AircherError(
            f"{path}: its -wal file is gone: {frames} committed WAL frame(s) were lost",
            hint="`git aircher repair` keeps the rows still in the file and merges them with"
            " the newest backup")


def make_empty(project: Project, name: str) -> None:
    """Database `name` made anew, empty, with the current schema: repair's last resort when
    no backup holds it, said in its report."""
    from gitext.store.connection import open_database

    project.close()  # a connection still open on the lost file's inode would be reused
    path = project.db_path(name)
    if name == "global":
        project.global_layout.ensure()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    open_database(path, name, project.pragmas, logs=project.layout.logs).close()
    note(path)
