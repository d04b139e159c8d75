"""Insights from git and the store, with no model: what the background worker refreshes.

- 'similar_task' relationships (and 'similar_solution' insights both ways) between branch
  contexts whose conversations and commit messages are alike (TF-IDF cosine);
- 'shared_pattern' relationships between branches on which the same files change together,
  and a 'co_change' success pattern per such pair of files;
- 'anti_pattern' insights both ways when two active branch contexts modified the same files
  since their merge base (confidence 0.9 when `git merge-tree` predicts a conflict).

Every generated row carries `"generator": "refresh"` in its evidence or metadata JSON; a refresh
rewrites only rows whose values moved and deletes its own rows that no longer hold, so a second
refresh with nothing new writes nothing. All reading and git work happens before the writes;
each kind is written in its own short transaction.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from typing import Any

from gitext.contexts import Context, project_context
from gitext.git import compare as gc
from gitext.ids import derived_id
from gitext.index.secrets import redact_text
from gitext.insights import text
from gitext.insights.patterns import BranchWork, co_changes
from gitext.project import Project
from gitext.records import values as v

MAX_CONTEXTS = 30
COMMITS_PER_BRANCH = 200
SIMILAR_MIN = 0.2  # cosine from which two contexts are 'similar_task'
SOLUTION_MIN = 0.3  # and from which each gets a 'similar_solution' insight
CONVERSATION_CHARS = 4000
GENERATOR = "refresh"
_MINE = "CASE WHEN json_valid({0}) THEN json_extract({0}, '$.generator') END = 'refresh'"


def _branches(project: Project) -> list[BranchWork]:
    root = project.repo.root
    live = gc.local_branches(root)
    with project.db("knowledge").read() as conn:
        proj = project_context(conn)
        if proj is None:
            return []
        rows = conn.execute(
            "SELECT * FROM contexts WHERE context_type = 'worktree' AND parent_context_id = ?"
            " AND status = 'active' AND git_branch IS NOT NULL"
            " ORDER BY last_active DESC, name LIMIT ?", (proj.id, MAX_CONTEXTS)
        ).fetchall()
    work = []
    for row in sorted(rows, key=lambda r: r["name"]):
        ctx = Context.from_row(row)
        branch = ctx.git_branch or ""
        if branch not in live:
            continue
        commits = gc.log(root, [live[branch]], limit=COMMITS_PER_BRANCH, with_files=True,
                         exclude_branches_except=branch)
        work.append(BranchWork(ctx, live[branch], commits))
    return work


def _documents(project: Project, branches: list[BranchWork]) -> dict[str, list[str]]:
    docs: dict[str, list[str]] = {}
    with project.db("knowledge").read() as kconn:
        kids = {
            b.ctx.id: [b.ctx.id] + [r[0] for r in kconn.execute(
                "SELECT id FROM contexts WHERE parent_context_id = ?", (b.ctx.id,))]
            for b in branches
        }
    with project.db("conversations").read() as conn:
        for b in branches:
            # Redacted as the store keeps commit messages: the terms two branches share are
            # stored with the relationship, and a key in shared history is shared by both.
            parts = [redact_text(f"{c.subject}\n{c.body}") for c in b.commits]
            ids = kids[b.ctx.id]
            rows = conn.execute(
                "SELECT c.title, substr(m.content, 1, ?), length(m.content) > ?"
                " FROM conversations c"
                " LEFT JOIN messages m ON m.conversation_id = c.id AND m.role IN ('user',"
                " 'assistant') WHERE c.context_id IN"
                f" ({','.join('?' * len(ids))}) ORDER BY c.updated_at DESC LIMIT 500",
                (CONVERSATION_CHARS, CONVERSATION_CHARS, *ids),
            ).fetchall()
            # Conversations too (titles and messages): a key said on both branches would be a
            # shared term. Redacted before tokenizing, which lower-cases what the patterns need.
            titles = {redact_text(r[0]) for r in rows if r[0]}
            parts += sorted(titles) + [_message_text(r[1], bool(r[2])) for r in rows if r[1]]
            docs[b.ctx.id] = text.tokens("\n".join(parts))
    return docs


def _message_text(head: str, cut: bool) -> str:
    """A message's first CONVERSATION_CHARS, redacted. Where the cut falls inside a word, the
    word is dropped: half a key no longer has a key's shape, and would be kept."""
    if cut and not head[-1].isspace():
        kept = head.rsplit(None, 1)
        head = kept[0] if len(kept) == 2 else ""
    return redact_text(head)


def _similar(project: Project, branches: list[BranchWork]) -> tuple[list[Any], list[Any]]:
    docs = _documents(project, branches)
    vectors = text.tfidf(docs)
    rels, insights = [], []
    for a, b in itertools.combinations(branches, 2):
        sim = text.cosine(vectors[a.ctx.id], vectors[b.ctx.id])
        if sim < SIMILAR_MIN:
            continue
        terms = text.shared_terms(vectors[a.ctx.id], vectors[b.ctx.id])
        meta = {"generator": GENERATOR, "shared_terms": terms}
        rels.append((a.ctx.id, b.ctx.id, round(sim, 4), meta))
        if sim >= SOLUTION_MIN:
            for src, dst in ((a, b), (b, a)):
                insights.append((
                    derived_id("insight", "similar_solution", src.ctx.id, dst.ctx.id),
                    src.ctx.id, dst.ctx.id,
                    f"{src.ctx.name} worked on something similar ({', '.join(terms[:4])})",
                    {"generator": GENERATOR, "similarity": round(sim, 4),
                     "shared_terms": terms},
                    round(sim, 4),
                ))
    return rels, insights


def _shared(branches: list[BranchWork]) -> tuple[list[Any], list[Any]]:
    found = co_changes(branches)
    names = {b.ctx.id: b.ctx.name for b in branches}
    patterns = []
    by_pair: dict[tuple[str, str], list[list[str]]] = {}
    for cc in found:
        conf = round(min(0.95, 0.5 + 0.15 * (len(cc.branches) - 1)), 4)
        per = {c: {"name": names[c], "type": "worktree", "commits": n}
               for c, n in cc.commits.items()}
        patterns.append((
            derived_id("co-change", *cc.files), f"{cc.files[0]} and {cc.files[1]} change"
            f" together (on {len(cc.branches)} branches)",
            {"generator": GENERATOR, "files": list(cc.files)}, conf, cc.branches[0],
            list(cc.branches), per,
        ))
        for a, b in itertools.combinations(sorted(cc.branches, key=lambda c: names[c]), 2):
            by_pair.setdefault((a, b), []).append(list(cc.files))
    rels = []
    for (a, b), pairs in sorted(by_pair.items()):
        strength = round(min(1.0, len(pairs) / 5), 4)
        rels.append((a, b, strength, {"generator": GENERATOR, "pairs": pairs[:10]}))
    return rels, patterns


def _anti(project: Project, branches: list[BranchWork]) -> list[Any]:
    root = project.repo.root
    out = []
    changed: dict[tuple[str, str], set[str]] = {}  # branches forked together share a base

    def since(base: str, commit: str) -> set[str]:
        if (base, commit) not in changed:
            changed[base, commit] = gc.changed_files(root, base, commit)
        return changed[base, commit]

    for a, b in itertools.combinations(branches, 2):
        base = gc.merge_base(root, a.commit, b.commit)
        if base is None or base in (a.commit, b.commit):
            continue
        both = sorted(since(base, a.commit) & since(base, b.commit))
        if not both:
            continue
        conflicts = gc.merge_conflicts(root, a.commit, b.commit) or []
        conf = 0.9 if conflicts else round(min(0.7, 0.5 + 0.05 * len(both)), 4)
        evidence = {"generator": GENERATOR, "files": both[:50], "conflicts": conflicts[:50],
                    "merge_base": base}
        for src, dst in ((a, b), (b, a)):
            what = "conflict with" if conflicts else "both modify files of"
            out.append((
                derived_id("insight", "anti_pattern", src.ctx.id, dst.ctx.id), src.ctx.id,
                dst.ctx.id, f"{src.ctx.name} and {dst.ctx.name} {what} {', '.join(both[:3])}"
                + (" …" if len(both) > 3 else ""), evidence, conf,
            ))
    return out


def _sync_relationships(conn: sqlite3.Connection, kind: str, rows: list[Any]) -> int:
    old = {(r["source_context_id"], r["target_context_id"]): r for r in conn.execute(
        "SELECT * FROM context_relationships WHERE relationship_type = ? AND "
        + _MINE.format("metadata"), (kind,))}
    written = 0
    for src, dst, strength, meta in rows:
        text_meta = json.dumps(meta, sort_keys=True)
        prev = old.pop((src, dst), None)
        if prev is not None and prev["strength"] == strength and prev["metadata"] == text_meta:
            continue
        conn.execute(
            "INSERT INTO context_relationships (id, source_context_id, target_context_id,"
            " relationship_type, strength, metadata) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(source_context_id, target_context_id, relationship_type) DO UPDATE"
            " SET strength = excluded.strength, metadata = excluded.metadata",
            (derived_id("relationship", src, dst, kind), src, dst, kind, strength, text_meta),
        )
        written += 1
    for stale in old.values():
        conn.execute("DELETE FROM context_relationships WHERE id = ?", (stale["id"],))
        written += 1
    return written


def _sync_insights(conn: sqlite3.Connection, kind: str, rows: list[Any]) -> int:
    old = {r["id"]: r for r in conn.execute(
        "SELECT * FROM cross_context_insights WHERE insight_type = ? AND "
        + _MINE.format("evidence"), (kind,))}
    written = 0
    for iid, src, dst, description, evidence, conf in rows:
        text_ev = json.dumps(evidence, sort_keys=True)
        prev = old.pop(iid, None)
        if prev is not None and (prev["description"], prev["evidence"],
                                 prev["confidence_score"]) == (description, text_ev, conf):
            continue
        conn.execute(
            "INSERT INTO cross_context_insights (id, insight_type, source_context_id,"
            " target_context_id, description, evidence, confidence_score) VALUES (?, ?, ?, ?, ?,"
            " ?, ?) ON CONFLICT(id) DO UPDATE SET description = excluded.description,"
            " evidence = excluded.evidence, confidence_score = excluded.confidence_score",
            (iid, kind, src, dst, description, text_ev, conf),
        )
        written += 1
    for stale in old:
        conn.execute("DELETE FROM cross_context_insights WHERE id = ?", (stale,))
        written += 1
    return written


# What `knowledge patterns outcome` records in a context's entry (records/patterns.py).
_OUTCOME = ("uses", "successes", "score")


def _effectiveness(stored: Any, fresh: dict[str, Any]) -> dict[str, Any]:
    """The refresh's `{name, type, commits}` entries with the outcomes agents recorded kept:
    an entry that carries `uses` keeps them, beside its context's commits while the branch
    still has the co-change. Before, the refresh wrote its own entries over the whole object,
    and the record of where the pattern worked (or failed) was gone, while usage_count still
    counted the uses (QA round 26c: 02)."""
    merged = {key: dict(entry) for key, entry in fresh.items()}
    for key, entry in (stored.items() if isinstance(stored, dict) else ()):
        if not isinstance(entry, dict) or "uses" not in entry:
            continue
        base = merged.get(key) or {f: entry[f] for f in ("name", "type") if f in entry}
        merged[key] = {**base, **{f: entry[f] for f in _OUTCOME if f in entry}}
    return merged


def _sync_patterns(conn: sqlite3.Connection, rows: list[Any]) -> int:
    old = {r["id"]: r for r in conn.execute(
        "SELECT * FROM success_patterns WHERE pattern_type = 'co_change' AND "
        + _MINE.format("context"))}
    written = 0
    for pid, description, context, conf, found_in, applicable, per in rows:
        ctx_text = json.dumps(context, sort_keys=True)
        prev = old.pop(pid, None)
        merged = list(applicable)
        if prev is not None:
            before = v.load(prev["applicable_contexts"])
            merged = list(dict.fromkeys([*(before if isinstance(before, list) else []),
                                         *applicable]))
            per = _effectiveness(v.load(prev["cross_context_effectiveness"]), per)
            # The JSON columns compared as values: an outcome writes them compact
            # (values.dump), and text unlike ours counted a write with nothing new in git.
            if (prev["description"], prev["context"], prev["confidence_score"],
                    v.load(prev["cross_context_effectiveness"]),
                    v.load(prev["applicable_contexts"])) == (
                    description, ctx_text, conf, per, merged):
                continue
        conn.execute(
            "INSERT INTO success_patterns (id, pattern_type, description, context,"
            " confidence_score, discovered_in_context, applicable_contexts,"
            " cross_context_effectiveness) VALUES (?, 'co_change', ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(id) DO UPDATE SET description = excluded.description,"
            " context = excluded.context, confidence_score = excluded.confidence_score,"
            " applicable_contexts = excluded.applicable_contexts,"
            " cross_context_effectiveness = excluded.cross_context_effectiveness",
            (pid, description, ctx_text, conf, found_in, json.dumps(merged),
             json.dumps(per, sort_keys=True)),
        )
        written += 1
    for stale in old:
        conn.execute("DELETE FROM success_patterns WHERE id = ?", (stale,))
        written += 1
    return written


def refresh(project: Project) -> int:
    """Recompute the generated relationships, patterns and insights; returns rows written."""
    project.require_init()
    branches = _branches(project)
    similar_rels, similar_insights = _similar(project, branches)
    shared_rels, patterns = _shared(branches)
    anti = _anti(project, branches)
    db = project.db("knowledge")
    written = 0
    with db.write() as conn:
        written += _sync_relationships(conn, "similar_task", similar_rels)
        written += _sync_insights(conn, "similar_solution", similar_insights)
    with db.write() as conn:
        written += _sync_relationships(conn, "shared_pattern", shared_rels)
        written += _sync_patterns(conn, patterns)
    with db.write() as conn:
        written += _sync_insights(conn, "anti_pattern", anti)
    return written
