"""`git aircher context show|insights|patterns|transfer|refresh`."""

from __future__ import annotations

import click

from gitext.cli.app import App
from gitext.cli.output import Limit, cut, emit_json, json_option, limit_option, printable, table


@click.group()
def context() -> None:
    """The context chain (global > project > branch > session) and knowledge across it."""


@context.command("show")
@click.argument("name", required=False)
@json_option
@click.pass_obj
def show(app: App, name: str | None, as_json: bool) -> None:
    """The chain from global to the current (or NAME) context and what each level holds."""
    from gitext.insights.queries import context_show

    data = context_show(app.project(), name)
    if as_json:
        emit_json(data)
        return
    for depth, level in enumerate(data["levels"]):
        mark = "*" if level["id"] == data["current"] else " "
        click.echo(printable(f"{mark} {'  ' * depth}{level['context_type']}: {level['name']}"
                             f" ({level['status']}, {level['id']})"))
        holds = level["holds"]
        parts = [f"{k}={v}" for k, v in holds.items()
                 if k not in ("preferences", "session") and v]
        if holds.get("preferences"):
            parts.append("preferences: " + ", ".join(sorted(holds["preferences"])))
        if parts:
            click.echo(printable(f"  {'  ' * depth}  " + "; ".join(parts)))


@context.command("insights")
@click.option("--context", "name", metavar="NAME", help="Another context; default: current.")
@click.option("--min-confidence", default=0.7, show_default=True,
              type=click.FloatRange(0.0, 1.0))
@click.option("--type", "insight_type",
              type=click.Choice(("pattern_reuse", "similar_solution", "anti_pattern",
                                 "best_practice")))
@limit_option(50)
@json_option
@click.pass_obj
def insights(app: App, name: str | None, min_confidence: float, insight_type: str | None,
             limit: Limit, as_json: bool) -> None:
    """Insights for the current context (confidence above the minimum), most effective first."""
    from gitext.insights.queries import context_insights

    rows = cut(context_insights(app.project(), name=name, min_confidence=min_confidence,
                                insight_type=insight_type, limit=limit.fetch(as_json)),
               limit.rows(as_json))
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no insights")
        return
    table(["type", "from", "to", "confidence", "effectiveness", "description"],
          [(r["insight_type"], r["source_context"], r["target_context"], r["confidence_score"],
            r["effectiveness_rating"], (r["description"] or "")[:70]) for r in rows])


@context.command("patterns")
@click.option("--across-worktrees", is_flag=True,
              help="Patterns of every branch context, with per-context effectiveness.")
@click.option("--type", "pattern_type")
@limit_option(100)
@json_option
@click.pass_obj
def patterns(app: App, across_worktrees: bool, pattern_type: str | None, limit: Limit,
             as_json: bool) -> None:
    """Success patterns that apply here (or, with --across-worktrees, on every branch)."""
    from gitext.insights.patterns import context_patterns

    # Before, the library's default of 100 cut both the table and JSON without a word.
    rows = cut(context_patterns(app.project(), across_worktrees=across_worktrees,
                                pattern_type=pattern_type, limit=limit.fetch(as_json)),
               limit.rows(as_json))
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no patterns")
        return
    table(["type", "found in", "confidence", "effectiveness", "trusted", "contexts",
           "description"],
          [(r["pattern_type"], r["discovered_in"], r["confidence_score"],
            r["effectiveness_rating"], "yes" if r["trusted"] else "no",
            ", ".join(c["name"] or c["id"][:8] for c in r["applicable_contexts"])[:40],
            (r["description"] or "")[:60]) for r in rows])


@context.command("transfer")
@click.argument("source")
@click.argument("target")
@json_option
@click.pass_obj
def transfer(app: App, source: str, target: str, as_json: bool) -> None:
    """Make SOURCE's patterns, decisions and insights available in TARGET (idempotent)."""
    from gitext.insights.transfer import transfer as do_transfer

    result = do_transfer(app.project(), source, target)
    if as_json:
        emit_json(result.to_json())
        return
    click.echo(f"{result.source} -> {result.target}: {result.patterns} patterns,"
               f" {result.decisions} decisions, {result.insights} insights"
               f" ({result.created} new rows)")


@context.command("refresh")
@json_option
@click.pass_obj
def refresh(app: App, as_json: bool) -> None:
    """Recompute similar tasks, shared patterns and conflict warnings now
    (the background worker does this after git events)."""
    from gitext.insights.insights import refresh as do_refresh
    from gitext.sync.api import catch_up

    project = app.project()
    project.require_init()
    # "Now" is git as it is now: run right after commits, before the worker had applied their
    # records, the refresh found none of their branches and said "0 rows written".
    catch_up(project)
    n = do_refresh(project)
    if as_json:
        emit_json({"written": n})
    else:
        click.echo(f"{n} rows written")
