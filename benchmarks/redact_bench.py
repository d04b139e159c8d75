"""What redacting file contents costs the search index, against the tokenizing it already does.

    .venv/bin/python benchmarks/redact_bench.py REPO [--runs 7]

Every version that enters the search index, snippets or notes is first passed through
`secrets.redact` (API-key shapes, private-key blocks). The baseline, in the same run, is
`tokenize.terms` over the same texts, which the full-text index runs on each of them anyway.
Prints one table: medians over the runs, and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from pathlib import Path

from gitext.index.languages import is_binary
from gitext.index.secrets import redact
from gitext.search.tokenize import terms


def texts(repo: Path) -> list[bytes]:
    names = subprocess.run(["git", "-C", str(repo), "ls-files", "-z"], capture_output=True,
                           check=True).stdout.split(b"\0")
    out = []
    for name in names:
        path = repo / name.decode("utf-8", "surrogateescape")
        if name and path.is_file() and not path.is_symlink() and path.stat().st_size <= 1 << 20:
            data = path.read_bytes()
            if not is_binary(data):
                out.append(data)
    return out


def timed(step: object, items: list[bytes]) -> float:
    start = time.perf_counter()
    for data in items:
        step(data)  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("repo", type=Path)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    items = texts(args.repo)
    size = sum(map(len, items))
    red, tok = [], []
    for _ in range(args.runs):  # alternated, so load on the machine hits both alike
        red.append(timed(redact, items))
        tok.append(timed(lambda d: terms(d.decode("utf-8", "replace")), items))
    r, t = statistics.median(red), statistics.median(tok)
    print(f"{len(items)} text files, {size / 1e6:.1f} MB, median of {args.runs}")
    print(f"{'step':<28}{'ms':>10}{'MB/s':>10}{'ratio':>8}")
    print(f"{'tokenize.terms (baseline)':<28}{t * 1e3:>10.1f}{size / 1e6 / t:>10.0f}{1:>8.2f}")
    print(f"{'secrets.redact':<28}{r * 1e3:>10.1f}{size / 1e6 / r:>10.0f}{r / t:>8.2f}")


if __name__ == "__main__":
    main()
