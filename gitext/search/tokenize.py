"""Terms of code and prose: identifiers split on snake_case and camelCase, path parts kept.

One tokenizer serves the full-text index, the built-in embedder and relevance's message search,
so a query and the documents it is matched against always speak the same vocabulary. Terms are
lower-case ``[a-z0-9]`` runs, which is also what FTS5's default tokenizer makes of them: the
index never splits a term differently from us.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# Sub-words of one identifier part: "HTTPConnectionPool" -> HTTP, Connection, Pool.
_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_PATH_SEPARATORS = re.compile(r"[/\\.\-]+")

# English function words and the keywords of common languages: they match everything and
# rank nothing.
STOP_WORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    false none true null nil assert async await break class continue def del elif else except
    finally global import lambda nonlocal pass raise return try yield self cls var let const
    function func fn pub use new
    """.split()  # noqa: SIM905 (a word list reads better as text)
)

# Which terms this tokenizer makes, kept with what a store indexed: "terms-2" keeps letters with
# the digits after them (`sha256` of `digest_sha256`).
VERSION = "terms-2"

MAX_TERM = 64  # longer "identifiers" are hashes or base64 and only bloat the index

_cache: dict[str, tuple[str, ...]] = {}
_CACHE_LIMIT = 500_000


def stem(term: str) -> str:
    """A light plural stemmer: "options" and "option" meet, "class"/"status" stay whole.

    Commit messages and issues say "handles cookies" while code says ``cookie``; a full Porter
    stemmer merges too much for identifiers ("general"/"generic"), this only folds plurals.
    """
    n = len(term)
    if n > 4 and term.endswith("ies"):
        return term[:-3] + "y"
    if n > 4 and term.endswith("ie"):
        # "cookies" -> "cooky" above, so "cookie" must meet it there (stems need not be words).
        return term[:-2] + "y"
    if n > 4 and term.endswith("sses"):
        return term[:-2]
    if n > 3 and term[-1] == "s" and term[-2] not in "su" and not term.endswith("is"):
        return term[:-1]
    return term


def _split(word: str) -> tuple[str, ...]:
    found = _cache.get(word)
    if found is not None:
        return found
    parts: list[str] = []
    for piece in word.split("_"):
        if piece:
            parts.extend(_PART.findall(piece))
    out: list[str] = []
    whole = ""
    if len(parts) > 1:
        # The whole identifier too, so an exact name outranks a scatter of its sub-words.
        whole = "".join(parts).lower()
        if whole not in STOP_WORDS and len(whole) <= MAX_TERM:
            out.append(whole)
    for i, part in enumerate(parts):
        low = part.lower()
        if len(low) >= 2 and not low.isdigit() and low not in STOP_WORDS and len(low) <= MAX_TERM:
            out.append(stem(low))
        if i + 1 < len(parts) and parts[i + 1].isdigit() and not low.isdigit():
            # Letters and the digits after them name one thing (sha256, int64, x86): the
            # digits alone are dropped, and "sha" alone cannot tell sha256 from sha1.
            # One letter with one digit is more often a piece of a hex digest (f3a9c2) than a
            # name.
            joined = low + parts[i + 1]
            if joined != whole and 3 <= len(joined) <= MAX_TERM:
                out.append(joined)
    result = tuple(out)
    if len(_cache) < _CACHE_LIMIT:
        _cache[word] = result
    return result


def terms(text: str) -> list[str]:
    """Index terms of a text, in order, repeats kept (term frequency matters)."""
    out: list[str] = []
    extend = out.extend
    for word in _WORD.findall(text):
        extend(_split(word))
    return out


def path_terms(path: str) -> list[str]:
    """Terms of a repository path: directories, stem and extension are all words."""
    return terms(_PATH_SEPARATORS.sub(" ", path))


def unique_terms(text: str, limit: int | None = None) -> list[str]:
    """Distinct terms in first-seen order (query side), at most ``limit``."""
    seen = dict.fromkeys(terms(text))
    out = list(seen)
    return out if limit is None else out[:limit]
