"""Files and strings that look like credentials, so they are never stored or shown.

Both checks are deliberately shallow: they run on every changed file inside git hooks, and a
missed exotic secret is better caught by a real scanner than by slowing every commit down.
"""

from __future__ import annotations

import re

_SECRET_NAMES = frozenset({".env", ".netrc", "_netrc", ".pgpass", "credentials"})
_SECRET_SUFFIXES = (".pem", ".key", ".p12", ".pfx")
_SECRET_PREFIXES = (".env.", "credentials.", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519")


def is_secret_path(path: str) -> bool:
    """Whether a file's name alone says it holds credentials (any directory, any case)."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return (
        name in _SECRET_NAMES
        or name.endswith(_SECRET_SUFFIXES)
        or name.startswith(_SECRET_PREFIXES)
    )


# Every pattern starts with a literal that is cheap to look for with ``in``, and is anchored on
# the left by a look-behind so a key-like run inside a longer identifier does not count.
# Repetitions are single character classes, so no input can make them backtrack badly.
_PATTERNS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("AKIA", "aws-access-key", re.compile(r"(?<![A-Za-z0-9])AKIA[0-9A-Z]{16}(?![A-Za-z0-9])")),
    (
        "gh",
        "github-token",
        re.compile(r"(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,}(?![A-Za-z0-9_])"),
    ),
    (
        "github_pat_",
        "github-token",
        re.compile(r"(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{40,}(?![A-Za-z0-9_])"),
    ),
    ("sk-", "api-key", re.compile(r"(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{20,}")),
    (
        "xox",
        "slack-token",
        re.compile(r"(?<![A-Za-z0-9_-])xox[abprs]-[A-Za-z0-9]+-[A-Za-z0-9-]{10,}"),
    ),
    (
        "AIza",
        "google-api-key",
        re.compile(r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"),
    ),
    (
        "PRIVATE KEY",
        "private-key",
        re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    ),
)


def _key_kind(match: str) -> str:
    """Name the vendor of an ``sk-`` key when its prefix says so."""
    if match.startswith("sk-ant-"):
        return "anthropic-api-key"
    return "openai-api-key"


def find_secret_patterns(text: str) -> list[tuple[int, str]]:
    """(1-based line, kind) for every line holding something shaped like an API key.

    One entry per line and kind, sorted by line then kind.
    """
    found: list[tuple[int, str]] = []
    for literal, kind, pattern in _PATTERNS:
        if literal not in text:
            continue
        for match in pattern.finditer(text):
            name = _key_kind(match.group()) if kind == "api-key" else kind
            found.append((match.start(), name))
    if not found:
        return []
    found.sort()
    result: set[tuple[int, str]] = set()
    line, counted_to = 1, 0
    for offset, name in found:
        # Counting newlines between consecutive hits keeps this linear on multi-megabyte text.
        line += text.count("\n", counted_to, offset)
        counted_to = offset
        result.add((line, name))
    return sorted(result)
