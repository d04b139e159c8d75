"""Tables for people, JSON for agents."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from gitext.records.values import showable_json

F = TypeVar("F", bound=Callable[..., Any])


def emit_json(data: Any) -> None:
    """Every `--json` output goes through here: one place that makes it safe to show."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    click.echo(showable_json(text))


# Characters a terminal acts on instead of showing: C0 controls, DEL and C1 (U+009B is CSI to
# some terminals). Stored text (a title copied from tool output, a message) holding ESC ] 52
# would write the user's clipboard, ESC ] 0 the window title; click strips only colour codes,
# and only when not writing to a terminal.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_NAMED = {"\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f",
          "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    c = match[0]
    # As git quotes a path: C escapes where C has one, else the UTF-8 bytes in octal.
    return _NAMED.get(c) or "".join(f"\\{b:03o}" for b in c.encode("utf-8"))


def printable(text: str, *, lines: bool = False) -> str:
    """Stored text as human output shows it: control characters escaped (`\\033`), so what an
    agent recorded cannot drive the terminal. With `lines` (a message's body) newlines and
    tabs stay; else (a table cell, one line of a header) a newline is a space. JSON output keeps
    the text exact with JSON's own escapes (`emit_json`)."""
    if lines:
        text = text.replace("\r\n", "\n")
        return _CONTROL.sub(lambda m: m[0] if m[0] in "\n\t" else _escape(m), text)
    return _CONTROL.sub(_escape, text.replace("\n", " "))


def shown_path(path: str) -> str:
    """A file path in a table cell, as git quotes one: in double quotes with C escapes when it
    holds a control character, a quote, a backslash or bytes that are not UTF-8. Escaped
    without the quotes, `a\\nb.md` (a backslash and an n) looked like `a<LF>b.md`; made a space
    by `printable`, `new<LF>line.py` looked like `new line.py`."""
    from gitext.git.names import quoted

    return quoted(path)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, v in enumerate(row):
            widths[i] = max(widths[i], len(v))
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return printable(str(value))


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for agents.")


@dataclass(frozen=True)
class Limit:
    """`--limit` of a list that may be long, as given (None: not given) with the list's
    table default. A table of thousands helps nobody, so a table shows `default` rows; JSON
    is read by a script, which must get every row or be told, so it gets all unless limited,
    as git's own lists print everything unless asked for fewer (`git log -n`). Before, JSON
    was cut at the table's default without a word (session 18: cli-3)."""

    given: int | None
    default: int

    def rows(self, as_json: bool) -> int:
        """Rows to show, 0 for all."""
        if self.given is not None:
            return self.given
        return 0 if as_json else self.default

    def fetch(self, as_json: bool) -> int | None:
        """What to ask the library for (None: all): one row more than shown tells a cut list
        from a full one."""
        rows = self.rows(as_json)
        return rows + 1 if rows else None


def limit_option(default: int) -> Callable[[F], F]:
    """The `--limit N` of every list command that bounds its table (see `Limit`)."""
    def given(ctx: click.Context, param: click.Parameter, value: int | None) -> Limit:
        return Limit(value, default)

    return click.option(
        "--limit", "limit", type=click.IntRange(0, None), default=None, metavar="N",
        callback=given,
        help=f"Rows to show, 0 for all.  [default: {default}; with --json: all]")


def cut(rows: list[Any], limit: int) -> list[Any]:
    """The first `limit` rows (0: all); a list cut says so on stderr, where a script reading
    JSON from stdout is not disturbed by it."""
    if not limit or len(rows) <= limit:
        return rows
    click.echo(f"note: the first {limit} shown; --limit 0 shows all", err=True)
    return rows[:limit]
