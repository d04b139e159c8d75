"""Tables for people, JSON for agents."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


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
    return str(value).replace("\n", " ")


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
