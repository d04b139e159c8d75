"""What a query pays for seeing the work tree (search and relevant take in uncommitted edits).

    .venv/bin/python benchmarks/query_bench.py [--files 20000] [--runs 15]

On a generated repository (indexed once), times in the same run: the take-in step on a clean
tree, on a tree with 10 edited files (the first query, which takes them in, and the next one,
which finds them in), each against the rest of an in-process hybrid search; and the whole
`git aircher search` as a user runs it. Then `git aircher search` and `relevant` as a user runs
them, in-process (`AIRCHER_SERVE=0`) against answered by the warm query server. Prints two
tables of medians and ratios.
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


QUERIES = [("search", ["search", "--json", "--", "func 1234 module"]),
           ("relevant", ["relevant", "--json"])]


def _socket(repo: Path) -> Path | None:
    from gitext.serve.wire import socket_path

    common = subprocess.run(["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
                            cwd=repo, capture_output=True, text=True, check=True).stdout.strip()
    return socket_path(common)


def _wait_for_server(repo: Path) -> None:
    from gitext.serve.client import ping

    sock = _socket(repo)
    deadline = time.monotonic() + 60
    while sock is not None and ping(sock) is None:
        if time.monotonic() > deadline:
            raise SystemExit("the query server did not start")
        time.sleep(0.1)


def _stop_server(repo: Path) -> None:
    from gitext.serve.client import stop

    sock = _socket(repo) if repo.exists() else None
    if sock is not None:
        stop(sock)


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
    (base / "run").mkdir(mode=0o700)
    env = {**bench_env(base), "AIRCHER_SKIP": "1", "XDG_RUNTIME_DIR": str(base / "run")}
    os.environ.update(env)
    repo = base / "repo"
    try:
        make_repo(repo, args.files, env)
        sh([TOOL, "init"], repo, env)
        sh([TOOL, "index"], repo, env)
        from gitext.project import Project
        from gitext.search.hybrid import file_scores
        from gitext.search.query_index import take_in_local_changes

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
        cli = {}
        for serve in ("0", "1"):
            cli_env = {**env, "AIRCHER_SERVE": serve}
            for name, argv in QUERIES:
                subprocess.run([TOOL, *argv], cwd=repo, env=cli_env, check=True,
                               stdout=subprocess.DEVNULL)  # served: starts the server
                if serve == "1":
                    _wait_for_server(repo)
                cli[(name, serve)] = _median_ms(lambda a=argv, e=cli_env: subprocess.run(
                    [TOOL, *a], cwd=repo, env=e, check=True, stdout=subprocess.DEVNULL),
                    max(3, args.runs // 3))
        cli_ms = cli[("search", "0")]
        print(f"{args.files} files; in-process hybrid search {search_ms:.0f} ms;"
              f" `git aircher search` {cli_ms:.0f} ms (median)")
        print(f"{'take-in step':<30} {'ms':>8} {'/ search':>9} {'/ CLI':>7}")
        for name, ms, s in rows:
            print(f"{name:<30} {ms:>8.1f} {ms / s:>8.2f}x {ms / cli_ms:>6.2f}x")
        print(f"\n{'`git aircher …`':<30} {'in-process':>10} {'served':>8} {'ratio':>7}")
        for name, _argv in QUERIES:
            cold, warm = cli[(name, "0")], cli[(name, "1")]
            print(f"{name:<30} {cold:>8.0f}ms {warm:>6.0f}ms {warm / cold:>6.2f}x")
    finally:
        _stop_server(repo)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
