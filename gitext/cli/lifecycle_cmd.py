"""`git aircher maintain` and `git aircher health`."""

from __future__ import annotations

import click

from gitext.cli.app import App
from gitext.cli.output import emit_json, human_size, json_option, table


@click.command()
@click.option("--daily", "tiers", flag_value="daily", multiple=True,
              help="Expired cache entries, temp files, old backups.")
@click.option("--weekly", "tiers", flag_value="weekly", multiple=True,
              help="File history pruning, incremental vacuum, statistics.")
@click.option("--monthly", "tiers", flag_value="monthly", multiple=True,
              help="Search index rebuild, compression of old data.")
@click.option("--quarterly", "tiers", flag_value="quarterly", multiple=True,
              help="Archive old conversations, drop unused embeddings.")
@click.option("--all", "all_tiers", is_flag=True, help="Every tier.")
@click.option("--dry-run", is_flag=True, help="Say what would go; change nothing.")
@json_option
@click.pass_obj
def maintain(
    app: App, tiers: tuple[str, ...], all_tiers: bool, dry_run: bool, as_json: bool
) -> None:
    """Run retention and maintenance: the tiers named, or, with none, whatever is due."""
    import sqlite3

    from gitext.lifecycle.limits import disk_full_error
    from gitext.lifecycle.maintenance import TIERS, run_maintenance
    from gitext.lifecycle.schedule import due, record
    from gitext.store.space import for_maintenance, short_of_room

    project = app.project()
    project.require_init()
    if all_tiers:
        chosen = list(TIERS)
    elif tiers:
        chosen = list(tiers)
    else:
        chosen = [t for t in due(project) if t in TIERS]
    report = run_maintenance(project, chosen, dry_run=dry_run)
    no_room = report.no_room
    if not dry_run:
        # Run now, due again only after its interval: for this command and for the scheduler.
        try:
            record(project, report.tiers)
        except (sqlite3.OperationalError, OSError) as exc:
            # No room for the note: the tiers stay due and run again; the report still shows.
            full = disk_full_error(exc, "the git-aircher store",
                                   [project.layout.run, project.layout.core])
            if full is None:
                raise
            no_room = no_room or full
    if as_json:
        emit_json(report.to_json())
    elif not report.tiers:
        click.echo("nothing is due")
    else:
        failed = sum(1 for t in report.tasks if t.error)
        if failed:
            # The exit status says it too, but a reader of the header alone must not see "done".
            verb = f"{failed} of {len(report.tasks)} steps failed"
        else:
            verb = "would remove" if dry_run else "done"
        click.echo(f"maintenance ({', '.join(report.tiers)}): {verb}")
        table(["tier", "task", "count", "detail"],
              [(t.tier, t.task, t.count, t.error or t.detail) for t in report.tasks])
    # A step that found no room before a later one made some (old backups pruned) is over.
    if no_room is not None and (no_room.limit or short_of_room([project.layout.core])):
        raise for_maintenance(no_room)
    if not report.ok:
        raise click.exceptions.Exit(1)


@click.command()
@json_option
@click.pass_obj
def health(app: App, as_json: bool) -> None:
    """Database sizes and growth, disk usage, slow queries, cache rates, error rates."""
    from gitext.lifecycle.health import check

    report = check(app.project())
    if as_json:
        emit_json(report.to_json())
        return
    disk = report.disk
    click.echo(f"checked: {report.checked_at}")
    click.echo(f"store:   {human_size(report.store_bytes)}")
    click.echo(f"disk:    {disk['used_fraction']:.0%} used of {human_size(disk['total'])}"
               f" (alert above {disk['threshold']:.0%})")
    slow = report.slow_queries
    click.echo(f"slow queries (24h, >= {slow['threshold_seconds']}s): {slow['count_24h']}"
               + (f" ({slow['background_24h']} by the background worker)"
                  if slow["background_24h"] else "")
               + ("" if slow["logging"] else " (logging off)"))
    errors = report.errors
    click.echo(f"errors (24h): {errors['total']} ({errors['per_hour']}/h)")
    reuse = report.cache["embedding_reuse"]["rate"]
    cache = report.cache["session_cache"]
    click.echo(f"session cache: {cache['entries']} entries, {cache['expired']} expired;"
               f" embedding reuse: {'-' if reuse is None else f'{reuse:.0%}'}")
    click.echo("")
    table(["database", "size", "growth/day", "over limit"],
          [(d.name, human_size(d.size_bytes),
            "-" if d.growth_bytes_per_day is None else human_size(int(d.growth_bytes_per_day)),
            "yes" if d.over_limit else "no") for d in report.databases])
    for warning in report.warnings:
        click.echo(f"warning: {warning}")
