"""`git aircher hooks install|uninstall|status`."""

from __future__ import annotations

from pathlib import Path

import click

from gitext.cli.app import App
from gitext.cli.output import emit_json, json_option, table
from gitext.hooks.install import (
    HookState,
    framework_note,
    hook_status,
    install_hooks,
    tracked_note,
)
from gitext.hooks.presence import not_folders
from gitext.hooks.uninstall import uninstall_hooks


def _show(states: list[HookState], as_json: bool) -> None:
    folder = str(Path(states[0].path).parent) if states else None
    if as_json:
        emit_json({"hooks_dir": folder, "hooks": [s.to_json() for s in states]})
        return
    click.echo(f"hooks folder: {folder}")
    with_action = any(s.action for s in states)
    headers = ["hook", "state", "runs too"] + (["done"] if with_action else [])
    rows = [  # uninstall's rows for the repository's own hooks/ beside core.hooksPath's: paths
        [s.name if str(Path(s.path).parent) == folder else s.path, s.state,
         Path(s.chained).name if s.chained else None]
        + ([s.action] if with_action else [])
        for s in states
    ]
    table(headers, rows)
    for note in (tracked_note(states), framework_note(states)):
        if note is not None:
            click.echo(f"note: {note}", err=True)


@click.group()
def hooks() -> None:
    """Install, remove or inspect the git hooks that keep the store current.

    Hooks already in place are kept and still run (chained); uninstall puts them back.
    """


@hooks.command()
@click.option(
    "--force", is_flag=True,
    help="When a foreign hook and an earlier kept <hook>.aircher-orig are both present, chain "
    "the one in place and keep the other as <hook>.aircher-orig.N (refused without it).",
)
@json_option
@click.pass_obj
def install(app: App, force: bool, as_json: bool) -> None:
    """Install the hook shims (post-applypatch, post-checkout, post-commit, post-merge,
    post-rewrite, pre-commit)."""
    _show(install_hooks(app.cwd, force=force), as_json)


@hooks.command()
@json_option
@click.pass_obj
def uninstall(app: App, as_json: bool) -> None:
    """Remove the shims and put back the hooks they chained, byte for byte."""
    _show(uninstall_hooks(app.cwd), as_json)


@hooks.command()
@json_option
@click.pass_obj
def status(app: App, as_json: bool) -> None:
    """Each hook: ours, chained, ours-outdated, foreign, tracked, wrapped, framework or missing."""
    _show(hook_status(app.cwd), as_json)
    if not as_json:
        for absent in not_folders(app.cwd):  # why every hook there is missing
            click.echo(f"warning: {absent.message()}", err=True)
            click.echo(f"hint: {absent.hint()}", err=True)
