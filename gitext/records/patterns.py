"""success_patterns: what worked, where it was found, and how it fares in other contexts.

cross_context_effectiveness is a JSON object keyed by context id:
`{"<context id>": {"name": "feature/x", "type": "worktree", "uses": 3, "successes": 2,
"score": 0.667}}`; effectiveness_rating is the pattern's overall success rate.

A pattern is trusted once it has `storage.lifecycle.pattern_learning_min_samples` recorded uses:
before that its rating (one success is a rate of 1.0) does not rank it; it is listed, marked.
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
from gitext.records.sessions import touch_session


@dataclass(frozen=True)
class Pattern:
    id: str
    pattern_type: str
    description: str | None
    context: Any
    success_indicators: Any
    failure_indicators: Any
    confidence_score: float | None
    usage_count: int
    last_successful: str | None
    effectiveness_rating: float | None
    discovered_in_context: str | None
    applicable_contexts: Any
    cross_context_effectiveness: Any
    trusted: bool  # usage_count has reached pattern_learning_min_samples

    @classmethod
    def from_row(cls, row: sqlite3.Row, min_samples: int) -> Pattern:
        uses = int(row["usage_count"] or 0)
        return cls(
            row["id"], row["pattern_type"], row["description"], v.load(row["context"]),
            v.load(row["success_indicators"]), v.load(row["failure_indicators"]),
            row["confidence_score"], uses, row["last_successful"],
            row["effectiveness_rating"], row["discovered_in_context"],
            v.load(row["applicable_contexts"]), v.load(row["cross_context_effectiveness"]),
            uses >= min_samples,
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def min_samples(project: Project) -> int:
    """Recorded uses before a pattern's effectiveness is trusted."""
    return project.config.integer("storage.lifecycle.pattern_learning_min_samples")


def ranking(min_uses: int, prefix: str = "") -> str:
    """ORDER BY terms: trusted ratings first, best first; then by confidence, as an unrated
    pattern is (a rating of too few uses says little, and a single success would top the list)."""
    return (f"COALESCE(CASE WHEN {prefix}usage_count >= {int(min_uses)}"
            f" THEN {prefix}effectiveness_rating END, -1) DESC,"
            f" COALESCE({prefix}confidence_score, -1) DESC, {prefix}id")


def record_pattern(
    project: Project,
    pattern_type: str,
    description: str,
    *,
    context: Any = None,
    success_indicators: Any = None,
    failure_indicators: Any = None,
    confidence: float | None = None,
    effectiveness: float | None = None,
    discovered_in_context: str | None = None,
    applicable_contexts: Sequence[str] | None = None,
) -> Pattern:
    """A new pattern, discovered in `discovered_in_context` (default: the current context)."""
    ptype = v.req_text(pattern_type, "pattern_type", max_len=200)
    desc = v.req_text(description, "description")
    conf = v.fraction(confidence, "confidence")
    rating = v.fraction(effectiveness, "effectiveness")
    session_id = None
    if discovered_in_context:
        where = discovered_in_context
    else:
        cur = current_ids(project)
        where, session_id = cur.context.id, cur.session_id
    applicable = v.str_list(list(applicable_contexts or []), "applicable_contexts") or [where]
    pid = new_id()
    with project.db("knowledge").write() as conn:
        if conn.execute("SELECT 1 FROM contexts WHERE id = ?", (where,)).fetchone() is None:
            raise UsageError(f"no context {where!r}")
        conn.execute(
            "INSERT INTO success_patterns (id, pattern_type, description, context,"
            " success_indicators, failure_indicators, confidence_score, usage_count,"
            " effectiveness_rating, discovered_in_context, applicable_contexts,"
            " cross_context_effectiveness) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)",
            (pid, ptype, desc, v.dump(context, "context"),
             v.dump(success_indicators, "success_indicators"),
             v.dump(failure_indicators, "failure_indicators"), conf, rating, where,
             v.dump(applicable), v.dump({})),
        )
        row = conn.execute("SELECT * FROM success_patterns WHERE id = ?", (pid,)).fetchone()
    touch_session(project, session_id)
    return Pattern.from_row(row, min_samples(project))


def record_pattern_outcome(
    project: Project, pattern_id: str, *, success: bool, context_id: str | None = None
) -> Pattern:
    """One use of a pattern in a context: usage, success rate overall and per context."""
    if not isinstance(success, bool):
        # Any truthy value counted a success: `success="no"` too (QA round 26c: 04).
        raise UsageError(f"success must be True or False, got {success!r}")
    ctx_id = context_id or current_ids(project).context.id
    now = clock.now()
    with project.db("knowledge").write() as conn:
        # An id or a unique prefix, as `patterns list` shows 8 characters of it.
        pattern_id = record_id(conn, "success_patterns", "pattern", pattern_id,
                               "`git aircher knowledge patterns list` shows them")
        row = conn.execute("SELECT * FROM success_patterns WHERE id = ?", (pattern_id,)).fetchone()
        ctx = conn.execute("SELECT name, context_type FROM contexts WHERE id = ?",
                           (ctx_id,)).fetchone()
        if ctx is None:
            raise UsageError(f"no context {ctx_id!r}")
        per = v.load(row["cross_context_effectiveness"])
        per = per if isinstance(per, dict) else {}
        entry = per.get(ctx_id) if isinstance(per.get(ctx_id), dict) else None
        entry = dict(entry or {"name": ctx["name"], "type": ctx["context_type"],
                               "uses": 0, "successes": 0})
        entry["uses"] = int(entry.get("uses", 0)) + 1
        entry["successes"] = int(entry.get("successes", 0)) + (1 if success else 0)
        entry["score"] = round(entry["successes"] / entry["uses"], 4)
        per[ctx_id] = entry
        uses = int(row["usage_count"] or 0) + 1
        old = row["effectiveness_rating"]
        prior = float(old) if old is not None else (1.0 if success else 0.0)
        rating = prior + ((1.0 if success else 0.0) - prior) / uses
        applicable = v.load(row["applicable_contexts"])
        applicable = list(applicable) if isinstance(applicable, list) else []
        if success and ctx_id not in applicable:
            applicable.append(ctx_id)
        conn.execute(
            "UPDATE success_patterns SET usage_count = ?, effectiveness_rating = ?,"
            " last_successful = CASE WHEN ? THEN ? ELSE last_successful END,"
            " cross_context_effectiveness = ?, applicable_contexts = ? WHERE id = ?",
            (uses, round(rating, 4), success, now, v.dump(per), v.dump(applicable), pattern_id),
        )
        out = conn.execute("SELECT * FROM success_patterns WHERE id = ?", (pattern_id,)).fetchone()
    return Pattern.from_row(out, min_samples(project))


def list_patterns(
    project: Project,
    *,
    context_ids: Sequence[str] | None = None,
    pattern_type: str | None = None,
    limit: int | None = 100,
) -> list[Pattern]:
    """Patterns discovered in, or applicable to, any of `context_ids` (None: all)."""
    where: list[str] = []
    params: list[Any] = []
    if context_ids is not None:
        if not context_ids:
            return []
        marks = ",".join("?" * len(context_ids))
        where.append(
            f"(discovered_in_context IN ({marks}) OR EXISTS (SELECT 1 FROM"
            f" json_each(CASE WHEN json_valid(applicable_contexts) THEN applicable_contexts"
            f" ELSE '[]' END) AS j WHERE j.value IN ({marks})))"
        )
        params.extend([*context_ids, *context_ids])
    if pattern_type is not None:
        where.append("pattern_type = ?")
        params.append(pattern_type)
    least = min_samples(project)
    sql, params = v.filtered("SELECT * FROM success_patterns", where, params, ranking(least),
                             limit)
    with project.db("knowledge").read() as conn:
        return [Pattern.from_row(r, least) for r in conn.execute(sql, params)]
