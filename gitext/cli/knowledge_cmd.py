"""`git aircher decision add|list|supersede|revert` and `git aircher knowledge …`
(components, docs, patterns, effectiveness, feedback)."""

from __future__ import annotations

import click

from gitext.cli.app import App
from gitext.cli.output import (
    Limit,
    cut,
    emit_json,
    json_option,
    limit_option,
    shown_path,
    table,
)


@click.group()
def decision() -> None:
    """Project decisions: what was chosen, why, and what replaced it."""


@decision.command("add")
@click.argument("title")
@click.option("--type", "decision_type", default="architecture", show_default=True)
@click.option("--description")
@click.option("--rationale")
@click.option("--alternative", "alternatives", multiple=True, help="Repeatable.")
@click.option("--impact")
@click.option("--tag", "tags", multiple=True, help="Repeatable.")
@json_option
@click.pass_obj
def decision_add(app: App, title: str, decision_type: str, description: str | None,
                 rationale: str | None, alternatives: tuple[str, ...], impact: str | None,
                 tags: tuple[str, ...], as_json: bool) -> None:
    """Record a decision made on the current branch; prints its id."""
    from gitext.records.decisions import add_decision

    d = add_decision(app.project(), decision_type, title, description=description,
                     rationale=rationale, alternatives=list(alternatives) or None,
                     impact=impact, tags=list(tags) or None)
    if as_json:
        emit_json(d.to_json())
    else:
        click.echo(d.id)


@decision.command("list")
@click.option("--status", type=click.Choice(("active", "superseded", "reverted", "all")),
              default="active", show_default=True)
@click.option("--context", metavar="NAME", help="Only decisions made on this branch.")
@click.option("--type", "decision_type")
@json_option
@click.pass_obj
def decision_list(app: App, status: str, context: str | None, decision_type: str | None,
                  as_json: bool) -> None:
    """Decisions, newest first."""
    from gitext.records.browse import browse_decisions

    rows = browse_decisions(app.project(), status=None if status == "all" else status,
                            context=context, decision_type=decision_type)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no decisions")
        return
    table(["id", "made", "status", "type", "context", "title"],
          [(r["id"][:8], r["made_at"], r["status"], r["decision_type"], r["context_name"],
            r["title"][:60]) for r in rows])


@decision.command("supersede")
@click.argument("decision_id")
@click.option("--by", "by", metavar="NEW_ID", help="The decision that replaces it.")
@json_option
@click.pass_obj
def decision_supersede(app: App, decision_id: str, by: str | None, as_json: bool) -> None:
    """Mark a decision superseded (optionally by another)."""
    from gitext.records.decisions import supersede_decision

    d = supersede_decision(app.project(), decision_id, by=by)
    if as_json:
        emit_json(d.to_json())
    else:
        click.echo(f"superseded {d.id}" + (f" by {d.superseded_by}" if d.superseded_by else ""))


@decision.command("revert")
@click.argument("decision_id")
@json_option
@click.pass_obj
def decision_revert(app: App, decision_id: str, as_json: bool) -> None:
    """Mark a decision reverted."""
    from gitext.records.decisions import revert_decision

    d = revert_decision(app.project(), decision_id)
    if as_json:
        emit_json(d.to_json())
    else:
        click.echo(f"reverted {d.id}")


@click.group()
def knowledge() -> None:
    """Project knowledge: components, documentation, patterns, effectiveness, feedback."""


@knowledge.group("components")
def components() -> None:
    """Project components (modules, services, layers) and what is known of them."""


@components.command("list")
@click.option("--type", "kind")
@json_option
@click.pass_obj
def components_list(app: App, kind: str | None, as_json: bool) -> None:
    """Every recorded component."""
    from gitext.records.knowledge import list_components

    rows = [c.to_json() for c in list_components(app.project(), type=kind)]
    if as_json:
        emit_json(rows)
        return
    table(["component", "type", "confidence", "description"],
          [(r["component"], r["type"], r["confidence"], (r["description"] or "")[:60])
           for r in rows])


@components.command("add")
@click.argument("component")
@click.argument("kind", metavar="TYPE")
@click.option("--description")
@click.option("--confidence", type=click.FloatRange(0.0, 1.0))
@json_option
@click.pass_obj
def components_add(app: App, component: str, kind: str, description: str | None,
                   confidence: float | None, as_json: bool) -> None:
    """Record (or update) COMPONENT of TYPE."""
    from gitext.records.knowledge import upsert_component

    c = upsert_component(app.project(), component, kind, description=description,
                         confidence=confidence)
    if as_json:
        emit_json(c.to_json())
    else:
        click.echo(c.id)


@knowledge.group("docs")
def docs() -> None:
    """Documentation files: title, purpose, sections and cross references."""


@docs.command("list")
@json_option
@click.pass_obj
def docs_list(app: App, as_json: bool) -> None:
    """Analysed Markdown and reST files."""
    from gitext.records.docs_analysis import list_docs

    rows = list_docs(app.project())
    if as_json:
        emit_json(rows)
        return
    table(["path", "type", "sections", "refs", "title", "purpose"],
          [(shown_path(r["path"]), r["doc_type"], len(r["sections"] or []),
            len(r["cross_refs"] or []), (r["title"] or "")[:30], (r["purpose"] or "")[:50])
           for r in rows])


@docs.command("refresh")
@json_option
@click.pass_obj
def docs_refresh(app: App, as_json: bool) -> None:
    """Analyse this worktree's tracked .md and .rst files again (unchanged ones are skipped)."""
    from gitext.records.docs_analysis import refresh_worktree_docs

    n = refresh_worktree_docs(app.project())
    if as_json:
        emit_json({"written": n})
    else:
        click.echo(f"{n} documentation rows written")


@knowledge.group("patterns")
def patterns() -> None:
    """Success patterns: what worked, where, and how well elsewhere."""


@patterns.command("list")
@click.option("--type", "pattern_type")
@limit_option(100)
@json_option
@click.pass_obj
def patterns_list(app: App, pattern_type: str | None, limit: Limit, as_json: bool) -> None:
    """Patterns, most effective first."""
    from gitext.records.patterns import list_patterns

    rows = cut([p.to_json() for p in list_patterns(app.project(), pattern_type=pattern_type,
                                                   limit=limit.fetch(as_json))],
               limit.rows(as_json))
    if as_json:
        emit_json(rows)
        return
    table(["id", "type", "confidence", "effectiveness", "uses", "trusted", "description"],
          [(r["id"][:8], r["pattern_type"], r["confidence_score"], r["effectiveness_rating"],
            r["usage_count"], "yes" if r["trusted"] else "no", (r["description"] or "")[:60])
           for r in rows])


@patterns.command("add")
@click.argument("pattern_type")
@click.argument("description")
@click.option("--confidence", type=click.FloatRange(0.0, 1.0))
@json_option
@click.pass_obj
def patterns_add(app: App, pattern_type: str, description: str, confidence: float | None,
                 as_json: bool) -> None:
    """Record a pattern found in the current context; prints its id."""
    from gitext.records.patterns import record_pattern

    p = record_pattern(app.project(), pattern_type, description, confidence=confidence)
    if as_json:
        emit_json(p.to_json())
    else:
        click.echo(p.id)


@patterns.command("outcome")
@click.argument("pattern_id")
@click.option("--success/--failure", default=None, required=True,
              help="How using the pattern went.")
@json_option
@click.pass_obj
def patterns_outcome(app: App, pattern_id: str, success: bool | None, as_json: bool) -> None:
    """Record one use of a pattern in the current context."""
    from gitext.records.patterns import record_pattern_outcome

    if success is None:
        # click marks a flag pair `required` in --help but does not enforce it; a forgotten
        # flag must not count as a success and inflate the pattern's effectiveness.
        raise click.UsageError("say how using the pattern went: --success or --failure")
    p = record_pattern_outcome(app.project(), pattern_id, success=success)
    if as_json:
        emit_json(p.to_json())
    else:
        click.echo(f"{p.id}: {p.usage_count} uses, effectiveness {p.effectiveness_rating}")


@knowledge.group("effectiveness")
def effectiveness() -> None:
    """How well conversations went."""


@effectiveness.command("list")
@click.option("--conversation", "conversation_id")
@limit_option(100)
@json_option
@click.pass_obj
def effectiveness_list(app: App, conversation_id: str | None, limit: Limit,
                       as_json: bool) -> None:
    """Recorded outcomes, newest first."""
    from gitext.records.knowledge import list_effectiveness

    rows = cut([e.to_json() for e in list_effectiveness(
        app.project(), conversation_id=conversation_id, limit=limit.fetch(as_json))],
        limit.rows(as_json))
    if as_json:
        emit_json(rows)
        return
    table(["conversation", "task", "success", "satisfaction", "tokens", "recorded"],
          [((r["conversation_id"] or "")[:8], r["task_type"], r["success_score"],
            r["user_satisfaction"], r["tokens_used"], r["recorded_at"]) for r in rows])


@effectiveness.command("record")
@click.argument("conversation_id")
@click.argument("success_score", type=click.FloatRange(0.0, 1.0))
@click.option("--satisfaction", type=click.IntRange(1, 5))
@click.option("--minutes", type=click.IntRange(0, None))
@click.option("--lessons")
@json_option
@click.pass_obj
def effectiveness_record(app: App, conversation_id: str, success_score: float,
                         satisfaction: int | None, minutes: int | None, lessons: str | None,
                         as_json: bool) -> None:
    """Record how well CONVERSATION_ID went (SUCCESS_SCORE from 0 to 1)."""
    from gitext.records.knowledge import record_effectiveness

    e = record_effectiveness(app.project(), conversation_id, success_score=success_score,
                             user_satisfaction=satisfaction, completion_time_minutes=minutes,
                             lessons_learned=lessons)
    if as_json:
        emit_json(e.to_json())
    else:
        click.echo(e.id)


@knowledge.group("feedback")
def feedback() -> None:
    """How useful files were, against how relevant they were scored."""


@feedback.command("list")
@click.option("--path", "file_path",
              help="Only this file's (relative to the current directory, as git takes paths).")
@limit_option(100)
@json_option
@click.pass_obj
def feedback_list(app: App, file_path: str | None, limit: Limit, as_json: bool) -> None:
    """Recorded feedback, newest first."""
    from gitext.records.knowledge import list_feedback

    rows = cut([f.to_json() for f in list_feedback(app.project(), file_path=file_path,
                                                   limit=limit.fetch(as_json), cwd=app.cwd)],
               limit.rows(as_json))
    if as_json:
        emit_json(rows)
        return
    table(["path", "useful", "scored", "source", "recorded"],
          [(shown_path(r["file_path"]), r["actual_usefulness"], r["relevance_score"],
            r["feedback_source"], r["recorded_at"]) for r in rows])


@feedback.command("record")
@click.argument("file_path")
@click.argument("usefulness", type=click.FloatRange(0.0, 1.0))
@click.option("--conversation", "conversation_id")
@click.option("--relevance", type=click.FloatRange(0.0, 1.0), help="The score it was given.")
@json_option
@click.pass_obj
def feedback_record(app: App, file_path: str, usefulness: float, conversation_id: str | None,
                    relevance: float | None, as_json: bool) -> None:
    """Record how useful FILE_PATH was (USEFULNESS from 0 to 1)."""
    from gitext.records.knowledge import record_feedback

    f = record_feedback(app.project(), file_path, actual_usefulness=usefulness,
                        relevance_score=relevance, conversation_id=conversation_id,
                        cwd=app.cwd)
    if as_json:
        emit_json(f.to_json())
    else:
        click.echo(f.id)
