"""Full-text search over messages: SQLite FTS5 (`messages_fts`, schemas/conversations/002).

The record API indexes each message it writes with the search package's code-aware terms
appended to its content (`gitext.search.tokenize`: identifier parts such as `get current
context` for `getCurrentContext`), so a query for `context` also finds the identifier; it
computes that text before it takes the write lock. Triggers index the content alone for every
other writer (imports, restores), and weekly maintenance adds the terms to such rows.
Queries are always split into plain words and quoted: a user's text never reaches FTS5 as syntax.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from gitext.errors import UsageError
from gitext.project import Project
from gitext.records.values import row_limit

_WORD = re.compile(r"(\w+)(\*?)")


def extra_terms(content: str | None) -> str | None:
    from gitext.search.tokenize import terms

    if not content:
        return None
    found = terms(content)
    return " ".join(found) if found else None


def index_text(content: str | None) -> str:
    """What a message's index row holds: its content, then its code-aware terms. Computed
    before a writer takes the lock: for a large message it takes seconds."""
    extra = extra_terms(content)
    return f"{content}\n{extra}" if extra else content or ""


def index_message(conn: sqlite3.Connection, message_id: str, text: str) -> None:
    """Inside the writer's transaction, before the message is inserted: its index row, which
    the insert trigger then leaves alone (schemas/conversations/003)."""
    rowid = conn.execute("INSERT INTO message_search (message_id) VALUES (?)",
                         (message_id,)).lastrowid
    conn.execute("INSERT INTO messages_fts (rowid, terms) VALUES (?, ?)", (rowid, text))


def index_extra_terms(conn: sqlite3.Connection, rows: Sequence[tuple[str, str | None]]) -> None:
    """Inside the writer's transaction, after the messages (id, content) were inserted."""
    for message_id, content in rows:
        extra = extra_terms(content)
        if extra:
            conn.execute(
                "UPDATE messages_fts SET terms = ? WHERE rowid ="
                " (SELECT rowid FROM message_search WHERE message_id = ?)",
                (f"{content}\n{extra}", message_id),
            )


def add_missing_terms(project: Project, *, dry_run: bool = False) -> int:
    """Give the code-aware terms to messages whose index row holds their content alone; returns
    how many. Writers that are not the record API leave such rows through the triggers (an
    archived conversation restored, a salvaged database), and so did every writer before
    session 9, when a lookup by the wrong name never found the terms. Weekly maintenance."""
    with project.db("conversations").read() as conn:
        rows = conn.execute(
            "SELECT m.id, m.content FROM messages m"
            " JOIN message_search s ON s.message_id = m.id"
            " JOIN messages_fts f ON f.rowid = s.rowid"
            " WHERE m.content IS NOT NULL AND m.content != '' AND f.terms = m.content"
        ).fetchall()
    todo = [(str(r[0]), str(r[1])) for r in rows if extra_terms(str(r[1]))]
    if not dry_run:
        db = project.db("conversations")
        for start in range(0, len(todo), 500):  # short write transactions: agents keep writing
            with db.write() as conn:
                index_extra_terms(conn, todo[start:start + 500])
    return len(todo)


def match_query(query: str) -> str:
    """A user's words as an FTS5 expression: each word quoted, all required; `word*` a prefix."""
    parts = []
    for word, star in _WORD.findall(query):
        parts.append('"' + word.replace('"', '""') + '"' + ("*" if star else ""))
    if not parts:
        raise UsageError("the search query has no words", hint="search for words or identifiers")
    return " ".join(parts)


@dataclass(frozen=True)
class SearchHit:
    message_id: str
    conversation_id: str
    conversation_title: str | None
    role: str
    timestamp: str | None
    snippet: str
    score: float
    context_id: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def search_messages(
    project: Project,
    query: str,
    *,
    context_ids: Sequence[str] | None = None,
    role: str | None = None,
    limit: int = 20,
) -> list[SearchHit]:
    """Best matches first (FTS5 bm25); `context_ids` restricts to those contexts' conversations."""
    expr = match_query(query)
    words = [word + star for word, star in _WORD.findall(query)]
    sql = (
        "SELECT m.id, m.conversation_id, c.title, m.role, m.timestamp, c.context_id,"
        " m.content, bm25(messages_fts) AS score"
        " FROM messages_fts JOIN message_search s ON s.rowid = messages_fts.rowid"
        " JOIN messages m ON m.id = s.message_id JOIN conversations c ON c.id = m.conversation_id"
        " WHERE messages_fts MATCH ?"
    )
    params: list[Any] = [expr]
    if context_ids is not None:
        if not context_ids:
            return []
        sql += f" AND c.context_id IN ({','.join('?' * len(context_ids))})"
        params.extend(context_ids)
    if role is not None:
        sql += " AND m.role = ?"
        params.append(role)
    sql += " ORDER BY rank LIMIT ?"
    params.append(row_limit(limit))
    with project.db("conversations").read() as conn:
        try:
            rows = conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            raise UsageError(f"cannot search for {query!r}: {exc}") from None
    return [
        SearchHit(r["id"], r["conversation_id"], r["title"], r["role"], r["timestamp"],
                  snippet(r["content"] or "", words), float(r["score"]), r["context_id"])
        for r in rows
    ]


SNIPPET_WORDS = 16
SNIPPET_CHARS = 240
_WORD_RUN = re.compile(r"\w+")
# unicode61's tokens: runs of letters and digits ('_' and punctuation separate them).
_TOKEN = re.compile(r"[^\W_]+")


def folded(text: str | None) -> str:
    """Text as the index compares it (`_folded`); '' for NULL, for SQL's use."""
    return _folded(text or "")


def _folded(text: str) -> str:
    # As the index's unicode61 tokenizer with remove_diacritics: "cafe" finds "café".
    if text.isascii():
        # ASCII has nothing to decompose and no combining marks, so this is the same string;
        # the archive's search folds every message, nearly all ASCII, and the per-character
        # join below took 95% of its time (QA round 26f: 02).
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _keys(run: str) -> set[str]:
    """What the index holds for one word of a message: its unicode61 tokens, folded, and the
    code-aware terms appended to its row (`getCurrentContext` -> get, current, context)."""
    from gitext.search.tokenize import terms

    return {_folded(t) for t in _TOKEN.findall(run)} | set(terms(run))


def _matcher(words: Sequence[str]) -> Callable[[str], bool]:
    """Whether a word of a message is one FTS5 matched for the query words: a whole token or
    term equal to a query word (a word start for `word*`), not any word containing it."""
    wanted: list[tuple[str, bool]] = []
    for word in words:
        prefix = word.endswith("*")
        tokens = [_folded(t) for t in _TOKEN.findall(word)]
        # `snake_case` is the phrase "snake case" to FTS5; a prefix applies to its last token.
        wanted.extend((t, prefix and i == len(tokens) - 1) for i, t in enumerate(tokens))

    def found(run: str) -> bool:
        return any(k == w or (prefix and k.startswith(w))
                   for k in _keys(run) for w, prefix in wanted)

    return found


def query_words(query: str) -> list[str]:
    """A query's words as `search_messages` reads them, `word*` for a prefix; a query with no
    words is the same error as there."""
    match_query(query)
    return [word + star for word, star in _WORD.findall(query)]


def token_parts(word: str) -> list[str]:
    """The index's tokens of one query word (`snake_case` -> snake, case)."""
    return _TOKEN.findall(word)


def matches_all(text: str, words: Sequence[str]) -> bool:
    """Whether FTS5 would find `text` for every one of `words` (the AND of a query), for text
    without an index: the archive's. Whole tokens and code-aware terms, as `snippet` marks."""
    runs = _WORD_RUN.findall(text)
    return all(any(found(run) for run in runs) for found in (_matcher([w]) for w in words))


def snippet(content: str, words: Sequence[str], size: int = SNIPPET_WORDS) -> str:
    """About ``size`` words of the message around its first match, matches in [brackets].

    Cut from the message itself: FTS5's own snippet() cuts from the indexed column, which also
    holds the code-aware terms appended for search, and showed them as if they were text.
    ``words`` are the query's words, ``word*`` for a prefix."""
    tokens = content.split()
    if not tokens:
        return ""
    found = _matcher(words)
    first = next((i for i, t in enumerate(tokens)
                  if any(found(run) for run in _WORD_RUN.findall(t))), 0)
    start = max(0, min(first - size // 4, len(tokens) - size))
    end = min(len(tokens), start + size)
    shown = [_WORD_RUN.sub(lambda m: f"[{m[0]}]" if found(m[0]) else m[0], t)
             for t in tokens[start:end]]
    text = ("…" if start else "") + " ".join(shown) + ("…" if end < len(tokens) else "")
    if len(text) <= SNIPPET_CHARS:
        return text
    # Text without spaces (minified JSON, a long log line, CJK): cut by characters instead.
    at = max(0, text.find("[") - SNIPPET_CHARS // 4)
    cut = text[at : at + SNIPPET_CHARS]
    return ("…" if at else "") + cut + ("…" if at + SNIPPET_CHARS < len(text) else "")
