"""The pieces of a source file worth recalling on their own: its header and its definitions.

Python is read with ``ast``; other languages with line-anchored regexes whose blocks are closed by
brace matching (see ``_braces``). Either way the result is best effort and never an exception.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from gitext.index import _pyast
from gitext.index._braces import Found, brace_definitions
from gitext.index.languages import language_for

MAX_SNIPPETS = 200
MAX_CONTENT = 4_000
HEADER_LINES = 30
# Beyond this size a full parse costs a hook seconds and memory: read definitions line by line.
_AST_LIMIT = 2_000_000


@dataclass(frozen=True)
class Snippet:
    """``lines line_start..line_end`` (1-based, inclusive) of a file, with what they define."""

    kind: str  # "header", "function" or "class"
    name: str
    line_start: int
    line_end: int
    content: str


def _python_ast(text: str, found: list[Found]) -> None:
    tree = _pyast.parse(text)
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)

    def add(kind: str, name: str, node: ast.stmt) -> None:
        decorators = getattr(node, "decorator_list", [])
        start = min([node.lineno, *(d.lineno for d in decorators)])
        found.append((kind, name, start, node.end_lineno or node.lineno))

    for node in tree.body:
        if isinstance(node, functions):
            add("function", node.name, node)
        elif isinstance(node, ast.ClassDef):
            add("class", node.name, node)
            for item in node.body:
                if isinstance(item, functions):
                    add("function", f"{node.name}.{item.name}", item)


# Matched against a line without its indentation, which is measured separately.
_PY_DEFINITION = re.compile(r"(?:async[ \t]+)?(def|class)[ \t]+([A-Za-z_]\w*)")


def _python_lines(lines: list[str], found: list[Found]) -> None:
    """Definitions found by indentation alone, for files ``ast`` cannot read."""
    # Indent of every line that holds code; None for blank and comment-only lines.
    indents: list[int | None] = []
    for line in lines:
        stripped = line.lstrip(" \t")
        code = bool(stripped) and not stripped.startswith("#")
        indents.append(len(line) - len(stripped) if code else None)
    # Open definitions as (indent, kind, name, last line); a block ends before the next code line
    # that is not indented deeper than its first line.
    open_blocks: list[tuple[int, str, str, int]] = []
    for number, line in enumerate(lines):
        stripped = line.lstrip(" \t")
        match = _PY_DEFINITION.match(stripped) if stripped[:1] in ("d", "c", "a") else None
        if not match:
            continue
        indent = len(line) - len(stripped)
        while open_blocks and (open_blocks[-1][0] >= indent or open_blocks[-1][3] < number):
            open_blocks.pop()
        kind = "class" if match.group(1) == "class" else "function"
        end = number
        for later in range(number + 1, len(lines)):
            later_indent = indents[later]
            if later_indent is not None:
                if later_indent <= indent:
                    break
                end = later
        start = number
        while start > 0 and lines[start - 1].strip().startswith("@"):
            start -= 1
        name = match.group(2)
        if not open_blocks:
            found.append((kind, name, start + 1, end + 1))
        elif len(open_blocks) == 1 and open_blocks[0][1] == "class" and kind == "function":
            found.append(("function", f"{open_blocks[0][2]}.{name}", start + 1, end + 1))
        open_blocks.append((indent, kind, name, end))
        if len(found) >= MAX_SNIPPETS:
            return


def _header(lines: list[str], first_definition: int | None) -> tuple[int, int] | None:
    """Lines of the leading block, or None when it holds nothing but blank lines."""
    end = min(HEADER_LINES, len(lines))
    if first_definition is not None:
        end = min(end, first_definition - 1)
    while end > 0 and not lines[end - 1].strip():
        end -= 1
    start = 1
    while start <= end and not lines[start - 1].strip():
        start += 1
    return (start, end) if start <= end else None


def _content(lines: list[str], start: int, end: int) -> str:
    # Only as many lines as can survive the cut are joined: a class may span megabytes.
    picked: list[str] = []
    size = 0
    for line in lines[start - 1 : end]:
        picked.append(line.removesuffix("\r"))
        size += len(line) + 1
        if size > MAX_CONTENT:
            break
    return "\n".join(picked)[:MAX_CONTENT]


def extract_snippets(path: str, text: str) -> list[Snippet]:
    """The header and the definitions of a file, in file order, at most ``MAX_SNIPPETS``."""
    lines = text.split("\n")
    found: list[Found] = []
    # This runs inside git hooks on whatever was committed: whatever goes wrong, the definitions
    # found so far and the header are still worth keeping.
    try:
        language = language_for(path)
        if language == "python":
            try:
                if len(text) > _AST_LIMIT:
                    raise ValueError("too large to parse")
                _python_ast(text, found)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                found.clear()
                _python_lines(lines, found)
        elif language is not None:
            brace_definitions(language, text, lines, found, MAX_SNIPPETS - 1)
    except Exception:
        pass
    found.sort(key=lambda item: (item[2], -item[3]))
    snippets: list[Snippet] = []
    header = _header(lines, found[0][2] if found else None)
    if header is not None:
        start, end = header
        name = path.rsplit("/", 1)[-1]
        snippets.append(Snippet("header", name, start, end, _content(lines, start, end)))
    for kind, name, first, last in found[: MAX_SNIPPETS - len(snippets)]:
        start, end = max(1, first), min(max(first, last), len(lines))
        snippets.append(Snippet(kind, name, start, end, _content(lines, start, end)))
    return snippets
