"""Entry point of `git-aircher`. Parses, calls the library, prints; nothing else.

`git-aircher hook …` (what the git hook shims run) is dispatched before click is imported: the
hook path must stay light. So are queries a warm server can answer (`gitext.serve`).
"""

from __future__ import annotations

import os
import sys


def _in_utf8_mode() -> None:
    """Under a locale whose charset is not UTF-8 (`en_US.ISO-8859-1`), start again in Python's
    UTF-8 mode, before anything else is done.

    git's names are bytes, which the store keeps as UTF-8 text (gitext/git/names.py); Python
    turns that text back into file names, and prints it, in the locale's charset, which cannot
    spell most of them: `漢字.py` in a work tree, or the `…` of a help text, crashed every
    command that met it, and the hooks' worker too (QA round 24c: 04). In UTF-8 mode a name is
    its UTF-8 bytes again whatever the locale, and output is UTF-8, as git prints the messages
    and names it keeps (the terminal may show a character it cannot draw wrongly; nothing
    fails). One place for the whole process, rather than each open and print: the store's
    names are UTF-8 by design, and a call missed would be the next crash.

    A UTF-8 locale, and C or POSIX (where Python is in UTF-8 mode already), pay one attribute
    test: the hooks' path stays as fast. Elsewhere the cost is one more interpreter start-up.
    Our own child processes (the worker, the query server) are started with `-X utf8`.
    """
    if sys.flags.utf8_mode or sys.getfilesystemencoding() == "utf-8" or not sys.executable:
        return
    import contextlib

    # Failing that, run as we are: only names outside the locale's charset fail.
    with contextlib.suppress(OSError):
        os.execv(sys.executable, [sys.executable, "-X", "utf8", *sys.orig_argv[1:]])


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        # Ctrl-C while the command's modules still load, before the CLI's own error boundary
        # (gitext.cli.app `run`) is up: the same one line and status as after, not a traceback
        # (QA round 25b, noted).
        print("aborted", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    if argv is None:
        _in_utf8_mode()
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["hook"]:
        from gitext.hooks.entry import run_hook

        return run_hook(args[1:])
    from gitext.cli.gitdir import with_git_env
    from gitext.cli.stdout import OutputError, guard_stdout, output_failed

    if argv is None:
        guard_stdout()
    args = with_git_env(args)
    from gitext.serve import SERVED

    query = bool(SERVED & set(args[:3]))  # `[-C DIR] search …`; the client checks exactly
    if query:
        from gitext.serve.client import served

        try:
            code = served(args)
        except OutputError as exc:
            print(f"error: {output_failed(exc)}", file=sys.stderr)
            return 1
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
