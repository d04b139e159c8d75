"""Cutting a file into chunks worth embedding on their own.

Where the language is known, chunks end where definitions start, so a function is not split in
the middle of its signature and its body; elsewhere (prose, data, unknown languages) chunks are
windows of lines that overlap, so a sentence cut at a boundary is whole in one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitext.index.snippets import extract_snippets

WINDOW = 60  # lines of a window chunk
OVERLAP = 15  # lines two consecutive windows share
TARGET = 60  # definition chunks are merged up to about this many lines
MAX_LINES = 120  # a longer definition is cut into windows
MAX_CHUNKS = 400  # per file: a generated 100,000-line file must not flood the index
MAX_CHARS = 8_000  # text handed to an embedder per chunk


@dataclass(frozen=True)
class Chunk:
    index: int
    line_start: int  # 1-based, inclusive
    line_end: int
    text: str
    symbols: tuple[str, ...] = ()  # names defined in it


def _windows(lines: list[str], start: int, end: int) -> list[tuple[int, int]]:
    """[start, end] (1-based, inclusive) cut into overlapping windows."""
    spans: list[tuple[int, int]] = []
    step = WINDOW - OVERLAP
    first = start
    while True:
        last = min(first + WINDOW - 1, end)
        spans.append((first, last))
        if last >= end:
            return spans
        first += step


def _definition_spans(starts: list[int], n_lines: int) -> list[tuple[int, int]]:
    """Spans that begin at definition starts, merged up to TARGET lines, long ones windowed."""
    bounds = sorted({1, *(s for s in starts if 1 <= s <= n_lines)})
    segments = [(b, (bounds[i + 1] - 1) if i + 1 < len(bounds) else n_lines)
                for i, b in enumerate(bounds)]
    spans: list[tuple[int, int]] = []
    cur_start, cur_end = segments[0]
    for seg_start, seg_end in segments[1:]:
        if seg_end - cur_start + 1 <= TARGET:
            cur_end = seg_end
            continue
        spans.append((cur_start, cur_end))
        cur_start, cur_end = seg_start, seg_end
    spans.append((cur_start, cur_end))
    out: list[tuple[int, int]] = []
    for s, e in spans:
        out.extend(_windows([], s, e) if e - s + 1 > MAX_LINES else [(s, e)])
    return out


def chunk_text(path: str, text: str) -> list[Chunk]:
    """The chunks of one file's text, in file order; [] for an empty file."""
    lines = _lines(text)
    if not lines:
        return []
    definitions = [s for s in extract_snippets(path, text) if s.kind != "header"]
    spans = _spans(lines, definitions)
    chunks: list[Chunk] = []
    for start, end in spans[:MAX_CHUNKS]:
        names = tuple(d.name for d in definitions if start <= d.line_start <= end)
        body = "\n".join(lines[start - 1 : end])[:MAX_CHARS]
        if not body.strip():
            continue
        chunks.append(Chunk(len(chunks), start, end, body, names))
    return chunks


def all_spans(path: str, text: str) -> list[tuple[int, int]]:
    """(first line, last line) of every chunk the file would have without MAX_CHUNKS: where a
    search hit past the chunks that get vectors is placed (`locate`)."""
    lines = _lines(text)
    if not lines:
        return []
    return _spans(lines, [s for s in extract_snippets(path, text) if s.kind != "header"])


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _spans(lines: list[str], definitions: list[Any]) -> list[tuple[int, int]]:
    if definitions:
        return _definition_spans([d.line_start for d in definitions], len(lines))
    return _windows(lines, 1, len(lines))
