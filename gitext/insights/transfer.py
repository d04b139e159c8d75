"""`git aircher context transfer SOURCE TARGET`: make a context's knowledge available in another.

The source's patterns, active decisions and insights each become a `cross_context_insights`
row aimed at the target ('pattern_reuse' for a pattern, 'best_practice' for a decision, the
original type for an insight), the patterns list the target among their applicable contexts,
and one `context_relationships` row of type 'knowledge_transfer' records the transfer.
Conflict warnings ('anti_pattern') are not carried: they describe two branches as git has them
now, and the insights refresh recomputes them for the target from git. Row ids
are derived from (item, target), so transferring twice writes nothing new. A decision that is
no longer active takes its advice back (records/decisions.py:withdraw_advice), wherever a
transfer took it. The post-merge hook calls this with the merged branch and the branch it was
merged into.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass
from typing import Any

from gitext import clock
from gitext.errors import UsageError
from gitext.ids import derived_id
from gitext.project import Project
from gitext.records import values as v
from gitext.records.decisions import withdraw_advice
from gitext.records.lookup import context_to_write, family
from gitext.records.patterns import min_samples


@dataclass
class TransferResult:
    source: str
    source_id: str
    target: str
    target_id: str
    relationship_id: str
    patterns: int
    decisions: int
    insights: int
    created: int  # rows new in this call (0 when repeated)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _insight(conn: sqlite3.Connection, iid: str, kind: str, source: str | None, target: str,
             description: str, evidence: dict[str, Any], confidence: float | None,
             effectiveness: float | None, now: str) -> int:
    cur = conn.execute(
        "INSERT OR IGNORE INTO cross_context_insights (id, insight_type, source_context_id,"
        " target_context_id, description, evidence, confidence_score, usage_count,"
        " effectiveness_rating, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
        (iid, kind, source, target, description, json.dumps(evidence), confidence,
         effectiveness, now),
    )
    return cur.rowcount


def transfer(project: Project, source: str, target: str) -> TransferResult:
    """Make SOURCE's patterns, decisions and insights available in TARGET (names or ids)."""
    project.require_init()
    now = clock.now()
    with project.db("knowledge").write() as conn:
        # Either may be a branch no event has met yet: made now, as the hooks would, since the
        # relationship row names both.
        src = context_to_write(project, conn, source)
        dst = context_to_write(project, conn, target)
        if src.id == dst.id:
            raise UsageError(f"{source!r} and {target!r} are the same context")
        # What earlier transfers gave for decisions given up since goes first, so it is neither
        # passed on again nor left beside what this transfer counts: advice a store kept from
        # before supersede and revert withdrew it (QA round 26c: 01).
        withdraw_advice(conn)
        ids = family(conn, src)
        marks = ",".join("?" * len(ids))
        created = 0
        least = min_samples(project)
        patterns = conn.execute(
            f"SELECT * FROM success_patterns WHERE discovered_in_context IN ({marks})", ids
        ).fetchall()
        for p in patterns:
            applicable = v.load(p["applicable_contexts"])
            applicable = list(applicable) if isinstance(applicable, list) else []
            if dst.id not in applicable:
                applicable.append(dst.id)
                conn.execute("UPDATE success_patterns SET applicable_contexts = ? WHERE id = ?",
                             (v.dump(applicable), p["id"]))
            created += _insight(
                conn, derived_id("transfer", "pattern", p["id"], dst.id), "pattern_reuse",
                src.id, dst.id, f"pattern from {src.name}: {p['description'] or p['pattern_type']}",
                {"kind": "pattern", "pattern_id": p["id"], "pattern_type": p["pattern_type"],
                 "via": "knowledge_transfer"},
                # A rating of too few uses is not passed on: insights rank by it.
                p["confidence_score"],
                p["effectiveness_rating"] if (p["usage_count"] or 0) >= least else None, now,
            )
        decisions = conn.execute(
            f"SELECT * FROM project_decisions WHERE status = 'active' AND context_id IN ({marks})",
            ids,
        ).fetchall()
        for d in decisions:
            created += _insight(
                conn, derived_id("transfer", "decision", d["id"], dst.id), "best_practice",
                src.id, dst.id, f"decision made on {src.name}: {d['title']}",
                {"kind": "decision", "decision_id": d["id"], "decision_type": d["decision_type"],
                 "rationale": d["rationale"], "via": "knowledge_transfer"},
                0.9, None, now,
            )
        insights = conn.execute(
            f"SELECT * FROM cross_context_insights WHERE target_context_id IN ({marks})"
            " AND insight_type != 'anti_pattern'"
            " AND (source_context_id IS NULL OR source_context_id != ?)",
            (*ids, dst.id),
        ).fetchall()
        for i in insights:
            created += _insight(
                conn, derived_id("transfer", "insight", i["id"], dst.id), i["insight_type"],
                i["source_context_id"] or src.id, dst.id, i["description"] or "",
                {"kind": "insight", "insight_id": i["id"], "via": src.id,
                 "evidence": v.load(i["evidence"])},
                i["confidence_score"], i["effectiveness_rating"], now,
            )
        rel_id = derived_id("relationship", src.id, dst.id, "knowledge_transfer")
        meta = {"patterns": len(patterns), "decisions": len(decisions),
                "insights": len(insights), "transferred_at": now}
        existing = conn.execute(
            "SELECT id FROM context_relationships WHERE source_context_id = ? AND"
            " target_context_id = ? AND relationship_type = 'knowledge_transfer'",
            (src.id, dst.id),
        ).fetchone()
        if existing is None:
            conn.execute(
                "INSERT INTO context_relationships (id, source_context_id, target_context_id,"
                " relationship_type, strength, created_at, metadata) VALUES (?, ?, ?,"
                " 'knowledge_transfer', 1.0, ?, ?)",
                (rel_id, src.id, dst.id, now, json.dumps(meta)),
            )
            created += 1
        else:
            rel_id = existing[0]
            # Merged into what is there: the merge that made the relationship (`via`,
            # `commit`) stays beside what this transfer carried.
            conn.execute("UPDATE context_relationships SET metadata ="
                         " json_patch(coalesce(metadata, '{}'), ?) WHERE id = ?",
                         (json.dumps(meta), rel_id))
    return TransferResult(src.name, src.id, dst.name, dst.id, rel_id, len(patterns),
                          len(decisions), len(insights), created)
