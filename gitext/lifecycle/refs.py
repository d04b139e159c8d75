"""References SQLite cannot enforce: ids that cross databases, and rows that name files.

Checked: messages/conversations.project_id, conversations.worktree_id, sessions.context_id,
context_relevance_feedback.context_id and file_relevance_scores.context_id against knowledge.db
(not file_access_patterns.context_id: rows recorded before feedback named a context hold a
conversation's id there, and count everywhere); message_attachments.content_hash against
files under content/attachments (any file named by the hash, with or without an extension, also
in hash-prefix folders); embedding vectors under content/embeddings.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gitext.lifecycle.dbfiles import ARCHIVE_DB, raw_connect
from gitext.lifecycle.loss import archive_lost
from gitext.project import Project

if TYPE_CHECKING:
    from gitext.lifecycle.findings import Finding


@dataclass(frozen=True)
class RefRule:
    db: str
    table: str
    column: str
    targets: str  # which knowledge.db ids count: "contexts" or "worktrees"
    derived: bool  # the row is computed data: repair deletes it; user data is only unlinked


RULES = (
    RefRule("conversations", "conversations", "project_id", "contexts", False),
    RefRule("conversations", "messages", "project_id", "contexts", False),
    RefRule("conversations", "conversations", "worktree_id", "worktrees", False),
    RefRule("sessions", "sessions", "context_id", "contexts", False),
    RefRule("knowledge", "context_relevance_feedback", "context_id", "contexts", False),
    RefRule("file_index", "file_relevance_scores", "context_id", "contexts", True),
)


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = raw_connect(path)
    try:
        return [tuple(r) for r in conn.execute(sql).fetchall()]
    finally:
        conn.close()


def known_ids(project: Project) -> dict[str, set[str]]:
    """Ids (and, for worktrees, names: a worktree_id may hold a branch) knowledge.db knows."""
    path = project.layout.db("knowledge")
    contexts = {str(r[0]) for r in _rows(path, "SELECT id FROM contexts")}
    worktrees = {str(v) for r in _rows(path, "SELECT id, branch_name FROM worktrees") for v in r}
    names = {str(r[0]) for r in _rows(path, "SELECT name FROM contexts")}
    return {"contexts": contexts, "worktrees": worktrees | contexts | names}


def orphans(project: Project, sound: set[str]) -> dict[RefRule, list[str]]:
    """Values of each rule's column that point at nothing, per rule (only sound databases)."""
    if "knowledge" not in sound:
        return {}
    ids = known_ids(project)
    found: dict[RefRule, list[str]] = {}
    for rule in RULES:
        if rule.db not in sound:
            continue
        values = _rows(
            project.layout.db(rule.db),
            f"SELECT DISTINCT {rule.column} FROM {rule.table} WHERE {rule.column} IS NOT NULL",
        )
        missing = sorted(str(v[0]) for v in values if str(v[0]) not in ids[rule.targets])
        if missing:
            found[rule] = missing
    return found


def attachment_names(folder: Path) -> set[str]:
    names: set[str] = set()
    for parent, _dirs, files in os.walk(folder):
        shard = Path(parent).name
        for name in files:
            stem = name.split(".", 1)[0]
            names.update((name, stem, shard + stem))
    return names


def missing_attachments(project: Project, sound: set[str]) -> dict[str, list[str]]:
    """content_hash values of message_attachments with no file, per database."""
    have = attachment_names(project.layout.attachments)
    out: dict[str, list[str]] = {}
    for db in ("conversations", ARCHIVE_DB):
        path = project.layout.db(db)
        if db not in sound or not path.exists():
            continue
        hashes = {str(r[0]) for r in _rows(
            path, "SELECT DISTINCT content_hash FROM message_attachments"
            " WHERE content_hash IS NOT NULL AND content_hash != ''")}
        missing = sorted(h for h in hashes if h not in have)
        if missing:
            out[db] = missing
    return out


def unreferenced_attachments(project: Project, sound: set[str]) -> int:
    """How many content files no attachment row, live or archived, refers to (0 unless both
    databases could be read: with one unreadable, every file could look unreferenced)."""
    from gitext.records.attachments import stored_hashes

    if "conversations" not in sound:
        return 0
    used: set[str] = set()
    for db in ("conversations", ARCHIVE_DB):
        path = project.layout.db(db)
        if db == ARCHIVE_DB and not path.exists() and not archive_lost(project):
            continue  # no archive: nothing refers from there (a lost one: not `sound`)
        if db not in sound:
            return 0
        used.update(str(r[0]) for r in _rows(
            path, "SELECT DISTINCT content_hash FROM message_attachments"
            " WHERE content_hash IS NOT NULL"))
    return len(stored_hashes(project.layout.attachments) - used)


def missing_embeddings(project: Project) -> list[str]:
    """Lines describing vectors the metadata promises but the file system lacks."""
    from gitext.search.rebuild import VECTOR_ROWS, unreadable

    path = project.layout.db("knowledge")
    lines: list[str] = []
    for (index_path,) in _rows(path, "SELECT index_path FROM search_indexes"
                                     " WHERE index_path IS NOT NULL AND index_path != ''"):
        p = Path(str(index_path))
        # An absolute path from before the store moved with its repository names the model's
        # folder at the old place: the folder of that name here is the one.
        candidates = [p, project.layout.embeddings / p.name] if p.is_absolute() else [
            project.layout.root / p, project.layout.embeddings / p]
        if not any(c.exists() for c in candidates):
            lines.append(f"search index file {index_path} is missing")
    rows = _rows(path, VECTOR_ROWS)
    for model, bad in sorted(unreadable(project.layout.embeddings, rows).items()):
        lines.append(f"{len(bad)} vector(s) of {model} cannot be read: segment missing or"
                     f" damaged (e.g. {bad[0][1]})")
    return lines


def reference_findings(project: Project, sound: set[str]) -> list[Finding]:
    from gitext.lifecycle.findings import Finding

    out: list[Finding] = []
    try:
        found = orphans(project, sound)
    except sqlite3.DatabaseError:
        found = {}
    for rule, values in found.items():
        action = "rows deleted (derived data)" if rule.derived else \
            "reported; `repair --clean` sets the reference to NULL"
        out.append(Finding(
            "orphans", "warning", rule.db,
            f"{rule.table}.{rule.column}: {len(values)} value(s) name no row of knowledge.db"
            f" (e.g. {values[0]})", action,
        ))
    for db, hashes in missing_attachments(project, sound).items():
        out.append(Finding(
            "attachments", "warning", db,
            f"{len(hashes)} attachment(s) have no file under content/attachments"
            f" (e.g. {hashes[0][:12]})",
            "reported; `repair --clean` deletes those attachment rows",
        ))
    try:
        unused = unreferenced_attachments(project, sound)
    except sqlite3.DatabaseError:
        unused = 0
    if unused:
        out.append(Finding(
            "attachment_files", "info", "conversations",
            f"{unused} attachment file(s) under content/attachments belong to no message",
            hint="weekly maintenance removes them (`git aircher maintain --weekly`)",
        ))
    if "knowledge" in sound:
        out.extend(Finding("embeddings", "warning", "knowledge", line,
                           "search index rebuilt: lost vectors computed again")
                   for line in missing_embeddings(project))
    return out


def clean_references(project: Project, *, clean: bool, dry_run: bool = False) -> dict[str, int]:
    """Derived rows with dangling references are deleted; with `clean`, user rows are unlinked
    (the column set to NULL) and attachment rows without a file deleted. Returns counts."""
    sound = {"conversations", "sessions", "file_index", "knowledge"}
    counts: dict[str, int] = {}
    for rule, values in orphans(project, sound).items():
        if not (rule.derived or clean):
            continue
        key = f"{rule.table}.{rule.column}"
        marks = ",".join("?" * len(values))
        if dry_run:
            counts[key] = len(values)
            continue
        with project.db(rule.db).write() as conn:
            if rule.derived:
                sql = f"DELETE FROM {rule.table} WHERE {rule.column} IN ({marks})"
            else:
                sql = (f"UPDATE {rule.table} SET {rule.column} = NULL"
                       f" WHERE {rule.column} IN ({marks})")
            counts[key] = conn.execute(sql, values).rowcount
    if clean:
        missing = missing_attachments(project, {"conversations"}).get("conversations", [])
        if missing and not dry_run:
            with project.db("conversations").write() as conn:
                marks = ",".join("?" * len(missing))
                counts["message_attachments"] = conn.execute(
                    f"DELETE FROM message_attachments WHERE content_hash IN ({marks})", missing
                ).rowcount
        elif missing:
            counts["message_attachments"] = len(missing)
    return counts
