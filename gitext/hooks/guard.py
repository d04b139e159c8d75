"""The pre-commit guard: refuse a commit that would publish git-aircher's private data.

Refused when staged: anything the project store writes (its folders and ``config.toml`` under
``storage.data_dir``, ``.agents/`` by default; other files there are the project's own, such as
``.agents/skills/``; a store that is a symlink is that one entry), one of our SQLite databases,
a ``credentials.toml``, or text holding something shaped like an API key. What is checked is
the index being committed (``GIT_INDEX_FILE`` when git set one: ``git commit -a`` and
``git commit <paths>`` commit a temporary index), not the work tree.

Runs inside every `git commit`: the standard library and light gitext modules only, one
``git diff --cached`` and one ``git cat-file --batch``. A failure of the guard itself warns and
lets the commit through: a broken tool must not stop people from committing.
"""

from __future__ import annotations

import os
import posixpath
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from gitext.git.hookdir import StagedFile, caller_index_file, read_blobs, staged_files
from gitext.git.names import quoted, shell_word
from gitext.hooks.shims import PLACEHOLDER, shim_text
from gitext.index.secrets import find_secret_patterns, is_secret_path
from gitext.layout import ALL_DATABASES, STORE_ENTRIES

SQLITE_MAGIC = b"SQLite format 3\x00"
MAX_SCAN_BYTES = 1 << 20  # larger files are data or generated, and would slow every commit
_BINARY_SNIFF = 8000  # git's own look for a NUL byte covers the same first bytes
_OUR_DB_NAMES = frozenset(
    f"{name}.db{tail}" for name in ALL_DATABASES for tail in ("", "-wal", "-shm", "-journal")
)
_REGULAR_MODES = ("100644", "100755")
_TEMPLATE_MARK = PLACEHOLDER.encode()  # in git-aircher's own hooks/ templates, never in a shim
_SYMLINK_MODE = "120000"
_STORE_LINES = 5  # past this many staged store files, one line says how many
_KIND_NAMES = {
    "aws-access-key": "an AWS access key",
    "github-token": "a GitHub token",
    "openai-api-key": "an OpenAI API key",
    "anthropic-api-key": "an Anthropic API key",
    "slack-token": "a Slack token",
    "google-api-key": "a Google API key",
    "private-key": "a private key",
    "npm-token": "an npm token",
    "npm-auth": "an npm registry login",
    "pypi-token": "a PyPI token",
    "gitlab-token": "a GitLab token",
    "putty-key": "a PuTTY private key",
}


@dataclass(frozen=True)
class Finding:
    path: str
    kind: str  # store | database | credentials | secret | secret-name | shim
    detail: str
    line: int | None = None
    fatal: bool = True  # False: a warning that lets the commit through

    @property
    def where(self) -> str:
        shown = quoted(self.path)
        return shown if self.line is None else f"{shown}:{self.line}"


def store_prefix(data_dir: str, worktree: Path, main_root: Path | None = None) -> str | None:
    """The store's folder as a path inside the repository ("./.agents" -> ".agents/").

    None when the store lives outside the work tree, where git cannot stage it.
    """
    expanded = os.path.expanduser(data_dir)
    if not os.path.isabs(expanded):
        rel = posixpath.normpath(expanded.replace(os.sep, "/"))
        return None if rel in (".", "") or rel.startswith("../") else rel + "/"
    target = Path(expanded).resolve()
    for root in (worktree.resolve(), main_root):
        if root is None:
            continue
        try:
            rel = target.relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
        return rel + "/" if rel != "." else None
    return None


def store_prefix_of(worktree: Path, data_dir: str) -> str | None:
    """`store_prefix` of this repository's store, for the ``storage.data_dir`` setting."""
    from gitext.store_place import shared

    if not shared(data_dir):
        return store_prefix(data_dir, worktree)
    # A folder of stores: this repository's is one folder in it (one more git call, only here).
    from gitext.git.repo import discover
    from gitext.store_place import project_store

    info = discover(worktree)
    return store_prefix(str(project_store(data_dir, info)), worktree, info.main_root)


@dataclass(frozen=True)
class GuardResult:
    findings: list[Finding]
    store_prefix: str | None  # the store as a path in the repository, None when outside it

    @property
    def refused(self) -> bool:
        return any(f.fatal for f in self.findings)


def check_staged(
    worktree: Path,
    *,
    data_dir: str,
    index_file: str | None = None,
    only: Sequence[str] = (),
) -> GuardResult:
    """Everything wrong with what is staged in ``worktree``'s index (or ``index_file``)."""
    prefix = store_prefix_of(worktree, data_dir)
    staged = staged_files(worktree, index_file)
    if only:
        wanted = {posixpath.normpath(p) for p in only}
        staged = [f for f in staged if f.path in wanted]

    findings: list[Finding] = []
    in_store: list[str] = []
    to_read: list[StagedFile] = []
    for f in staged:
        name = posixpath.basename(f.path)
        if prefix and f.path == prefix.rstrip("/") and f.mode == _SYMLINK_MODE:
            # A store linked to another disk is this one entry to git. Committed, it hands every
            # clone on the machine the same store (QA round 22a: 03), and the link's target
            # names the user's own folders.
            findings.append(Finding(
                f.path, "store", "git-aircher's store, a link to the folder that holds it:"
                " committed, every clone on this machine would use this store"))
        elif prefix and f.path.startswith(prefix) \
                and f.path[len(prefix):].split("/", 1)[0] in STORE_ENTRIES:
            in_store.append(f.path)
        elif name in _OUR_DB_NAMES:
            findings.append(Finding(f.path, "database", "a git-aircher database"))
        elif name == "credentials.toml":
            findings.append(Finding(f.path, "credentials", "a credentials file"))
        else:
            if is_secret_path(f.path):
                findings.append(Finding(
                    f.path, "secret-name",
                    "named like a credentials file: check that it holds no secret", fatal=False,
                ))
            if f.mode in _REGULAR_MODES:
                to_read.append(f)
            # Submodules are another repository's commits; a symlink's blob is its target.
    if len(in_store) > _STORE_LINES:
        # A whole store is thousands of files: one line for all of them, not a screenful.
        findings.append(Finding(
            prefix.rstrip("/") if prefix else in_store[0], "store",
            f"{len(in_store)} staged files inside git-aircher's store ({prefix})",
        ))
    else:
        findings.extend(
            Finding(p, "store", f"inside git-aircher's store ({prefix})") for p in in_store
        )
    findings.extend(_scan_contents(worktree, to_read))
    findings.sort(key=lambda f: (f.path, f.line or 0))
    return GuardResult(findings, prefix)


def _scan_contents(worktree: Path, files: list[StagedFile]) -> list[Finding]:
    # Staged content is in the object store already (`git add` wrote it), so no index is
    # needed to read it, whichever index the commit uses.
    by_oid: dict[str, list[str]] = {}
    for f in files:
        by_oid.setdefault(f.blob, []).append(f.path)
    findings: list[Finding] = []
    for blob in read_blobs(worktree, list(by_oid), keep=MAX_SCAN_BYTES):
        paths = by_oid.get(blob.oid, [])
        if blob.head.startswith(SQLITE_MAGIC):
            findings.extend(
                Finding(p, "database", "an SQLite database") for p in paths if p.endswith(".db")
            )
            continue
        if blob.size > MAX_SCAN_BYTES or b"\0" in blob.head[:_BINARY_SNIFF]:
            continue
        if shim_text(blob.head) and _TEMPLATE_MARK not in blob.head:
            # Committed, a shim of ours runs this machine's git-aircher for everyone, and over
            # a tracked hook (husky's .husky/) the team's hook no longer runs (QA round 22c: 02).
            findings.extend(Finding(p, "shim", "a git-aircher hook shim (it holds this"
                                    " machine's paths)") for p in paths)
            continue
        text = blob.head.decode("utf-8", "replace")
        for line, kind in find_secret_patterns(text):
            for p in paths:
                findings.append(
                    Finding(p, "secret", f"looks like {_KIND_NAMES.get(kind, kind)}", line)
                )
    return findings


def hints(findings: Sequence[Finding], prefix: str | None) -> list[str]:
    """The fixes, one line each, for what ``findings`` hold."""
    fatal = [f for f in findings if f.fatal]
    if not fatal:
        return []
    out: list[str] = []
    unstage = sorted({f.path for f in fatal if f.kind not in ("secret", "shim")})
    if unstage:
        files = " ".join(shell_word(p) for p in unstage)
        out.append(f"unstage (the files stay on disk): git rm --cached -r -q -- {files}")
    shims = sorted({f.path for f in fatal if f.kind == "shim"})
    if shims:
        # Not `git rm --cached`: over a tracked hook, that would delete the team's hook.
        files = " ".join(shell_word(p) for p in shims)
        it = "it (the file stays" if len(shims) == 1 else "them (the files stay"
        out.append(f"unstage {it} on disk): git restore --staged -- {files}")
        out.append("a shim over a tracked hook: `git aircher hooks install` puts the hook back"
                   " and leaves tracked hooks alone")
    if any(f.kind == "store" for f in fatal) and prefix:
        # A trailing slash matches folders only, and a link is no folder to git.
        linked = any(f.kind == "store" and f.path == prefix.rstrip("/") for f in fatal)
        out.append(
            "keep the store out for good: `git aircher init` lists its folders in"
            f" .git/info/exclude (or list /{prefix.rstrip('/') if linked else prefix}"
            " in .gitignore)"
        )
    if any(f.kind in ("database", "credentials") for f in fatal):
        out.append("or add those names to .gitignore so they are never staged again")
    keyed = sorted({f.path for f in fatal if f.kind == "secret"})
    if keyed:
        out.append(
            "move the key into git-aircher's credentials.toml (mode 0600, never committed) or"
            " an environment variable, then stage the file again: "
            + " ".join(shell_word(p) for p in keyed)
        )
    out.append("a false alarm? AIRCHER_SKIP=1 git commit … skips this check for one commit")
    return out


def report(findings: Sequence[Finding], prefix: str | None, out: TextIO) -> None:
    for f in findings:
        label = "error" if f.fatal else "warning"
        print(f"{label}: {f.where}: {f.detail}", file=out)
    for line in hints(findings, prefix):
        print(f"hint: {line}", file=out)


def configured_data_dir(environ: Mapping[str, str]) -> tuple[str, str | None]:
    """``storage.data_dir`` from the global config and the environment, and a warning when
    that config cannot be read (the default is checked then)."""
    from gitext.cli.env import global_root
    from gitext.config import Config
    from gitext.config_keys import KEYS
    from gitext.errors import ConfigError
    from gitext.layout import GlobalLayout

    try:
        cfg = Config.load(GlobalLayout(global_root()).config, None, environ)
        return cfg.text("storage.data_dir"), None
    except ConfigError as exc:
        default = str(KEYS["storage.data_dir"].default)
        return default, f"{exc.message}; checked the default store folder {default}"


def guard_main(args: list[str]) -> int:
    """`git-aircher hook pre-commit` and `git-aircher hook guard [FILES…]`: 0 clean, 1 refused.

    FILES (as the pre-commit framework passes them) narrow the check to those staged paths.
    """
    environ = os.environ
    if environ.get("AIRCHER_SKIP", "") not in ("", "0"):
        return 0
    worktree = Path.cwd()
    try:
        data_dir, warning = configured_data_dir(environ)
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
        result = check_staged(
            worktree, data_dir=data_dir, index_file=caller_index_file(environ), only=args
        )
    except Exception as exc:  # the guard failing must not be what stops a commit
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        print(f"warning: git-aircher could not check this commit: {message}", file=sys.stderr)
        return 0
    report(result.findings, result.store_prefix, sys.stderr)
    return 1 if result.refused else 0
