"""The one place where exceptions become exit codes: 1/2 for user errors, 3 for bugs, 130 ^C."""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

import click

from gitext.errors import AircherError


def report_error(exc: AircherError) -> int:
    print(f"error: {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"hint: {exc.hint}", file=sys.stderr)
    return exc.exit_code


def report_usage(exc: click.UsageError) -> int:
    """click's usage errors in the same two lines as ours.

    The hint names ``-h``, not ``--help``: under git, ``git aircher … --help`` opens the manual
    page instead of reaching us.
    """
    if isinstance(exc, click.exceptions.NoArgsIsHelpError) and exc.ctx is not None:
        # A group without its subcommand, as `git worktree` alone: the usage, which lists the
        # subcommands, on stderr, not an "error:" line wrapped around a whole help page.
        print(exc.ctx.get_help(), file=sys.stderr)
        return exc.exit_code
    message = exc.format_message().rstrip(".")
    print(f"error: {message[:1].lower()}{message[1:]}", file=sys.stderr)
    ctx = exc.ctx or _parsing(exc)
    path = ctx.command_path if ctx is not None else "git aircher"
    print(f"hint: `{path} -h` shows the usage", file=sys.stderr)
    return exc.exit_code


def _parsing(exc: click.UsageError) -> click.Context | None:
    """The context of the command whose arguments click was parsing when it raised ``exc``:
    the innermost frame's ``ctx`` (``Command.parse_args``'s). click leaves the context out of a
    few of its usage errors (an option without its value, `search foo --top`), whose hint then
    named the top-level help, which lists none of that command's options (QA round 24c: 08)."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        ctx = tb.tb_frame.f_locals.get("ctx")
        if isinstance(ctx, click.Context):
            found = ctx
        tb = tb.tb_next
    return found


def report_bug(exc: BaseException, log_dirs: list[Path]) -> int:
    path = write_crash_log(exc, log_dirs)
    where = f"; details in {path}" if path else ""
    print(f"error: unexpected {type(exc).__name__}: {exc}{where}", file=sys.stderr)
    return 3


def write_crash_log(exc: BaseException, log_dirs: list[Path]) -> Path | None:
    text = "".join(traceback.format_exception(exc))
    stamp = time.strftime("%Y%m%dT%H%M%S")
    for folder in [*log_dirs, Path(tempfile.gettempdir())]:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"crash-{stamp}-{os.getpid()}.log"
            path.write_text(f"argv: {sys.argv!r}\n{text}", "utf-8")
            return path
        except OSError:
            continue
    return None
