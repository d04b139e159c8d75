"""What the hook shims run: `git-aircher hook EVENT ARGS…`. Imports only the standard library
and the light parts of gitext: a post-commit must not pay for click, numpy or scikit-learn."""

from __future__ import annotations


def run_hook(args: list[str]) -> int:
    if not args:
        return 2
    event, rest = args[0], args[1:]
    if event in ("pre-commit", "guard"):
        from gitext.hooks.guard import guard_main

        return guard_main(rest)
    return 0
