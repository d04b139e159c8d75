"""What a query pays for seeing the work tree (search and relevant take in uncommitted edits).

    .venv/bin/python benchmarks/query_bench.py [--files 20000] [--runs 15]

On a generated repository (indexed once), times in the same run: the take-in step on a clean
tree, on a tree with 10 edited files (the first query, which takes them in, and the next one,
which finds them in), each against the rest of an in-process hybrid search; and the whole
`git aircher search` as a user runs it. Prints one table of medians and ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hooks_bench import TOOL, bench_env, make_repo, sh


def _median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def _edit(repo: Path, n: int, round_: int) -> None:
    for i in range(n):
        path = repo / f"pkg{i}" / f"mod{i % 7}" / f"f{i}.py"
        path.write_text(f'"""Edited {round_}."""\n\ndef edited_{i}_{round_}():\n    return {i}\n')


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--files", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="aircher-qbench-"))
    env = {**bench_env(base), "AIRCHER_SKIP": "1"}
    os.environ.update(env)
    repo = base / "repo"
    try:
        make_repo(repo, args.files, env)
        sh([TOOL, "init"], repo, env)
        sh([TOOL, "index"], repo, env)
        from gitext.project import Project
        from gitext.search.hybrid import file_scores
        from gitext.search.indexer import take_in_local_changes

        rows = []
        with Project.locate(repo, base / "home", os.environ) as project:
            def query() -> None:
                file_scores(project, "func 1234 module")

            def take_in() -> None:
                take_in_local_changes(project)

            query()  # warm: imports, the first read of the vectors
            search_ms = _median_ms(query, args.runs)
            clean_ms = _median_ms(take_in, args.runs)
            rows.append(("clean tree", clean_ms, search_ms))
            firsts, seconds = [], []
            for r in range(args.runs):
                _edit(repo, 10, r)
                firsts.append(_median_ms(take_in, 1))
                seconds.append(_median_ms(take_in, 1))
            rows.append(("10 edited files, first query", statistics.median(firsts), search_ms))
            rows.append(("10 edited files, next query", statistics.median(seconds), search_ms))
        cli = []
        for _ in range(max(3, args.runs // 3)):
            t = time.perf_counter()
            subprocess.run([TOOL, "search", "--json", "--", "func 1234 module"], cwd=repo,
                           env=env, check=True, stdout=subprocess.DEVNULL)
            cli.append(time.perf_counter() - t)
        cli_ms = statistics.median(cli) * 1000
        print(f"{args.files} files; in-process hybrid search {search_ms:.0f} ms;"
              f" `git aircher search` {cli_ms:.0f} ms (median)")
        print(f"{'take-in step':<30} {'ms':>8} {'/ search':>9} {'/ CLI':>7}")
        for name, ms, s in rows:
            print(f"{name:<30} {ms:>8.1f} {ms / s:>8.2f}x {ms / cli_ms:>6.2f}x")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
