"""What `follow_last` costs against the relevance computation it ends, in process, on a
repository already indexed.

    .venv/bin/python benchmarks/relevance_bench.py REPO [--runs 15]

Times `scoring.compute` (every component over the worktree: the baseline) and, in the same run,
`components.follow_last` alone on its result (1,000 calls per run, so that a call of a few
microseconds is measured, not the timer). Medians, and the share of the computation the move
takes. The last commit of REPO decides whether anything moves: make it one of at most five files
to time the moving (the script says which it timed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gitext.project import Project  # noqa: E402
from gitext.relevance import components, scoring  # noqa: E402

CALLS = 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("repo", type=Path)
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    root = args.repo.resolve()
    home = Path(os.environ.get("AIRCHER_HOME", Path.home() / ".config" / "aircher"))
    project = Project.locate(root, home, os.environ)
    scores = scoring.compute(project)  # warms the caches
    history = scores.history
    assert history is not None
    whole: list[float] = []
    move: list[float] = []
    for _ in range(args.runs):
        t = time.perf_counter()
        scores = scoring.compute(project)
        whole.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        for _ in range(CALLS):
            components.follow_last(scores.final, history)
        move.append((time.perf_counter() - t) * 1000 / CALLS)
    n = history.n_commits
    size = int(history.sizes[n - 1]) if n else 0
    a, b = statistics.median(whole), statistics.median(move)
    print(f"{root.name}: {len(scores.paths)} files, {n} commits, the last of {size} files"
          f" ({'moved up' if 0 < size <= components.LAST_COMMIT_MAX else 'nothing moves'});"
          f" medians of {args.runs}")
    print(f"{'':<28} {'ms':>9}")
    print(f"{'scoring.compute':<28} {a:>9.2f}")
    print(f"{'follow_last':<28} {b:>9.4f}")
    print(f"{'follow_last / compute':<28} {b / a:>9.4f}")


if __name__ == "__main__":
    main()
