"""The click group. Subcommands load lazily: `git aircher status` imports nothing of `search`."""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sqlite3
import sys
from pathlib import Path
from typing import Any

import click

from gitext import __version__
from gitext.cli.env import apply_clock, global_root, skip_hooks, working_directory
from gitext.cli.errors import report_bug, report_error, report_usage
from gitext.cli.stdout import OutputError, output_failed
from gitext.errors import AircherError, UsageError
from gitext.git.names import quoted, storable

# SQLite's words for a damaged file (SQLITE_CORRUPT, SQLITE_NOTADB), as sqlite3 passes them on.
_DAMAGE = re.compile(r"malformed|not a database|corrupt", re.IGNORECASE)

# name -> (module under gitext.cli, attribute, one line of help for `--help` without importing)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": ("init_cmd", "init", "Create this repository's store and install its hooks."),
    "status": ("status_cmd", "status", "Show the store, its databases and the current context."),
    "config": ("config_cmd", "config", "Read and write settings."),
    "hooks": ("hooks_cmd", "hooks", "Install, remove or inspect the git hooks."),
    "sync": ("sync_cmd", "sync", "Catch up with git: commits, checkouts, merges, rewrites."),
    "index": ("sync_cmd", "index", "Bring the file index of this worktree up to date."),
    "search": ("search_cmd", "search", "Search the files of HEAD (hybrid, vector or text)."),
    "relevant": ("search_cmd", "relevant", "Files that matter here and now, or for a task."),
    "feedback": ("search_cmd", "feedback", "Record how useful a file was."),
    "conversation": ("conversation_cmd", "conversation", "List, show, search, export, import."),
    "session": ("session_cmd", "session", "Start, end, list and show sessions."),
    "decision": ("knowledge_cmd", "decision", "Record and list project decisions."),
    "knowledge": ("knowledge_cmd", "knowledge", "Components, documentation, patterns."),
    "worktree": ("worktree_cmd", "worktree", "List, switch and compare worktrees and branches."),
    "compare": ("worktree_cmd", "compare", "Compare two branches or worktrees side by side."),
    "context": ("context_cmd", "context", "The context chain, insights, patterns, transfer."),
    "maintain": ("lifecycle_cmd", "maintain", "Run retention and maintenance that is due."),
    "backup": ("backup_cmd", "backup", "Create, list, verify and restore backups."),
    "doctor": ("doctor_cmd", "doctor", "Check the store for damage and drift."),
    "repair": ("doctor_cmd", "repair", "Rebuild or salvage what doctor found damaged."),
    "health": ("lifecycle_cmd", "health", "Sizes, growth, disk, slow queries, error rates."),
    "help": ("help_cmd", "help_command", "Show the help of git-aircher or of one command."),
}


class App:
    """What every command needs: where we are and the global dir. Opens the project lazily."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.global_root = global_root()
        self._project: Any = None
        self.command: str | None = None  # the subcommand run

    def project(self) -> Any:
        from gitext.project import Project

        if self._project is None:
            self._project = Project.locate(self.cwd, self.global_root, os.environ)
        return self._project

    def log_dirs(self) -> list[Path]:
        dirs = []
        if self._project is not None:
            dirs.append(self._project.layout.logs)
        dirs.append(self.global_root / "logs")
        return dirs

    def store_places(self) -> list[Path]:
        """Where the store's databases are: a bare "disk I/O error" is put down to a full disk
        or a file size limit only when these bear it out (`gitext.store.space`)."""
        places = [self.global_root]
        if self._project is not None:
            places.insert(0, self._project.layout.core)
        return places

    def close(self) -> None:
        if self._project is not None:
            self._project.close()


def did_you_mean(name: str, names: list[str]) -> str:
    """" Did you mean 'x'?" for the names closest to a mistyped `name` ("" when none is
    close), as git and click's groups say it."""
    import difflib

    near = sorted(difflib.get_close_matches(name, names))
    shown = ", ".join(repr(n) for n in near)
    if len(near) == 1:
        return f" Did you mean {shown}?"
    return f" (Did you mean one of: {shown}?)" if near else ""


def _available(module: str) -> bool:
    return importlib.util.find_spec(f"gitext.cli.{module}") is not None


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        # Only commands whose module is present: parts of the tool land one issue at a time.
        return sorted(n for n in COMMANDS if _available(COMMANDS[n][0]))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = COMMANDS.get(cmd_name)
        if spec is None or not _available(spec[0]):
            return None
        module = importlib.import_module(f"gitext.cli.{spec[0]}")
        command = getattr(module, spec[1])
        assert isinstance(command, click.Command)
        return command

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        """click's, with the closest command names for a mistyped one (`statsu`), as git and
        our groups below say it: click compares against a group's `commands`, which a lazy
        group has none of, so the top level suggested nothing (QA round 24c: 05)."""
        name = click.utils.make_str(args[0])
        spec = COMMANDS.get(name)
        if not ctx.resilient_parsing and not name.startswith("-") and (
                spec is None or not _available(spec[0])):
            raise click.UsageError(f"No such command {name!r}."
                                   + did_you_mean(name, self.list_commands(ctx)), ctx)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


_current: list[App] = []


def _print_version(ctx: click.Context) -> None:
    from gitext.store.migrate import schema_levels

    click.echo(f"git-aircher, version {__version__} (schemas: {schema_levels()})")
    ctx.exit()


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=lambda ctx, _param, value: _print_version(ctx) if value else None,
              help="Show the version and the database schemas it opens, and exit.")
@click.option("-C", "directories", type=click.Path(path_type=Path), multiple=True,
              help="Run as if started in this directory; a relative one after another -C is"
                   " taken from there, as git's.")
@click.pass_context
def cli(ctx: click.Context, directories: tuple[Path, ...]) -> None:
    """git-aircher: a private, git-aware memory for AI coding agents."""
    # `-C r -C src` is r/src, as git's -C chains; before, only the last one counted, taken
    # from the starting directory (QA round 24c: 06). An empty one changes nothing, as git's.
    # Each is entered in turn, as git does: one that cannot be fails the command, though an
    # absolute one after it starts over (known, session 22). Checked here, not by click, which
    # took a relative one from the starting directory. The starting directory is read only when
    # a relative -C, or none, needs it: from a removed one, `-C /abs` still runs, as git's.
    start: Path | None = None
    for directory in directories:
        if str(directory) not in ("", "."):
            start = directory if directory.is_absolute() else (
                start or working_directory()) / directory
            if not start.is_dir():
                raise UsageError(f"not a directory: {start.resolve()}")
    app = App((start or working_directory()).resolve())
    app.command = ctx.invoked_subcommand
    _current.append(app)
    ctx.obj = app
    ctx.call_on_close(app.close)


# Commands after which the schedule is not looked at: `init` starts the worker itself, after
# `hooks uninstall` the user wants nothing running, `config` may have just changed the schedule,
# and `maintain` runs what is due in the foreground.
_NO_SCHEDULE = ("init", "hooks", "config", "maintain", "help")


def _start_due_work() -> None:
    """Scheduled work (backups, maintenance) ran only in the worker a git event starts: without
    commits, none. A command that found its project starts the worker when a job is due; a few
    stats, and it never waits for it (QA round 20c: 05)."""
    if not _current or _current[0]._project is None or skip_hooks():
        return
    app = _current[0]
    project = app._project
    from gitext.hooks.entry import STARTED

    if (app.command or "") in _NO_SCHEDULE or project.repo.root in STARTED:
        return
    try:
        if project.initialized:
            from gitext.lifecycle.schedule import start_if_due

            start_if_due(project)
    except Exception:  # the command succeeded; the next one or the next git event tries again
        pass


def _as_said_here(exc: AircherError) -> AircherError:
    """A full disk's hint names `maintain --all`, except to `maintain` itself (QA round 22a:
    05): there it would send the user round in a circle."""
    from gitext.store.space import NoRoomError, for_maintenance

    if isinstance(exc, NoRoomError) and _current and _current[0].command == "maintain":
        return for_maintenance(exc)
    return exc


def run(args: list[str]) -> int:
    from gitext.hooks.entry import STARTED

    _current.clear()
    STARTED.clear()  # a warm query server runs many commands
    try:
        apply_clock()
        result = cli.main(list(args), prog_name="git aircher", standalone_mode=False)
        code = result if isinstance(result, int) else 0
        sys.stdout.flush()  # a failure to write it is this command's, not the exit's
        if code == 0:
            _start_due_work()
        return code
    except AircherError as exc:
        return report_error(_as_said_here(exc))
    except click.UsageError as exc:
        return report_usage(exc)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except UnicodeEncodeError as exc:
        # An argument that is not UTF-8 (a Latin-1 file name pasted from `ls`) reached the
        # store, which holds text only: name it, as git quotes it.
        bad = next((a for a in args if not storable(a)), None)
        if bad is None:
            return report_bug(exc, _current[0].log_dirs() if _current else
                              [global_root() / "logs"])
        return report_error(UsageError(
            f"{quoted(bad)} is not valid UTF-8", "git-aircher's names and texts are UTF-8;"
            " rename the file or branch, or give the name in UTF-8"))
    except OutputError as exc:
        return report_error(AircherError(output_failed(exc)))
    except (sqlite3.OperationalError, OSError) as exc:
        from gitext.lifecycle.limits import disk_full_error
        from gitext.store.access import denied, not_writable

        full = disk_full_error(exc, "the git-aircher store",
                               _current[0].store_places() if _current else [global_root()])
        if full is not None:
            return report_error(_as_said_here(full))
        if denied(exc):
            return report_error(not_writable(exc))
        return report_bug(exc, _current[0].log_dirs() if _current else [global_root() / "logs"])
    except sqlite3.DatabaseError as exc:
        if _DAMAGE.search(str(exc)):
            # Damage found mid-query, not at open: a fix is known, so not a bug's crash log.
            return report_error(AircherError(
                f"a database of the store is damaged ({exc})",
                hint="`git aircher doctor` names it; `git aircher repair` salvages it"))
        return report_bug(exc, _current[0].log_dirs() if _current else [global_root() / "logs"])
    except Exception as exc:  # the boundary where bugs become a log, not a traceback
        dirs = _current[0].log_dirs() if _current else [global_root() / "logs"]
        return report_bug(exc, dirs)
