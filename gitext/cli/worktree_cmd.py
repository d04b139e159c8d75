"""`git aircher worktree list|switch|compare` and its top-level alias `git aircher compare`."""

from __future__ import annotations

from typing import Any

import click

from gitext.cli.app import App
from gitext.cli.output import emit_json, json_option, shown_path, table


@click.group()
def worktree() -> None:
    """Worktrees and branch contexts: list them, move between them, compare two."""


@worktree.command("list")
@json_option
@click.pass_obj
def list_(app: App, as_json: bool) -> None:
    """Every git worktree and every branch context, with status and conversation counts."""
    from gitext.insights.worktrees import worktree_view

    view = worktree_view(app.project())
    if as_json:
        emit_json(view)
        return
    table(["worktree", "branch", "status", "last active"],
          [(("* " if w["current"] else "  ") + w["path"], w["branch"] or "(detached)",
            w["status"], w["last_active"]) for w in view["worktrees"]])
    click.echo("")
    table(["context", "status", "last active", "conversations", "sessions", "checked out in"],
          [(c["name"], c["status"], c["last_active"], c["conversations"],
            f"{c['sessions']} ({c['active_sessions']} active)" if c["sessions"] else 0,
            _where(c["worktree_paths"])) for c in view["contexts"]])


def _where(paths: list[str]) -> str | None:
    if len(paths) > 1:
        return f"{paths[0]} (+{len(paths) - 1} more)"
    return paths[0] if paths else None


@worktree.command("switch")
@click.argument("name")
@json_option
@click.pass_obj
def switch(app: App, name: str, as_json: bool) -> None:
    """Go to branch NAME: prints the path of the worktree that has it checked out (use
    `cd "$(git aircher worktree switch NAME)"`), or runs `git switch NAME` here."""
    from gitext.insights.worktrees import switch as do_switch

    result = do_switch(app.project(), name)
    if as_json:
        emit_json(result.to_json())
    else:
        click.echo(result.path)


def _short(sha: str | None) -> str:
    return sha[:10] if sha else "-"


def _render(data: dict[str, Any]) -> None:
    a, b = data["a"], data["b"]
    unknown = data["merge_base_unknown"]
    unrelated = data["merge_base"] is None and not unknown
    base = ("unknown (beyond the shallow clone's boundary)" if unknown
            else "none (unrelated histories)" if unrelated else _short(data["merge_base"]))
    click.echo(f"compare {a['ref']} ({_short(a['commit'])}) with {b['ref']}"
               f" ({_short(b['commit'])}); merge base {base}")
    click.echo("")

    def names(side: dict[str, Any], kind: str, key: str) -> str:
        items = side[kind]
        # The context's count, not the length of the list `--top` cut.
        return f"{side['counts'][kind]}: " + ", ".join(
            str(i[key] or "-")[:24] for i in items[:3]) if items else "0"

    table(["", a["name"], b["name"]], [
        ("context", a["context_name"], b["context_name"]),
        ("commits ahead", data["a_ahead"], data["b_ahead"]),
        ("changed since base", len(a["changed_since_base"]), len(b["changed_since_base"])),
        ("conversations", names(a, "conversations", "title"),
         names(b, "conversations", "title")),
        ("sessions", names(a, "sessions", "task_type"), names(b, "sessions", "task_type")),
        ("decisions", names(a, "decisions", "title"), names(b, "decisions", "title")),
        ("patterns", names(a, "patterns", "description"),
         names(b, "patterns", "description")),
        ("relevant files from", a["relevant_source"], b["relevant_source"]),
    ])
    totals = data["diff_totals"]
    click.echo("")
    click.echo(f"files that differ: {totals['files']} (+{totals['added']} -{totals['deleted']})")
    if data["diff"]:
        table(["path", "+", "-"],
              [((f"{shown_path(d['old_path'])} -> " if d["old_path"] else "")
                + shown_path(d["path"]),
                "bin" if d["binary"] else d["added"], "bin" if d["binary"] else d["deleted"])
               for d in data["diff"]])
        if data["diff_truncated"]:
            click.echo("… (more files; --json has the first 500)")
    click.echo("")

    def paths(items: list[str]) -> str:
        return ", ".join(map(shown_path, items)) if items else "none"

    since = "in both histories (no merge base)" if unrelated else "on both sides since the" \
        " merge base"
    if unknown:
        click.echo("changed on both sides: unknown, as the merge base is (`git fetch"
                   " --unshallow` brings it)")
    else:
        click.echo(f"changed {since} (likely conflicts): " + paths(data["both_changed"]))
    if data["conflicts"]:
        click.echo("a merge would conflict in: " + paths(data["conflicts"]))
    click.echo("")
    rows = []
    tops = [[shown_path(f["path"]) for f in side["relevant_files"]] for side in (a, b)]
    for i in range(max(len(tops[0]), len(tops[1]))):
        rows.append((i + 1, *(top[i] if i < len(top) else "" for top in tops)))
    if rows:
        table(["top files", a["name"], b["name"]], rows)
    click.echo("relevant to both: " + paths(data["relevant_overlap"]))


def _compare(app: App, a: str, b: str, top: int, as_json: bool) -> None:
    from gitext.insights.compare import compare as do_compare

    data = do_compare(app.project(), a, b, top=top).to_json()
    if as_json:
        # As a list cut at its limit says so (docs/records.md): the table gives the counts.
        if any(side["counts"][kind] > len(side[kind]) for side in (data["a"], data["b"])
               for kind in side["counts"]):
            click.echo(f"note: each side lists its first {top} of each kind; `counts` has how"
                       " many there are, --top shows more", err=True)
        emit_json(data)
    else:
        _render(data)


_top = click.option("--top", default=10, show_default=True, type=click.IntRange(1, 100),
                    help="Files, conversations, decisions… shown per side.")


@worktree.command("compare")
@click.argument("a")
@click.argument("b")
@_top
@json_option
@click.pass_obj
def worktree_compare(app: App, a: str, b: str, top: int, as_json: bool) -> None:
    """Compare two branches, worktrees or contexts side by side."""
    _compare(app, a, b, top, as_json)


@click.command("compare")
@click.argument("a")
@click.argument("b")
@_top
@json_option
@click.pass_obj
def compare(app: App, a: str, b: str, top: int, as_json: bool) -> None:
    """Compare two branches, worktrees or contexts side by side (= worktree compare)."""
    _compare(app, a, b, top, as_json)
