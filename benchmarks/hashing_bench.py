"""The default embedder's hashing: gitext.search.hashing against scikit-learn's FeatureHasher.

    .venv/bin/python benchmarks/hashing_bench.py REPO [--sizes 10,100,1000,5000] [--repeat 5]

Texts are REPO's tracked text files at HEAD in 40-line windows (its chunks, roughly), turned into
the embedder's term weights once. For each size, the CPU time of hashing them here and through
``FeatureHasher.transform`` (scikit-learn already imported), medians of --repeat runs, and what
importing scikit-learn costs a fresh interpreter (median of 3), which the worker that follows a
commit paid before. "own/sk" is our time over FeatureHasher's alone; "own/(sk+import)" is what a
process that had to import scikit-learn for these texts pays with ours instead.
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gitext.search import hashing  # noqa: E402
from gitext.search.tokenize import terms  # noqa: E402


def texts_of(repo: Path, limit: int) -> list[str]:
    names = subprocess.run(["git", "-C", str(repo), "ls-files", "-z"], capture_output=True,
                           check=True).stdout.split(b"\0")
    out: list[str] = []
    for name in names:
        path = repo / name.decode("utf-8", "surrogateescape")
        try:
            lines = path.read_text("utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        out += ["\n".join(lines[i:i + 40]) for i in range(0, len(lines), 40)]
        if len(out) >= limit:
            break
    return out[:limit]


def import_cost() -> float:
    code = ("import time; t = time.process_time(); import sklearn.feature_extraction;"
            " print(time.process_time() - t)")
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True).stdout) for _ in range(3)]
    return statistics.median(runs)


def cpu(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.process_time()
        fn()  # type: ignore[operator]
        times.append(time.process_time() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("repo", type=Path)
    ap.add_argument("--sizes", default="10,100,1000,5000")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dim", type=int, default=384)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    texts = texts_of(args.repo, max(sizes))
    rows = [{t: 1.0 + math.log(n) for t, n in Counter(terms(x)).items()} for x in texts]
    imported = import_cost()
    from sklearn.feature_extraction import FeatureHasher

    fh = FeatureHasher(n_features=args.dim, input_type="dict", alternate_sign=True)
    print(f"repository {args.repo}: {len(texts)} texts;"
          f" importing scikit-learn: {imported:.3f} s CPU")
    print(f"{'texts':>6} {'own (s)':>9} {'sklearn (s)':>12} {'own/sk':>7} {'own/(sk+import)':>16}")
    for n in sizes:
        part = rows[:n]
        # Cleared each run: a fresh process's first sight of these terms.
        own = cpu(lambda p=part: (hashing._columns.clear(), hashing.hash_rows(p, args.dim)),
                  args.repeat)
        sk = cpu(lambda p=part: fh.transform(p).toarray(), args.repeat)
        print(f"{len(part):>6} {own:>9.4f} {sk:>12.4f} {own / max(sk, 1e-9):>6.1f}x"
              f" {own / (sk + imported):>15.3f}x")


if __name__ == "__main__":
    main()
