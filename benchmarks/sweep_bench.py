"""What the full-text sweep costs now that a version no view holds is set aside for an hour
(`orphans.drop_unreferenced`: moved to `search_orphans`, brought back by the next sync that
holds it), against the single DELETE it replaced, in the same run.

    .venv/bin/python benchmarks/sweep_bench.py [--docs 5000 50000] [--orphans 0 500] [--runs 7]

Each case is a scratch file_index.db made by the real migrations: one worktree's view of N
files, a text version for each, plus `--orphans` versions no view holds (the old sweep drops
them, the new one sets them aside). The sweep runs in the full update of every worker pass.
Alternating order, medians; the ratio is new over old.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gitext.search.orphans import drop_unreferenced  # noqa: E402
from gitext.store.migrate import migrate  # noqa: E402


def build(folder: Path, docs: int, orphans: int) -> sqlite3.Connection:
    conn = sqlite3.connect(folder / "file_index.db", isolation_level=None)
    migrate(conn, "file_index", "file_index")
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO files (id, path, name) VALUES (?, ?, ?)",
                     ((f"id{i}", f"src/m{i}.py", f"m{i}.py") for i in range(docs)))
    conn.executemany("INSERT INTO worktree_files (worktree_path, file_id, content_hash)"
                     " VALUES ('/w', ?, ?)", ((f"id{i}", f"live{i}") for i in range(docs)))
    conn.executemany("INSERT INTO search_docs (path, blob, body_terms) VALUES (?, ?, 'x')",
                     ((f"src/m{i}.py", f"live{i}") for i in range(docs)))
    conn.executemany("INSERT INTO search_docs (path, blob, body_terms) VALUES (?, ?, 'x')",
                     ((f"src/m{i}.py", f"gone{i}") for i in range(orphans)))
    conn.execute("COMMIT")
    return conn


def old_sweep(conn: sqlite3.Connection) -> int:
    return conn.execute(
        "DELETE FROM search_docs WHERE NOT EXISTS (SELECT 1 FROM worktree_files w"
        " JOIN files f ON f.id = w.file_id WHERE f.path = search_docs.path"
        " AND w.content_hash = search_docs.blob)").rowcount


def timed(sweep: Callable[[sqlite3.Connection], int], docs: int, orphans: int) -> tuple[float, int]:
    folder = Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    try:
        conn = build(folder, docs, orphans)
        conn.execute("BEGIN")
        start = time.perf_counter()
        dropped = sweep(conn)
        took = time.perf_counter() - start
        conn.execute("COMMIT")
        conn.close()
        return took, dropped
    finally:
        shutil.rmtree(folder)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, nargs="+", default=[5000, 50000])
    ap.add_argument("--orphans", type=int, nargs="+", default=[0, 500])
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    print(f"{'docs':>7} {'unheld':>7} {'old ms':>9} {'new ms':>9} {'new/old':>8} out of index")
    for docs in args.docs:
        for orphans in args.orphans:
            old: list[float] = []
            new: list[float] = []
            dropped = set()
            for run in range(args.runs):  # alternating order
                sides = [("old", old_sweep, old), ("new", drop_unreferenced, new)]
                for _, sweep, out in sides if run % 2 == 0 else sides[::-1]:
                    took, n = timed(sweep, docs, orphans)
                    out.append(took)
                    dropped.add(n)
            mo, mn = statistics.median(old) * 1000, statistics.median(new) * 1000
            print(f"{docs:>7} {orphans:>7} {mo:>9.2f} {mn:>9.2f} {mn / mo:>8.2f} "
                  f"{'/'.join(map(str, sorted(dropped)))}")


if __name__ == "__main__":
    main()
