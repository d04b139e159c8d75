"""`git aircher session start|end|list|show`."""

from __future__ import annotations

import click

from gitext.cli.app import App
from gitext.cli.output import Limit, cut, emit_json, json_option, limit_option, printable, table

TASK_TYPES = ("debugging", "feature", "review", "refactor", "maintenance")


@click.group()
def session() -> None:
    """Task sessions: a context under the current branch for one piece of work."""


@session.command("start")
@click.argument("task_type", type=click.Choice(TASK_TYPES))
@click.argument("description", required=False)
@click.option("--pref", "prefs", multiple=True, metavar="KEY=VALUE",
              help="A session preference (VALUE is JSON, or text). Repeatable.")
@json_option
@click.pass_obj
def start(app: App, task_type: str, description: str | None, prefs: tuple[str, ...],
          as_json: bool) -> None:
    """Start a session on this branch; prints its id."""
    from gitext.errors import UsageError
    from gitext.records.sessions import start_session
    from gitext.records.values import json_or_text

    parsed: dict[str, object] = {}
    for item in prefs:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--pref wants KEY=VALUE, got {item!r}")
        parsed[key] = json_or_text(raw)
    s = start_session(app.project(), task_type, description, preferences=parsed or None)
    if as_json:
        emit_json(s.to_json())
    else:
        click.echo(s.id)


@session.command("end")
@click.argument("session_id", required=False)
@json_option
@click.pass_obj
def end(app: App, session_id: str | None, as_json: bool) -> None:
    """End a session (default: the active one in this worktree, on whichever branch it began)."""
    from gitext.records.sessions import end_session

    s = end_session(app.project(), session_id)
    if as_json:
        emit_json(s.to_json())
    else:
        click.echo(f"ended {s.id}")


@session.command("list")
@click.option("--status", type=click.Choice(("active", "inactive", "expired")))
@click.option("--context", metavar="BRANCH", help="Only sessions on this branch context.")
@limit_option(50)
@json_option
@click.pass_obj
def list_(app: App, status: str | None, context: str | None, limit: Limit,
          as_json: bool) -> None:
    """Sessions, newest first."""
    from gitext.records.browse import browse_sessions

    rows = cut(browse_sessions(app.project(), status=status, context=context,
                               limit=limit.fetch(as_json)), limit.rows(as_json))
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no sessions")
        return
    table(["id", "status", "task", "branch", "started", "last activity", "description"],
          [(r["id"][:8], r["status"], r["task_type"], r["branch"], r["started_at"],
            r["last_activity"], (r["task_description"] or "")[:50]) for r in rows])


@session.command("show")
@click.argument("session_id", required=False)
@json_option
@click.pass_obj
def show(app: App, session_id: str | None, as_json: bool) -> None:
    """One session (default: the active one here): context, conversations, cache, preferences."""
    from gitext.records.browse import session_detail

    data = session_detail(app.project(), session_id)
    if as_json:
        emit_json(data)
        return
    import json

    keys = ("id", "status", "task_type", "task_description", "branch", "context_id",
            "started_at", "last_activity", "working_directory")
    # Wide enough for the longest label plus a space: at 18, `working_directory:` touched its
    # value (QA round 25d: 06).
    width = max(len(k) for k in keys) + 2
    for key in keys:
        click.echo(printable(
            f"{key + ':':{width}}{data.get(key) if data.get(key) is not None else '-'}"))
    # As `--pref` takes them (JSON), not as Python writes a dict (True, None, 'quotes').
    prefs = json.dumps(data["preferences"] or {}, ensure_ascii=False)
    click.echo(printable(f"{'preferences:':{width}}{prefs}"))
    click.echo(f"{'cache entries:':{width}}{len(data['cache'])}")
    if data["conversations"]:
        click.echo("")
        table(["conversation", "updated", "msgs", "title"],
              [(c["id"][:8], c["updated_at"], c["message_count"], (c["title"] or "")[:60])
               for c in data["conversations"]])
