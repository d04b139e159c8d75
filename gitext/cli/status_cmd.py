"""`git aircher status`."""

from __future__ import annotations

import click

from gitext.cli.app import App
from gitext.cli.output import emit_json, human_size, json_option, printable, table
from gitext.status import collect


@click.command()
@json_option
@click.pass_obj
def status(app: App, as_json: bool) -> None:
    """Show the store, each database's size, schema and rows, worktrees and the current context."""
    st = collect(app.project())
    if as_json:
        emit_json(st.to_json())
        return
    click.echo(f"store:  {st.data_dir}")
    click.echo(f"global: {st.global_dir}")
    store = [w for w in st.warnings if w not in st.hook_warnings]
    if store:  # one line, however many thresholds are crossed: `health` has the detail
        click.echo(f"warning: {'; '.join(store)} (see `git aircher health`)")
    for line in st.hook_warnings:  # each says what to do; `health` knows nothing of hooks
        click.echo(f"warning: {line}")
    ctx = st.current_context
    if ctx:
        kind = ctx["context_type"]
        if ctx.get("session_id"):  # the branch it was started on: the session name hides it
            kind = f"session on {ctx['git_branch'] or '(detached)'}"
        click.echo(printable(f"context: {ctx['name']} ({kind}, {ctx['id']})"))
    click.echo("")
    table(
        ["database", "size", "schema", "journal", "rows"],
        [
            (d.name, human_size(d.size_bytes), f"{d.schema_version}/{d.schema_latest}",
             d.journal_mode, sum(d.tables.values()))
            for d in st.databases
        ],
    )
    if st.worktrees:
        click.echo("")
        table(
            ["worktree", "branch", "status", "last active"],
            [(w["worktree_path"], w["branch_name"], w["status"], w["last_active"])
             for w in st.worktrees],
        )
