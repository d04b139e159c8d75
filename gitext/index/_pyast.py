"""One parse per Python file: relationships and snippets both need the tree of the same text,
one call after the other, and parsing is most of what analysing a file costs."""

from __future__ import annotations

import ast
import warnings
from functools import lru_cache


@lru_cache(maxsize=4)
def parse(text: str) -> ast.Module:
    with warnings.catch_warnings():
        # Invalid escape sequences would print SyntaxWarnings into the user's git hook.
        warnings.simplefilter("ignore")
        return ast.parse(text)
