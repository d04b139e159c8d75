"""What the CLI takes from the environment; the library below receives it as arguments."""

from __future__ import annotations

import os
from pathlib import Path

from gitext import clock
from gitext.errors import UsageError


def working_directory() -> Path:
    """The directory the command was started in.

    One removed under the shell (`git worktree remove --force` of the worktree an agent sits
    in) has no path to give: that is a place the command cannot run, as git says ("Unable to
    read current working directory"), not a bug with a crash log per call (QA round 25d: 03).
    """
    try:
        return Path.cwd()
    except FileNotFoundError:
        raise UsageError("cannot read the current directory: it no longer exists",
                         hint="cd to a directory that exists; was its worktree removed?"
                         ) from None


def global_root() -> Path:
    override = os.environ.get("AIRCHER_HOME")
    if override:
        return Path(override).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_config_dir("aircher", appauthor=False))


def apply_clock() -> None:
    """AIRCHER_NOW (epoch seconds) pins the clock: tests of retention and scheduling use it."""
    value = os.environ.get("AIRCHER_NOW")
    if not value:
        return
    try:
        seconds = float(value)
    except ValueError:
        raise UsageError(f"AIRCHER_NOW must be epoch seconds, got {value!r}") from None
    # float() takes nan, inf and 1e20: each crashed the first timestamp a command wrote.
    if not clock.representable(seconds):
        raise UsageError(
            f"AIRCHER_NOW must be epoch seconds from the year 1 to the start of 9999,"
            f" got {value!r}",
            hint=f"from {clock.FIRST_EPOCH:.0f} to {clock.LAST_EPOCH:.0f}",
        )
    clock.set_now(seconds)


def skip_hooks() -> bool:
    return os.environ.get("AIRCHER_SKIP", "") not in ("", "0")
