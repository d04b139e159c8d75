"""`git aircher doctor` and `git aircher repair`."""

from __future__ import annotations

import click

from gitext.cli.app import App
from gitext.cli.output import emit_json, human_size, json_option, table
from gitext.lifecycle.doctor import DoctorReport


def _show(report: DoctorReport) -> None:
    table(
        ["database", "size", "integrity", "schema"],
        [(d.name, human_size(d.size_bytes) if d.exists else "missing",
          d.integrity or ("-" if d.exists else "missing"),
          "-" if d.schema_version is None else f"{d.schema_version}/{d.schema_latest}")
         for d in report.databases],
    )
    for f in report.findings:
        where = f"{f.database}: " if f.database else ""
        click.echo(f"{f.severity}: {f.check}: {where}{f.message}")
        if f.repair and f.severity != "info":
            click.echo(f"  repair: {f.repair}")
        if f.hint:
            click.echo(f"  hint: {f.hint}")


def _verdict(report: DoctorReport) -> str:
    if report.healthy:
        return "healthy"
    problems = report.problems()
    # Only a finding with a repair line is repair's to fix (schema_newer, say, is not).
    if all(f.repair for f in problems):
        return "problems found: `git aircher repair` fixes them"
    if not any(f.repair for f in problems):
        return "problems found: their hints say what to do"
    return ("problems found: `git aircher repair` fixes those with a repair line; the others"
            " have a hint")


@click.command()
@click.option("--quick", is_flag=True, help="quick_check instead of a full integrity_check.")
@json_option
@click.pass_obj
def doctor(app: App, quick: bool, as_json: bool) -> None:
    """Check every database and cross-database reference; exit 1 when something is wrong."""
    from gitext.lifecycle.doctor import diagnose

    project = app.project()
    if not project.layout.core.is_dir():
        from gitext.errors import AircherError
        from gitext.store_left import left_behind

        if (left := left_behind(project)) is not None:
            raise AircherError(left.message(), hint=left.hint())
        project.require_init()
    report = diagnose(project, quick=quick)
    if as_json:
        emit_json(report.to_json())
    else:
        _show(report)
        click.echo("")
        click.echo(_verdict(report))
    if not report.healthy:
        raise click.exceptions.Exit(1)


@click.command()
@click.option("--clean", is_flag=True,
              help="Also unlink user rows that reference nothing and drop attachment rows"
                   " without a file.")
@click.option("--from-git", is_flag=True, help="Rebuild everything git-derived, even if sound.")
@click.option("--dry-run", is_flag=True, help="Say what would be done; change nothing.")
@json_option
@click.pass_obj
def repair(app: App, clean: bool, from_git: bool, dry_run: bool, as_json: bool) -> None:
    """Salvage, restore or rebuild what doctor finds damaged."""
    from gitext.lifecycle.repair import repair as run_repair

    report = run_repair(app.project(), clean=clean, from_git=from_git, dry_run=dry_run)
    if as_json:
        emit_json(report.to_json())
    else:
        if not report.actions:
            click.echo("nothing to repair")
        for a in report.actions:
            where = f" {a.database}" if a.database else ""
            click.echo(f"({a.step}){where}: {a.action}" + (f" — {a.detail}" if a.detail else ""))
        if report.after is not None and not report.after.healthy:
            click.echo("")
            click.echo("still wrong after repair:")
            _show(report.after)
    if not dry_run and not report.healthy:
        raise click.exceptions.Exit(1)
