"""Entry point of `git-aircher`. Parses, calls the library, prints; nothing else.

`git-aircher hook …` (what the git hook shims run) is dispatched before click is imported: the
hook path must stay light. So are queries a warm server can answer (`gitext.serve`).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["hook"]:
        from gitext.hooks.entry import run_hook

        return run_hook(args[1:])
    from gitext.cli.gitdir import with_git_env

    args = with_git_env(args)
    from gitext.serve import SERVED

    query = bool(SERVED & set(args[:3]))  # `[-C DIR] search …`; the client checks exactly
    if query:
        from gitext.serve.client import served

        code = served(args)
        if code is not None:
            return code
    from gitext.cli.app import run

    code = run(args)
    if query:
        from gitext.serve.client import warm_later

        warm_later(args, code)
    return code


if __name__ == "__main__":
    sys.exit(main())
