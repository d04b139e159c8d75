"""`git aircher sync` and `git aircher index`."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from gitext.cli.app import App
from gitext.cli.output import emit_json, json_option
from gitext.sync.api import index as index_worktree
from gitext.sync.api import sync as sync_project


@click.command()
@click.option("--full", is_flag=True, help="Walk history again and re-read every file.")
@json_option
@click.pass_obj
def sync(app: App, full: bool, as_json: bool) -> None:
    """Catch up with git: commits made with hooks off, by other tools, or before init."""
    result = sync_project(app.project(), full=full)
    if as_json:
        emit_json(result.to_json())
        return
    w = result.worktree
    click.echo(f"synced {w.worktree}: {_commits(w.commits, full)}, {w.files} files updated,"
               f" {w.removed} removed, {result.events} queued events applied")
    if result.extra.get("retried"):
        again = result.extra["still_failed"]
        click.echo(f"{result.extra['retried']} records set aside after failing were tried again;"
                   + (f" {again} failed again (logs/storage.log says why)" if again
                      else " all applied"))


@click.command()
@click.option("--background", is_flag=True,
              help="Record files and history now; leave parsing and search to the worker.")
@json_option
@click.pass_obj
def index(app: App, background: bool, as_json: bool) -> None:
    """Bring this worktree's file index (and search) up to date from HEAD and the work tree.

    Without a store, first does what `git aircher init` does (the store, the hooks) and says
    so."""
    project = app.project()
    if not project.initialized:
        from gitext.init import init_project

        made = init_project(project, sync=False)  # the catch-up below is the first one
        # Said on stderr, so that --json stays one document: a store and hooks made without a
        # word turned git-aircher back on after "Removing it" (QA round 25c: 04).
        click.echo(f"Initialized git-aircher store in {made.data_dir} and installed its hooks,"
                   " as `git aircher init` does", err=True)
        for note in made.notes:
            click.echo(f"warning: {note}", err=True)
    result = index_worktree(project, progress=_progress(), background=background)
    if as_json:
        emit_json(result.to_json())
        return
    w = result.worktree
    click.echo(f"indexed {w.worktree}: {w.files} files updated, {_commits(w.commits, False)}")


def _commits(n: int, full: bool) -> str:
    """`--full` reads the window again: those commits were recorded before, not new."""
    if full:
        return f"{n} commit{'' if n == 1 else 's'} read again"
    return f"{n} new commit{'' if n == 1 else 's'}"


def _progress() -> Callable[[str, int, int], None] | None:
    if not sys.stderr.isatty():
        return None

    def show(phase: str, done: int, total: int) -> None:
        click.echo(f"\rindexing {phase}: {done}/{total}", nl=(done >= total), err=True)

    return show
