"""Text similarity without a model: identifier-aware tokens and TF-IDF cosine.

A context's "document" is a few dozen commit messages and conversations, and a project has a
handful of branch contexts; plain Python dictionaries do this in milliseconds, where importing
scikit-learn alone costs about two seconds. The terms are the search package's, so both agree on
what a term is.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

from gitext.search.tokenize import terms

STOP = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "could", "did", "do",
    "does", "for", "from", "had", "has", "have", "he", "her", "his", "how", "i", "if", "in",
    "into", "is", "it", "its", "just", "me", "my", "no", "not", "of", "on", "or", "our", "she",
    "so", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this",
    "to", "too", "us", "was", "we", "were", "what", "when", "where", "which", "while", "who",
    "why", "will", "with", "would", "you", "your", "def", "self", "cls", "return", "none",
    "true", "false", "import", "class", "pass", "also", "use", "used", "using", "via", "fix",
    "fixes", "fixed", "add", "adds", "added", "update", "updates", "updated", "change",
    "changes", "changed", "make", "makes", "made", "merge", "merged", "branch", "commit", "wip"
})
Vector = dict[str, float]


def tokens(text: str) -> list[str]:
    return [t for t in terms(text) if t not in STOP]


def tfidf(docs: Mapping[str, Sequence[str]]) -> dict[str, Vector]:
    """L2-normalised TF-IDF vectors (sublinear tf, smoothed idf) of token lists."""
    n = len(docs)
    df: Counter[str] = Counter()
    counts = {}
    for key, toks in docs.items():
        c = Counter(toks)
        counts[key] = c
        df.update(c.keys())
    vectors: dict[str, Vector] = {}
    for key, c in counts.items():
        vec = {t: (1.0 + math.log(k)) * (math.log((1 + n) / (1 + df[t])) + 1.0)
               for t, k in c.items()}
        norm = math.sqrt(sum(x * x for x in vec.values()))
        vectors[key] = {t: x / norm for t, x in vec.items()} if norm else {}
    return vectors


def cosine(a: Vector, b: Vector) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(x * b.get(t, 0.0) for t, x in a.items())


def shared_terms(a: Vector, b: Vector, n: int = 8) -> list[str]:
    common = [(a[t] * b[t], t) for t in a.keys() & b.keys()]
    return [t for _, t in sorted(common, key=lambda x: (-x[0], x[1]))[:n]]
