"""`git aircher conversation list|show|search|export|import`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gitext.cli.app import App
from gitext.cli.output import Limit, cut, emit_json, json_option, limit_option, printable, table

CONTEXT_TYPES = ("general", "debugging", "feature", "review", "refactor")
context_option = click.option(
    "--context", "context", metavar="NAME",
    help="A branch or session context (name or id); default: the current branch.")


@click.group()
def conversation() -> None:
    """Conversations recorded by agents, per branch and session."""


@conversation.command("list")
@context_option
@click.option("--all", "all_contexts", is_flag=True,
              help="Every branch and worktree (not with --context).")
@click.option("--type", "context_type", type=click.Choice(CONTEXT_TYPES), help="Only this kind.")
@click.option("--provider", help="Only this provider.")
@click.option("--status", help="Only this status: active, closed, archived (the archive's too;"
              " see `search --archived`) or one an agent set.")
@limit_option(50)
@json_option
@click.pass_obj
def list_(app: App, context: str | None, all_contexts: bool, context_type: str | None,
          provider: str | None, status: str | None, limit: Limit, as_json: bool) -> None:
    """Conversations of the current branch (and its sessions), newest first."""
    from gitext.records.browse import browse_conversations

    if context is not None and all_contexts:
        # Two answers to "whose conversations": taking one silently listed every branch's
        # for a `--context feat --all` that asked for feat's.
        from gitext.errors import UsageError

        raise UsageError("--context and --all do not go together",
                         hint="--context NAME lists one branch's or session's conversations,"
                         " --all every worktree's")
    rows = cut(browse_conversations(app.project(), context=context, all_contexts=all_contexts,
                                    context_type=context_type, provider=provider,
                                    status=status, limit=limit.fetch(as_json)),
               limit.rows(as_json))
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no conversations")
        return
    table(
        ["id", "updated", "context", "type", "provider", "msgs", "tokens", "cost", "title"],
        # The conversation's own context; `branch_name` (with --all) is the branch its
        # worktree has now, which may be another.
        [(r["id"][:8], r["updated_at"], r.get("context_name") or r.get("branch_name"),
          r["context_type"], r["provider"] + (f"/{r['model']}" if r["model"] else ""),
          r.get("message_count", "-"), r["total_tokens"], f"{r['total_cost']:.4f}",
          (r["title"] or "")[:60]) for r in rows],
    )


@conversation.command("show")
@click.argument("conversation_id")
@click.option("--max-chars", default=2000, show_default=True, type=click.IntRange(0, None),
              help="Cut each message's content in the table view (0: no limit).")
@json_option
@click.pass_obj
def show(app: App, conversation_id: str, max_chars: int, as_json: bool) -> None:
    """One conversation: its messages, attachments and compaction history."""
    from gitext.records.browse import conversation_detail

    data = conversation_detail(app.project(), conversation_id)
    if as_json:
        emit_json(data)
        return
    click.echo(f"conversation {data['id']}")
    click.echo(printable(f"title:    {data['title'] or '-'}"))
    click.echo(printable(
        f"provider: {data['provider']}{'/' + data['model'] if data['model'] else ''}"))
    click.echo(printable(f"type:     {data['context_type']}   status: {data['status']}"))
    click.echo(f"tokens:   {data['total_tokens']}   cost: {data['total_cost']:.4f}")
    click.echo(f"created:  {data['created_at']}   updated: {data['updated_at']}")
    for m in data["messages"]:
        content = m["content"] or ""
        if max_chars and len(content) > max_chars:
            content = content[:max_chars] + f" … ({len(m['content']) - max_chars} more chars)"
        click.echo("")
        click.echo(f"[{m['seq']}] {m['role']} {m['timestamp']} tokens={_known(m['tokens'])}")
        click.echo(printable(content, lines=True))
        for a in m["attachments"]:
            click.echo(printable(
                f"  attachment {a['type']} {a['path'] or '-'} {_known(a['size_bytes'])} bytes"
                f" sha256:{(a['content_hash'] or '')[:12]}"))
    for c in data["compactions"]:
        click.echo("")
        click.echo(printable(
            f"compaction {c['performed_at']} {c['trigger_type']}:"
            f" {_known(c['original_message_count'])} -> {_known(c['compacted_message_count'])}"
            f" messages, {_known(c['tokens_saved'])} tokens saved"))


def _known(count: int | None) -> str:
    """A count the store may not know (recorded without it, or mended from a negative one an
    older import took): `-`, not 0, which would be a claim, nor Python's `None`."""
    return "-" if count is None else str(count)


@conversation.command("search")
@click.argument("query")
@click.option("--context", "context", metavar="NAME",
              help="Only this branch's (or session's) conversations; default: all.")
@click.option("--role", type=click.Choice(("user", "assistant", "system", "tool")))
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, None))
@click.option("--archived", is_flag=True, help="Search the archive instead (see `restore`).")
@json_option
@click.pass_obj
def search(app: App, query: str, context: str | None, role: str | None, limit: int,
           archived: bool, as_json: bool) -> None:
    """Full-text search over messages (words are ANDed; `word*` matches a prefix)."""
    from gitext.records.browse import search_scope

    hits = search_scope(app.project(), query, context=context, role=role, limit=limit,
                        archived=archived)
    if as_json:
        emit_json(hits)
        return
    if not hits:
        click.echo("no matches")
        return
    # The archive's hits say when they were archived; a title hit has no message.
    table(["conversation", "role", "time", *(["archived"] if archived else []), "title",
           "snippet"],
          [(h["conversation_id"][:8], h["role"] or "-", h["timestamp"] or "-",
            *([h["archived_at"]] if archived else []), (h["conversation_title"] or "")[:30],
            h["snippet"][:100]) for h in hits])


@conversation.command("restore")
@click.argument("conversation_id")
@click.option("--replace", is_flag=True,
              help="The archived copy replaces a live conversation with the same id.")
@click.pass_obj
def restore(app: App, conversation_id: str, replace: bool) -> None:
    """Bring an archived conversation back (found with `search --archived`)."""
    from gitext.errors import UsageError
    from gitext.lifecycle.archive import restore_archived

    restored = restore_archived(app.project(), conversation_id, replace=replace)
    if restored is None:
        raise UsageError(f"no archived conversation {conversation_id!r}",
                         hint="`git aircher conversation search --archived WORDS` finds them")
    click.echo(f"restored {restored}")


@conversation.command("export")
@click.argument("conversation_ids", nargs=-1)
@context_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
@click.pass_obj
def export(app: App, conversation_ids: tuple[str, ...], context: str | None,
           output: Path | None) -> None:
    """Write conversations as JSONL (default: all, archived ones too; or the ids given, or one
    context's)."""
    from gitext.records.browse import scope_ids
    from gitext.records.jsonl import export_jsonl

    project = app.project()
    project.require_init()
    ids = list(conversation_ids) or None
    ctx_ids = scope_ids(project, context) if context and not ids else None
    if output is None:
        export_jsonl(project, sys.stdout, conversation_ids=ids, context_ids=ctx_ids)
        return
    from gitext.outfile import write_output

    counts = write_output(output, lambda fh: export_jsonl(
        project, fh, conversation_ids=ids, context_ids=ctx_ids))
    click.echo(f"exported {counts.conversations} conversations"
               + (f" ({counts.archived} of them archived)" if counts.archived else "")
               + f", {counts.messages} messages to {output}")


@conversation.command("import")
@click.argument("source", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--on-conflict", type=click.Choice(("error", "skip", "replace")), default="error",
              show_default=True, help="What to do with a conversation that already exists.")
@click.option("--adopt", is_flag=True,
              help="Move the imported conversations into the current context.")
@json_option
@click.pass_obj
def import_(app: App, source: str, on_conflict: str, adopt: bool, as_json: bool) -> None:
    """Load a JSONL export (`-` reads standard input); all of it, or nothing."""
    from gitext.errors import UsageError
    from gitext.records.jsonl_import import import_jsonl

    project = app.project()
    project.require_init()
    if source == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {source}: {exc.strerror or exc}") from None
    counts = import_jsonl(project, data, on_conflict=on_conflict, adopt=adopt)
    if as_json:
        emit_json(counts.to_json())
        return
    click.echo(f"imported {counts.conversations} conversations"
               + (f" ({counts.archived} of them into the archive)" if counts.archived else "")
               + f", {counts.messages} messages,"
               f" {counts.attachments} attachments, {counts.compactions} compactions"
               + (f"; skipped {counts.skipped}" if counts.skipped else "")
               + (f"; replaced {counts.replaced}" if counts.replaced else ""))
    if counts.missing_content:
        click.echo(f"note: {counts.missing_content} attachments have no content in this store")
