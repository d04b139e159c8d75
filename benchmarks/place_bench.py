"""What placing text hits costs: `search --mode text` with each hit's lines and preview, against
the same ranking without them, in process, on a repository already indexed.

    .venv/bin/python benchmarks/place_bench.py REPO [--queries 30] [--top 10]

The queries are the subjects of REPO's last `--queries` commits, as an agent's tasks read. Both
sides take the work tree in first (a no-op on a clean tree), then rank; the placed side also
reads the top hits again to find their best chunk. Alternating order, medians, and the ratio of
the placed median to the unplaced one, in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gitext.project import Project  # noqa: E402
from gitext.search.hybrid import file_scores, search  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("repo", type=Path)
    ap.add_argument("--queries", type=int, default=30)
    ap.add_argument("--top", type=int, default=10)
    args = ap.parse_args()
    root = args.repo.resolve()
    home = Path(os.environ.get("AIRCHER_HOME", Path.home() / ".config" / "aircher"))
    project = Project.locate(root, home, os.environ)
    subjects = subprocess.run(["git", "log", f"-{args.queries}", "--format=%s"], cwd=root,
                              capture_output=True, text=True, check=True).stdout.splitlines()

    def unplaced(q: str) -> object:
        from gitext.search.query_index import take_in_local_changes

        take_in_local_changes(project)
        scores = file_scores(project, q, mode="text")
        return sorted(scores.items(), key=lambda kv: (-kv[1][0], kv[0]))[:args.top]

    def placed(q: str) -> object:
        return search(project, q, top=args.top, mode="text")

    times: dict[str, list[float]] = {"unplaced": [], "placed": []}
    for i, q in enumerate(subjects):
        order = [("unplaced", unplaced), ("placed", placed)]
        for name, fn in order if i % 2 else reversed(order):
            t = time.perf_counter()
            fn(q)
            times[name].append((time.perf_counter() - t) * 1000)
    a, b = statistics.median(times["unplaced"]), statistics.median(times["placed"])
    print(f"{len(subjects)} queries on {root.name}, top {args.top}, medians")
    print(f"{'search --mode text':<28} {'ms':>8}")
    print(f"{'ranking only':<28} {a:>8.1f}")
    print(f"{'ranking + lines, preview':<28} {b:>8.1f}")
    print(f"{'ratio':<28} {b / a:>8.2f}x")


if __name__ == "__main__":
    main()
