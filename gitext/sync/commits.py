"""Commits into `commits` and `file_changes`: the history the relevance scores are made of."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path, PurePosixPath

from gitext import clock
from gitext.git.history import Change, CommitMeta, commit_changes, commit_meta
from gitext.git.objects import read_files
from gitext.ids import derived_id
from gitext.index.languages import count_lines, is_binary
from gitext.index.secrets import redact_text
from gitext.store.pool import Database
from gitext.sync.files import ensure_paths, file_id

# git's default merge message (`fmt-merge-msg`): "Merge branch 'x'", an octopus's "Merge
# branches 'a', 'b' and 'c'", kinds side by side ("Merge branch 'a', remote-tracking branch
# 'origin/b'"), then " into y" or " of <url>", which no kind's list reaches.
_KIND = re.compile(r"(?:^|, )(?P<kind>remote-tracking branch(?:es)?|branch(?:es)?|tags?|commits?)"
                   r" (?P<names>'[^']*'(?:(?:, | and )'[^']*')*)")
_NAME = re.compile(r"'([^']*)'")


def change_type(ch: Change) -> str:
    if ch.status == "A" or ch.status == "C":
        return "created"
    if ch.status == "D":
        return "deleted"
    if ch.status == "R" and ch.old_path is not None:
        same_dir = PurePosixPath(ch.old_path).parent == PurePosixPath(ch.path).parent
        return "renamed" if same_dir else "moved"
    return "modified"


def change_id(commit: str, ch: Change) -> str:
    return derived_id("file_change", commit, ch.path, ch.old_path or "")


def known(conn: sqlite3.Connection, shas: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(shas), 500):
        part = shas[i : i + 500]
        marks = ",".join("?" * len(part))
        found.update(r[0] for r in conn.execute(
            f"SELECT sha FROM commits WHERE sha IN ({marks})", part))
    return found


def read_commits(
    root: Path, shas: list[str], listed: tuple[str, list[Change]] | None = None,
    boundary: frozenset[str] = frozenset(), *, blobs: bool = True,
) -> list[CommitMeta]:
    """Metadata and changes (merges against their first parent), oldest first as given.

    A root commit's changes come without line counts (`count_root_lines` adds them): its
    `--numstat` makes git read every blob of the first tree, which the file index reads anyway,
    and took 2 s of a 50,000-file first index. `listed` is (a commit, its whole tree as added
    files) when the caller has listed it already: a root commit's changes are exactly that.
    `boundary`: a shallow clone's cut commits (`shallow_boundary`). git shows them as roots;
    read as roots, they would say every file of their tree was created there. They are kept
    `grafted`, with no changes, until a fetch deepens the clone (`sync.shallow`).
    `blobs` off (a partial clone): no line counts and only unchanged moves as renames, so git
    fetches nothing from the remote (`commit_changes`).
    """
    metas = commit_meta(root, shas)
    for sha in boundary.intersection(metas):
        metas[sha].grafted = not metas[sha].parents
    pairs = [(s, metas[s].parents[0] if metas[s].parents else None) for s in shas
             if s in metas and not metas[s].grafted]
    if listed is not None and listed[0] in metas and metas[listed[0]].grafted:
        listed = None
    changes: dict[str, list[Change]] = {}
    if listed is not None and listed[0] in metas and not metas[listed[0]].parents:
        changes[listed[0]] = listed[1]
    changes.update(commit_changes(root, [p for p in pairs if p[1] is not None], blobs=blobs))
    changes.update(commit_changes(
        root, [p for p in pairs if p[1] is None and p[0] not in changes], numstat=False,
        blobs=blobs))
    out = []
    for sha in shas:
        meta = metas.get(sha)
        if meta is None:
            continue
        meta.changes = [c for c in changes.get(sha, []) if c.new_mode != "160000"
                        and c.old_mode != "160000"]
        out.append(meta)
    return out


def count_root_lines(root: Path, commits: list[CommitMeta], known: dict[str, int], *,
                     read: bool = True) -> None:
    """Lines added by each root commit's files (`--numstat`'s figure: a binary file adds none);
    `known` maps blob ids already read to their line counts; without `read`, only those."""
    todo = [ch for c in commits if not c.parents for ch in c.changes if ch.new_blob]
    missing = [(ch.path, ch.new_blob) for ch in todo if ch.new_blob not in known and read]
    found = dict(known)
    for blob, data in read_files(root, [(p, b) for p, b in missing if b]):
        found[blob] = 0 if data is None or is_binary(data) else count_lines(data)
    for ch in todo:
        ch.added = found.get(ch.new_blob or "", 0)


def ingest(
    db: Database, conn: sqlite3.Connection, project_id: str, worktree: str,
    commits: list[CommitMeta], known_paths: set[str], *, mark: bool = True,
) -> set[str]:
    """Rows for these commits; returns the file ids whose history changed, marked stale for
    relevance unless `mark` is off (a first listing has every score computed anyway)."""
    # Paths history names that no worktree has any more still need a row to hang changes on.
    paths = {p for c in commits for ch in c.changes for p in (ch.path, ch.old_path) if p}
    ensure_paths(db, conn, project_id, paths - known_paths, worktree)
    db.executemany(
        conn,
        "INSERT OR IGNORE INTO commits (sha, first_parent, parents, author_name, author_email,"
        " authored_at, committed_at, message, synced_at, grafted)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (c.sha, c.parents[0] if c.parents else None, " ".join(c.parents), c.author_name,
             c.author_email, clock.to_ts(c.authored_at), clock.to_ts(c.committed_at),
             redact_text(c.message),
             clock.now(), int(c.grafted))
            for c in commits
        ),
    )
    touched: set[str] = set()
    rows = []
    for c in commits:
        when = clock.to_ts(c.committed_at)
        for ch in c.changes:
            fid = file_id(project_id, ch.path)
            touched.add(fid)
            rows.append((
                change_id(c.sha, ch), fid, change_type(ch), ch.old_path or ch.path, ch.path,
                ch.old_blob, ch.new_blob, when, ch.added + ch.removed, c.sha,
            ))
    db.executemany(
        conn,
        "INSERT OR IGNORE INTO file_changes (id, file_id, change_type, old_path, new_path,"
        " old_hash, new_hash, changed_at, change_size, git_commit)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    if mark:
        now = clock.now()
        db.executemany(
            conn, "INSERT OR REPLACE INTO relevance_dirty (file_id, marked_at) VALUES (?, ?)",
            ((f, now) for f in touched),
        )
    return touched


def merged_branches(message: str) -> list[str]:
    """The branches a merge commit's default message names ("Merge branch 'x' into y"; all of
    an octopus's, "Merge branches 'a' and 'b'": before, none of them, QA round 26b: 03); no tag
    or commit."""
    line = message.split("\n", 1)[0]
    if not line.startswith("Merge "):
        return []
    names: list[str] = []
    for kind in _KIND.finditer(line[len("Merge "):]):
        if "branch" in kind.group("kind"):
            names += [n for n in _NAME.findall(kind.group("names")) if n and n not in names]
    return names
