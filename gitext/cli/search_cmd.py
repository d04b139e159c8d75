"""`git aircher search`, `git aircher relevant` and `git aircher feedback`."""

from __future__ import annotations

import click

from gitext.cli.app import App
from gitext.cli.output import emit_json, json_option, shown_path, table


@click.command()
@click.option("--top", "-k", type=int, default=10, show_default=True, help="Files to show.")
@click.option("--mode", type=click.Choice(["hybrid", "vector", "text"]), default="hybrid",
              show_default=True,
              help="Text, vectors and commit history fused; vectors alone; or text alone.")
@json_option
@click.argument("query", nargs=-1, required=True)
@click.pass_obj
def search(app: App, top: int, mode: str, as_json: bool, query: tuple[str, ...]) -> None:
    """Search the files of HEAD (and the work tree) for QUERY.

    Put `--` before a query that starts with a dash.
    """
    from gitext.search.hybrid import hits_json
    from gitext.search.hybrid import search as run_search

    notes: list[str] = []
    hits = run_search(app.project(), " ".join(query), top=top, mode=mode, notes=notes)
    warn(notes)
    if as_json:
        emit_json(hits_json(hits))
        return
    if not hits:
        click.echo("no match")
        return
    table(["score", "path", "lines", "preview"],
          [(h.score, shown_path(h.path), f"{h.line_start}-{h.line_end}", _first_line(h.preview))
           for h in hits])


def warn(notes: list[str]) -> None:
    """What the answer did without, on one stderr line: an agent parsing --json reads stdout."""
    if notes:
        click.echo(f"warning: {'; '.join(dict.fromkeys(notes))}", err=True)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:60]
    return ""


@click.command()
@click.option("--top", "-k", type=int, default=10, show_default=True, help="Files to show.")
@click.option("--task", help="What you are about to do: fuses relevance with a search for it.")
@click.option("--context", "context", help="Context name or id (default: this branch's).")
@json_option
@click.pass_obj
def relevant(app: App, top: int, task: str | None, context: str | None, as_json: bool) -> None:
    """Files that matter here and now (history, dependencies, feedback), or for --task."""
    from gitext.relevance import relevant as run_relevant

    notes: list[str] = []
    files = run_relevant(app.project(), top=top, task=task, context=context, notes=notes)
    warn(notes)
    if as_json:
        emit_json([f.to_json() for f in files])
        return
    if not files:
        click.echo("no files indexed yet (run `git aircher index`)")
        return
    table(["score", "path", "frequency", "recency", "dependency", "feedback"],
          [(f.score, shown_path(f.path), f.components["frequency_score"],
            f.components["recency_score"], f.components["dependency_score"],
            f.components["success_correlation"])
           for f in files])


@click.command()
@click.argument("path")
@click.option("--useful", type=float, required=True, help="How useful it was, 0 to 1.")
@click.option("--conversation", "conversation",
              help="The conversation it was useful in (id or unique prefix).")
@click.option("--context", "context",
              help="Context name or id (default: the current session's, else this branch's).")
@json_option
@click.pass_obj
def feedback(app: App, path: str, useful: float, conversation: str | None,
             context: str | None, as_json: bool) -> None:
    """Record how useful PATH was; the next relevance scores use it."""
    from gitext.relevance import record_feedback

    fb = record_feedback(app.project(), path, useful, conversation_id=conversation,
                         context_name=context, cwd=app.cwd)
    if as_json:
        emit_json(fb.to_json())
        return
    click.echo(f"recorded: {fb.path} useful {fb.useful:g}")
