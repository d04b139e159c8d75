"""What leaving the search index out of backups saves: each database of a store copied as a
backup copies it, once whole (the baseline, as backups were made before) and once with the
derived tables emptied and the copy compacted, both then gzipped.

    .venv/bin/python benchmarks/backup_bench.py STORE [--runs 2]

STORE is a repository's `.agents/` folder (or a folder holding `<name>.db` files). Nothing in it
is changed: the copies go to a temporary folder. Runs alternate the two ways; the table gives
the median time, the copy's size before and after gzip, and the ratios new / whole.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gitext.lifecycle.backup import copy_database, gzip_file  # noqa: E402
from gitext.lifecycle.derived import DERIVED, empty_derived  # noqa: E402


def _one(source: Path, name: str, work: Path, leave_out: bool) -> tuple[float, int, int]:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    start = time.perf_counter()
    target = work / f"{name}.db"
    copy_database(source, target)
    if leave_out:
        empty_derived(target, name)
    raw = target.stat().st_size
    packed = gzip_file(target).stat().st_size
    return time.perf_counter() - start, raw, packed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store", type=Path)
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    folder = args.store / "db" / "core" if (args.store / "db" / "core").is_dir() else args.store
    print(f"{'database':<12} {'way':<10} {'median s':>9} {'raw MiB':>9} {'gz MiB':>8}")
    totals = {"whole": [0.0, 0.0], "left out": [0.0, 0.0]}
    with tempfile.TemporaryDirectory() as tmp:
        for name in DERIVED:
            source = folder / f"{name}.db"
            if not source.exists():
                print(f"{name}: no {source}", file=sys.stderr)
                continue
            results: dict[str, list[tuple[float, int, int]]] = {"whole": [], "left out": []}
            for _ in range(args.runs):
                for way in ("whole", "left out"):
                    results[way].append(_one(source, name, Path(tmp) / "w", way == "left out"))
            for way, runs in results.items():
                secs = statistics.median(r[0] for r in runs)
                raw, packed = runs[-1][1], runs[-1][2]
                totals[way][0] += secs
                totals[way][1] += packed
                print(f"{name:<12} {way:<10} {secs:9.2f} {raw / 2**20:9.1f} {packed / 2**20:8.1f}")
    (t_old, s_old), (t_new, s_new) = totals["whole"], totals["left out"]
    if t_old and s_old:
        print(f"ratio left out / whole: time {t_new / t_old:.2f}x,"
              f" gzipped size {s_new / s_old:.2f}x")


if __name__ == "__main__":
    main()
