"""What a query pays for seeing the work tree (search and relevant take in uncommitted edits).

    .venv/bin/python benchmarks/query_bench.py [--files 20000] [--runs 15]

On a generated repository (indexed once), times in the same run: the take-in step on a clean
tree, on a tree with 10 edited files (the first query, which takes them in, and the next one,
which finds them in), each against the rest of an in-process hybrid search; and the whole
`git aircher search` as a user runs it. Then hybrid search's check of its vector hits for a
query term (`fulltext.holding`) against the statement per hit it replaced (QA round 26f: 01),
alternating, with whether both give the same answer. Then `git aircher search` and `relevant`
as a user runs them, in-process (`AIRCHER_SERVE=0`) against answered by the warm query server.
Prints three tables of medians and ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from hooks_bench import TOOL, bench_env, make_repo, sh

if TYPE_CHECKING:
    from gitext.project import Project


def _median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def _holding_by_version(conn: sqlite3.Connection, versions: dict[str, str],
                        query_terms: list[str]) -> set[str]:
    """`fulltext.holding` before QA round 26f: 01, the baseline: one statement per version."""
    from gitext.search.fulltext import MAX_LOOKUP, _fts_string

    words = list(dict.fromkeys(query_terms))[:MAX_LOOKUP]
    ids = conn.execute(
        "SELECT d.id, d.path FROM search_docs d JOIN json_each(?) j"
        " ON d.path = j.key AND d.blob = j.value", (json.dumps(versions),)).fetchall()
    match = _fts_string(words)
    return {path for rowid, path in ids if conn.execute(
        "SELECT 1 FROM search_fts WHERE search_fts MATCH ? AND rowid = ?",
        (match, rowid)).fetchone()}


def _holding_rows(project: Project, runs: int) -> list[tuple[str, float, float, bool]]:
    """Hybrid search's check of its vector hits for a query term (`fulltext.holding`), now and
    as it was, alternating, over every file of the worktree (each file holds `func` and
    `module`: all would pass the vector threshold of a query with them) and over 10 files."""
    from gitext.search import fulltext
    from gitext.search.hybrid import _worktree_blobs
    from gitext.search.tokenize import terms

    qterms = terms("func 1234 module")
    out = []
    with project.db("file_index").read() as conn:
        every = _worktree_blobs(conn, str(project.repo.root))
        for name, versions in ((f"{len(every)} vector hits", every),
                               ("10 vector hits", dict(list(every.items())[:10]))):
            new, old = [], []
            for _ in range(runs):
                old.append(_median_ms(lambda v=versions: _holding_by_version(conn, v, qterms), 1))
                new.append(_median_ms(lambda v=versions: fulltext.holding(conn, v, qterms), 1))
            same = (fulltext.holding(conn, versions, qterms)
                    == _holding_by_version(conn, versions, qterms))
            out.append((name, statistics.median(new), statistics.median(old), same))
    return out


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
            holding = _holding_rows(project, args.runs)
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
        print(f"\n{'holding (hybrid)':<30} {'ms':>8} {'before':>8} {'ratio':>7} same")
        for name, ms, before, same in holding:
            print(f"{name:<30} {ms:>8.1f} {before:>8.1f} {ms / before:>6.2f}x {same}")
        print(f"\n{'`git aircher …`':<30} {'in-process':>10} {'served':>8} {'ratio':>7}")
        for name, _argv in QUERIES:
            cold, warm = cli[(name, "0")], cli[(name, "1")]
            print(f"{name:<30} {cold:>8.0f}ms {warm:>6.0f}ms {warm / cold:>6.2f}x")
    finally:
        _stop_server(repo)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
