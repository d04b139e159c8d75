"""Which HEAD each worktree's last full search update covered (`run/indexed-*`).

A query compares its view's HEAD with the stamp to know whether the index holds what HEAD has;
the stamp also names the embedding settings and tokenizer, so changing them counts as behind.
"""

from __future__ import annotations

import os
from pathlib import Path

from gitext.folders import store_folder
from gitext.project import Project


def view_token(project: Project, root: Path) -> int | None:
    """Changes with every sync of this worktree's view (`sync_state.view_token`)."""
    with project.db("file_index").read() as conn:
        row = conn.execute("SELECT view_token FROM sync_state WHERE worktree_path = ?",
                           (str(root),)).fetchone()
    return row[0] if row else None


def stamp_path(project: Project, root: Path) -> Path:
    return project.layout.run_file("indexed", root)


def indexed_head(project: Project, root: Path) -> str | None:
    """The HEAD whose files the last full update of this worktree indexed (None: unknown, or
    indexed for other embedding settings)."""
    try:
        lines = stamp_path(project, root).read_text().split("\n")
    except OSError:
        return None
    head = lines[0].strip()
    vectors = lines[1].strip() if len(lines) > 1 else None
    return head if head and vectors == vectors_stamp(project) else None


def vectors_stamp(project: Project) -> str:
    """The vectors a full update makes: the embedding model, or "-" with embeddings off.

    Kept in the stamp beside HEAD: a view indexed while embeddings were off has no vectors,
    and turning them on (or choosing another model) moves no HEAD, so a stamp of HEAD alone
    kept every query from making them until the next commit (QA round 7: 12). A stamp without
    this line (written before) is checked once by the next query or worker pass, and so is
    one of an older tokenizer (its terms are made again: `retokenize`)."""
    from gitext.search.tokenize import VERSION

    cfg = project.config
    if not cfg.flag("storage.embeddings.enabled"):
        return f"- {VERSION}"
    return f"{cfg.text('storage.embeddings.embedding_model')} {VERSION}"


def forget_indexed(project: Project, root: Path) -> None:
    stamp_path(project, root).unlink(missing_ok=True)


def forget_all_indexed(project: Project) -> None:
    """Every worktree's stamp, those of worktrees the store no longer lists included: the index
    they vouched for was replaced (a restored backup), so the next query or worker checks it."""
    for path in project.layout.run.glob("indexed-*"):
        path.unlink(missing_ok=True)


def remember_indexed(project: Project, root: Path, head: str) -> None:
    path = stamp_path(project, root)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    store_folder(project.layout.root, path.parent)  # run/, never the store itself
    tmp.write_text(f"{head}\n{vectors_stamp(project)}\n")
    os.replace(tmp, path)
