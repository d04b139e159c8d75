"""Entry point of `git-aircher`. Parses, calls the library, prints; nothing else.

`git-aircher hook …` (what the git hook shims run) is dispatched before click is imported: the
hook path must stay light.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["hook"]:
        from gitext.hooks.entry import run_hook

        return run_hook(args[1:])
    from gitext.cli.app import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
