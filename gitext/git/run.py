"""Running the git binary: argument lists only, with an environment that cannot mislead it.

Hooks run with GIT_DIR, GIT_INDEX_FILE, GIT_WORK_TREE and friends set for the repository that
called them; a git command of ours that inherited them would address that repository whatever
``cwd`` says, so every call starts from an environment with them removed and names its
repository explicitly.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from gitext.errors import GitError

# Variables through which a caller's git points ours at a repository, index or object store.
_LOCATION_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_PREFIX",
    "GIT_NAMESPACE",
    "GIT_QUARANTINE_PATH",
    "GIT_REFLOG_ACTION",
    "GIT_EDITOR",
)
# GIT_CEILING_DIRECTORIES (and GIT_DISCOVERY_ACROSS_FILESYSTEM) stay: they point at no
# repository, they only stop git's search for one, and the user's git stopped there too. With
# them removed, `init` in a folder below a ceiling (people whose $HOME is a repository set one)
# set up a store and hooks in the repository above it (QA round 24c: 01). A ceiling is above
# the repositories it leaves alone, where our calls never look: they run at a work tree's top,
# in a git dir, or with GIT_DIR given. (One set inside a repository stops our calls from its
# subfolders, a hooks folder or `.agents/`, as it stops the user's git there.)


def clean_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    for name in _LOCATION_VARS:
        env.pop(name, None)
    env.setdefault("LC_ALL", "C")
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_OPTIONAL_LOCKS"] = "0"
    # The objects git made, never what `git replace` stands in for them: the store keys its
    # rows by those ids, and a replacement comes and goes without a hook. Read through one
    # (`git replace --graft C`), a commit was recorded as a root that created every file, and
    # nothing took those rows back once it was deleted (QA round 24d: 04).
    env["GIT_NO_REPLACE_OBJECTS"] = "1"
    return env


def git(
    args: Sequence[str],
    cwd: Path,
    *,
    input: bytes | None = None,
    check: bool = True,
    extra_env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    if not cwd.is_dir():
        raise GitError(f"no such directory: {cwd}")
    env = clean_env()
    if extra_env:
        env.update(extra_env)
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            input=input,
            capture_output=True,
            env=env,
            check=False,
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed or not on PATH") from exc
    if check and proc.returncode != 0:
        raise failure(args[0], proc.stderr, proc.returncode)
    return proc


_SHOWN_ITEMS = 5  # of the paths git lists under a message: the rest are counted


def failure(command: str, stderr: bytes, returncode: int) -> GitError:
    """git's refusal as one line and a hint: its `error:`/`fatal:` lines with the paths it
    lists under them, its advice (or `hint:` lines) as the hint. Before, only the last line
    was kept, which is often "Aborting": `git switch failed: Aborting` said neither why nor
    which file (QA round 15b: 04)."""
    causes: list[tuple[str, list[str]]] = []
    advice: list[str] = []
    hints: list[str] = []
    lines = [line.rstrip() for line in stderr.decode("utf-8", "replace").splitlines()]
    for line in lines:
        if not line.strip() or line == "Aborting":
            continue
        head, _, rest = line.partition(": ")
        if head in ("error", "fatal") and rest:
            causes.append((rest.strip(), []))
        elif head == "hint":
            if rest.strip():
                hints.append(rest.strip())
        elif line[0] in " \t" and causes:  # a path listed under the message before it
            causes[-1][1].append(line.strip())
        else:
            advice.append(line.strip())
    if not causes:
        last = (advice or [line for line in lines if line.strip()] or [str(returncode)])[-1]
        return GitError(f"git {command} failed: {last}")
    parts = []
    for text, items in causes:
        if items:
            shown = ", ".join(items[:_SHOWN_ITEMS])
            more = len(items) - _SHOWN_ITEMS
            text = f"{text} {shown}" + (f" (+{more} more)" if more > 0 else "")
        parts.append(text)
    return GitError(f"git {command} failed: {'; '.join(parts)}",
                    hint=" ".join(hints or advice) or None)


class Started:
    """A git command begun now and waited for later (`result`), so that it runs while this
    process does other work; `close` ends it if its result is never asked for."""

    def __init__(self, args: Sequence[str], cwd: Path) -> None:
        if not cwd.is_dir():
            raise GitError(f"no such directory: {cwd}")
        self.args = list(args)
        try:
            self._proc = subprocess.Popen(
                ["git", *args], cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, env=clean_env(),
            )
        except FileNotFoundError as exc:
            raise GitError("git is not installed or not on PATH") from exc

    def result(self, *, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        """What `git(args, cwd, check=check)` would have returned (or raised)."""
        out, err = self._proc.communicate()
        proc = subprocess.CompletedProcess(["git", *self.args], self._proc.returncode, out, err)
        if check and proc.returncode != 0:
            raise failure(self.args[0], err, proc.returncode)
        return proc

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.communicate()


def git_out(args: Sequence[str], cwd: Path, *, check: bool = True) -> str:
    return git(args, cwd, check=check).stdout.decode("utf-8", "surrogateescape")


def answer_lines(out: bytes) -> list[str]:
    """git's answers, one per line, as `rev-parse` prints them: each ends with "\n" and none
    is quoted, so "\n" alone splits (splitlines() would also cut a path at a "\r"). A path
    that holds a newline spans lines: callers that may meet one count the lines."""
    return out.decode("utf-8", "surrogateescape").split("\n")[:-1]
