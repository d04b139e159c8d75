"""Functions other parts of git-aircher provide once they land (search index rebuilds, vector
files): looked up at call time, so lifecycle work runs today and uses them when they exist."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def optional_function(module: str, name: str) -> Callable[..., Any] | None:
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    func = getattr(mod, name, None)
    return func if callable(func) else None
