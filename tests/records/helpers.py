"""Shared set-up for record and insight tests: an initialised store whose hooks stay quiet
(no hooks installed, AIRCHER_SKIP set), so no background worker writes while a test counts."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from gitext.init import init_project
from gitext.project import Project
from tests.conftest import open_project


def init(root: Path) -> Project:
    """A store without hooks and without the background worker init would start: a worker
    running the insights refresh behind a test's back makes its counts move."""
    project = open_project(root)
    init_project(project, hooks=False)
    return project


def count(project: Project, db: str, table: str) -> int:
    with project.db(db).read() as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def rows(project: Project, db: str, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
    with project.db(db).read() as conn:
        return conn.execute(sql, params).fetchall()


def shape(value: Any) -> Any:
    """The structure of a JSON value: dict keys recursively, a list by its first item."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None


# Values whose inside is free-form JSON (evidence, per-context maps): only their presence counts.
FREE_FORM = frozenset({"evidence", "cross_context_effectiveness", "preferences", "holds",
                       "metadata"})


def same_shape(documented: Any, actual: Any, path: str = "$") -> None:
    """Every documented key is present (and no undocumented one), recursively."""
    if isinstance(documented, dict):
        assert isinstance(actual, dict), f"{path}: expected an object"
        assert set(documented) == set(actual), (
            f"{path}: documented {sorted(documented)} != actual {sorted(actual)}")
        for key in documented:
            if key not in FREE_FORM:
                same_shape(documented[key], actual[key], f"{path}.{key}")
    elif isinstance(documented, list) and documented and isinstance(documented[0], dict):
        assert isinstance(actual, list), f"{path}: expected a list"
        for item in actual:
            same_shape(documented[0], item, f"{path}[]")
