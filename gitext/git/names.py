"""git's names are bytes; the store and the terminal want text.

Decoded with surrogateescape, a name that is not UTF-8 (a Latin-1 file name from an old
repository, a message or branch written under another encoding) keeps its bytes as lone
surrogates. SQLite refuses them: one such file name used to stop every later sync. Paths the
store cannot hold are left out of it (as if untracked); text it only shows is made readable.
"""

from __future__ import annotations

import shlex

# Control characters git quotes in a path, and the escapes it uses for them.
_ESCAPES = {"\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f",
            "\r": "\\r", '"': '\\"', "\\": "\\\\"}


def storable(name: str) -> bool:
    """Whether the store can hold this name as it is (valid UTF-8)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unusable_path(path: str) -> str | None:
    """Why a repository or worktree at ``path`` cannot have a store, or None. The store names
    worktrees by their paths in UTF-8 text, and journal records (written by the hook shims
    with shell builtins) are lines, so a path with a newline would be cut in two."""
    if not storable(path):
        return "is not valid UTF-8"
    if "\n" in path:
        return "holds a newline"
    return None


def all_storable(raw: bytes) -> bool:
    """Whether every name in git's raw output is UTF-8: one pass over the whole output, so a
    listing of 50,000 paths need not test each (8 ms) in the usual case."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def readable(text: str) -> str:
    """Text the store only shows (messages, author and branch names): bytes that are not
    UTF-8 become U+FFFD, as `git log` shows them on a UTF-8 terminal."""
    return text if storable(text) else (
        text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))


def _plain(name: str) -> bool:
    return storable(name) and not any(c in _ESCAPES or ord(c) < 0x20 or c == "\x7f"
                                      for c in name)


def _escaped(name: str) -> str:
    out = []
    for c in name:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif "\udc80" <= c <= "\udcff":
            out.append(f"\\{ord(c) - 0xDC00:03o}")
        elif ord(c) < 0x20 or c == "\x7f":
            out.append(f"\\{ord(c):03o}")
        else:
            out.append(c)
    return "".join(out)


def quoted(path: str) -> str:
    """A path on one line of a message, as git prints it: quoted with C escapes when it holds
    control characters or bytes that are not UTF-8 (`"caf\\351.txt"`), else as it is."""
    return path if _plain(path) else f'"{_escaped(path)}"'


def shell_word(path: str) -> str:
    """A path a user can paste into a shell command: bash's $'…' with octal escapes when a
    plain quote cannot carry it."""
    return shlex.quote(path) if _plain(path) else "$'" + _escaped(path).replace(
        "'", "\\'") + "'"
