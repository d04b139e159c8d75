"""Definitions of brace languages (JS/TS, Go, Rust, C, C++, Java…) found by regex.

A definition line is recognised by a line-anchored pattern; its block runs to the brace that
matches the first ``{`` after it. Braces are paired once per file by a tokenizer that skips
comments and string literals, so the cost stays linear however many definitions there are.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

# (kind, name, first line, last line), lines 1-based and inclusive.
Found = tuple[str, str, int, int]

_LINE_COMMENT = r"//[^\n]*"
_BLOCK_COMMENT = r"/\*.*?(?:\*/|\Z)"
# Unterminated literals stop at the end of their line, so one stray quote cannot swallow a file.
_DOUBLE = r'"(?:\\.|[^"\\\n])*"?'
_SINGLE = r"'(?:\\.|[^'\\\n])*'?"
# Rust and Go quote single characters only; Rust's lifetimes ('a) must not open a literal.
_CHAR = r"'(?:\\[^'\n]{1,10}|[^'\\\n])'"
_BACKTICK = r"`(?:\\.|[^`\\])*`?"
_RUST_STRING = r'"(?:\\.|[^"\\])*"?'


def _tokens(*literals: str) -> re.Pattern[str]:
    return re.compile("|".join((_LINE_COMMENT, _BLOCK_COMMENT, *literals, r"[{}]")), re.S)


_C_TOKENS = _tokens(_DOUBLE, _SINGLE)
_JS_TOKENS = _tokens(_DOUBLE, _SINGLE, _BACKTICK)
_GO_TOKENS = _tokens(_DOUBLE, _CHAR, _BACKTICK)
_RUST_TOKENS = _tokens(_RUST_STRING, _CHAR)


@dataclass(frozen=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    # "block": needs a body; "arrow": body only when "{" follows at once, else its line;
    # "bare": its line when there is no body (Rust's "struct Unit;"); "member": a method, only
    # kept inside a class body.
    mode: str = "block"


def _rule(kind: str, pattern: str, mode: str = "block") -> _Rule:
    return _Rule(kind, re.compile(pattern, re.M), mode)


_JS_START = r"^[ \t]*(?:export[ \t]+(?:default[ \t]+)?)?(?:declare[ \t]+)?"
_JS_NAME = r"(?P<name>[A-Za-z_$][\w$]*)"
_JS_RULES = (
    _rule("function", _JS_START + r"(?:async[ \t]+)?function\b[ \t]*\*?[ \t]*" + _JS_NAME),
    _rule("class", _JS_START + r"(?:abstract[ \t]+)?(?:class|interface|enum)[ \t]+" + _JS_NAME),
    _rule(
        "function",
        _JS_START + r"(?:const|let|var)[ \t]+" + _JS_NAME + r"[ \t]*(?::[^=\n]{1,200})?="
        r"[ \t]*(?:async[ \t]+)?function\b",
    ),
    _rule(
        "function",
        _JS_START + r"(?:const|let|var)[ \t]+" + _JS_NAME + r"[ \t]*(?::[^=\n]{1,200})?="
        r"[ \t]*(?:async[ \t]+)?(?:\([^)\n]{0,300}\)|[A-Za-z_$][\w$]*)"
        r"[ \t]*(?::[^=\n]{1,200})?=>",
        "arrow",
    ),
    _rule(
        "function",
        r"^[ \t]+(?:(?:static|async|get|set|public|private|protected|readonly|override|abstract)"
        r"[ \t]+)*\*?(?P<name>#?[A-Za-z_$][\w$]*)[ \t]*(?:<[^\n>]{0,100}>)?"
        r"\([^\n]{0,300}?\)[ \t]*(?::[^\n{;]{0,200})?\{",
        "member",
    ),
)

_GO_RULES = (
    _rule(
        "function",
        r"^func[ \t]*(?:\([ \t]*(?:[A-Za-z_]\w*[ \t]+)?\*?[ \t]*(?P<receiver>[A-Za-z_]\w*)"
        r"[^)\n]*\)[ \t]*)?(?P<name>[A-Za-z_]\w*)",
    ),
    _rule(
        "class",
        r"^type[ \t]+(?P<name>[A-Za-z_]\w*)(?:\[[^\]\n]*\])?[ \t]+(?:struct|interface)\b",
    ),
)

_RUST_VISIBILITY = r"^[ \t]*(?:pub(?:\([^)\n]*\))?[ \t]+)?"
_RUST_RULES = (
    _rule(
        "function",
        _RUST_VISIBILITY + r"(?:default[ \t]+)?"
        r"(?:(?:const|async|unsafe|extern(?:[ \t]+\"[^\"\n]*\")?)[ \t]+)*"
        r"fn[ \t]+(?P<name>[A-Za-z_]\w*)",
    ),
    _rule(
        "class",
        _RUST_VISIBILITY + r"(?:unsafe[ \t]+)?(?:struct|enum|trait|union)[ \t]+"
        r"(?P<name>[A-Za-z_]\w*)",
        "bare",
    ),
    _rule("class", r"^[ \t]*(?:unsafe[ \t]+)?impl\b(?:[ \t]*<[^\n{]*?>)?[ \t]+(?P<name>[^\n{]+)"),
)

_C_RULES = (
    _rule(
        "function",
        r"^[ \t]*(?:[\w:<>~,\[\]]+[ \t*&]+){0,6}?"
        r"(?P<name>~?[A-Za-z_]\w*(?:::~?[A-Za-z_]\w*)*)[ \t]*\(",
    ),
    _rule(
        "class",
        r"^[ \t]*(?:template[ \t]*<[^\n]*>[ \t]*)?(?:(?:public|private|protected|internal|abstract|"
        r"final|static|sealed|partial|export)[ \t]+)*(?:class|struct|interface|enum|record|union)"
        r"[ \t]+(?:class[ \t]+)?(?P<name>[A-Za-z_]\w*)",
    ),
)

_LANGUAGES: dict[str, tuple[re.Pattern[str], tuple[_Rule, ...]]] = {
    "javascript": (_JS_TOKENS, _JS_RULES),
    "typescript": (_JS_TOKENS, _JS_RULES),
    "go": (_GO_TOKENS, _GO_RULES),
    "rust": (_RUST_TOKENS, _RUST_RULES),
    "c": (_C_TOKENS, _C_RULES),
    "cpp": (_C_TOKENS, _C_RULES),
    "java": (_C_TOKENS, _C_RULES),
    "csharp": (_C_TOKENS, _C_RULES),
}

# Names a call-shaped line can have that never belong to a definition ("if (x) {") ...
_NOT_NAMES = frozenset(
    {
        "if", "for", "while", "switch", "return", "sizeof", "catch", "else", "do", "new",
        "delete", "case", "synchronized", "using", "throw", "typeof", "defined", "function",
        "with", "await", "yield", "goto", "foreach", "lock", "fixed", "when",
    }
)  # fmt: skip
# ... and words such a line can start with ("return make(x) {", "new Runnable() {").
_NOT_FIRST_WORDS = frozenset(
    {"return", "else", "new", "throw", "case", "goto", "delete", "await", "yield", "typeof"}
)
# How far a body's "{" may sit from its definition's name (long signatures, where clauses).
_SIGNATURE_REACH = 2_000


def _pair_braces(text: str, tokens: re.Pattern[str]) -> dict[int, int]:
    """Offset of each "{" outside comments and literals -> offset of its "}" (or the end)."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for match in tokens.finditer(text):
        token = match.group()
        if token == "{":
            stack.append(match.start())
        elif token == "}" and stack:
            pairs[stack.pop()] = match.start()
    for unclosed in stack:
        pairs[unclosed] = len(text) - 1
    return pairs


def _body(text: str, after: int, opens: list[int], rule: _Rule) -> int | None:
    """Offset of the "{" opening the body of a definition whose name ends at ``after``."""
    index = bisect_left(opens, after)
    if index == len(opens) or opens[index] - after > _SIGNATURE_REACH:
        return None
    brace = opens[index]
    between = text[after:brace]
    if rule.mode == "arrow" and between.strip():
        return None
    if rule.kind == "class" and "(" in between:
        # "struct point *make_point(void) {" is a function returning a struct, not a struct.
        return None
    depth = 0
    for char in between:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == ";" and depth <= 0:
            # A declaration without a body: a prototype, a forward declaration, a trait method.
            return None
    return brace


def _short_name(name: str) -> str:
    """The type a container is about: "Display for Point<T> where …" -> "Point"."""
    name = name.split(" where ", 1)[0]
    name = name.rsplit(" for ", 1)[-1]
    return name.split("<", 1)[0].strip().rsplit("::", 1)[-1]


def brace_definitions(
    language: str, text: str, lines: list[str], found: list[Found], limit: int
) -> None:
    """Append the definitions of ``text`` (split into ``lines``) to ``found``, up to ``limit``."""
    if language not in _LANGUAGES:
        return
    tokens, rules = _LANGUAGES[language]
    matches = sorted(
        (
            (m.start(), m.end() if rule.mode == "arrow" else m.end("name"), rule, m)
            for rule in rules
            for m in rule.pattern.finditer(text)
        ),
        key=lambda item: (item[0], item[1]),
    )
    if not matches:
        return
    pairs = _pair_braces(text, tokens)
    opens = sorted(pairs)
    line_starts = [0, *(m.end() for m in re.finditer("\n", text))]
    # Accepted definitions as (first offset, body "{", body "}", kind, name), in file order.
    blocks: list[tuple[int, int, int, str, str]] = []
    seen: set[int] = set()
    for start, after, rule, match in matches:
        if len(blocks) >= limit:
            break
        name = match.group("name").strip()
        first_word = match.group().split(None, 1)[0] if match.group().strip() else ""
        if start in seen or name in _NOT_NAMES or first_word in _NOT_FIRST_WORDS:
            continue
        brace = _body(text, after, opens, rule)
        if brace is not None:
            close = pairs[brace]
        elif rule.mode in ("arrow", "bare"):
            line_end = text.find("\n", start)
            brace = close = len(text) if line_end < 0 else line_end
        else:
            continue
        owner = next((b for b in reversed(blocks) if b[1] < start < b[2] and b[3] == "class"), None)
        if rule.mode == "member" and owner is None:
            continue
        receiver = match.groupdict().get("receiver")
        if receiver:
            name = f"{receiver}.{name}"
        elif owner is not None:
            name = f"{_short_name(owner[4])}.{name}"
        seen.add(start)
        blocks.append((start, brace, close, rule.kind, name))
    for start, _, close, kind, name in blocks:
        first = bisect_right(line_starts, start)
        # Attributes and decorators belong to the definition below them.
        while first > 1 and lines[first - 2].lstrip().startswith(("#[", "@")):
            first -= 1
        found.append((kind, name, first, bisect_right(line_starts, close)))
