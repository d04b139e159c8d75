"""project_decisions: architectural choices, made in a context, superseded or reverted later.

Status moves one way: 'active' -> 'superseded' (by another decision) or 'reverted'. A
decision that leaves 'active' takes back the advice `context transfer` gave other contexts to
follow it (`withdraw_advice`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from gitext import clock
from gitext.errors import UsageError
from gitext.ids import new_id
from gitext.project import Project
from gitext.records import values as v
from gitext.records.current import current_ids
from gitext.records.lookup import record_id

STATUSES = ("active", "superseded", "reverted")


@dataclass(frozen=True)
class Decision:
    id: str
    decision_type: str
    title: str
    description: str | None
    rationale: str | None
    alternatives_considered: Any
    impact_assessment: str | None
    made_at: str
    status: str
    tags: Any
    context_id: str | None
    superseded_by: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Decision:
        return cls(
            row["id"], row["decision_type"], row["title"], row["description"], row["rationale"],
            v.load(row["alternatives_considered"]), row["impact_assessment"], row["made_at"],
            row["status"], v.load(row["tags"]), row["context_id"], row["superseded_by"],
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def add_decision(
    project: Project,
    decision_type: str,
    title: str,
    *,
    description: str | None = None,
    rationale: str | None = None,
    alternatives: Sequence[Any] | None = None,
    impact: str | None = None,
    tags: Sequence[str] | None = None,
    context_id: str | None = None,
) -> Decision:
    """A new active decision, made in `context_id` (default: the current branch context)."""
    dtype = v.req_text(decision_type, "decision_type", max_len=200)
    title = v.req_text(title, "title", max_len=1000)
    description = v.text(description, "description")
    rationale = v.text(rationale, "rationale")
    impact = v.text(impact, "impact_assessment")
    alts = v.dump(list(alternatives) if alternatives is not None else None,
                  "alternatives_considered")
    tag_text = v.dump(v.str_list(list(tags) if tags is not None else None, "tags") or None,
                      "tags")
    if context_id is None:
        context_id = current_ids(project).branch_context.id
    did = new_id()
    with project.db("knowledge").write() as conn:
        if conn.execute("SELECT 1 FROM contexts WHERE id = ?", (context_id,)).fetchone() is None:
            raise UsageError(f"no context {context_id!r}")
        conn.execute(
            "INSERT INTO project_decisions (id, decision_type, title, description, rationale,"
            " alternatives_considered, impact_assessment, made_at, status, tags, context_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)",
            (did, dtype, title, description, rationale, alts, impact, clock.now(), tag_text,
             context_id),
        )
        row = conn.execute("SELECT * FROM project_decisions WHERE id = ?", (did,)).fetchone()
    return Decision.from_row(row)


def _resolve(conn: sqlite3.Connection, id_or_prefix: str) -> sqlite3.Row:
    did = record_id(conn, "project_decisions", "decision", id_or_prefix,
                    "`git aircher decision list --status all` shows them")
    row: sqlite3.Row = conn.execute(
        "SELECT * FROM project_decisions WHERE id = ?", (did,)).fetchone()
    return row


def _advised(evidence: Any) -> str | None:
    """The decision an insight's evidence advises: its own (a transfer's 'best_practice'), or,
    through copies a later transfer passed on, the one its original advised."""
    while isinstance(evidence, dict):
        if evidence.get("kind") == "decision":
            did = evidence.get("decision_id")
            return did if isinstance(did, str) else None
        if evidence.get("kind") != "insight":
            return None
        evidence = evidence.get("evidence")
    return None


def withdraw_advice(conn: sqlite3.Connection) -> int:
    """Delete the insights advising a decision that is no longer active (superseded, reverted,
    gone), copies passed on to other contexts too; returns how many. ``conn`` writes
    knowledge.db. Before, such advice stayed at confidence 0.9 on every branch a transfer or a
    merge had given it to, so an agent there followed a decision its own branch had given up
    (QA round 26c: 01)."""
    active = {r[0] for r in conn.execute(
        "SELECT id FROM project_decisions WHERE status = 'active'")}
    gone = [(r[0],) for r in conn.execute(
        "SELECT id, evidence FROM cross_context_insights WHERE evidence LIKE '%decision_id%'")
        if (did := _advised(v.load(r[1]))) is not None and did not in active]
    conn.executemany("DELETE FROM cross_context_insights WHERE id = ?", gone)
    return len(gone)


def get_decision(project: Project, id_or_prefix: str) -> Decision:
    with project.db("knowledge").read() as conn:
        return Decision.from_row(_resolve(conn, id_or_prefix))


def supersede_decision(project: Project, decision_id: str, *, by: str | None = None) -> Decision:
    """Mark an active decision superseded, optionally by another (active) decision."""
    with project.db("knowledge").write() as conn:
        row = _resolve(conn, decision_id)
        if row["status"] != "active":
            raise UsageError(f"decision {row['id']} is {row['status']}, not active")
        new = None
        if by is not None:
            new_row = _resolve(conn, by)
            if new_row["id"] == row["id"]:
                raise UsageError("a decision cannot supersede itself")
            # Only an active decision can be the one in force: a superseded or reverted one
            # would leave no active decision and, pointing back, a superseded_by cycle.
            if new_row["status"] != "active":
                raise UsageError(
                    f"decision {new_row['id']} is {new_row['status']}, not active: "
                    "it cannot supersede another")
            new = new_row["id"]
        conn.execute(
            "UPDATE project_decisions SET status = 'superseded', superseded_by = ? WHERE id = ?",
            (new, row["id"]),
        )
        withdraw_advice(conn)
        out = conn.execute("SELECT * FROM project_decisions WHERE id = ?", (row["id"],)).fetchone()
    return Decision.from_row(out)


def revert_decision(project: Project, decision_id: str) -> Decision:
    """Mark an active decision reverted."""
    with project.db("knowledge").write() as conn:
        row = _resolve(conn, decision_id)
        if row["status"] != "active":
            raise UsageError(f"decision {row['id']} is {row['status']}, not active")
        conn.execute("UPDATE project_decisions SET status = 'reverted' WHERE id = ?", (row["id"],))
        withdraw_advice(conn)
        out = conn.execute("SELECT * FROM project_decisions WHERE id = ?", (row["id"],)).fetchone()
    return Decision.from_row(out)


def list_decisions(
    project: Project,
    *,
    status: str | None = "active",
    context_ids: Sequence[str] | None = None,
    decision_type: str | None = None,
    limit: int | None = 100,
) -> list[Decision]:
    """Newest first. `context_ids` restricts to decisions made there (None: every context)."""
    where: list[str] = []
    params: list[Any] = []
    if status is not None:
        where.append("status = ?")
        params.append(v.choice(status, "status", STATUSES))
    if context_ids is not None:
        if not context_ids:
            return []
        where.append(f"context_id IN ({','.join('?' * len(context_ids))})")
        params.extend(context_ids)
    if decision_type is not None:
        where.append("decision_type = ?")
        params.append(decision_type)
    sql, params = v.filtered("SELECT * FROM project_decisions", where, params,
                             v.newest_first("made_at"), limit)
    with project.db("knowledge").read() as conn:
        rows = conn.execute(sql, params).fetchall()
    return [Decision.from_row(r) for r in rows]
