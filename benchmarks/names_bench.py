"""What leaving out names that are not UTF-8 costs the listings a sync reads: `ls_files` as it
is (one strict decode of git's output, then names tested only if that fails) against the same
parse with no test (the code before) and with every name tested, in the same run.

    .venv/bin/python benchmarks/names_bench.py [REPO] [--files 50000] [--runs 15]

Without REPO, a scratch repository with `--files` staged paths (no file content: only the index
is read). git's own time is the same on every side and is left out: each side parses one saved
`git ls-files -s -z` output. Alternating order, medians, ratios to the untested parse.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gitext.git.names import all_storable, storable  # noqa: E402


def scratch(files: int) -> Path:
    root = Path(tempfile.mkdtemp(prefix="names-bench-"))
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=root, input=b"x\n",
                          capture_output=True, check=True).stdout.decode().strip()
    lines = "".join(f"100644 {blob}\tsrc/pkg_{i % 200}/module_{i}.py\n" for i in range(files))
    subprocess.run(["git", "update-index", "--index-info"], cwd=root, input=lines.encode(),
                   check=True)
    return root


def parse(out: bytes, test: Callable[[bytes], bool], each: bool) -> int:
    """ls_files' loop: `test` decides once whether to test `each` name."""
    check = each or not test(out)
    seen: dict[str, tuple[str, str]] = {}
    for rec in out.split(b"\0"):
        if not rec:
            continue
        meta, _, path = rec.partition(b"\t")
        mode, sha, stage = meta.split(b" ")
        p = path.decode("utf-8", "surrogateescape")
        if check and not storable(p):
            continue
        if stage in (b"0", b"2") or p not in seen:
            seen[p] = (mode.decode(), sha.decode())
    return len(seen)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("repo", type=Path, nargs="?")
    ap.add_argument("--files", type=int, default=50_000)
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    root = args.repo.resolve() if args.repo else scratch(args.files)
    out = subprocess.run(["git", "ls-files", "-s", "-z"], cwd=root, capture_output=True,
                         check=True).stdout
    sides: dict[str, Callable[[], int]] = {
        "no test (before)": lambda: parse(out, lambda _b: True, each=False),
        "whole output once (now)": lambda: parse(out, all_storable, each=False),
        "every name": lambda: parse(out, lambda _b: True, each=True),
    }
    counts = {name: fn() for name, fn in sides.items()}
    assert len(set(counts.values())) == 1, counts
    times: dict[str, list[float]] = {name: [] for name in sides}
    for i in range(args.runs):
        order = list(sides.items())
        for name, fn in order if i % 2 else reversed(order):
            t = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t) * 1000)
    base = statistics.median(times["no test (before)"])
    print(f"ls-files parse of {counts['no test (before)']} paths ({root.name}), {args.runs} runs,"
          " medians")
    print(f"{'names':<26} {'ms':>8} {'ratio':>7}")
    for name, ts in times.items():
        m = statistics.median(ts)
        print(f"{name:<26} {m:>8.1f} {m / base:>6.2f}x")
    if args.repo is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
