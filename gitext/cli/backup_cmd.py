"""`git aircher backup create|list|verify|restore`."""

from __future__ import annotations

import click

from gitext.cli.app import App
from gitext.cli.output import emit_json, human_size, json_option, table


@click.group()
def backup() -> None:
    """Create, list, verify and restore backups of the store's databases."""


@backup.command()
@json_option
@click.pass_obj
def create(app: App, as_json: bool) -> None:
    """Take a consistent copy of every database now (safe while hooks write)."""
    from gitext.lifecycle.backup import create_backup

    info = create_backup(app.project())
    if as_json:
        emit_json(info.to_json())
        return
    click.echo(f"backup {info.id}: {len(info.databases)} databases,"
               f" {human_size(info.size)} in {info.path}")


@backup.command("list")
@json_option
@click.pass_obj
def list_(app: App, as_json: bool) -> None:
    """Complete backups, newest first (in the order they were made, whatever the clock said).

    A backup's state is what can be told without reading its copies: "ok when made" when its
    check then passed and every copy is there at its size. `verify ID` re-hashes one."""
    from gitext.lifecycle.backup import list_backups

    project = app.project()
    if not project.layout.backups.is_dir():
        # "no backups yet (`git aircher backup create`)" where there is no store to back up.
        project.require_init()
    found = list_backups(project)
    if as_json:
        emit_json([b.to_json() for b in found])
        return
    if not found:
        click.echo("no backups yet (`git aircher backup create`)")
        return
    # Not "good": a copy changed in place keeps its size, and only `verify` reads it.
    table(["id", "created", "databases", "size", "state"],
          [(b.id, b.created_at, len(b.databases), human_size(b.size), b.damage() or "ok when made")
           for b in found])


@backup.command()
@click.argument("backup_id", metavar="ID")
@json_option
@click.pass_obj
def verify(app: App, backup_id: str, as_json: bool) -> None:
    """Recompute checksums and check each copy's integrity and row counts."""
    from gitext.lifecycle.restore import verify_backup

    result = verify_backup(app.project(), backup_id)
    if as_json:
        emit_json(result.to_json())
    else:
        table(["database", "checksum", "integrity", "rows"],
              [(d.name, _word(d.checksum_ok, "BAD"), d.integrity, _word(d.rows_ok, "differ"))
               for d in result.databases])
        click.echo(f"backup {result.id}: {'ok' if result.ok else 'FAILED'}")
        for problem in result.problems:
            click.echo(f"problem: {problem}")
    if not result.ok:
        raise click.exceptions.Exit(1)


def _word(ok: bool | None, bad: str) -> str:
    return "unknown" if ok is None else "ok" if ok else bad


@backup.command()
@click.argument("backup_id", metavar="ID")
@click.option("--with-global", is_flag=True,
              help="Also restore global.db (shared by every project of this user).")
@json_option
@click.pass_obj
def restore(app: App, backup_id: str, with_global: bool, as_json: bool) -> None:
    """Replace the databases with a backup's, atomically; the replaced files are kept aside."""
    from gitext.lifecycle.restore import restore_backup

    result = restore_backup(app.project(), backup_id, include_global=with_global)
    if as_json:
        emit_json(result.to_json())
        return
    click.echo(f"restored {', '.join(result.restored)} from backup {result.id}")
    for name in result.set_aside:
        click.echo(f"set aside {name}: the backup has no copy of it")
    click.echo(f"replaced files kept in {result.replaced_dir}")
