"""What the hook shims run: `git-aircher hook EVENT ARGS…`.

Imports only the standard library and the light parts of gitext: a post-* hook must not pay for
click, numpy or scikit-learn. A post-* hook writes its journal record, starts the background
worker and returns 0, whatever happens; failures go to the store's logs.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gitext.project import Project

POST_HOOKS = ("post-applypatch", "post-checkout", "post-commit", "post-merge", "post-rewrite")
# Those run right after git made a commit: their record names it (`_made`). `git am` runs
# post-applypatch for each commit it makes, and no post-commit.
MAKES_A_COMMIT = ("post-applypatch", "post-commit", "post-merge")
# Worktrees this process started a worker for: a command that started one (init, a query)
# need not start another for the schedule (`gitext.lifecycle.schedule.start_if_due`).
STARTED: set[Path] = set()


def run_hook(args: list[str]) -> int:
    if not args:
        print("error: usage: git-aircher hook EVENT [ARGS…]", file=sys.stderr)
        return 2
    event, rest = args[0], args[1:]
    if event in ("pre-commit", "guard"):
        if _skipped():
            return 0
        from gitext.hooks.guard import guard_main

        return guard_main(rest)
    if event == "run":
        return _worker(Path(rest[0]) if rest else None)
    framework = event == "from-pre-commit"
    if framework:
        event, rest = _from_pre_commit()
    if event in POST_HOOKS:
        stdin: list[str] = []
        if event == "post-rewrite" and not (framework and sys.stdin.isatty()):
            stdin = sys.stdin.read().splitlines()
        if not _skipped():
            # Run by the framework: as its hook, or our shim as its legacy one (QA round 11b: 06).
            legacy = bool(os.environ.get("PRE_COMMIT_RUNNING_LEGACY"))
            if (framework or legacy) and not stdin and rest in (["amend"], ["rebase"]):
                stdin = _rewritten(rest[0])
            _record(event, rest, stdin, from_framework=framework or legacy)
        return 0
    print(f"error: unknown hook event {event!r}", file=sys.stderr)
    return 2


def _skipped() -> bool:
    return os.environ.get("AIRCHER_SKIP", "") not in ("", "0")


def _from_pre_commit() -> tuple[str, list[str]]:
    """The pre-commit framework passes hook arguments as PRE_COMMIT_* variables."""
    env = os.environ
    if "PRE_COMMIT_CHECKOUT_TYPE" in env:
        return "post-checkout", [env.get("PRE_COMMIT_FROM_REF", ""),
                                 env.get("PRE_COMMIT_TO_REF", ""), env["PRE_COMMIT_CHECKOUT_TYPE"]]
    if "PRE_COMMIT_IS_SQUASH_MERGE" in env:
        return "post-merge", [env["PRE_COMMIT_IS_SQUASH_MERGE"]]
    if "PRE_COMMIT_REWRITE_COMMAND" in env:
        return "post-rewrite", [env["PRE_COMMIT_REWRITE_COMMAND"]]
    return "post-commit", []


def _rewritten(command: str) -> list[str]:
    """git's list for a post-rewrite hook run without it (by the pre-commit framework), rebuilt
    from the reflog (`gitext/git/rewritten.py`); nothing when it cannot be rebuilt for sure."""
    from gitext.git.rewritten import amended, rebased

    try:
        return amended(Path.cwd()) if command == "amend" else rebased(Path.cwd())
    except Exception:  # a hook never fails git; without the list, `sync` still sees the commits
        return []


def _global_root() -> Path:
    from gitext.cli.env import global_root

    return global_root()


def _record(event: str, args: list[str], stdin: list[str], *,
            from_framework: bool = False) -> None:
    try:
        from gitext.project import Project
        from gitext.sync.journal import (
            Event,
            append,
            rebase_starting,
            rebasing_of,
            sequence_of,
        )

        project = Project.locate(Path.cwd(), _global_root(), os.environ)
        if not project.initialized:
            return  # hooks without a store (e.g. through the pre-commit framework): nothing to do
        root = project.repo.root
        git_dir = project.repo.info.git_dir
        if not from_framework:
            # A shim took this slow path, so it could not write the journal itself (it names a
            # journal that is not there: the repository was moved): the worker about to start
            # rewrites it now rather than at its ten-minute look.
            with contextlib.suppress(OSError):
                project.layout.follow_up_stamp("hooks").unlink()
        head = _head_line(git_dir)
        sequence = sequence_of(git_dir)
        if not sequence and event == "post-checkout" and not head.startswith("ref: ") \
                and rebase_starting(git_dir):
            sequence = "rebase"
        append(project.layout.journal, Event(
            event, str(root), head, args, stdin, sequence,
            os.environ.get("GIT_REFLOG_ACTION", "").replace("\n", " "),
            rebasing=rebasing_of(git_dir),
            commit=_made(root) if event in MAKES_A_COMMIT else ""))
        spawn_worker(root, project.layout.run)
    except Exception as exc:  # a hook never fails git
        from gitext.errors import UnusablePathError

        # A worktree whose path the store refuses: every command there says so in one line;
        # a traceback in a log at each commit would say nothing more.
        if not isinstance(exc, UnusablePathError):
            _log_failure(event, exc)


def _made(root: Path) -> str:
    """The commit git just made, as the shell shim records it: by the time the worker gets to
    the record, its branch may be gone or moved back, and only the record still names it. Left
    out here, such a commit was never recorded (known, session 22)."""
    from gitext.git.run import git

    proc = git(["rev-parse", "-q", "--verify", "HEAD"], root, check=False)
    return proc.stdout.decode("ascii", "replace").strip() if proc.returncode == 0 else ""


def _head_line(git_dir: Path) -> str:
    try:
        return (git_dir / "HEAD").read_text("utf-8", "surrogateescape").strip()
    except OSError:
        return ""


def spawn_worker(root: Path, run: Path | None = None) -> None:
    """A detached `git-aircher hook run`: it outlives git and the terminal.

    With the store's `run` folder, its marker is written at once, as the shell shims write it
    (QA round 24d: 01): until the worker's Python was up, nothing named it, so a hook meanwhile
    started another, and a look for a worker at work (a test's wait for quiet) found none
    while the one about to start would index again (seen in the newcomer check of session 23).
    """
    if _skipped():
        return
    STARTED.add(root)
    proc = subprocess.Popen(
        # UTF-8 mode whatever the locale (gitext/cli/__init__.py `_in_utf8_mode`).
        [sys.executable, "-X", "utf8", "-m", "gitext.cli", "hook", "run"],
        cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True,
    )
    if run is not None:
        from gitext.sync.slots import mark_started

        mark_started(run, proc.pid)


def _owns(project: Project, journal: Path) -> bool:
    try:
        return bool(project.initialized) and project.layout.journal.samefile(journal)
    except OSError:
        return False


def _journal_owner(journal: Path) -> Project | None:
    """The project whose store holds `journal`: the store's usual place (`<root>/.agents`)
    first, then the projects the global registry knows."""
    import sqlite3

    from gitext.errors import AircherError
    from gitext.project import Project

    candidates = [journal.parent.parent]
    with contextlib.suppress(sqlite3.Error):
        conn = sqlite3.connect(f"file:{_global_root() / 'global.db'}?mode=ro", uri=True)
        try:
            candidates += [Path(r[0]) for r in conn.execute(
                "SELECT root_path FROM projects WHERE data_dir = ?", (str(journal.parent),))]
        finally:
            conn.close()
    for root in candidates:
        try:
            project = Project.locate(root, _global_root(), os.environ)
        except (AircherError, OSError):
            continue
        if _owns(project, journal):
            return project
        project.close()
    return None


def _worker(journal: Path | None = None) -> int:
    # Started in the background by a shim: leave git's session, so a closing terminal's
    # hang-up does not stop the worker halfway.
    with contextlib.suppress(OSError):
        os.setsid()
    # Whatever git does next (the next commit, an editor) comes first: the worker is never
    # in a hurry, and on a two-core machine it would otherwise slow the very commands it follows.
    # (The shims already start it under `nice -n 19`; this covers other starters.)
    with contextlib.suppress(OSError):
        os.nice(max(0, 19 - os.nice(0)))
    # AIRCHER_NOW pins the clock for tests: the worker a pinned command or hook starts must
    # keep that time too, or its schedule and the command's disagree on what is due. A bad
    # value is the commands' to refuse; the worker keeps the real clock.
    with contextlib.suppress(Exception):
        from gitext.cli.env import apply_clock

        apply_clock()
    try:
        from gitext.errors import AircherError
        from gitext.project import Project
        from gitext.sync.worker import run_worker

        project: Project | None = None
        with contextlib.suppress(AircherError):
            project = Project.locate(Path.cwd(), _global_root(), os.environ)
        if journal is not None and (project is None or not _owns(project, journal)):
            # The shim ran in another repository (a hooks folder shared through a global
            # core.hooksPath) and wrote into the journal it was installed with: that store's
            # worker must run, and it hands the record on to its own store, if any.
            owner = _journal_owner(journal)
            if owner is not None:
                if project is not None:
                    project.close()
                project = owner
        if project is None:
            return 0
        with project:
            if project.initialized:
                try:
                    run_worker(project)
                except Exception:
                    from gitext.sync.drain import store_away

                    # Its store went away while it ran (a sweep took the store's link): the
                    # stop is the point, not a failure. The next event catches up.
                    if store_away(project):
                        return 0
                    raise
    except Exception as exc:
        _log_failure("worker", exc)
    return 0


def _log_failure(what: str, exc: BaseException) -> None:
    from gitext.sync.logbook import log

    try:
        from gitext.project import Project

        logs = Project.locate(Path.cwd(), _global_root(), os.environ).layout.logs
    except Exception:
        logs = _global_root() / "logs"
    log(logs, "storage", f"hook {what} failed", exc)
