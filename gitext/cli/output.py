"""Tables for people, JSON for agents."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import click

# What json.dumps leaves raw with ensure_ascii=False and a terminal still acts on: DEL and the
# C1 controls (U+009B is CSI). They can only stand inside a JSON string, where `\u009b` is the
# same value, so a program reads the text exactly and a terminal shown the stream is not driven.
_RAW_CONTROL = re.compile("[\x7f-\x9f]")


def emit_json(data: Any) -> None:
    """Every `--json` output goes through here: one place that makes it safe to show."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    click.echo(_RAW_CONTROL.sub(lambda m: f"\\u{ord(m[0]):04x}", text))


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


# Lists that may be long: a bounded default (a table of thousands helps nobody), 0 for all.
limit_option = click.option("--limit", default=100, show_default=True, metavar="N",
                            type=click.IntRange(0, None), help="Rows to show (0: all).")


def fetch_limit(limit: int) -> int | None:
    """What to ask the library for: one row more than shown tells a cut list from a full one."""
    return limit + 1 if limit else None


def cut(rows: list[Any], limit: int, as_json: bool) -> list[Any]:
    """The rows to show; a table says on stderr that there were more (JSON stays a list)."""
    if not limit or len(rows) <= limit:
        return rows
    if not as_json:
        click.echo(f"note: the first {limit} shown; --limit 0 shows all", err=True)
    return rows[:limit]
