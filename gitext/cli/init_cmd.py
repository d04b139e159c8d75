"""`git aircher init`."""

from __future__ import annotations

from dataclasses import asdict

import click

from gitext.cli.app import App
from gitext.cli.output import emit_json, json_option
from gitext.init import init_project


@click.command()
@json_option
@click.pass_obj
def init(app: App, as_json: bool) -> None:
    """Create this repository's store (idempotent)."""
    project = app.project()
    result = init_project(project)
    if as_json:
        emit_json(asdict(result))
        return
    verb = "Initialized" if result.created else "Reinitialized"
    click.echo(f"{verb} git-aircher store in {result.data_dir}")
    for note in result.notes:
        click.echo(f"warning: {note}", err=True)
